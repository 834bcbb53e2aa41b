"""Bounces read back: each email's envelope sender names its invitation (VERP, signed with an HMAC), and
the delivery status notifications that come back to that address are read from an IMAP mailbox.

A recognised bounce marks the invitation (it leaves the response-rate denominator and gets no reminder)
and, when hard, the stakeholder undeliverable until an import lists them again or an admin clears it.
Only messages understood as bounces are removed from the mailbox; anything else (an auto-reply, a
message this module cannot read, a bounce address whose signature does not verify) stays, untouched
and unread, for a person to look at.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import imaplib
import logging
import re
import ssl
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from email import message_from_bytes, policy
from email.message import Message
from email.utils import getaddresses, parseaddr
from typing import Any, Iterator, Mapping

from app.extensions import db
from app.models import Invitation
from app.services.tallies import forget_closed_wave_invitations
from app.services.transactions import unit_of_work

log = logging.getLogger(__name__)

TAG_LENGTH = 10  # base32 characters of the HMAC: 50 bits, far beyond guessing by sending mail
REASON_MAX_LENGTH = 500
MAX_MESSAGES_PER_RUN = 1000  # one run reads at most this many, newest first, so a flood cannot stall a pass
# Only mail that arrived in this many days is read: bounces come within days (a soft one after the
# sender's queue gives up, 5 days by default), and what was left in the mailbox is not read forever.
LOOK_BACK_DAYS = 14
PROCESSED_FOLDER = "Processed"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

# Headers a receiving server writes with the address a message was delivered to; a bounce is delivered
# to the envelope sender of the message that bounced, so one of them holds the VERP address.
DELIVERY_HEADERS = ("Delivered-To", "X-Original-To", "Envelope-To", "X-Envelope-To", "To")
ORIGINAL_HEADERS = ("Return-Path", "Sender", "From")
MAILER_SENDERS = ("mailer-daemon", "postmaster", "mail-daemon", "microsoftexchange")
BOUNCE_SUBJECTS = re.compile(
    r"undeliver|undelivered|delivery (status notification|has failed|failure|failed)|mail delivery|"
    r"failure notice|returned mail|returned to sender|non[- ]?delivery|could not be delivered", re.I)
AUTO_REPLY_SUBJECTS = re.compile(r"out of (the )?office|automatic reply|auto[- ]?reply|autoreply|abwesenheit|"
                                 r"absence|vacation", re.I)
ENHANCED_STATUS = re.compile(r"(?<![\d.])([245])\.(\d{1,3})\.(\d{1,3})(?![\d.])")
SMTP_REPLY = re.compile(r"(?<![\d.])([45])\d\d(?=[ -])")


# --- the VERP address -------------------------------------------------------------------------------

def _key(secret_key: str) -> bytes:
    """A key of its own, so a bounce tag says nothing about anything else SECRET_KEY signs."""
    return hmac.new(secret_key.encode(), b"vendorpulse bounce address", hashlib.sha256).digest()


def _tag(invitation_id: int, secret_key: str) -> str:
    digest = hmac.new(_key(secret_key), str(invitation_id).encode(), hashlib.sha256).digest()
    # Lower case: some servers lower-case local parts on the way back.
    return base64.b32encode(digest).decode().lower()[:TAG_LENGTH]


def envelope_sender(invitation_id: int, bounce_address: str, secret_key: str) -> str:
    """`bounces+<id>.<tag>@domain` for `bounces@domain`: where the bounce of this invitation's email goes."""
    local, _, domain = bounce_address.strip().rpartition("@")
    return f"{local}+{invitation_id}.{_tag(invitation_id, secret_key)}@{domain}"


def _verp_pattern(bounce_address: str) -> re.Pattern[str]:
    local, _, domain = bounce_address.strip().rpartition("@")
    return re.compile(rf"(?<![\w.+-]){re.escape(local)}\+(\d{{1,18}})\.([a-z2-7]+)@{re.escape(domain)}(?![\w-])",
                      re.I)


def invitation_from_address(address: str, bounce_address: str, secret_key: str) -> int | None:
    """The invitation id a VERP address names, or None when it is malformed or its tag is not ours."""
    match = _verp_pattern(bounce_address).fullmatch(parseaddr(address)[1].strip())
    if match is None:
        return None
    invitation_id, tag = int(match.group(1)), match.group(2).lower()
    return invitation_id if hmac.compare_digest(tag, _tag(invitation_id, secret_key)) else None


# --- reading a delivery status notification ---------------------------------------------------------

@dataclass(frozen=True)
class Bounce:
    """What a bounce says: which invitation, hard (5.x.x) or soft (4.x.x), and the server's words."""

    invitation_id: int
    kind: str
    reason: str
    recipient: str | None = None


