"""The anonymous response pool: anonymous submissions wait here, sealed, and are written in shuffled batches.

The transaction that marks an invitation answered stores only a sealed pool row. The response, its answers
and its tallies are written later, in another transaction, with at least the campaign's minimum group
size of other submissions of the same wave and segment, in random order, with fresh random ids and one
day for the batch. So no system column (PostgreSQL xmin/ctid, SQLite rowid), id order, time or segment
ties a stored response to its invitation more closely than to the minimum group size of candidates.
Only the last submissions of a wave, written when it closes, can form a smaller batch.
"""
from __future__ import annotations

import logging
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timezone
from typing import Any

from sqlalchemy import delete, false, func, insert, select

from app.extensions import db
from app.models import Answer, Campaign, PooledResponse, Response, Wave
from app.services.sealing import SealBroken, pool_key, seal, unseal
from app.services.tallies import TallyKey, add_to_tallies

log = logging.getLogger(__name__)

# Answer columns a pooled answer may set. Those it leaves out (most are empty) take these values.
_ANSWER_DEFAULTS: dict[str, Any] = {
    column.key: None for column in Answer.__table__.columns if column.key not in ("id", "response_id", "wave_id")
} | {"shareable": False}

_POOL = PooledResponse.__table__
_INSERT_RESPONSES = insert(Response.__table__)
_INSERT_ANSWERS = insert(Answer.__table__)
# SQLite lets one writer in at a time, and a statement that writes nothing still takes the write lock:
# run first, it keeps any other flush from reading the same rows until this transaction ends.
_TAKE_WRITE_LOCK = delete(_POOL).where(false())

_shuffler = secrets.SystemRandom()


@dataclass(frozen=True)
class PooledSubmission:
    """One anonymous submission as it waits: ready to be written, holding nothing of who sent it."""

    day: date
    department: str | None
    location: str | None
    answers: tuple[dict[str, Any], ...]  # Answer column values, without ids; columns at their default left out
    tallies: tuple[tuple[str, int, str, int, int], ...]  # (question code, area key, department, score, count)

    @classmethod
    def prepare(cls, *, day: date, segments: Mapping[str, str | None], answer_rows: Iterable[Mapping[str, Any]],
                tallies: Counter[TallyKey]) -> PooledSubmission:
        answers = tuple({key: value for key, value in row.items()
                         if key in _ANSWER_DEFAULTS and value != _ANSWER_DEFAULTS[key]} for row in answer_rows)
        return cls(day, segments.get("department"), segments.get("location"), answers,
                   tuple((code, area, department, score, n) for (_, code, area, department, score), n
                         in sorted(tallies.items())))

    def to_payload(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "department": self.department, "location": self.location,
                "answers": list(self.answers), "tallies": [list(key) for key in self.tallies]}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> PooledSubmission:
        """Raises SealBroken when the payload is not one this module sealed."""
        try:
            answers = tuple(dict(answer) for answer in payload["answers"])
            if any(not set(answer) <= set(_ANSWER_DEFAULTS) for answer in answers):
                raise ValueError("unknown answer column")
            return cls(date.fromisoformat(payload["day"]), payload["department"], payload["location"], answers,
                       tuple((str(c), int(a), str(d), int(s), int(n)) for c, a, d, s, n in payload["tallies"]))
        except (KeyError, TypeError, ValueError) as error:
            raise SealBroken(f"A pooled submission is not in the expected form ({error}).") from None


def _context(wave_id: int) -> str:
    # Bound into each seal: a row moved to another wave no longer opens.
    return f"response_pool:{wave_id}"


def pool_row(wave_id: int, submission: PooledSubmission, *, secret_key: str) -> dict[str, Any]:
    """Column values of the sealed pool row for one submission, for the transaction that claims its
    invitation to insert. Its random id and its position say nothing: it is deleted when written."""
    sealed = seal(pool_key(secret_key), submission.to_payload(), context=_context(wave_id))
    return {"id": uuid.uuid4(), "wave_id": wave_id, "sealed": sealed}


def pooled_count(wave_id: int) -> int:
    """How many submissions of the wave are waiting (readable or not)."""
    return db.session.scalar(select(func.count()).select_from(_POOL).where(_POOL.c.wave_id == wave_id))


def _take_waiting(wave_id: int) -> list[Any]:
    """The wave's waiting rows, locked for this transaction. On PostgreSQL rows another flush holds are
    skipped rather than waited for: that flush writes them."""
    connection = db.session.connection()
    query = select(_POOL.c.id, _POOL.c.sealed).where(_POOL.c.wave_id == wave_id)
    if connection.dialect.name == "postgresql":
        return connection.execute(query.with_for_update(skip_locked=True)).all()
    connection.execute(_TAKE_WRITE_LOCK)
    return connection.execute(query).all()


