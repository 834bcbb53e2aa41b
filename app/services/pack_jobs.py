"""Review packs prepared in the background: a manager's request finds the ready pack of the same scope and
data, or queues a job that the dispatcher's worker (`flask dispatch serve`) claims and builds.

* One row per scope and data version (`ReviewPackJob`, unique on both): asking twice, or two managers
  asking at once, builds one pack. The version hashes what the pack reads that the scope does not carry:
  the tally (new responses) and the comments (shared, corrected, rescored), so a pack is served again
  exactly until the data behind it changes; then the stale file is deleted on the next request.
* Claims like the dispatcher's: PostgreSQL `FOR UPDATE SKIP LOCKED` inside the claiming UPDATE, SQLite
  under its single writer lock. A claim is a lease: a worker killed while building leaves a job that the
  next worker takes over after `LEASE`; a build that raises is retried after a delay, `MAX_ATTEMPTS` in all.
* The worker builds with `fresh_reports()`: a pack is kept far longer than a cached report lives, so it
  never starts from one another process may have left behind an edit.
"""
from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, case, delete, func, or_, select, update
from sqlalchemy.exc import IntegrityError

from app.extensions import db, is_postgres
from app.models import Answer, ReviewPackJob
from app.models.base import utcnow
from app.services.reporting.cache import fresh_reports, tally_version
from app.services.reporting.scope import Scope, resolve_scope

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)  # a demo pack takes ~10 s; a claim older than this belongs to a dead worker
MAX_ATTEMPTS = 3
RETRY_DELAY = timedelta(seconds=30)
REFRESH_SECONDS = 2  # how often the "preparing" page asks again


@dataclass(frozen=True)
class PackStatus:
    """What the person waiting for a pack is told."""

    job_id: int
    state: str  # queued / running / ready / failed
    requested_at: datetime
    attempts: int
    error: str | None
    worker_running: bool
    jobs_ahead: int

    @property
    def ready(self) -> bool:
        return self.state == "ready"


def scope_key(scope: Scope) -> str:
    """The scope's identity across processes: its repr holds only plain values (ids, labels, states,
    targets), so equal scopes hash alike everywhere."""
    return hashlib.sha256(repr(scope).encode("utf-8")).hexdigest()


def _comments_fingerprint(scope: Scope) -> tuple:
    """Changes when a comment the pack may quote or count changes: added, shared or unshared, its label
    corrected, or rescored."""
    ids = scope.wave_ids_with_previous
    if not ids or not scope.comment_question_ids:
        return ()
    override = {label: func.coalesce(func.sum(case((Answer.label_override == label, Answer.id), else_=0)), 0)
                for label in ("positive", "neutral", "negative")}
    row = db.session.execute(
        select(func.count(Answer.id),
               func.coalesce(func.sum(case((Answer.shareable.is_(True), Answer.id), else_=0)), 0),
               *override.values(),
               func.max(Answer.label_override_at),
               func.coalesce(func.sum(Answer.sentiment_polarity), 0.0))
        .where(Answer.wave_id.in_(ids), Answer.question_id.in_(scope.comment_question_ids),
               Answer.text.is_not(None))
    ).one()
    count, shared, positive, neutral, negative, corrected_at, polarity = row
    return (int(count), int(shared), int(positive), int(neutral), int(negative),
            corrected_at.isoformat() if corrected_at else None, round(float(polarity), 6))


def pack_version(scope: Scope) -> str:
    """The data version of a scope's pack, the same in every process (read from the database only)."""
    parts = (tally_version(scope.wave_ids_with_previous), _comments_fingerprint(scope))
    return hashlib.sha256(repr(parts).encode("utf-8")).hexdigest()


def request_pack(scope: Scope, prepared_by: str, now: datetime, *, retry: bool = False) -> ReviewPackJob:
    """The job for this scope at its current data version: the existing one (ready, queued or being
    built), or a new queued one. A failed job is queued again when `retry` asks for it. Packs of this
    scope built from older data are deleted. Commits."""
    key, version = scope_key(scope), pack_version(scope)
    job = _find(key, version)
    if job is None:
        db.session.execute(delete(ReviewPackJob).where(
            ReviewPackJob.scope_key == key, ReviewPackJob.data_version != version,
            ReviewPackJob.state.in_(("ready", "failed"))))
        job = ReviewPackJob(
            scope_key=key, data_version=version, provider_id=scope.provider_id, campaign_id=scope.campaign_id,
            first_wave_id=scope.waves[0].id if scope.waves else None,
            last_wave_id=scope.waves[-1].id if scope.waves else None,
            prepared_by=prepared_by[:255], state="queued", requested_at=now, available_at=now, attempts=0)
        db.session.add(job)
        try:
            db.session.commit()
        except IntegrityError:  # another request queued the same pack a moment ago
            db.session.rollback()
            job = _find(key, version)
    elif retry and job.state == "failed":
        job.state, job.attempts, job.available_at, job.error = "queued", 0, now, None
        db.session.commit()
    return job


def _find(key: str, version: str) -> ReviewPackJob | None:
    return db.session.scalars(select(ReviewPackJob).where(ReviewPackJob.scope_key == key,
                                                          ReviewPackJob.data_version == version)).one_or_none()


