"""Survey emails: building them from the templates in `templates/email/`, and handing them to a transport.

A transport is SMTP (stdlib `smtplib`, one connection per batch) or, with no SMTP host configured, a
folder of `.eml` files so a laptop without a mail server still shows what would have been sent.
Delivery problems are raised as `TransientDeliveryError` (try again later), `ThrottledByServer` (the server
asks this sender to slow down) or `PermanentDeliveryError`
(the server refused this message for good), so the dispatcher never has to read SMTP codes itself.
"""
from __future__ import annotations

import logging
import os
import re
import smtplib
import socket
import ssl
import tempfile
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from datetime import datetime
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, make_msgid, parseaddr
from pathlib import Path
from typing import Any, Mapping, Protocol, Sequence
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from flask import current_app

from app.models import Campaign, Invitation, Wave
from app.services.bounces import envelope_sender
from app.services.campaigns import campaign_time_estimate, human_wave_label, invitation_outline, upcoming_waves

log = logging.getLogger(__name__)

KINDS = ("invitation", "reminder")
# 7-bit clean: a body with non-ASCII names goes quoted-printable instead of raw 8-bit, which servers
# without 8BITMIME may refuse or mangle.
MESSAGE_POLICY = policy.default.clone(cte_type="7bit")

CONFIDENTIALITY_PROMISES = {
    "anonymous": "Your answers are anonymous: they are never linked to your name or email, and results are "
                 "only shown for groups of at least {min_group_size} people.",
    "confidential": "Your answers are confidential: only the survey team can link them to you, and reports "
                    "only show groups of at least {min_group_size} people.",
}


@dataclass(frozen=True)
class MailSettings:
    """What building and sending an email needs from the configuration."""

    base_url: str
    timezone: str
    mail_from: str
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: str = "starttls"
    smtp_timeout: float = 30.0
    outbox_dir: str | None = None
    # With a bounce address, each message's envelope sender names its invitation (see services/bounces.py).
    bounce_address: str | None = None
    bounce_secret: str | None = None
    organisation_name: str | None = None  # "<Organisation> asks ..." in the greeting
    survey_contact: str | None = None  # "Questions? Contact ..." in the footer

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> MailSettings:
        return cls(
            base_url=config["BASE_URL"].rstrip("/"), timezone=config["TIMEZONE"], mail_from=config["MAIL_FROM"],
            smtp_host=config.get("SMTP_HOST"), smtp_port=config.get("SMTP_PORT", 587),
            smtp_username=config.get("SMTP_USERNAME"), smtp_password=config.get("SMTP_PASSWORD"),
            smtp_security=config.get("SMTP_SECURITY", "starttls"), smtp_timeout=config.get("SMTP_TIMEOUT", 30.0),
            outbox_dir=config.get("MAIL_OUTBOX_DIR"),
            bounce_address=config.get("BOUNCE_ADDRESS"), bounce_secret=config.get("SECRET_KEY"),
            organisation_name=config.get("ORGANISATION_NAME"), survey_contact=config.get("SURVEY_CONTACT"),
        )


@dataclass(frozen=True)
class OutgoingEmail:
    """A built message with the facts a transport may want to log without parsing it."""

    message: EmailMessage
    recipient: str
    survey_link: str
    envelope_from: str | None = None  # the SMTP MAIL FROM (where bounces go); None: the From address


class DeliveryError(Exception):
    """A message could not be handed to the mail server; `reply` is what the server (or socket) said."""

    def __init__(self, reply: str, code: int | None = None) -> None:
        super().__init__(reply)
        self.reply = reply
        self.code = code


class TransientDeliveryError(DeliveryError):
    """Worth retrying later: timeouts, dropped connections, 4xx replies."""


class PermanentDeliveryError(DeliveryError):
    """Retrying will not help: 5xx replies such as 550 unknown user."""


class ThrottledByServer(TransientDeliveryError):
    """The server asks this sender to slow down (421, 451 4.4.2, 4.7.x "rate limit" / "server busy"): no
    message is to blame, so the dispatcher pauses all sending instead of counting an attempt.
    `retry_after` is the number of seconds the reply asked for, when it names one."""

    def __init__(self, reply: str, code: int | None = None, retry_after: int | None = None) -> None:
        super().__init__(reply, code)
        self.retry_after = retry_after


