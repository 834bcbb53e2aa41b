"""The review pack through the browser's eyes: a page that says it is being prepared (and whether a worker
runs), then the file, with no pack drawn inside the request."""
from __future__ import annotations

import io
from datetime import datetime, timezone

import pytest
from pypdf import PdfReader

from app.models.base import utcnow
from app.services import send_rate
from tests.factories import make_area, make_campaign
from tests.functional.test_exports import seed_wave


@pytest.fixture
def queued(app, monkeypatch):
    """The deployed behaviour: the request only queues, the worker builds."""
    monkeypatch.setitem(app.config, "REVIEW_PACK_IN_REQUEST", False)


@pytest.fixture
def campaign(db, survey):
    desk = make_area(code="service-desk", name="Service Desk")
    campaign = make_campaign(survey, provider=desk.provider, areas=[desk])
    seed_wave(db, survey, campaign, "2026-Q3", [4, 5, 4, 4, 5, 4],
              opens_at=datetime(2026, 7, 10, 9, tzinfo=timezone.utc))
    return campaign


def test_the_pack_is_prepared_by_the_worker_and_then_downloaded(queued, manager_client, runner, campaign):
    waiting = manager_client.get("/exports/review-pack.pdf")
    assert waiting.status_code == 202 and waiting.mimetype == "text/html"
    html = waiting.get_data(as_text=True)
    assert "Preparing the review pack" in html
    assert '<meta http-equiv="refresh" content="10; url=/exports/review-pack.pdf">' in html
    assert "No worker is running" in html and "flask dispatch serve" in html

    result = runner.invoke(args=["dispatch", "pack-jobs"])
    assert result.exit_code == 0 and "1 prepared" in result.output

    ready = manager_client.get("/exports/review-pack.pdf")
    assert ready.status_code == 200 and ready.mimetype == "application/pdf"
    assert ready.headers["Content-Disposition"].startswith('attachment; filename="vendorpulse-review-')
    assert "Scorecard" in "".join(page.extract_text() for page in PdfReader(io.BytesIO(ready.data)).pages)
    assert runner.invoke(args=["dispatch", "pack-jobs"]).output.strip() == "Review packs: 0 prepared."


def test_with_a_worker_running_the_page_says_so_and_asks_again_soon(queued, manager_client, campaign):
    send_rate.record_pass(utcnow(), "worker-a", "nothing to send")
    html = manager_client.get("/exports/review-pack.pdf").get_data(as_text=True)
    assert "No worker is running" not in html
    assert '<meta http-equiv="refresh" content="2; url=/exports/review-pack.pdf">' in html
    assert "Waiting for the worker" in html


def test_a_failed_pack_says_so_and_offers_to_try_again(queued, manager_client, runner, campaign, monkeypatch):
    def broken(scope, meta):
        raise RuntimeError("out of paper")

    monkeypatch.setattr("app.services.review_pack.build_review_pack", broken)
    monkeypatch.setattr("app.services.pack_jobs.MAX_ATTEMPTS", 1)
    manager_client.get("/exports/review-pack.pdf")
    runner.invoke(args=["dispatch", "pack-jobs"])
    html = manager_client.get("/exports/review-pack.pdf").get_data(as_text=True)
    assert "could not be prepared" in html and "http-equiv" not in html, "a failed pack does not reload forever"
    assert "retry=1" in html
    assert "Preparing the review pack" in manager_client.get("/exports/review-pack.pdf?retry=1").get_data(as_text=True)
