"""`flask demo` seeds a believable data set whose numbers tell the stories the README promises."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from app.models import Answer, Campaign, Provider, Question, Response, ScoreTally, ServiceArea, Stakeholder, Wave
from app.services.campaigns import period_start
from app.services import demo
from app.services.stats import mean_estimate

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


def satisfaction_means(db, area_code: str, campaign_id: int) -> list[float]:
    """Per wave of the campaign, oldest first, from the tallies the dashboard reads."""
    rows = db.session.execute(
        select(Wave.label, ScoreTally.score, func.sum(ScoreTally.answer_count))
        .join(Wave, Wave.id == ScoreTally.wave_id)
        .join(ServiceArea, ServiceArea.id == ScoreTally.area_key)
        .where(ScoreTally.question_code == "satisfaction", ServiceArea.code == area_code,
               Wave.campaign_id == campaign_id)
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
    campaign = db.session.scalar(select(Campaign).where(Campaign.areas_per_person.is_not(None)))  # the pulse
    waves = {w.label: w for w in db.session.scalars(select(Wave).where(Wave.campaign_id == campaign.id)
                                                    .order_by(Wave.opens_at))}
    assert list(waves) == ["2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"]
    assert waves["2026-Q4"].state == "open" and waves["2026-Q3"].state == "closed"
    per_wave = db.session.execute(select(Response.wave_id, func.count()).group_by(Response.wave_id)).all()
    assert len(per_wave) == 11 and all(count >= 80 for _, count in per_wave), \
        "every wave of both campaigns has enough responses to report"
    assert campaign.min_group_size == 5 and campaign.anonymity == "confidential"
    assert seeded.sample_link.startswith("http://vendorpulse.test/s/")

    # The trends: one area improving, one degrading after an incident, one flat.
    service_desk = satisfaction_means(db, "service-desk", campaign.id)
    network = satisfaction_means(db, "network", campaign.id)
    hosting = satisfaction_means(db, "hosting", campaign.id)
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

    # The deep dive: three past half-years on the campaign's own calendar, closed before the pulse's latest
    # closed wave (so the overview still opens on the pulse), a month before their quarter's pulse (its 30-day
    # fatigue rule leaves nobody out), every question of the long survey answered, the tallies from the answers.
    deep_dive = db.session.scalar(select(Campaign).where(Campaign.id != campaign.id))
    assert deep_dive.definition.code == demo.DEEP_DIVE_CODE and not deep_dive.active
    dives = list(db.session.scalars(select(Wave).where(Wave.campaign_id == deep_dive.id).order_by(Wave.opens_at)))
    assert [w.label for w in dives] == ["2025-Q3", "2026-Q1", "2026-Q3"] and seeded.deep_dive_waves == 3
    assert all(w.state == "closed" for w in dives) and dives[-1].closes_at < waves["2026-Q3"].closes_at
    assert [w.opens_at.date() for w in dives] == [period_start(deep_dive, i) for i in range(3)]
    for dive, pulse in zip(dives, (waves["2025-Q3"], waves["2026-Q1"], waves["2026-Q3"])):
        assert timedelta(days=30) < pulse.opens_at - dive.opens_at < timedelta(days=45)
    asked = set(db.session.scalars(select(Question.code).where(Question.definition_id == deep_dive.definition_id)))
    for dive in dives:
        answered = set(db.session.scalars(select(Question.code).join(Answer, Answer.question_id == Question.id)
                                          .where(Answer.wave_id == dive.id).distinct()))
        assert answered == asked, f"{dive.label} leaves {asked - answered} unanswered"
        scored = db.session.scalar(select(func.count()).select_from(Answer)
                                   .where(Answer.wave_id == dive.id, Answer.score.is_not(None)))
        tallied = db.session.scalar(select(func.sum(ScoreTally.answer_count)).where(
            ScoreTally.wave_id == dive.id, ScoreTally.question_code.not_like("@%")))  # scores, not comments
        assert scored == tallied
    responses = list(db.session.scalars(select(Response).where(Response.wave_id.in_([w.id for w in dives]))))
    assert len(responses) == seeded.deep_dive_responses
    assert all(r.invitation_id is not None and r.department for r in responses), "confidential, as the pulse"

    # A second run changes nothing.
    again = demo.seed_demo(now=NOW, timezone="Europe/London", base_url="http://vendorpulse.test")
    assert again.created is False
    assert db.session.scalar(select(func.count()).select_from(Provider)) == 1


def test_the_deep_dive_never_closes_after_the_pulse_whatever_the_day():
    """Whenever the demo is seeded, the deep dive's waves close before the pulse's latest closed wave (so the
    overview opens on the pulse) and open more than 30 days before their quarter's pulse (its fatigue rule)."""
    tz = ZoneInfo("Europe/London")
    for day in range(0, 2 * 365, 5):
        now = datetime(2026, 1, 1, 12, tzinfo=timezone.utc) + timedelta(days=day)
        quarters = [demo.quarter_start(now.astimezone(tz).date())]
        while len(quarters) < demo.WAVE_COUNT:
            quarters.insert(0, demo.previous_quarter(quarters[0]))
        pulse = []
        for quarter in quarters:
            opens = datetime.combine(quarter + timedelta(days=45), time(9), tz)
            closes = opens + timedelta(days=21)
            pulse.append(SimpleNamespace(opens_at=opens, closes_at=closes, state="closed" if closes <= now else "open"))
        starts = demo._deep_dive_starts(pulse, now, tz)
        assert len(starts) == demo.DEEP_DIVE_WAVES
        last_pulse_close = max(w.closes_at for w in pulse if w.state == "closed")
        assert demo._deep_dive_window(starts[-1], tz)[1] < last_pulse_close, now
        pulse_opens = {demo.quarter_start(w.opens_at.date()): w.opens_at for w in pulse}
        for start in starts:
            opens = demo._deep_dive_window(start, tz)[0]
            assert pulse_opens.get(demo.quarter_start(start), opens + timedelta(days=31)) - opens > timedelta(days=30)