@dataclass(frozen=True)
class Reading:
    """One message read: `outcome` is bounce, auto-reply, not-a-bounce, unknown-address or forged."""

    outcome: str
    bounce: Bounce | None = None
    detail: str = ""


def read_message(raw: bytes, bounce_address: str, secret_key: str) -> Reading:
    """Parse one message from the bounce mailbox. Never raises for what the message holds."""
    message = message_from_bytes(raw, policy=policy.compat32)
    if _has_delivery_status(message):
        # A standard report is believed over the prose around it: "delivered" or "relayed" is no failure.
        failure = _delivery_status(message)
        if failure is None:
            return Reading("not-a-bounce", detail="a delivery report without a failed or delayed recipient")
    elif _is_auto_reply(message):
        return Reading("auto-reply", detail="an automatic reply, not a delivery failure")
    else:
        failure = _plain_text_failure(message)
        if failure is None:
            return Reading("not-a-bounce", detail="no delivery status found")
    kind, reason, recipient = failure
    found, forged = _invitation_of(message, bounce_address, secret_key)
    if found is None:
        if forged:
            return Reading("forged", detail=f"bounce address {forged} does not verify")
        return Reading("unknown-address", detail="no bounce address of ours in the message")
    return Reading("bounce", Bounce(found, kind, reason[:REASON_MAX_LENGTH], recipient))


def _text(value: Any) -> str:
    return " ".join(str(value).split()) if value is not None else ""


def _kind(status: str) -> str | None:
    return {"5": "hard", "4": "soft"}.get(status[:1])


def _has_delivery_status(message: Message) -> bool:
    return any(part.get_content_type() == "message/delivery-status" for part in message.walk())


def _delivery_status(message: Message) -> tuple[str, str, str | None] | None:
    """(kind, reason, recipient) from an RFC 3464 message/delivery-status part; the worst recipient wins."""
    worst: tuple[str, str, str | None] | None = None
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        payload = part.get_payload()
        blocks = payload if isinstance(payload, list) else [message_from_bytes(
            part.get_payload(decode=True) or b"", policy=policy.compat32)]
        for block in blocks:
            action = _text(block.get("Action")).lower()
            if action not in ("failed", "delayed"):
                continue
            status = _text(block.get("Status"))
            diagnostic = _text(block.get("Diagnostic-Code")).partition(";")[2].strip() or \
                _text(block.get("Diagnostic-Code"))
            match = ENHANCED_STATUS.search(status) or ENHANCED_STATUS.search(diagnostic)
            code = match.group(0) if match else ("4.0.0" if action == "delayed" else "5.0.0")
            kind = "soft" if action == "delayed" else (_kind(code) or "hard")
            recipient = _text(block.get("Final-Recipient") or block.get("Original-Recipient")).partition(";")[2]
            reason = (diagnostic if code in diagnostic else f"{code} {diagnostic}") if diagnostic else \
                f"{code} ({action})"
            if worst is None or (kind == "hard" and worst[0] != "hard"):
                worst = (kind, reason, recipient.strip().lower() or None)
    return worst


def _sender(message: Message) -> str:
    return parseaddr(_text(message.get("From")))[1].lower()


def _from_mail_system(message: Message) -> bool:
    """A mail server's own report: sent as MAILER-DAEMON / postmaster (Exchange: MicrosoftExchange...)."""
    local = _sender(message).partition("@")[0]
    return any(local.startswith(name) for name in MAILER_SENDERS)


def _is_auto_reply(message: Message) -> bool:
    """RFC 3834 auto-replies and the vendor headers of out-of-office replies. Mail systems mark their
    bounces `Auto-Submitted: auto-replied` too, so a message from one is never taken for an auto-reply."""
    if _from_mail_system(message):
        return False
    auto_submitted = _text(message.get("Auto-Submitted")).lower()
    return (auto_submitted.startswith("auto-replied") or message.get("X-Autoreply") is not None
            or message.get("X-Autorespond") is not None
            or _text(message.get("Precedence")).lower() == "auto_reply"
            or bool(AUTO_REPLY_SUBJECTS.search(_text(message.get("Subject")))))


def _body_text(message: Message) -> Iterator[str]:
    """The readable text of every text part that is not a quoted original message."""
    for part in message.walk():
        if part.get_content_maintype() == "text" and part.get_content_type() != "text/rfc822-headers":
            payload = part.get_payload(decode=True) or b""
            yield payload.decode(part.get_content_charset() or "utf-8", "replace")


