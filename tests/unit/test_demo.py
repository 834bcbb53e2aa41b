"""`flask demo` seeds a believable data set whose numbers tell the stories the README promises."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import func, select

from app.models import Answer, Campaign, Provider, Response, ScoreTally, ServiceArea, Stakeholder, Wave
from app.services import demo
from app.services.stats import mean_estimate

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def satisfaction_means(db, area_code: str) -> list[float]:
    """Per wave, oldest first, from the tallies the dashboard reads."""
    rows = db.session.execute(
        select(Wave.label, ScoreTally.score, func.sum(ScoreTally.answer_count))
        .join(Wave, Wave.id == ScoreTally.wave_id)
        .join(ServiceArea, ServiceArea.id == ScoreTally.area_key)
        .where(ScoreTally.question_code == "satisfaction", ServiceArea.code == area_code)
        .group_by(Wave.label, Wave.opens_at, ScoreTally.score).order_by(Wave.opens_at)
    ).all()
    histograms: dict[str, dict[int, int]] = {}
    for label, score, count in rows:
        histograms.setdefault(label, {})[score] = int(count)
    return [mean_estimate(h).mean for h in histograms.values()]


def test_demo_seeds_believable_data_once(db, survey):
    """One test on purpose: seeding takes seconds, and each part below reads the same data set."""
    seeded = demo.seed_demo(now=NOW, timezone="Europe/London", base_url="http://vendorpulse.test")
    assert seeded.created and seeded.stakeholders == 300 and seeded.waves == 8
    assert db.session.scalar(select(func.count()).select_from(Provider)) == 1
    assert db.session.scalar(select(func.count()).select_from(ServiceArea)) == 6
    assert db.session.scalar(select(func.count(func.distinct(Stakeholder.department)))) >= 6
    labels = db.session.scalars(select(Wave.label).order_by(Wave.opens_at)).all()
    assert labels == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert db.session.scalar(select(Wave.state).where(Wave.label == "2026-Q4")) == "open"
    assert db.session.scalar(select(Wave.state).where(Wave.label == "2026-Q3")) == "closed"
    per_wave = db.session.execute(select(Response.wave_id, func.count()).group_by(Response.wave_id)).all()
    assert all(count >= 80 for _, count in per_wave), "every wave has enough responses to report"
    campaign = db.session.scalar(select(Campaign))
    assert campaign.min_group_size == 5 and campaign.anonymity == "confidential"
    assert seeded.sample_link.startswith("http://vendorpulse.test/s/")

    # The trends: one area improving, one degrading after an incident, one flat.
    service_desk = satisfaction_means(db, "service-desk")
    network = satisfaction_means(db, "network")
    hosting = satisfaction_means(db, "hosting")
    assert service_desk[-1] - service_desk[0] > 0.7, f"service desk should improve: {service_desk}"
    assert sum(network[:6]) / 6 - sum(network[6:]) / 2 > 0.7, f"network should drop after the incident: {network}"
    assert max(hosting) - min(hosting) < 0.45, f"hosting should stay flat: {hosting}"

    # Comments are scored, with every label present.
    labels = dict(db.session.execute(
        select(Answer.sentiment_label, func.count()).where(Answer.text.is_not(None)).group_by(Answer.sentiment_label)
    ).all())
    assert set(labels) == {"positive", "neutral", "negative"}
    unscored = db.session.scalar(select(func.count()).select_from(Answer)
                                 .where(Answer.text.is_not(None), Answer.analyzer_version.is_(None)))
    assert unscored == 0

    # A second run changes nothing.
    again = demo.seed_demo(now=NOW, timezone="Europe/London", base_url="http://vendorpulse.test")
    assert again.created is False
    assert db.session.scalar(select(func.count()).select_from(Provider)) == 1