def flush_wave(wave_id: int, *, minimum: int, secret_key: str) -> int:
    """Write the wave's waiting submissions as one shuffled batch; return how many were written. Commits,
    or rolls back having written nothing.

    Submissions are written by segment (the department and location the campaign keeps with answers),
    each segment once at least `minimum` of its submissions wait: a response whose department appeared
    only once in its batch could otherwise be matched to the one invitation of that department answered
    since the previous batch. The others keep waiting. A row that does not unseal (altered, or sealed
    under a previous SECRET_KEY) is left in the pool and logged, never written nor counted.
    """
    key = pool_key(secret_key)
    segments: defaultdict[tuple[str | None, str | None], list[tuple[uuid.UUID, PooledSubmission]]]
    segments = defaultdict(list)
    unreadable = 0
    for row in _take_waiting(wave_id):
        try:
            submission = PooledSubmission.from_payload(unseal(key, row.sealed, context=_context(wave_id)))
        except SealBroken:
            unreadable += 1
            continue
        segments[(submission.department, submission.location)].append((row.id, submission))
    if unreadable:
        log.warning("Wave %s: %d pooled submission(s) cannot be unsealed (altered, or sealed under another "
                    "SECRET_KEY); left in the pool", wave_id, unreadable)
    batch = [entry for waiting in segments.values() if len(waiting) >= max(minimum, 1) for entry in waiting]
    if not batch:
        db.session.rollback()
        return 0

    _shuffler.shuffle(batch)
    # One day for the whole batch, the latest of its submissions: a day per response would split the
    # batch by the days its invitations were answered.
    submitted_at = datetime.combine(max(submission.day for _, submission in batch), time(0), tzinfo=timezone.utc)
    responses, answers, tallies = [], [], Counter()
    for _, submission in batch:
        response_id = uuid.uuid4()
        responses.append({"id": response_id, "wave_id": wave_id, "invitation_id": None, "submitted_at": submitted_at,
                          "department": submission.department, "location": submission.location})
        answers += [{**_ANSWER_DEFAULTS, **answer, "response_id": response_id, "wave_id": wave_id}
                    for answer in submission.answers]
        for code, area, department, score, n in submission.tallies:
            tallies[(wave_id, code, area, department, score)] += n

    connection = db.session.connection()
    try:
        connection.execute(_INSERT_RESPONSES, responses)
        if answers:
            connection.execute(_INSERT_ANSWERS, answers)
        add_to_tallies(tallies)
        connection.execute(delete(_POOL).where(_POOL.c.id.in_([pool_id for pool_id, _ in batch])))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return len(batch)


def flush_if_full(wave_id: int, *, minimum: int, secret_key: str) -> int:
    """After an anonymous submission: write the wave's pool once it holds `minimum` submissions.

    Never raises. The submission is already committed to the pool, so a failure here must not tell the
    respondent otherwise; the pool is written by the next submission or by `flush_due`. Only the error's
    type is logged: its message could quote answers.
    """
    try:
        if pooled_count(wave_id) < minimum:
            db.session.rollback()
            return 0
        return flush_wave(wave_id, minimum=minimum, secret_key=secret_key)
    except Exception as error:
        db.session.rollback()
        log.warning("Wave %s: writing the response pool failed (%s); it stays in the pool", wave_id,
                    type(error).__name__)
        return 0


def flush_due(now: datetime, secret_key: str) -> int:
    """Write what waits in the pool where it should not wait any longer; return how many were written.

    A wave that is closed, or whose closing time has passed, is written whatever its pool holds, so the
    last answers are never lost (that last batch can be smaller than the minimum group size). An open wave
    is written only once its pool holds the campaign's minimum group size (normally done by the
    submission that fills it). Meant for every dispatcher pass. Commits.
    """
    waiting = db.session.execute(
        select(Wave.id, Wave.state, Wave.closes_at, Campaign.min_group_size, func.count(_POOL.c.id))
        .select_from(_POOL)
        .join(Wave, Wave.id == _POOL.c.wave_id)
        .join(Campaign, Campaign.id == Wave.campaign_id)
        .group_by(Wave.id, Wave.state, Wave.closes_at, Campaign.min_group_size)
        .order_by(Wave.id)
    ).all()
    db.session.commit()
    written = 0
    for wave_id, state, closes_at, min_group_size, count in waiting:
        ended = state == "closed" or closes_at <= now
        if ended or count >= min_group_size:
            written += flush_wave(wave_id, minimum=1 if ended else min_group_size, secret_key=secret_key)
    return written