def pack_status(job: ReviewPackJob, now: datetime) -> PackStatus:
    """The job's state, how many jobs will be built before it, and whether any worker is running."""
    from app.services.mail_check import dispatcher_health

    ahead = 0
    if job.state == "queued":
        ahead = db.session.scalar(select(func.count()).select_from(ReviewPackJob).where(
            ReviewPackJob.state.in_(("queued", "running")), ReviewPackJob.id < job.id)) or 0
    running = job.state == "running" and job.claimed_at is not None and job.claimed_at > now - LEASE
    return PackStatus(job_id=job.id, state=job.state, requested_at=job.requested_at, attempts=job.attempts,
                      error=job.error, worker_running=running or not dispatcher_health(now).stale,
                      jobs_ahead=int(ahead))


def pack_file(job_id: int) -> bytes:
    """The built PDF of a ready job."""
    return db.session.scalar(select(ReviewPackJob.pdf).where(ReviewPackJob.id == job_id,
                                                             ReviewPackJob.state == "ready"))


def claim_next_job(worker_id: str, now: datetime) -> int | None:
    """Mark the oldest due job as being built by this worker, or take over one whose lease ran out; commits.
    A job whose lease ran out `MAX_ATTEMPTS` times (it kills its worker) fails instead."""
    db.session.execute(update(ReviewPackJob).where(
        ReviewPackJob.state == "running", ReviewPackJob.claimed_at < now - LEASE,
        ReviewPackJob.attempts >= MAX_ATTEMPTS,
    ).values(state="failed", finished_at=now, error="The worker stopped while building it, every time.")
        .execution_options(synchronize_session=False))
    due = (
        select(ReviewPackJob.id)
        .where(or_(and_(ReviewPackJob.state == "queued", ReviewPackJob.available_at <= now),
                   and_(ReviewPackJob.state == "running", ReviewPackJob.claimed_at < now - LEASE)))
        .order_by(ReviewPackJob.available_at, ReviewPackJob.id).limit(1)
    )
    if is_postgres():
        due = due.with_for_update(skip_locked=True)
    claimed = db.session.scalars(
        update(ReviewPackJob).where(ReviewPackJob.id.in_(due))
        .values(state="running", claimed_at=now, claimed_by=worker_id[:120], attempts=ReviewPackJob.attempts + 1)
        .returning(ReviewPackJob.id).execution_options(synchronize_session=False)
    ).first()
    db.session.commit()
    return claimed


def build_in_this_process(job_id: int, worker_id: str = "web request") -> bool:
    """Claim this one queued job and build it here (`REVIEW_PACK_IN_REQUEST`, the test suite's setting)."""
    now = utcnow()
    claimed = db.session.execute(update(ReviewPackJob).where(ReviewPackJob.id == job_id,
                                                             ReviewPackJob.state == "queued")
                                 .values(state="running", claimed_at=now, claimed_by=worker_id,
                                         attempts=ReviewPackJob.attempts + 1)
                                 .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return bool(claimed) and build_pack_job(job_id, worker_id)


def build_pack_job(job_id: int, worker_id: str, clock: Callable[[], datetime] = utcnow) -> bool:
    """Build a claimed job's pack and store it; True when stored. A build that raises goes back to the
    queue after `RETRY_DELAY`, or fails for good after `MAX_ATTEMPTS`. A worker whose lease was taken over
    in the meantime stores nothing."""
    from app.services.review_pack import PackMeta, build_review_pack

    job = db.session.get(ReviewPackJob, job_id)
    mine = and_(ReviewPackJob.id == job_id, ReviewPackJob.state == "running",
                ReviewPackJob.claimed_by == worker_id[:120])
    try:
        scope = resolve_scope(provider_id=job.provider_id, campaign_id=job.campaign_id,
                              first_wave_id=job.first_wave_id, last_wave_id=job.last_wave_id)
        if scope is None:
            raise LookupError("The campaign of this pack no longer exists.")
        meta = PackMeta(generated_at=clock(), prepared_by=job.prepared_by)
        attempts = job.attempts
        db.session.rollback()  # no transaction held open while drawing
        with fresh_reports():
            pdf = build_review_pack(scope, meta)
    except Exception as error:  # any failure of one pack must not end the worker
        log.exception("Review pack job %s failed", job_id)
        db.session.rollback()
        attempts = db.session.scalar(select(ReviewPackJob.attempts).where(ReviewPackJob.id == job_id)) or MAX_ATTEMPTS
        final = attempts >= MAX_ATTEMPTS
        db.session.execute(update(ReviewPackJob).where(mine).values(
            state="failed" if final else "queued", error=f"{type(error).__name__}: {error}"[:2000],
            available_at=clock() + RETRY_DELAY * attempts, finished_at=clock() if final else None,
            claimed_at=None, claimed_by=None).execution_options(synchronize_session=False))
        db.session.commit()
        return False
    stored = db.session.execute(update(ReviewPackJob).where(mine).values(
        state="ready", pdf=pdf, size=len(pdf), finished_at=clock(), error=None)
        .execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    log.info("Review pack job %s: %s KB after %s attempt(s)%s", job_id, len(pdf) // 1024, attempts,
             "" if stored else ", discarded: another worker took it over")
    return bool(stored)


def run_pack_jobs(worker_id: str, *, should_stop: Callable[[], bool] = lambda: False,
                  clock: Callable[[], datetime] = utcnow, limit: int | None = None) -> int:
    """Claim and build due packs one at a time until none is due (or `limit` were built); returns how many
    were stored."""
    built = 0
    while not should_stop() and (limit is None or built < limit):
        job_id = claim_next_job(worker_id, clock())
        if job_id is None:
            break
        built += build_pack_job(job_id, worker_id, clock)
    return built