def _plain_text_failure(message: Message) -> tuple[str, str, str | None] | None:
    """A bounce without a delivery-status part (qmail, Exim, old Exchange NDRs): from the mail system
    or with a bounce subject, and an SMTP status in the text. Without a status it is left alone."""
    if not (_from_mail_system(message) or BOUNCE_SUBJECTS.search(_text(message.get("Subject")))):
        return None
    for text in _body_text(message):
        # The original message quoted after the report would be read as part of it: stop there.
        report = re.split(r"\n-{3,}.*(original message|below this line|message header).*\n", text, maxsplit=1,
                          flags=re.I)[0]
        match = ENHANCED_STATUS.search(report)
        if match:
            line = next((_text(line) for line in report.splitlines() if match.group(0) in line), match.group(0))
            return _kind(match.group(0)) or "hard", line, None
        reply = SMTP_REPLY.search(report)
        if reply:
            line = next((_text(line) for line in report.splitlines() if reply.group(0) in line), reply.group(0))
            return ("hard" if reply.group(1) == "5" else "soft"), line, None
    return None


def _candidate_addresses(message: Message) -> Iterator[str]:
    """Where a VERP address can be: the bounce's delivery headers, the returned original's headers,
    then anywhere in the text (a plain-text bounce quoting the original's Return-Path)."""
    for name in DELIVERY_HEADERS:
        for _, address in getaddresses([_text(v) for v in message.get_all(name, [])]):
            yield address
    for part in message.walk():
        if part.get_content_type() == "message/rfc822" and isinstance(part.get_payload(), list):
            original = part.get_payload()[0]
        elif part.get_content_type() == "text/rfc822-headers":
            original = message_from_bytes(part.get_payload(decode=True) or b"", policy=policy.compat32)
        else:
            continue
        for name in ORIGINAL_HEADERS:
            for _, address in getaddresses([_text(v) for v in original.get_all(name, [])]):
                yield address
    for part in message.walk():
        if part.get_content_maintype() == "text":
            payload = part.get_payload(decode=True) or b""
            yield from re.findall(r"[\w.+-]+@[\w.-]+", payload.decode("utf-8", "replace"))


def _invitation_of(message: Message, bounce_address: str, secret_key: str) -> tuple[int | None, str | None]:
    """The first VERP address that verifies, else (None, the first one that did not)."""
    pattern = _verp_pattern(bounce_address)
    forged = None
    for address in _candidate_addresses(message):
        if not pattern.fullmatch(address.strip()):
            continue
        found = invitation_from_address(address, bounce_address, secret_key)
        if found is not None:
            return found, None
        forged = forged or address
    return None, forged


# --- recording it -----------------------------------------------------------------------------------

@unit_of_work
def record_bounce(bounce: Bounce, now: datetime) -> bool:
    """Mark the invitation bounced and, after a hard bounce, its stakeholder undeliverable. Returns
    whether anything changed: reading the same bounce again changes nothing, and a soft bounce never
    overrides a hard one. A unit of work, committed before the message leaves the mailbox."""
    invitation = db.session.get(Invitation, bounce.invitation_id)
    if invitation is None:
        return False  # its campaign was deleted: nothing left to mark
    if not invitation.record_bounce(bounce.kind, bounce.reason, now):
        return False
    if invitation.wave.state == "closed":
        forget_closed_wave_invitations(invitation.wave_id)  # its kept invitation counts no longer hold
    stakeholder = invitation.stakeholder
    # A bounce for an address HR has since corrected says nothing about the new one.
    same_address = bounce.recipient is None or bounce.recipient == stakeholder.email.lower()
    if bounce.kind == "hard" and same_address:
        stakeholder.mark_undeliverable(f"Email bounced ({invitation.wave.label}): {bounce.reason}", now)
    return True


@unit_of_work
def clear_undeliverable(stakeholder) -> None:
    """An admin says the address works again: the stakeholder is invited again. A unit of work."""
    stakeholder.mark_deliverable()


# --- the mailbox ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BounceSettings:
    """What reading the bounce mailbox needs from the configuration."""

    bounce_address: str
    secret_key: str
    host: str
    port: int = 993
    user: str | None = None
    password: str | None = None
    security: str = "ssl"
    folder: str = "INBOX"
    timeout: float = 30.0

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> BounceSettings | None:
        """None unless both a bounce address and an IMAP host are configured."""
        if not config.get("BOUNCE_ADDRESS") or not config.get("BOUNCE_IMAP_HOST"):
            return None
        return cls(bounce_address=config["BOUNCE_ADDRESS"], secret_key=config["SECRET_KEY"],
                   host=config["BOUNCE_IMAP_HOST"], port=config.get("BOUNCE_IMAP_PORT", 993),
                   user=config.get("BOUNCE_IMAP_USER"), password=config.get("BOUNCE_IMAP_PASSWORD"),
                   security=config.get("BOUNCE_IMAP_SECURITY", "ssl"),
                   folder=config.get("BOUNCE_IMAP_FOLDER", "INBOX"),
                   timeout=config.get("BOUNCE_IMAP_TIMEOUT", 30.0))


