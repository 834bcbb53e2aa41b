"""Send-rate limits and the dispatchers' shared state: quota reserved in the database so that any number of
dispatchers together stay under MAIL_MAX_PER_MINUTE / MAIL_MAX_PER_DAY, a pause the mail server asked for,
and the heartbeat every pass leaves behind.

Quota is reserved under a lock on the one `DispatcherState` row (PostgreSQL `FOR UPDATE`; SQLite: a no-op
UPDATE takes the database's write lock), so two dispatchers never both see the last free slot.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Mapping

from sqlalchemy import delete, func, insert, select, update

from app.extensions import db, is_postgres
from app.models import DispatcherState, Invitation, MailSend, Wave

STATE_ID = 1
MINUTE = timedelta(seconds=60)
DAY = timedelta(days=1)
# Our clocks and the server's differ by the time between reserving and the server accepting: a message
# stays in our minute for one more second, so a server counting a strict rolling minute never sees more.
WINDOW_MARGIN = timedelta(seconds=1)
# Within the minute, at most a sixtieth of it per second: a steady rate instead of a burst at the top of
# each minute, which relays dislike and which would make "600 a minute" mean 600 in two seconds.
SLICE = timedelta(seconds=1)
KEEP_SENDS = timedelta(days=2)
PAUSE_FIRST = timedelta(seconds=60)
PAUSE_MAX = timedelta(minutes=15)
PAUSE_ASKED_MAX = timedelta(hours=1)
_PAUSE_LENGTH = re.compile(r" \(pause (\d+) s\)$")


@dataclass(frozen=True)
class SendLimits:
    """MAIL_MAX_PER_MINUTE and MAIL_MAX_PER_DAY; None means no limit."""

    per_minute: int | None = None
    per_day: int | None = None

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> SendLimits:
        return cls(per_minute=config.get("MAIL_MAX_PER_MINUTE") or None,
                   per_day=config.get("MAIL_MAX_PER_DAY") or None)

    @property
    def limited(self) -> bool:
        return bool(self.per_minute or self.per_day)

    @property
    def per_slice(self) -> int | None:
        return math.ceil(self.per_minute * SLICE / MINUTE) if self.per_minute else None


@dataclass(frozen=True)
class Reservation:
    """`granted` messages may be sent now; when none may, `retry_at` says when one may (None: paused)."""

    granted: int
    retry_at: datetime | None = None
    paused_until: datetime | None = None
    pause_reason: str | None = None


@dataclass(frozen=True)
class DispatcherStatus:
    """What the admin pages show about the dispatchers."""

    last_pass_at: datetime | None
    last_pass_by: str | None
    last_pass_summary: str | None
    paused_until: datetime | None
    pause_reason: str | None

    @property
    def paused(self) -> bool:
        return self.paused_until is not None

    @property
    def pause_reason_text(self) -> str | None:
        return _PAUSE_LENGTH.sub("", self.pause_reason) if self.pause_reason else None


@dataclass(frozen=True)
class SendingForecast:
    """When the invitations waiting in open waves (every campaign's: they share the limits) should be out."""

    pending: int
    finishes_at: datetime
    per_minute: int | None
    per_day: int | None
    more_than_a_day: bool


def _insert_state_row() -> None:
    if is_postgres():
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    db.session.execute(dialect_insert(DispatcherState).values(id=STATE_ID).on_conflict_do_nothing())


def _locked_state() -> DispatcherState:
    """The shared row, locked until this transaction ends (created on first use)."""
    query = select(DispatcherState).where(DispatcherState.id == STATE_ID).execution_options(populate_existing=True)
    if is_postgres():
        state = db.session.scalar(query.with_for_update())
        if state is None:
            _insert_state_row()
            state = db.session.scalar(query.with_for_update())
        return state
    # SQLite has no row locks: a no-op write takes the database's write lock before anything is read.
    db.session.execute(update(DispatcherState).where(DispatcherState.id == STATE_ID)
                       .values(id=DispatcherState.id).execution_options(synchronize_session=False))
    state = db.session.scalar(query)
    if state is None:
        _insert_state_row()
        state = db.session.scalar(query)
    return state


def _current_pause(state: DispatcherState, now: datetime) -> datetime | None:
    return state.paused_until if state.paused_until is not None and state.paused_until > now else None


def _free_at(window: timedelta, limit: int, used: int, now: datetime) -> datetime:
    """When the window next has room: the moment the row that keeps it full leaves it."""
    # Rows dated after `now` (a dispatcher whose clock runs ahead) count too; see `reserve`.
    blocking = db.session.scalar(
        select(MailSend.sent_at).where(MailSend.sent_at > now - window)
        .order_by(MailSend.sent_at).offset(used - limit).limit(1))
    return (blocking or now) + window


def reserve(limits: SendLimits, now: datetime, wanted: int = 1, kind: str = "invitation") -> Reservation:
    """Reserve quota for up to `wanted` messages about to be sent, in one committed transaction.

    Checks the server-requested pause first. With no limits set, grants everything and writes nothing.
    Rows dated later than `now` count as well, so a dispatcher whose clock lags cannot slip in beside them.
    """
    db.session.commit()
    state = _locked_state()
    paused = _current_pause(state, now)
    if paused is not None:
        reservation = Reservation(0, paused, paused, state.pause_reason)
        db.session.commit()
        return reservation
    if not limits.limited:
        db.session.commit()
        return Reservation(wanted)
    windows = []
    if limits.per_minute:
        windows += [(MINUTE + WINDOW_MARGIN, limits.per_minute), (SLICE, limits.per_slice)]
    if limits.per_day:
        windows.append((DAY, limits.per_day))
    counts = db.session.execute(
        select(*[func.count().filter(MailSend.sent_at > now - window) for window, _ in windows])
        .where(MailSend.sent_at > now - max(window for window, _ in windows))
    ).one()
    granted = min([wanted] + [limit - used for (_, limit), used in zip(windows, counts)])
    if granted <= 0:
        retry_at = max(_free_at(window, limit, used, now) for (window, limit), used in zip(windows, counts)
                       if used >= limit)
        db.session.commit()
        return Reservation(0, retry_at)
    db.session.execute(insert(MailSend), [{"sent_at": now, "kind": kind}] * granted)
    db.session.commit()
    return Reservation(granted)


def pause_for_server(now: datetime, reply: str, asked_seconds: int | None = None) -> tuple[datetime, str]:
    """Pause every dispatcher after a throttling reply: 60 s, doubling while the server keeps throttling
    soon after a pause (up to 15 min), or what the reply asked for. A pause already running is kept, not
    lengthened, so two dispatchers throttled at once do not double it. Commits; returns (until, reason)."""
    db.session.commit()
    state = _locked_state()
    current = _current_pause(state, now)
    if current is not None:
        result = (current, state.pause_reason or reply)
        db.session.commit()
        return result
    if asked_seconds:
        length = min(timedelta(seconds=asked_seconds), PAUSE_ASKED_MAX)
    else:
        length = PAUSE_FIRST
        previous = _PAUSE_LENGTH.search(state.pause_reason or "")
        if previous and state.paused_until is not None and now - state.paused_until < PAUSE_MAX:
            length = min(timedelta(seconds=2 * int(previous.group(1))), PAUSE_MAX)
    state.paused_until = now + length
    # The length rides along with the reason, so the next throttle knows what to double.
    state.pause_reason = f"{reply[:1000]} (pause {int(length.total_seconds())} s)"
    result = (state.paused_until, state.pause_reason)
    db.session.commit()
    return result


def record_pass(now: datetime, worker_id: str, summary: str) -> None:
    """The heartbeat: when the last pass ended, who ran it and what it did; also forgets old sends."""
    db.session.execute(delete(MailSend).where(MailSend.sent_at < now - KEEP_SENDS))
    values = {"last_pass_at": now, "last_pass_by": worker_id[:120], "last_pass_summary": summary}
    if db.session.execute(update(DispatcherState).where(DispatcherState.id == STATE_ID).values(**values)
                          .execution_options(synchronize_session=False)).rowcount == 0:
        _insert_state_row()
        db.session.execute(update(DispatcherState).where(DispatcherState.id == STATE_ID).values(**values)
                           .execution_options(synchronize_session=False))
    db.session.commit()


def dispatcher_status(now: datetime) -> DispatcherStatus:
    """The last pass (time, worker, summary) and the server-requested pause if it still runs."""
    state = db.session.get(DispatcherState, STATE_ID, populate_existing=True)
    if state is None:
        return DispatcherStatus(None, None, None, None, None)
    paused = _current_pause(state, now)
    return DispatcherStatus(state.last_pass_at, state.last_pass_by, state.last_pass_summary, paused,
                            state.pause_reason if paused else None)


def time_to_send(count: int, limits: SendLimits) -> timedelta:
    """How long `count` messages take under the limits, ignoring how fast the server accepts them."""
    if count <= 0 or not limits.limited:
        return timedelta(0)

    def within_a_day(n: int) -> timedelta:
        return MINUTE * (n / limits.per_minute) if limits.per_minute else timedelta(0)

    if not limits.per_day or count <= limits.per_day:
        return within_a_day(count)
    full_days = math.ceil(count / limits.per_day) - 1
    return DAY * full_days + within_a_day(count - full_days * limits.per_day)


def sending_forecast(now: datetime, limits: SendLimits) -> SendingForecast | None:
    """The expected finish of the invitations waiting in open waves under the limits; None without limits
    or with nothing waiting. Counts every campaign's: they all share the same quota."""
    if not limits.limited:
        return None
    pending = db.session.scalar(
        select(func.count()).select_from(Invitation).join(Wave, Wave.id == Invitation.wave_id)
        .where(Wave.state == "open", Wave.closes_at > now, Invitation.state.in_(("pending", "sending"))))
    if not pending:
        return None
    duration = time_to_send(pending, limits)
    return SendingForecast(pending=pending, finishes_at=now + duration, per_minute=limits.per_minute,
                           per_day=limits.per_day,
                           more_than_a_day=duration > DAY or bool(limits.per_day and pending > limits.per_day))


@dataclass(frozen=True)
class SendingOverview:
    """The campaign page's sending block: a server-requested pause and the expected finish under the limits."""

    status: DispatcherStatus
    forecast: SendingForecast | None


def sending_overview(now: datetime, limits: SendLimits) -> SendingOverview:
    return SendingOverview(status=dispatcher_status(now), forecast=sending_forecast(now, limits))
