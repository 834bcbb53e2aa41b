"""Checks an admin makes before a wave: a test message through the configured mail transport, with the
server's reply, and whether a dispatcher has been running passes lately."""
from __future__ import annotations

import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from pathlib import Path

from email_validator import EmailNotValidError, validate_email
from app.errors import InvalidInput
from app.services import send_rate
from app.services.mailer import (
    MESSAGE_POLICY,
    DeliveryError,
    MailSettings,
    OutboxTransport,
    OutgoingEmail,
    SmtpTransport,
    classify_smtp_error,
    transport_for,
)

TEST_SUBJECT = "VendorPulse test message"
# Passes start every minute under `make run` and the worker image: ten missed ones mean nobody runs it.
DISPATCHER_STALE_AFTER = timedelta(minutes=10)
DISPATCHER_START_COMMAND = "flask dispatch serve"


@dataclass(frozen=True)
class MailCheckResult:
    """What became of a test message: the server's final reply, the refusal, or the outbox file."""

    delivered: bool
    reply: str
    outbox_file: Path | None = None

    def summary(self) -> str:
        if self.outbox_file is not None:
            return f"No SMTP server is configured (SMTP_HOST): the test message was written to {self.outbox_file}"
        if self.delivered:
            return f"The mail server accepted the test message: {self.reply}"
        return f"The test message was not sent: {self.reply}"


class _ReplyKeepingSmtpTransport(SmtpTransport):
    """The dispatcher's SMTP transport (same connection, TLS and login), sending step by step so the
    server's final reply to the message is kept: `send_message` discards it on success."""

    last_reply: str = ""

    def send(self, email: OutgoingEmail) -> None:
        if self._smtp is None:
            self._smtp = self._connect()
        smtp = self._smtp
        sender = parseaddr(self.settings.mail_from)[1]
        try:
            code, text = smtp.mail(sender)
            if code != 250:
                raise smtplib.SMTPSenderRefused(code, text, sender)
            code, text = smtp.rcpt(email.recipient)
            if code not in (250, 251):
                raise smtplib.SMTPRecipientsRefused({email.recipient: (code, text)})
            code, text = smtp.data(email.message.as_bytes())
            if code != 250:
                raise smtplib.SMTPDataError(code, text)
        except (smtplib.SMTPException, OSError) as error:
            raise classify_smtp_error(error) from error
        self.last_reply = f"{code} {text.decode('utf-8', 'replace')}".strip()


def checked_test_recipient(address: str) -> str:
    """The address as the server will get it, or InvalidInput saying what is wrong with it."""
    address = (address or "").strip()
    if not address:
        raise InvalidInput("Give the email address to send the test message to.", errors={"email": ["Required."]})
    try:
        checked = validate_email(address, check_deliverability=False)
    except EmailNotValidError as error:
        raise InvalidInput(f"{address!r} is not an email address: {error}", errors={"email": [str(error)]}) from error
    if checked.ascii_email is None:
        raise InvalidInput(f"{address!r} needs SMTPUTF8, which VendorPulse's messages are not built for.",
                           errors={"email": ["Use an ASCII address."]})
    return checked.ascii_email


def build_test_message(settings: MailSettings, recipient: str, now: datetime) -> OutgoingEmail:
    """The plain-text test message (no survey link: nothing in it is worth keeping)."""
    message = EmailMessage(policy=MESSAGE_POLICY)
    message["Subject"] = TEST_SUBJECT
    message["From"] = settings.mail_from
    message["To"] = recipient
    message["Date"] = format_datetime(now)
    message["Message-ID"] = make_msgid(domain=parseaddr(settings.mail_from)[1].rpartition("@")[2] or "localhost")
    message["Auto-Submitted"] = "auto-generated"
    where = (f"the SMTP server {settings.smtp_host}:{settings.smtp_port}" if settings.smtp_host
             else "the outbox folder")
    message.set_content(f"{TEST_SUBJECT}.\n\nAn administrator sent this through {where} to check the mail "
                        f"settings before sending survey invitations. No reply is needed.\n")
    return OutgoingEmail(message=message, recipient=recipient, survey_link="")


def send_test_message(settings: MailSettings, recipient: str, now: datetime) -> MailCheckResult:
    """Send one test message to `recipient` through the configured transport and report what the server
    said: its final reply when it accepted the message, its refusal (or why it could not be reached)
    otherwise; without SMTP, the outbox file written. Raises InvalidInput for an unusable address."""
    email = build_test_message(settings, checked_test_recipient(recipient), now)
    if not settings.smtp_host:
        outbox = transport_for(settings)
        assert isinstance(outbox, OutboxTransport)
        try:
            with outbox:
                outbox.send(email)
        except DeliveryError as error:
            return MailCheckResult(delivered=False, reply=error.reply)
        message_id = email.message["Message-ID"].strip("<>").replace("/", "_")
        written = next(outbox.directory.glob(f"*-{message_id}.eml"), outbox.directory)
        return MailCheckResult(delivered=True, reply=f"written to {written}", outbox_file=written.resolve())
    smtp = _ReplyKeepingSmtpTransport(settings)
    try:
        with smtp:
            smtp.send(email)
    except DeliveryError as error:
        return MailCheckResult(delivered=False, reply=error.reply)
    return MailCheckResult(delivered=True, reply=smtp.last_reply)


@dataclass(frozen=True)
class DispatcherHealth:
    """When a dispatcher last finished a pass, and whether that is too long ago (or never)."""

    last_pass_at: datetime | None
    last_pass_by: str | None
    stale: bool
    start_command: str = DISPATCHER_START_COMMAND


def dispatcher_health(now: datetime) -> DispatcherHealth:
    """The dispatchers' last pass (every pass records it in the shared state), stale after ten minutes."""
    status = send_rate.dispatcher_status(now)
    return DispatcherHealth(last_pass_at=status.last_pass_at, last_pass_by=status.last_pass_by,
                            stale=status.last_pass_at is None
                            or now - status.last_pass_at > DISPATCHER_STALE_AFTER)
