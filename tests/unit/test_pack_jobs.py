"""Review-pack jobs: one pack per scope and data version, claimed with a lease, retried, kept until the data changes."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.models import Answer, ReviewPackJob
from app.models.base import utcnow
from app.services import pack_jobs
from app.services.reporting import resolve_scope
from tests.factories import make_area, make_campaign, share_comments
from tests.functional.test_exports import seed_wave

START = datetime(2026, 7, 10, 9, tzinfo=timezone.utc)


@pytest.fixture
def campaign(db, survey):
    desk = make_area(code="service-desk", name="Service Desk")
    return make_campaign(survey, provider=desk.provider, areas=[desk])


@pytest.fixture
def drawn(monkeypatch):
    """build_review_pack replaced by a quick stand-in that records the scopes it was given."""
    scopes = []

    def fake(scope, meta):
        scopes.append(scope)
        return b"%PDF-1.4 pack for " + scope.provider_name.encode() + b" by " + meta.prepared_by.encode()

    monkeypatch.setattr("app.services.review_pack.build_review_pack", fake)
    return scopes


def _scope(campaign):
    return resolve_scope(campaign_id=campaign.id)


def test_a_second_request_for_the_same_data_reuses_the_ready_pack(db, survey, campaign, drawn):
    seed_wave(db, survey, campaign, "2026-Q3", [4, 5, 4, 4, 5, 4], opens_at=START)
    job = pack_jobs.request_pack(_scope(campaign), "Mo Manager", utcnow())
    assert job.state == "queued"
    assert pack_jobs.request_pack(_scope(campaign), "Someone Else", utcnow()).id == job.id, "one job, not two"

    assert pack_jobs.run_pack_jobs("worker-1") == 1
    again = pack_jobs.request_pack(_scope(campaign), "Someone Else", utcnow())
    assert again.id == job.id and again.state == "ready"
    assert pack_jobs.pack_file(job.id).startswith(b"%PDF") and b"Mo Manager" in pack_jobs.pack_file(job.id)
    assert pack_jobs.run_pack_jobs("worker-1") == 0 and len(drawn) == 1, "a ready pack is not drawn again"


def test_new_answers_or_a_shared_comment_make_a_new_pack_and_the_stale_one_goes(db, survey, campaign, drawn):
    seed_wave(db, survey, campaign, "2026-Q2", [3, 3, 4, 2, 3, 3], opens_at=START,
              comments={0: "Slow to answer the phone"})
    first = pack_jobs.request_pack(_scope(campaign), "Mo", utcnow()).data_version
    pack_jobs.run_pack_jobs("worker-1")

    share_comments(Answer.text.is_not(None))
    db.session.commit()
    shared = pack_jobs.request_pack(_scope(campaign), "Mo", utcnow())
    assert shared.data_version != first and shared.state == "queued", \
        "sharing a comment changes what the provider's pack may quote"
    versions = set(db.session.scalars(select(ReviewPackJob.data_version)))
    assert versions == {shared.data_version}, "the stale pack is deleted"
    pack_jobs.run_pack_jobs("worker-1")

    seed_wave(db, survey, campaign, "2026-Q3", [4, 5, 4, 4, 5, 4], opens_at=START + timedelta(days=91))
    newer = pack_jobs.request_pack(_scope(campaign), "Mo", utcnow())
    assert newer.data_version not in (first, shared.data_version) and newer.state == "queued"


def test_a_failing_build_is_retried_later_then_fails_and_can_be_asked_for_again(db, survey, campaign, monkeypatch):
    seed_wave(db, survey, campaign, "2026-Q3", [4, 5, 4, 4, 5, 4], opens_at=START)

    def broken(scope, meta):
        raise RuntimeError("out of paper")

    monkeypatch.setattr("app.services.review_pack.build_review_pack", broken)
    job = pack_jobs.request_pack(_scope(campaign), "Mo", utcnow())
    now = utcnow()
    assert pack_jobs.run_pack_jobs("worker-1", clock=lambda: now) == 0
    db.session.refresh(job)
    assert job.state == "queued" and job.attempts == 1 and "out of paper" in job.error
    assert job.available_at > now, "not retried at once"
    assert pack_jobs.claim_next_job("worker-1", now) is None

    for attempt in range(2, pack_jobs.MAX_ATTEMPTS + 1):
        later = now + pack_jobs.RETRY_DELAY * 10 * attempt
        pack_jobs.run_pack_jobs("worker-1", clock=lambda later=later: later)
    db.session.refresh(job)
    assert job.state == "failed" and job.attempts == pack_jobs.MAX_ATTEMPTS

    again = pack_jobs.request_pack(_scope(campaign), "Mo", utcnow(), retry=True)
    assert again.id == job.id and again.state == "queued" and again.attempts == 0


def test_a_claim_is_a_lease_taken_over_after_it_runs_out(db, survey, campaign, drawn):
    seed_wave(db, survey, campaign, "2026-Q3", [4, 5, 4, 4, 5, 4], opens_at=START)
    job = pack_jobs.request_pack(_scope(campaign), "Mo", utcnow())
    now = utcnow()
    assert pack_jobs.claim_next_job("dead-worker", now) == job.id
    assert pack_jobs.claim_next_job("worker-2", now + timedelta(seconds=30)) is None, "claimed, not twice"

    later = now + pack_jobs.LEASE + timedelta(seconds=1)
    assert pack_jobs.claim_next_job("worker-2", later) == job.id
    assert pack_jobs.build_pack_job(job.id, "dead-worker") is False, "the old claimant stores nothing"
    assert pack_jobs.build_pack_job(job.id, "worker-2") is True
    assert db.session.scalar(select(ReviewPackJob.state).where(ReviewPackJob.id == job.id)) == "ready"


def test_the_worker_builds_the_real_pack(db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q3", [4, 5, 4, 4, 5, 4], opens_at=START)
    job = pack_jobs.request_pack(_scope(campaign), "Mo", utcnow())
    assert pack_jobs.run_pack_jobs("worker-1") == 1
    pdf = pack_jobs.pack_file(job.id)
    assert pdf.startswith(b"%PDF") and db.session.get(ReviewPackJob, job.id).size == len(pdf)