class TransportUnavailable(TransientDeliveryError):
    """The server could not be reached or refused the session itself; no message is to blame."""


class InvalidRecipient(PermanentDeliveryError):
    """The stakeholder's address or name cannot go into an email: only correcting the data helps.
    `reply` says what is wrong in words an admin can act on; it is shown on the campaign page."""


# The Stakeholder.name column's size; it also keeps the To line well under the 998 octets SMTP allows.
NAME_MAX_LENGTH = 200
_WHITESPACE_RUN = re.compile(r"\s+")
# A line break followed by something shaped like a header field ("Bcc:", "Content-Type:"): whatever
# produced it, sending it on would be an attempt to add headers to the message.
_HEADER_AFTER_LINE_BREAK = re.compile(r"[\n\r\v\f\x1c-\x1e\x85\u2028\u2029]\s*[!-9;-~]+\s*:")
FIX_AND_RESEND = "Correct it in the HR file, import the file again, then resend the invitation."


def one_line(text: str) -> str:
    """Line breaks, tabs and runs of spaces as single spaces: what a header or a greeting can carry."""
    return _WHITESPACE_RUN.sub(" ", text).strip()


def checked_recipient(email: str, name: str | None) -> tuple[str, str]:
    """The address to send to and the name to greet, or InvalidRecipient saying what to fix.

    A name broken over several lines (a stray quote in an HR export does that) is folded onto one line,
    which is what its owner would write; a name that tries to start a header after a line break, holds
    other control characters or is longer than the column allows is refused, as is any address
    `email-validator` refuses or one that needs SMTPUTF8, which these messages are not built for.
    """
    try:
        address = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidRecipient(f"Not sent: the email address {email!r} cannot be used: {error} "
                               f"{FIX_AND_RESEND}") from error
    if address.ascii_email is None:
        raise InvalidRecipient(f"Not sent: the email address {email!r} has non-ASCII characters before the @, "
                               f"which needs an SMTPUTF8 mail setup. Ask for the person's ASCII address. "
                               f"{FIX_AND_RESEND}")
    raw_name = name or ""
    injected = _HEADER_AFTER_LINE_BREAK.search(raw_name)
    if injected:
        raise InvalidRecipient(f"Not sent: the name has a line break followed by {injected.group().strip()!r}, "
                               f"which would add a header to the email. {FIX_AND_RESEND}")
    display_name = one_line(raw_name)
    control = next((c for c in display_name if unicodedata.category(c) == "Cc"), None)
    if control is not None:
        raise InvalidRecipient(f"Not sent: the name contains the control character U+{ord(control):04X}, which "
                               f"cannot go into an email header. {FIX_AND_RESEND}")
    if len(display_name) > NAME_MAX_LENGTH:
        raise InvalidRecipient(f"Not sent: the name is {len(display_name)} characters long; at most "
                               f"{NAME_MAX_LENGTH} fit in the email's To line. {FIX_AND_RESEND}")
    return address.ascii_email, display_name


def survey_link(settings: MailSettings, token: str) -> str:
    return f"{settings.base_url}/s/{token}"


def unsubscribe_link(settings: MailSettings, token: str) -> str:
    return f"{settings.base_url}/s/{token}/unsubscribe"


def confidentiality_promise(anonymity: str, min_group_size: int) -> str:
    return CONFIDENTIALITY_PROMISES[anonymity].format(min_group_size=min_group_size)


@lru_cache(maxsize=64)
def _sender_domain(mail_from: str) -> str:
    address = parseaddr(mail_from)[1]
    return address.rpartition("@")[2] or "localhost"


@lru_cache(maxsize=64)
def _constant_header(name: str, value: str):
    """Headers equal on every message, parsed once: parsing is most of the cost of building an email."""
    return MESSAGE_POLICY.header_factory(name, value)


@dataclass(frozen=True)
class EmailContent:
    """Everything one email says, as plain values: taken from the database before the claim is
    committed, rendered into a message only when it is about to be sent."""

    kind: str
    recipient: str
    subject: str
    context: dict[str, Any]
    invitation_id: int | None = None
    sender_name: str | None = None  # the campaign's From display name (None: MAIL_FROM as configured)
    reply_to: str | None = None  # the campaign's Reply-To address (None: no Reply-To header)

    @property
    def survey_link(self) -> str:
        return self.context["survey_link"]