@dataclass
class BounceReport:
    """What one read of the mailbox did, for the CLI summary and the logs."""

    read: int = 0
    hard: int = 0
    soft: int = 0
    already_known: int = 0
    left: dict[str, int] = field(default_factory=dict)  # outcome -> messages left in the mailbox

    def summary(self) -> str:
        text = (f"messages read: {self.read}, hard bounces: {self.hard}, soft bounces: {self.soft}, "
                f"already recorded: {self.already_known}")
        if self.left:
            text += "; left in the mailbox: " + ", ".join(f"{n} {k}" for k, n in sorted(self.left.items()))
        return text


class BounceMailboxError(Exception):
    """The bounce mailbox could not be reached, logged into or opened."""


def _connect(settings: BounceSettings) -> imaplib.IMAP4:
    try:
        if settings.security == "ssl":
            imap: imaplib.IMAP4 = imaplib.IMAP4_SSL(settings.host, settings.port, timeout=settings.timeout,
                                                    ssl_context=ssl.create_default_context())
        else:
            imap = imaplib.IMAP4(settings.host, settings.port, timeout=settings.timeout)
            if settings.security == "starttls":
                imap.starttls(ssl_context=ssl.create_default_context())
        if settings.user:
            imap.login(settings.user, settings.password or "")
        status, _ = imap.select(_quoted(settings.folder))
        if status != "OK":
            raise imaplib.IMAP4.error(f"cannot open folder {settings.folder!r}")
    except (imaplib.IMAP4.error, OSError) as error:
        raise BounceMailboxError(f"Cannot read the bounce mailbox {settings.user or ''}@{settings.host}:"
                                 f"{settings.port}: {error}") from error
    return imap


def _quoted(folder: str) -> str:
    return '"' + folder.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _has_folder(imap: imaplib.IMAP4, folder: str) -> bool:
    status, data = imap.list('""', _quoted(folder))
    return status == "OK" and any(item for item in data if item)


def read_bounces(settings: BounceSettings, now: datetime, limit: int = MAX_MESSAGES_PER_RUN) -> BounceReport:
    """Read the bounce mailbox (mail of the last LOOK_BACK_DAYS, newest first): record each bounce, then
    move it to `Processed` (when that folder exists) or delete it. Messages are fetched with BODY.PEEK,
    so what stays is not even marked read.
    Raises BounceMailboxError when the mailbox cannot be used. Needs an app context."""
    report = BounceReport()
    imap = _connect(settings)
    try:
        # Servers announce MOVE and UIDPLUS only after login: ask again.
        status, data = imap.capability()
        capabilities = {c.upper() for c in data[0].decode().split()} if status == "OK" and data and data[0] else set()
        processed = _has_folder(imap, PROCESSED_FOLDER) if settings.folder != PROCESSED_FOLDER else False
        start = now - timedelta(days=LOOK_BACK_DAYS)
        since = f"{start.day}-{_MONTHS[start.month - 1]}-{start.year}"  # IMAP's date: English, whatever the locale
        status, data = imap.uid("SEARCH", None, "SINCE", since)
        uids = list(reversed(data[0].split()))[:limit] if status == "OK" and data and data[0] else []
        done: list[bytes] = []
        for uid in uids:
            status, fetched = imap.uid("FETCH", uid, "(BODY.PEEK[])")
            raw = next((item[1] for item in fetched or [] if isinstance(item, tuple)), None)
            if status != "OK" or raw is None:
                continue
            report.read += 1
            reading = read_message(raw, settings.bounce_address, settings.secret_key)
            if reading.bounce is None:
                report.left[reading.outcome] = report.left.get(reading.outcome, 0) + 1
                log.info("Bounce mailbox: message %s left in place (%s)", uid.decode(), reading.detail)
                continue
            if record_bounce(reading.bounce, now):
                setattr(report, reading.bounce.kind, getattr(report, reading.bounce.kind) + 1)
            else:
                report.already_known += 1
            done.append(uid)
        if done:
            _remove(imap, b",".join(done), processed, capabilities)
    finally:
        try:
            imap.logout()
        except (imaplib.IMAP4.error, OSError):
            pass
    log.info("Bounce mailbox: %s", report.summary())
    return report


def _remove(imap: imaplib.IMAP4, uids: bytes, processed: bool, capabilities: set[str]) -> None:
    """Move the recorded bounces out of the folder; only they are expunged when the server allows it."""
    if processed and "MOVE" in capabilities:
        imap.uid("MOVE", uids, _quoted(PROCESSED_FOLDER))
        return
    if processed:
        imap.uid("COPY", uids, _quoted(PROCESSED_FOLDER))
    imap.uid("STORE", uids, "+FLAGS.SILENT", r"(\Deleted)")
    if "UIDPLUS" in capabilities:
        imap.uid("EXPUNGE", uids)
    else:
        imap.expunge()
