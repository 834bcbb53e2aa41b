"""The anonymous response pool: anonymous submissions wait here as sealed parts and are written in shuffled batches.

A submission is split into parts: the answers about each service area, and those about the provider as
a whole (area key 0). The transaction that marks an invitation answered stores only the sealed parts.
Each part is written later as its own response, in another transaction, in a batch of at least the
campaign's minimum group size (k) parts of one segment (wave, department and location as the campaign
copies them, area), in random order, with fresh random ids and one day for the batch. So:

- the database no longer says which areas one person answered together (with the stakeholder table, a
  department and a set of areas singled out a quarter of the demo's respondents);
- no system column (PostgreSQL xmin/ctid, SQLite rowid), id order, time or segment ties a stored part
  to fewer than the k people of its batch, even for someone who reads which pool rows each batch
  deleted (dead tuples, the WAL): every one of them answered about that area in that department;
- while the wave is open, a segment is written once 2k of its parts wait, as a uniformly random choice
  of all but k: k always stay behind, and the submission that triggers a write is no likelier than
  the others waiting to be in it.

When the wave closes everything left is written: segments of k or more as they are, the smaller ones
without department and location, merged per area, joined by the smallest named segments of that area
while the merged group is under k. A batch under k is written only for an area about which the whole
wave holds fewer than k parts: nothing is ever dropped.
"""
from __future__ import annotations

import logging
import secrets
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timezone
from typing import Any, NamedTuple

from sqlalchemy import delete, false, func, insert, select

from app.extensions import db
from app.models import Answer, Campaign, PooledResponse, Response, Wave
from app.services.sealing import SealBroken, pool_key, seal, unseal
from app.services.tallies import TallyKey, add_to_tallies

log = logging.getLogger(__name__)

RELATIONSHIP = 0  # area key of the part holding the provider-wide (relationship) questions

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
_CHUNK = 500  # ids per IN (...) list

_shuffler = secrets.SystemRandom()


class Segment(NamedTuple):
    """What a part is written with and grouped by, beside its wave: the person's department and location
    as the campaign copies them (None where it does not), and the area the answers are about."""

    department: str | None
    location: str | None
    area_key: int


@dataclass(frozen=True)
class PooledPart:
    """One part of an anonymous submission as it waits: the answers about one service area, or about the
    provider as a whole, ready to be written, holding nothing of who sent it."""

    day: date
    segment: Segment
    answers: tuple[dict[str, Any], ...]  # Answer column values, without ids; columns at their default left out
    tallies: tuple[tuple[str, int, int], ...]  # (question code, score, count), counted under the stored department

    def without_place(self) -> PooledPart:
        """The part as written when its segment is too small to be named: no department, no location."""
        return replace(self, segment=Segment(None, None, self.segment.area_key))

    def to_payload(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "department": self.segment.department,
                "location": self.segment.location, "area": self.segment.area_key,
                "answers": list(self.answers), "tallies": [list(tally) for tally in self.tallies]}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any]) -> PooledPart:
        """Raises SealBroken when the payload is not one this module sealed."""
        try:
            area = int(payload["area"])
            answers = tuple(dict(answer) for answer in payload["answers"])
            if any(not set(answer) <= set(_ANSWER_DEFAULTS) for answer in answers):
                raise ValueError("unknown answer column")
            if any((answer.get("service_area_id") or RELATIONSHIP) != area for answer in answers):
                raise ValueError("an answer about another area")
            return cls(date.fromisoformat(payload["day"]), Segment(payload["department"], payload["location"], area),
                       answers, tuple((str(c), int(s), int(n)) for c, s, n in payload["tallies"]))
        except (KeyError, TypeError, ValueError) as error:
            raise SealBroken(f"A pooled part is not in the expected form ({error}).") from None