def email_content(invitation: Invitation, token: str, settings: MailSettings, *,
                  kind: str = "invitation") -> EmailContent:
    """What the email to `invitation` with the link `token` says. The invitation must have its wave,
    campaign (provider, definition, service areas) and stakeholder loaded. Raises InvalidRecipient
    when the stakeholder's address or name cannot go into an email."""
    if kind not in KINDS:
        raise ValueError(f"unknown email kind {kind!r}")
    stakeholder = invitation.stakeholder
    recipient, name = checked_recipient(stakeholder.email, stakeholder.name)
    subject, context = _subject_and_context(kind, invitation.wave.campaign, invitation.wave.label,
                                            invitation.wave.closes_at, name, token, settings)
    outline = invitation_outline(invitation)  # this person's areas and time, as their first screen says
    context.update(areas=outline.area_names, estimate=outline.estimate.wording)
    campaign = invitation.wave.campaign
    return EmailContent(kind=kind, recipient=recipient, subject=subject, context=context,
                        invitation_id=invitation.id, sender_name=campaign.sender_name or None,
                        reply_to=campaign.reply_to or None)


class _WaveDates(Protocol):
    label: str
    closes_at: datetime


PREVIEW_NAME = "Alex Example"
PREVIEW_TOKEN = "example-link-not-a-real-survey"


@dataclass(frozen=True)
class EmailPreview:
    kind: str
    subject: str
    text: str
    sender: str = ""  # the From line as mail clients show it
    reply_to: str | None = None


def sender_header(settings: MailSettings, sender_name: str | None):
    """The From header: the configured MAIL_FROM, or its address under the campaign's sender name. The
    address never changes, so the mail server's sender checks (SPF, DMARC alignment) see the same one."""
    if not sender_name:
        return _constant_header("From", settings.mail_from)
    address = parseaddr(settings.mail_from)[1]
    return Address(display_name=one_line(sender_name), addr_spec=address)


def email_previews(campaign: Campaign, waves_newest_first: Sequence[Wave], settings: MailSettings,
                   now: datetime) -> list[EmailPreview]:
    """The invitation and reminder as a recipient would read them (the text part), addressed to a made-up
    person with a placeholder link: a preview must never carry a working token. They are for the wave
    that is open or next (the newest wave, or the next one planned when there is none)."""
    wave: _WaveDates | None = next((w for w in waves_newest_first if w.state != "closed"), None)
    if wave is None:
        planned = upcoming_waves(campaign, now, settings.timezone)
        wave = planned[0] if planned else (waves_newest_first[0] if waves_newest_first else None)
    if wave is None:
        return []
    templates = current_app.jinja_env
    previews = []
    for kind in KINDS:
        subject, context = _subject_and_context(kind, campaign, wave.label, wave.closes_at, PREVIEW_NAME,
                                                PREVIEW_TOKEN, settings)
        previews.append(EmailPreview(kind, subject, templates.get_template(f"email/{kind}.txt").render(context),
                                     sender=str(sender_header(settings, campaign.sender_name)),
                                     reply_to=campaign.reply_to or None))
    return previews


def _subject_and_context(kind: str, campaign: Campaign, label: str, closes_at: datetime, name: str, token: str,
                         settings: MailSettings) -> tuple[str, dict[str, Any]]:
    closes_local = closes_at.astimezone(ZoneInfo(settings.timezone))
    provider = campaign.provider.name
    period = human_wave_label(label, campaign.cadence)
    context = {
        "kind": kind,
        "name": name,
        "provider": provider,
        "period": period,
        "organisation": one_line(settings.organisation_name or "") or None,
        "contact": one_line(settings.survey_contact or "") or None,
        "survey_title": campaign.definition.title,
        "closes_on": f"{closes_local.day} {closes_local:%B %Y at %H:%M} ({settings.timezone})",
        "promise": confidentiality_promise(campaign.anonymity, campaign.min_group_size),
        "survey_link": survey_link(settings, token),
        "unsubscribe_link": unsubscribe_link(settings, token),
        "areas": [area.name for area in campaign.service_areas],
        "estimate": campaign_time_estimate(campaign).wording,
    }
    subject = (f"How did {provider} do in {period}? Your short survey" if kind == "invitation"
               else f"Reminder: your {period} survey about {provider} closes {closes_local.day} "
                    f"{closes_local:%B}")
    return one_line(subject), context


