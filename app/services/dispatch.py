"""The dispatcher: one pass plans and opens waves, sends invitations and reminders, and closes waves.

Any number of dispatchers may run at once (cron overlapping itself, several containers). Each message
is claimed in the database, and the claim is committed together with the fresh token the email will
carry before any SMTP traffic, so:

* two workers never claim the same invitation (PostgreSQL: `FOR UPDATE SKIP LOCKED` inside the claiming
  UPDATE; SQLite: the claiming UPDATE is atomic under SQLite's single writer lock);
* a worker killed mid-batch leaves claims that expire after `lease`; the next pass takes them over;
* every link in every email that may have left works, because its token was committed first.

After sending, results are committed in groups of `commit_every` messages. A worker killed with
SIGKILL can therefore have handed to the SMTP server up to `commit_every` messages whose success was
not yet recorded (the in-flight one included): those are sent again after the lease. That is the
duplicate bound per killed worker; `commit_every=1` makes it one message, at a cost in throughput.

One person's data never stops a pass: an address or name that cannot go into an email fails that
invitation for good, with a reason the admin sees on the campaign page, and a message that cannot be
built for any other reason is retried like a transient delivery failure.

With MAIL_MAX_PER_MINUTE / MAIL_MAX_PER_DAY set, each message first reserves quota shared by every
dispatcher (`send_rate.reserve`); a pass waits for quota within `rate_wait` and then leaves the rest
pending. A throttling reply from the server pauses every dispatcher (`send_rate.pause_for_server`) and
hands the message back without counting an attempt.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Callable

from flask import current_app
from sqlalchemy import and_, bindparam, or_, select, update
from sqlalchemy.orm import joinedload, selectinload

from app.extensions import db, is_postgres
from app.models import Campaign, Invitation, Stakeholder, Wave
from app.services import anonymous_pool, send_rate, waves
from app.services.invitations import issue_token
from app.services.mailer import (
    EmailContent,
    InvalidRecipient,
    MailSettings,
    PermanentDeliveryError,
    ThrottledByServer,
    TransientDeliveryError,
    Transport,
    TransportUnavailable,
    checked_recipient,
    email_content,
    render_email,
    transport_for,
)

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=10)
BATCH_SIZE = 100
COMMIT_EVERY = 10
COMMIT_INTERVAL_SECONDS = 2.0  # also commit at least this often, so a slow server does not hold results
MAX_ATTEMPTS = 5
RETRY_BASE = timedelta(minutes=2)  # then 4, 8, 16 minutes...
RETRY_CAP = timedelta(hours=2)
SERVER_DOWN_RETRY = timedelta(minutes=1)
# How long one pass may wait for send-rate quota before leaving the rest to the next pass: well inside
# half the lease, after which a batch stops anyway.
RATE_WAIT = timedelta(minutes=4)
NOT_SENT_OPTED_OUT = "Not sent: the stakeholder opted out or is inactive."
NOT_SENT_UNDELIVERABLE = ("Not sent: an earlier email to this address bounced for good. Clear the mark on the "
                          "stakeholders page (or import a corrected row), then resend.")


@dataclass
class PassReport:
    """What one pass did, for the CLI summary and the logs."""

    waves_created: int = 0
    waves_opened: int = 0
    waves_closed: int = 0
    anonymous_written: int = 0  # anonymous answers written from the pool (see anonymous_pool)
    invited: int = 0
    skipped_for_fatigue: int = 0
    sent: int = 0
    reminders_sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0
    left_for_rate_limit: int = 0  # left pending because the send-rate quota ran out for this pass
    smtp_unavailable: str | None = None
    paused_until: datetime | None = None  # sending paused at the mail server's request
    pause_reason: str | None = None

    def summary(self) -> str:
        parts = [f"{f.name.replace('_', ' ')}: {getattr(self, f.name)}" for f in fields(self)
                 if isinstance(getattr(self, f.name), int)]
        text = ", ".join(parts)
        if self.smtp_unavailable:
            text += f"; mail server unavailable: {self.smtp_unavailable}"
        if self.paused_until:
            text += f"; sending paused until {self.paused_until:%Y-%m-%d %H:%M:%S %Z} at the mail server's " \
                    f"request: {self.pause_reason}"
        return text


def default_worker_id() -> str:
    """Unique per process: containers often all run as pid 1, and some share a hostname."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"


def retry_delay(attempts: int) -> timedelta:
    """Exponential back-off after the `attempts`-th failed try."""
    return min(RETRY_BASE * (2 ** max(0, attempts - 1)), RETRY_CAP)