def split_submission(*, day: date, segments: Mapping[str, str | None], answer_rows: Iterable[Mapping[str, Any]],
                     tallies: Counter[TallyKey]) -> list[PooledPart]:
    """One submission's answers as parts: one per service area answered, one for the provider-wide
    questions (when any was answered). Each part keeps the tallies of its own answers."""
    answers: defaultdict[int, list[dict[str, Any]]] = defaultdict(list)
    for row in answer_rows:
        answers[row.get("service_area_id") or RELATIONSHIP].append(
            {key: value for key, value in row.items() if key in _ANSWER_DEFAULTS and value != _ANSWER_DEFAULTS[key]})
    counts: defaultdict[int, list[tuple[str, int, int]]] = defaultdict(list)
    for (_, code, area, _, score), n in sorted(tallies.items()):
        counts[area].append((code, score, n))
    department, location = segments.get("department"), segments.get("location")
    return [PooledPart(day, Segment(department, location, area), tuple(rows), tuple(counts.get(area, ())))
            for area, rows in sorted(answers.items())]


def _context(wave_id: int) -> str:
    # Bound into each seal: a row moved to another wave no longer opens.
    return f"response_pool:{wave_id}"


def pool_rows(wave_id: int, parts: Sequence[PooledPart], *, secret_key: str) -> list[dict[str, Any]]:
    """Column values of the sealed pool rows of one submission's parts, for the transaction that claims its
    invitation to insert. In random order, with random ids: where a row lands says nothing of its area."""
    key = pool_key(secret_key)
    rows = [{"id": uuid.uuid4(), "wave_id": wave_id, "sealed": seal(key, part.to_payload(), context=_context(wave_id))}
            for part in parts]
    _shuffler.shuffle(rows)
    return rows


# Per process, per wave: the segment of each waiting row this process has unsealed (None: does not
# unseal), under which pool key. A row's segment never changes, so deciding whether a segment is due
# costs one unseal per row, not one per row and submission. It only chooses rows: what is written is
# unsealed again from the database.
_known_segments: dict[int, tuple[bytes, dict[uuid.UUID, Segment | None]]] = {}


def _segments_of(wave_id: int, pool_ids: Sequence[uuid.UUID], key: bytes) -> dict[uuid.UUID, Segment | None]:
    """The segment of each of these waiting rows (None for a row that does not unseal); rows gone meanwhile
    are left out. Forgets the rows of the wave that no longer wait."""
    remembered_key, remembered = _known_segments.get(wave_id, (key, {}))
    if remembered_key != key:
        remembered = {}
    known = {pool_id: remembered[pool_id] for pool_id in pool_ids if pool_id in remembered}
    missing = [pool_id for pool_id in pool_ids if pool_id not in known]
    broken = 0
    for pool_id, part in _open_rows(wave_id, missing, key):
        known[pool_id] = part.segment if part is not None else None
        broken += part is None
    if broken:
        log.warning("Wave %s: %d pooled part(s) cannot be unsealed (altered, or sealed under another SECRET_KEY); "
                    "left in the pool", wave_id, broken)
    _known_segments[wave_id] = (key, known)
    return {pool_id: known[pool_id] for pool_id in pool_ids if pool_id in known}


def _open_rows(wave_id: int, pool_ids: Sequence[uuid.UUID],
               key: bytes) -> Iterator[tuple[uuid.UUID, PooledPart | None]]:
    """Read and unseal these rows (None for a row that does not unseal)."""
    connection = db.session.connection()
    for start in range(0, len(pool_ids), _CHUNK):
        rows = connection.execute(select(_POOL.c.id, _POOL.c.sealed).where(
            _POOL.c.wave_id == wave_id, _POOL.c.id.in_(pool_ids[start:start + _CHUNK])))
        for pool_id, sealed in rows:
            try:
                yield pool_id, PooledPart.from_payload(unseal(key, sealed, context=_context(wave_id)))
            except SealBroken:
                yield pool_id, None