def render_email(content: EmailContent, settings: MailSettings, now: datetime | None = None) -> OutgoingEmail:
    """The multipart text + HTML message. Needs an app context for the Jinja environment only."""
    context = content.context
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["Subject"] = content.subject
    message["From"] = sender_header(settings, content.sender_name)
    if content.reply_to:
        message["Reply-To"] = content.reply_to
    message["To"] = Address(display_name=context["name"], addr_spec=content.recipient)
    message["Date"] = format_datetime(now or datetime.now(ZoneInfo(settings.timezone)))
    message["Message-ID"] = make_msgid(domain=_sender_domain(settings.mail_from))
    # RFC 8058 one-click: mail clients POST "List-Unsubscribe=One-Click" to the URL.
    message["List-Unsubscribe"] = f"<{context['unsubscribe_link']}>"
    message["List-Unsubscribe-Post"] = _constant_header("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
    message["Auto-Submitted"] = _constant_header("Auto-Submitted", "auto-generated")
    # The Jinja environment directly: app context processors (navigation, the signed-in user) have
    # no meaning in an email and cost time on every message.
    templates = current_app.jinja_env
    message.set_content(templates.get_template(f"email/{content.kind}.txt").render(context))
    message.add_alternative(templates.get_template(f"email/{content.kind}.html").render(context), subtype="html")
    envelope_from = None
    if settings.bounce_address and settings.bounce_secret and content.invitation_id is not None:
        envelope_from = envelope_sender(content.invitation_id, settings.bounce_address, settings.bounce_secret)
    return OutgoingEmail(message=message, recipient=content.recipient, survey_link=context["survey_link"],
                         envelope_from=envelope_from)


class Transport(Protocol):
    """Sends messages, one batch per `with` block."""

    def __enter__(self) -> Transport: ...

    def __exit__(self, *exc_info: object) -> None: ...

    def send(self, email: OutgoingEmail) -> None: ...


def transport_for(settings: MailSettings) -> Transport:
    """SMTP when a host is configured, otherwise `.eml` files in the outbox folder."""
    if settings.smtp_host:
        return SmtpTransport(settings)
    return OutboxTransport(Path(settings.outbox_dir or "outbox"))


def classify_smtp_error(error: Exception) -> DeliveryError:
    """Map an `smtplib` / socket exception to transient or permanent, keeping the server's reply."""
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(error.recipients.values()), (450, b"recipient refused"))
        return _by_code(code, text)
    if isinstance(error, smtplib.SMTPResponseException):
        return _by_code(error.smtp_code, error.smtp_error)
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return TransientDeliveryError(f"Connection dropped by the server: {error}")
    if isinstance(error, (socket.timeout, TimeoutError)):
        return TransientDeliveryError(f"Timed out talking to the mail server: {error}")
    return TransientDeliveryError(f"{type(error).__name__}: {error}")


# Enhanced status codes (RFC 3463) of a 4xx reply: 4.4.2 and 4.7.x with rate wording mean "slow down";
# other 4.7.x (greylisting, policy) and 4.5.3 "too many recipients" are about the message itself.
_ENHANCED_STATUS = re.compile(r"\b4\.(\d{1,3})\.(\d{1,3})\b")
_RATE_WORDING = re.compile(r"rate|limit|throttl|busy|too many (?:messages|connections|sessions)|exceed|concurren",
                           re.IGNORECASE)
_RETRY_AFTER = re.compile(r"(?:in|after|wait|for)\s+(\d{1,5})\s*(?:s\b|sec|second)", re.IGNORECASE)


def is_throttling_reply(code: int, reply: str) -> bool:
    """Whether a reply asks the sender to slow down rather than refusing this message."""
    if code == 421:
        return True
    if not 400 <= code < 500:
        return False
    status = _ENHANCED_STATUS.search(reply)
    if status is None:
        return False
    subject, detail = status.group(1), status.group(2)
    return (subject, detail) == ("4", "2") or (subject == "7" and bool(_RATE_WORDING.search(reply)))


