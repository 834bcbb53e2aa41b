"""The wave lifecycle the dispatcher drives: plan each active campaign's waves, close the ones whose window
has ended, open the ones whose time has come with their invitations. Each wave changes in its own
transaction, under a lock, so any number of dispatchers may run it at once."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update

from app.extensions import db, is_postgres
from app.models import Campaign, Wave
from app.services import campaigns

log = logging.getLogger(__name__)


def schedule_campaign_waves(now: datetime, timezone: str) -> int:
    """Keep every active campaign's current and next wave planned; returns how many were created."""
    created = 0
    for campaign in db.session.scalars(select(Campaign).where(Campaign.active.is_(True)).order_by(Campaign.id)):
        created += campaigns.schedule_waves(campaign, now, timezone)
    db.session.commit()
    return created


def _lock_wave(wave_id: int, state: str) -> Wave | None:
    """The wave, locked for this transaction, if it is still in `state`; None if another worker has it."""
    db.session.commit()
    query = select(Wave).where(Wave.id == wave_id, Wave.state == state).execution_options(populate_existing=True)
    if is_postgres():
        return db.session.scalar(query.with_for_update(skip_locked=True))
    # SQLite has no row locks: a no-op write takes the database's write lock first, so the read below
    # sees the latest committed state and nobody changes it before this transaction commits.
    db.session.execute(update(Wave).where(Wave.id == wave_id).values(state=Wave.state)
                       .execution_options(synchronize_session=False))
    return db.session.scalar(query)


def close_ended_waves(now: datetime, lease: timedelta) -> int:
    """Close waves whose window has ended; whatever was not delivered by then is marked failed. Returns
    how many were closed."""
    due = db.session.execute(select(Wave.id, Wave.state).where(Wave.state.in_(("scheduled", "open")),
                                                               Wave.closes_at <= now)).all()
    closed = 0
    for wave_id, state in due:
        wave = _lock_wave(wave_id, state)
        if wave is None:
            continue
        wave.close(now)
        campaigns.fail_undelivered(wave, now, lease)
        db.session.commit()
        closed += 1
    return closed


@dataclass(frozen=True)
class OpenedWaves:
    waves: int = 0
    invited: int = 0
    skipped_for_fatigue: int = 0


def open_due_waves(now: datetime) -> OpenedWaves:
    """Open scheduled waves whose time has come and create their invitations, one transaction each."""
    due = db.session.scalars(
        select(Wave.id).join(Campaign).where(Wave.state == "scheduled", Wave.opens_at <= now, Wave.closes_at > now,
                                             Campaign.active.is_(True)).order_by(Wave.opens_at)
    ).all()
    opened = invited = skipped = 0
    for wave_id in due:
        wave = _lock_wave(wave_id, "scheduled")
        if wave is None:
            continue
        wave.open(now)
        db.session.flush()
        result = campaigns.invite_audience(wave, now)
        db.session.commit()
        opened += 1
        invited += result.invited
        skipped += result.skipped_for_fatigue
        if result.skipped_for_fatigue:
            log.info("Wave %s: %d people left out by the fatigue rule", wave.label, result.skipped_for_fatigue)
    return OpenedWaves(opened, invited, skipped)