def _list_waiting(wave_id: int, *, lock: bool) -> list[uuid.UUID]:
    """The ids of the wave's waiting rows. With `lock`, locked for this transaction: on PostgreSQL rows
    another flush holds are skipped rather than waited for (that flush writes them); SQLite's write lock
    keeps any other flush out until this transaction ends."""
    connection = db.session.connection()
    query = select(_POOL.c.id).where(_POOL.c.wave_id == wave_id)
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    elif lock:
        connection.execute(_TAKE_WRITE_LOCK)
    return list(connection.execute(query).scalars())


def _drawn_from(segments: Mapping[uuid.UUID, Segment | None], k: int, wave_closed: bool) -> list[uuid.UUID]:
    """The rows a write would choose among: once the wave has closed every readable one, before that
    those of the segments holding 2k or more."""
    sizes = Counter(segment for segment in segments.values() if segment is not None)
    return [pool_id for pool_id, segment in segments.items()
            if segment is not None and (wave_closed or sizes[segment] >= 2 * k)]


def _due(segments: Mapping[uuid.UUID, Segment | None], k: int, wave_closed: bool) -> dict[uuid.UUID, bool]:
    """The rows to write now, each with whether it is written without its department and location.

    Open wave: from each segment with at least 2k waiting, a uniformly random choice of all but k, so
    every batch holds at least k and k always stay behind.

    Closed wave: everything. Segments of k or more keep their department and location; the smaller
    ones lose them, so that the remainders of all departments about one area form one group. While that
    group is under k, the smallest named segments of the area join it (losing their names too). It can
    stay under k only when no segment of the area ever reached 2k (one that did kept k back) and the
    whole wave holds fewer than k parts about the area."""
    by_segment: defaultdict[Segment, list[uuid.UUID]] = defaultdict(list)
    for pool_id, segment in segments.items():
        if segment is not None:
            by_segment[segment].append(pool_id)
    due: dict[uuid.UUID, bool] = {}
    if not wave_closed:
        for ids in by_segment.values():
            if len(ids) >= 2 * k:
                due |= dict.fromkeys(_shuffler.sample(ids, len(ids) - k), False)
        return due

    def joining_order(item: tuple[Segment, list[uuid.UUID]]) -> tuple:
        # The small segments; then one already without department and location; then the smallest.
        (department, location, _), ids = item
        return len(ids) >= k, department is not None or location is not None, len(ids), repr(item[0])

    by_area: defaultdict[int, list[list[uuid.UUID]]] = defaultdict(list)
    for segment, ids in sorted(by_segment.items(), key=joining_order):
        by_area[segment.area_key].append(ids)
    for groups in by_area.values():
        unnamed = sum(len(ids) for ids in groups if len(ids) < k)
        for ids in groups:
            anonymise = len(ids) < k or 0 < unnamed < k
            if anonymise and len(ids) >= k:
                unnamed += len(ids)
            due |= dict.fromkeys(ids, anonymise)
    return due


def flush_wave(wave_id: int, *, minimum: int, secret_key: str, wave_closed: bool = False) -> int:
    """Write the parts of the wave that are due (`_due`) as one shuffled batch; return how many were
    written. Commits, or rolls back having written nothing.

    `minimum` is the campaign's minimum group size k. With `wave_closed` (the caller has checked that the
    wave has closed) everything waiting is written. A row that does not unseal (altered, or sealed under a
    previous SECRET_KEY) is left in the pool and logged, never written nor counted.
    """
    k = max(minimum, 1)
    key = pool_key(secret_key)
    try:
        waiting = _list_waiting(wave_id, lock=True)
        corrections: dict[uuid.UUID, Segment | None] = {}
        while True:
            segments = _segments_of(wave_id, waiting, key) | corrections
            # Every row the choice is made among is opened again first, under the lock, so the choice and
            # the counts it rests on are what the rows hold now, not what this process remembers of them.
            drawn_from = _drawn_from(segments, k, wave_closed)
            opened = dict(_open_rows(wave_id, drawn_from, key))
            changed = {pool_id: opened[pool_id].segment if opened.get(pool_id) else None for pool_id in drawn_from
                       if opened.get(pool_id) is None or opened[pool_id].segment != segments[pool_id]}
            if not changed:
                break
            if None in changed.values():
                log.warning("Wave %s: %d pooled part(s) cannot be unsealed any more (altered since they were "
                            "read); left in the pool", wave_id, sum(segment is None for segment in changed.values()))
            corrections |= changed
            _known_segments.get(wave_id, (key, {}))[1].update(changed)
        due = _due(segments, k, wave_closed)
        if not due:
            db.session.rollback()
            return 0
        _write(wave_id, [opened[pool_id].without_place() if anonymise else opened[pool_id]
                         for pool_id, anonymise in due.items()])
        _delete_rows(list(due))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    if wave_closed and len(due) < len(waiting):
        log.warning("Wave %s has closed; %d pooled part(s) that cannot be unsealed are left in the pool", wave_id,
                    len(waiting) - len(due))
    return len(due)