def _by_code(code: int, text: bytes | str) -> DeliveryError:
    reply = f"{code} {text.decode('utf-8', 'replace') if isinstance(text, bytes) else text}".strip()
    if 500 <= code < 600:
        return PermanentDeliveryError(reply, code)
    if is_throttling_reply(code, reply):
        asked = _RETRY_AFTER.search(reply)
        return ThrottledByServer(reply, code, int(asked.group(1)) if asked else None)
    return TransientDeliveryError(reply, code)


class SmtpTransport:
    """One SMTP connection for a batch, opened on the first message and reopened if the server drops it."""

    def __init__(self, settings: MailSettings) -> None:
        self.settings = settings
        self._smtp: smtplib.SMTP | None = None
        self._sent_on_connection = 0  # messages accepted on the current connection

    def __enter__(self) -> SmtpTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        try:
            if s.smtp_security == "ssl":
                smtp: smtplib.SMTP = smtplib.SMTP_SSL(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout,
                                                      context=ssl.create_default_context())
            else:
                smtp = smtplib.SMTP(s.smtp_host, s.smtp_port, timeout=s.smtp_timeout)
            try:
                smtp.ehlo()
                if s.smtp_security == "starttls":
                    smtp.starttls(context=ssl.create_default_context())
                    smtp.ehlo()
                if s.smtp_username:
                    smtp.login(s.smtp_username, s.smtp_password or "")
            except BaseException:
                smtp.close()
                raise
        except (smtplib.SMTPException, OSError) as error:
            classified = classify_smtp_error(error)
            if isinstance(classified, ThrottledByServer):  # "421 too many connections" at the greeting
                raise classified from error
            # Refused connection, TLS or login failure: the server is unusable, not the message.
            raise TransportUnavailable(f"Cannot use SMTP server {s.smtp_host}:{s.smtp_port}: "
                                       f"{classify_smtp_error(error).reply}") from error
        return smtp

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def send(self, email: OutgoingEmail) -> None:
        for attempt in (1, 2):
            if self._smtp is None:
                self._smtp = self._connect()
                self._sent_on_connection = 0
            try:
                self._smtp.send_message(email.message, from_addr=email.envelope_from, to_addrs=[email.recipient])
                self._sent_on_connection += 1
                return
            except (smtplib.SMTPServerDisconnected, ConnectionError) as error:
                # Servers close idle or long sessions; one fresh connection is worth a try.
                self._smtp.close()
                self._smtp = None
                if attempt == 2:
                    raise classify_smtp_error(error) from error
            except smtplib.SMTPResponseException as error:
                if error.smtp_code == 421 and attempt == 1 and self._sent_on_connection:
                    # "421 closing transmission channel" on a session that already carried messages: the
                    # server ends the session (a per-session limit), it does not ask us to slow down.
                    # A fresh connection decides; a 421 there is a throttling reply.
                    self._smtp.close()
                    self._smtp = None
                    continue
                raise classify_smtp_error(error) from error
            except (smtplib.SMTPException, OSError) as error:
                classified = classify_smtp_error(error)
                if not isinstance(error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused):
                    self._smtp.close()  # a timeout leaves the session in an unknown state
                    self._smtp = None
                raise classified from error


class OutboxTransport:
    """Writes each message as an `.eml` file, for running without a mail server; the link is in the file."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def __enter__(self) -> OutboxTransport:
        self.directory.mkdir(parents=True, exist_ok=True)
        return self

    def __exit__(self, *exc_info: object) -> None:
        return None

    def send(self, email: OutgoingEmail) -> None:
        message_id = email.message["Message-ID"].strip("<>").replace("/", "_")
        try:
            handle, temporary = tempfile.mkstemp(dir=self.directory, suffix=".tmp")
            with os.fdopen(handle, "wb") as file:
                if email.envelope_from:  # what the receiving server would record as the envelope sender
                    file.write(f"Return-Path: <{email.envelope_from}>\r\n".encode("ascii"))
                file.write(email.message.as_bytes())
            final = self.directory / f"{datetime.now():%Y%m%d-%H%M%S}-{message_id}.eml"
            os.replace(temporary, final)  # readers never see half a file
        except OSError as error:
            raise TransportUnavailable(f"Cannot write to the outbox {self.directory}: {error}") from error
        # The link itself stays in the file: logs never carry survey tokens.
        log.info("Email to %s written to %s", formataddr(("", email.recipient)), final)