class _Clock:
    """The pass's notion of now: the given start time, advancing with the real clock. Tests pass their own
    clock and `sleep` to `run_dispatch_pass` to simulate minutes of pacing without waiting for them."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self._monotonic = time.monotonic()

    def __call__(self) -> datetime:
        return self.start + timedelta(seconds=time.monotonic() - self._monotonic)


def run_dispatch_pass(now: datetime, *, worker_id: str | None = None, batch_size: int = BATCH_SIZE,
                      settings: MailSettings | None = None, transport: Transport | None = None,
                      lease: timedelta = LEASE, commit_every: int = COMMIT_EVERY, max_attempts: int = MAX_ATTEMPTS,
                      should_stop: Callable[[], bool] | None = None, limits: send_rate.SendLimits | None = None,
                      rate_wait: timedelta = RATE_WAIT, clock: Callable[[], datetime] | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> PassReport:
    """One pass: plan waves, close ended ones, write the anonymous answers waiting for them, open due
    waves, send due invitations, then due reminders, and leave the heartbeat (`send_rate.record_pass`).

    `should_stop` is polled between messages: a pass asked to stop releases what it claimed but did not
    send and returns. `limits` default to MAIL_MAX_PER_MINUTE / MAIL_MAX_PER_DAY; waiting for quota uses
    `sleep` and ends after `rate_wait`. Needs an app context (database session and the email templates).
    """
    settings = settings or MailSettings.from_config(current_app.config)
    limits = limits or send_rate.SendLimits.from_config(current_app.config)
    worker_id = worker_id or default_worker_id()
    stop = should_stop or (lambda: False)
    clock = clock or _Clock(now)
    report = PassReport()
    db.session.commit()  # start from a clean transaction

    report.waves_created += waves.schedule_campaign_waves(now, settings.timezone)
    report.waves_closed += waves.close_ended_waves(now, lease)
    report.anonymous_written += anonymous_pool.flush_due(now, current_app.config["SECRET_KEY"])
    opened = waves.open_due_waves(now)
    report.waves_opened += opened.waves
    report.invited += opened.invited
    report.skipped_for_fatigue += opened.skipped_for_fatigue
    transport = transport or transport_for(settings)
    sender = _BatchSender(transport, settings, worker_id, clock, lease, commit_every, max_attempts, stop, report,
                          limits, clock() + rate_wait, sleep)
    if limits.per_minute:
        batch_size = min(batch_size, limits.per_minute)  # claim no more than a minute's worth at a time
    sender.send_due_invitations(batch_size)
    if not sender.halted and not stop():
        sender.send_due_reminders(batch_size)
    summary = report.summary()
    send_rate.record_pass(clock(), worker_id, summary)
    log.info("Dispatch pass by %s: %s", worker_id, summary)
    return report


# --- sending ----------------------------------------------------------------------------------------

def _load_for_email(ids: list[int]) -> list[Invitation]:
    return list(db.session.scalars(
        select(Invitation).where(Invitation.id.in_(ids)).order_by(Invitation.id)
        .options(joinedload(Invitation.stakeholder),
                 selectinload(Invitation.wave).selectinload(Wave.campaign).options(
                     selectinload(Campaign.provider), selectinload(Campaign.definition),
                     selectinload(Campaign.service_areas)))
        .execution_options(populate_existing=True)
    ).unique())


_invitations = Invitation.__table__


class _BatchSender:
    """Claims, sends and records batches for one pass. Holds nothing between passes."""

    def __init__(self, transport: Transport, settings: MailSettings, worker_id: str, clock: Callable[[], datetime],
                 lease: timedelta, commit_every: int, max_attempts: int, stop: Callable[[], bool],
                 report: PassReport, limits: send_rate.SendLimits, wait_until: datetime,
                 sleep: Callable[[float], None]) -> None:
        self.transport = transport
        self.settings = settings
        self.worker_id = worker_id
        self.clock = clock
        self.lease = lease
        self.commit_every = max(1, commit_every)
        self.max_attempts = max_attempts
        self.stop = stop
        self.report = report
        self.limits = limits
        self.wait_until = wait_until
        self.sleep = sleep
        self.out_of_quota = False
        self.reminder_claim: datetime | None = None

    @property
    def halted(self) -> bool:
        """Nothing more is to be sent this pass: the server is down, asked for a pause, or quota ran out."""
        return self.report.smtp_unavailable is not None or self.report.paused_until is not None or self.out_of_quota

    def _paused(self) -> bool:
        """Checks the pause another dispatcher may have set, before claiming anything."""
        status = send_rate.dispatcher_status(self.clock())
        if status.paused_until is not None:
            self.report.paused_until, self.report.pause_reason = status.paused_until, status.pause_reason
        return status.paused_until is not None

    def _wait_for_quota(self, kind: str) -> datetime | None:
        """Reserve quota for one message, sleeping while it is used up; None once reserved, otherwise when
        to try again (the server asked for a pause, quota will not free up within this pass, or stop)."""
        while True:
            now = self.clock()
            reservation = send_rate.reserve(self.limits, now, 1, kind)
            if reservation.granted:
                return None
            if reservation.paused_until is not None:
                self.report.paused_until = reservation.paused_until
                self.report.pause_reason = reservation.pause_reason
                return reservation.paused_until
            if self.stop() or reservation.retry_at > self.wait_until:
                self.out_of_quota = True
                return reservation.retry_at
            # In steps of at most a second, so a dispatcher asked to stop does not sit out the minute.
            while not self.stop() and (remaining := (reservation.retry_at - self.clock()).total_seconds()) > 0:
                self.sleep(min(remaining, 1.0))

    # invitations -------------------------------------------------------------------------------

    def claim_invitations(self, limit: int) -> list[int]:
        """Atomically mark up to `limit` due invitations as being sent by this worker; commits nothing."""
        now = self.clock()
        due = (
            select(Invitation.id).join(Wave, Wave.id == Invitation.wave_id)
            .where(Wave.state == "open", Wave.closes_at > now,
                   or_(and_(Invitation.state == "pending",
                            or_(Invitation.next_attempt_at.is_(None), Invitation.next_attempt_at <= now)),
                       and_(Invitation.state == "sending", Invitation.claimed_at < now - self.lease)))
            .order_by(Invitation.id).limit(limit)
        )
        if is_postgres():
            due = due.with_for_update(skip_locked=True, of=Invitation)
        return list(db.session.scalars(
            update(Invitation).where(Invitation.id.in_(due))
            .values(state="sending", claimed_at=now, claimed_by=self.worker_id, attempts=Invitation.attempts + 1)
            .returning(Invitation.id).execution_options(synchronize_session=False)
        ))

    def send_due_invitations(self, batch_size: int) -> None:
        while not self.stop() and not self.halted and not self._paused():
            db.session.commit()  # each claim starts its own transaction (SQLite: takes the write lock first)
            ids = self.claim_invitations(batch_size)
            if not ids:
                db.session.commit()
                return
            emails: list[tuple[int, EmailContent]] = []
            unprepared: list[tuple[int, Exception]] = []
            for invitation in _load_for_email(ids):
                person = invitation.stakeholder
                if person.opted_out or not person.active or person.undeliverable_at is not None:
                    invitation.mark_failed(NOT_SENT_UNDELIVERABLE if person.undeliverable_at is not None
                                           else NOT_SENT_OPTED_OUT)
                    self.report.failed += 1
                    continue
                try:
                    emails.append((invitation.id, self._prepare(invitation, kind="invitation", purpose="invite")))
                except (PermanentDeliveryError, TransientDeliveryError) as error:
                    unprepared.append((invitation.id, error))
            # Claims and tokens are durable before anything is sent; what could not be prepared is recorded
            # like a delivery failure (an unusable address or name fails for good, at once).
            self._record_invitations([], unprepared, [], self.clock())
            self._send_batch(emails, self._record_invitations)

    def _record_invitations(self, sent: list[tuple[int, datetime]], failures: list[tuple[int, Exception]],
                            released: list[int], retry_at: datetime) -> None:
        if sent:
            # Marked sent in one guarded statement per batch, only while this worker still holds the claim.
            db.session.execute(
                _invitations.update()
                .where(_invitations.c.id == bindparam("b_id"), _invitations.c.state == "sending",
                       _invitations.c.claimed_by == self.worker_id)
                .values(state="sent", sent_at=bindparam("b_sent_at"), last_error=None, claimed_at=None,
                        claimed_by=None),
                [{"b_id": i, "b_sent_at": at} for i, at in sent],
            )
            self.report.sent += len(sent)
        for invitation_id, error in failures:
            invitation = db.session.get(Invitation, invitation_id, populate_existing=True)
            if invitation is None or invitation.state != "sending" or invitation.claimed_by != self.worker_id:
                continue
            if isinstance(error, PermanentDeliveryError) or invitation.attempts >= self.max_attempts:
                invitation.mark_failed(getattr(error, "reply", str(error)))
                self.report.failed += 1
            else:
                invitation.requeue(getattr(error, "reply", str(error)),
                                   retry_at=self.clock() + retry_delay(invitation.attempts))
                self.report.retrying += 1
        if released:
            # Not this message's fault (server down, time up, asked to stop): the attempt does not count.
            db.session.execute(
                update(Invitation).where(Invitation.id.in_(released), Invitation.state == "sending",
                                         Invitation.claimed_by == self.worker_id)
                .values(state="pending", claimed_at=None, claimed_by=None, next_attempt_at=retry_at,
                        attempts=Invitation.attempts - 1)
                .execution_options(synchronize_session=False)
            )
            self.report.released += len(released)
        db.session.commit()

    # reminders ---------------------------------------------------------------------------------

    def claim_reminders(self, wave: Wave, due_count: int, latest_due: datetime, limit: int) -> list[int]:
        now = self.clock()
        due = (
            select(Invitation.id).join(Stakeholder, Stakeholder.id == Invitation.stakeholder_id)
            .where(Invitation.wave_id == wave.id, Invitation.state == "sent", Invitation.responded_at.is_(None),
                   Invitation.sent_at < latest_due, Invitation.reminders_sent < due_count,
                   or_(Invitation.last_reminded_at.is_(None), Invitation.last_reminded_at < latest_due),
                   or_(Invitation.reminder_claimed_at.is_(None), Invitation.reminder_claimed_at < now - self.lease),
                   Stakeholder.active.is_(True), Stakeholder.opted_out_at.is_(None),
                   Invitation.bounced_at.is_(None), Stakeholder.undeliverable_at.is_(None))
            .order_by(Invitation.id).limit(limit)
        )
        if is_postgres():
            due = due.with_for_update(skip_locked=True, of=Invitation)
        self.reminder_claim = now
        return list(db.session.scalars(
            update(Invitation).where(Invitation.id.in_(due)).values(reminder_claimed_at=now)
            .returning(Invitation.id).execution_options(synchronize_session=False)
        ))

    def send_due_reminders(self, batch_size: int) -> None:
        """One reminder per due offset (campaign.reminder_days after the wave opened). After an outage
        that skipped several offsets, one reminder covers them all instead of several in a row."""
        now = self.clock()
        waves = db.session.scalars(
            select(Wave).join(Campaign).where(Wave.state == "open", Wave.closes_at > now)
            .options(joinedload(Wave.campaign)).order_by(Wave.id)
        ).all()
        plans = []
        for wave in waves:
            due_days = [d for d in sorted(wave.campaign.reminder_days or [])
                        if wave.opens_at + timedelta(days=d) <= now]
            if due_days:
                plans.append((wave.id, len(due_days), wave.opens_at + timedelta(days=due_days[-1])))
        for wave_id, due_count, latest_due in plans:
            while not self.stop() and not self.halted and not self._paused():
                db.session.commit()
                wave = db.session.get(Wave, wave_id)
                ids = self.claim_reminders(wave, due_count, latest_due, batch_size)
                if not ids:
                    db.session.commit()
                    break
                emails = []
                unprepared: list[tuple[int, Exception]] = []
                for invitation in _load_for_email(ids):
                    try:
                        emails.append((invitation.id, self._prepare(invitation, kind="reminder", purpose="reminder")))
                    except (PermanentDeliveryError, TransientDeliveryError) as error:
                        unprepared.append((invitation.id, error))
                self._record_reminders([], unprepared, [], self.clock())  # commits the claims and tokens too
                self._send_batch(emails, self._record_reminders)

    def _record_reminders(self, sent: list[tuple[int, datetime]], failures: list[tuple[int, Exception]],
                          released: list[int], retry_at: datetime) -> None:
        if sent:
            db.session.execute(
                _invitations.update()
                .where(_invitations.c.id == bindparam("b_id"),
                       _invitations.c.reminder_claimed_at == self.reminder_claim)
                .values(reminders_sent=_invitations.c.reminders_sent + 1, last_reminded_at=bindparam("b_sent_at"),
                        reminder_claimed_at=None),
                [{"b_id": i, "b_sent_at": at} for i, at in sent],
            )
            self.report.reminders_sent += len(sent)
        now = self.clock()
        for invitation_id, error in failures:
            invitation = db.session.get(Invitation, invitation_id, populate_existing=True)
            if invitation is None:
                continue
            invitation.last_error = f"Reminder not delivered: {getattr(error, 'reply', error)}"[:2000]
            if isinstance(error, PermanentDeliveryError):
                # Give up on this reminder (the next offset may try again); it did not go out, so
                # reminders_sent stays as it is.
                invitation.last_reminded_at = now
                invitation.reminder_claimed_at = None
                self.report.failed += 1
            else:
                # Reminders have no retry column: back-date the claim so it expires after the back-off.
                invitation.reminder_claimed_at = now - self.lease + RETRY_BASE
                self.report.retrying += 1
        if released:
            db.session.execute(
                update(Invitation).where(Invitation.id.in_(released))
                .values(reminder_claimed_at=retry_at - self.lease).execution_options(synchronize_session=False)
            )
            self.report.released += len(released)
        db.session.commit()

    # shared ------------------------------------------------------------------------------------

    def _prepare(self, invitation: Invitation, *, kind: str, purpose: str) -> EmailContent:
        """The email's content with a fresh link. Raises InvalidRecipient (a permanent failure) before
        any token is stored when the address or name cannot go into an email; any other error is
        wrapped as a transient one, retried with back-off until the attempts run out."""
        try:
            checked_recipient(invitation.stakeholder.email, invitation.stakeholder.name)
            token = issue_token(invitation, purpose=purpose)
            return email_content(invitation, token, self.settings, kind=kind)
        except InvalidRecipient as error:
            log.warning("Invitation %s: %s", invitation.id, error.reply)
            raise
        except Exception as error:
            log.exception("Could not prepare the %s for invitation %s", kind, invitation.id)
            raise TransientDeliveryError(f"The email could not be prepared ({type(error).__name__}: {error}).") \
                from error

    def _send_batch(self, emails: list[tuple[int, EmailContent]],
                    record: Callable[[list[tuple[int, datetime]], list[tuple[int, Exception]], list[int], datetime],
                                     None]) -> None:
        """Send over one connection, recording results every `commit_every` messages. Never raises for
        a delivery problem: an unreachable server releases the rest of the batch for a later pass.
        Messages are rendered one at a time, just before sending, so a batch holds plain data only."""
        started = time.monotonic()
        sent: list[tuple[int, datetime]] = []
        failures: list[tuple[int, Exception]] = []
        last_commit = time.monotonic()
        with self.transport:
            for position, (invitation_id, content) in enumerate(emails):
                # Stop well before the lease runs out, so no other worker takes over a claim still in use.
                if self.stop() or time.monotonic() - started > self.lease.total_seconds() / 2:
                    record(sent, failures, [i for i, _ in emails[position:]], self.clock())
                    return
                if self.limits.limited:
                    retry_at = self._wait_for_quota(content.kind)
                    if retry_at is not None:
                        if self.out_of_quota:
                            self.report.left_for_rate_limit += len(emails) - position
                        record(sent, failures, [i for i, _ in emails[position:]], retry_at)
                        return
                try:
                    email = render_email(content, self.settings, now=self.clock())
                    self.transport.send(email)
                except ThrottledByServer as error:
                    until, reason = send_rate.pause_for_server(self.clock(), error.reply, error.retry_after)
                    self.report.paused_until, self.report.pause_reason = until, reason
                    log.warning("The mail server asks to slow down; sending paused until %s, %d messages left "
                                "for a later pass: %s", until, len(emails) - position, error.reply)
                    record(sent, failures, [i for i, _ in emails[position:]], until)
                    return
                except TransportUnavailable as error:
                    self.report.smtp_unavailable = error.reply
                    log.warning("Mail server unavailable, %d messages left for a later pass: %s",
                                len(emails) - position, error.reply)
                    record(sent, failures, [i for i, _ in emails[position:]], self.clock() + SERVER_DOWN_RETRY)
                    return
                except (TransientDeliveryError, PermanentDeliveryError) as error:
                    log.info("Delivery to %s failed: %s", content.recipient, error.reply)
                    failures.append((invitation_id, error))
                except Exception as error:  # one message that cannot be built or written fails alone
                    log.exception("Could not send the email to %s", content.recipient)
                    failures.append((invitation_id, TransientDeliveryError(
                        f"The email could not be built or sent ({type(error).__name__}: {error}).")))
                else:
                    sent.append((invitation_id, self.clock()))
                if len(sent) + len(failures) >= self.commit_every or \
                        time.monotonic() - last_commit >= COMMIT_INTERVAL_SECONDS:
                    record(sent, failures, [], self.clock())
                    sent, failures = [], []
                    last_commit = time.monotonic()
        record(sent, failures, [], self.clock())