def _write(wave_id: int, parts: list[PooledPart]) -> None:
    """Insert the parts as responses in random order, with random ids, the batch's day, and their tallies."""
    _shuffler.shuffle(parts)
    # One day for the whole batch, the latest of its parts: a day per response would split the batch by
    # the days its invitations were answered.
    submitted_at = datetime.combine(max(part.day for part in parts), time(0), tzinfo=timezone.utc)
    responses, answers, tallies = [], [], Counter()
    for part in parts:
        response_id = uuid.uuid4()
        department, location, area_key = part.segment
        responses.append({"id": response_id, "wave_id": wave_id, "invitation_id": None, "submitted_at": submitted_at,
                          "department": department, "location": location})
        answers += [{**_ANSWER_DEFAULTS, **answer, "response_id": response_id, "wave_id": wave_id}
                    for answer in part.answers]
        for code, score, n in part.tallies:
            tallies[(wave_id, code, area_key, department or "", score)] += n
    connection = db.session.connection()
    connection.execute(_INSERT_RESPONSES, responses)
    if answers:
        connection.execute(_INSERT_ANSWERS, answers)
    add_to_tallies(tallies)


def _delete_rows(pool_ids: list[uuid.UUID]) -> None:
    connection = db.session.connection()
    for start in range(0, len(pool_ids), _CHUNK):
        connection.execute(delete(_POOL).where(_POOL.c.id.in_(pool_ids[start:start + _CHUNK])))


def flush_if_full(wave_id: int, *, minimum: int, secret_key: str) -> int:
    """After an anonymous submission: write the segments of the wave that hold 2k waiting parts.

    Deciding costs one read of the wave's waiting ids and an unseal of the rows this process has not
    seen yet; only a write takes the write lock. Never raises: the submission is already committed to
    the pool, so a failure here must not tell the respondent otherwise; the pool is written by a later
    submission or by `flush_due`. Only the error's type is logged: its message could quote answers.
    """
    k = max(minimum, 1)
    try:
        waiting = _list_waiting(wave_id, lock=False)
        if len(waiting) < 2 * k:
            db.session.rollback()
            return 0
        segments = Counter(_segments_of(wave_id, waiting, pool_key(secret_key)).values())
        db.session.rollback()
        if not any(n >= 2 * k for segment, n in segments.items() if segment is not None):
            return 0
        return flush_wave(wave_id, minimum=k, secret_key=secret_key)
    except Exception as error:
        db.session.rollback()
        log.warning("Wave %s: writing the response pool failed (%s); it stays in the pool", wave_id,
                    type(error).__name__)
        return 0


def flush_due(now: datetime, secret_key: str) -> int:
    """Write what waits in the pool where it should not wait any longer; return how many parts were written.

    A wave that is closed, or whose closing time has passed, is written whatever its pool holds, so the
    last answers are never lost (`flush_wave` with `wave_closed`). An open wave has its segments of 2k or
    more written (normally done by the submission that fills them). Meant for every dispatcher pass. Commits.
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
        if ended or count >= 2 * max(min_group_size, 1):
            written += flush_wave(wave_id, minimum=min_group_size, secret_key=secret_key, wave_closed=ended)
    return written
