"""Campaign creation, the wave calendar and labels, wave counts, and the admin actions on waves."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from app.errors import InvalidInput, InvalidTransition
from app.models import Campaign, Invitation, Wave
from app.services import campaigns
from tests.factories import make_area, make_campaign, make_invitation, make_provider, make_stakeholder, make_wave


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


@pytest.mark.parametrize("cadence, interval, index, expected", [
    ("quarterly", 1, 0, "2026-Q4"),
    ("quarterly", 1, 1, "2027-Q1"),
    ("monthly", 1, 1, "2026-11"),
    ("monthly", 2, 2, "2027-02"),
    ("weekly", 1, 0, "2026-W42"),
    ("weekly", 2, 3, "2026-W48"),
])
def test_wave_labels_follow_the_cadence(cadence, interval, index, expected):
    campaign = Campaign(cadence=cadence, interval_count=interval, anchor_date=date(2026, 10, 15), window_days=5)
    assert campaigns.planned_wave(campaign, index, "UTC").label == expected


def test_month_ends_are_kept_and_waves_open_at_nine_local_time():
    campaign = Campaign(cadence="monthly", interval_count=1, anchor_date=date(2026, 1, 31), window_days=10)
    starts = [campaigns.period_start(campaign, i) for i in range(4)]
    assert starts == [date(2026, 1, 31), date(2026, 2, 28), date(2026, 3, 31), date(2026, 4, 30)]
    # Summer time in Berlin: 09:00 local is 07:00 UTC.
    wave = campaigns.planned_wave(campaign, 5, "Europe/Berlin")
    assert wave.opens_at.astimezone(timezone.utc) == utc(2026, 6, 30, 7)
    assert wave.closes_at - wave.opens_at == timedelta(days=10)


def test_upcoming_waves_skip_the_past():
    campaign = Campaign(cadence="quarterly", interval_count=1, anchor_date=date(2024, 1, 10), window_days=14)
    during = campaigns.upcoming_waves(campaign, utc(2026, 4, 15), "UTC")
    between = campaigns.upcoming_waves(campaign, utc(2026, 5, 20), "UTC")
    assert [w.label for w in during] == ["2026-Q2", "2026-Q3"]
    assert [w.label for w in between] == ["2026-Q3"]


@pytest.fixture
def provider(db):
    provider = make_provider("Northwind IT")
    make_area(provider, code="service-desk")
    make_area(provider, code="network")
    return provider


def create(survey, provider, **overrides):
    values = dict(name="Quarterly pulse", provider_id=provider.id, definition_id=survey.id,
                  anchor_date=date(2026, 10, 1), now=utc(2026, 9, 1), timezone="UTC", reminder_days=[5, 10])
    values.update(overrides)
    return campaigns.create_campaign(**values)


def test_create_campaign_plans_its_first_wave(db, survey, provider):
    campaign = create(survey, provider, audience_departments=[" Finance ", ""], audience_area_codes=["network"])
    db.session.commit()
    assert [a.code for a in campaign.service_areas] == ["service-desk", "network"]
    assert campaign.audience_departments == ["Finance"]
    waves = db.session.scalars(select(Wave).where(Wave.campaign_id == campaign.id)).all()
    assert [(w.label, w.state) for w in waves] == [("2026-Q4", "scheduled")]


def test_create_campaign_reports_every_bad_field(db, survey, provider):
    create(survey, provider)
    db.session.commit()
    with pytest.raises(InvalidInput) as error:
        create(survey, provider, name="quarterly PULSE", cadence="daily", window_days=0, reminder_days=[0],
               min_group_size=1, fatigue_days=-1, audience_area_codes=["nope"], anonymity="public")
    assert set(error.value.errors) == {"name", "cadence", "window_days", "min_group_size", "fatigue_days",
                                       "audience_area_codes", "anonymity"}
    with pytest.raises(InvalidInput) as error:
        create(survey, provider, name="Other", reminder_days=[3, 14], window_days=14)
    assert set(error.value.errors) == {"reminder_days"}
    with pytest.raises(InvalidInput) as error:
        create(survey, provider, name="Weekly", cadence="weekly", window_days=10)
    assert "overlap" in error.value.errors["window_days"][0]


def test_parse_day_list():
    assert campaigns.parse_day_list("5, 10") == [5, 10]
    assert campaigns.parse_day_list("") == []
    with pytest.raises(InvalidInput):
        campaigns.parse_day_list("five")


def test_wave_counts_in_one_query(db, survey, provider):
    campaign = make_campaign(survey, provider=provider, areas=provider.service_areas)
    wave = make_wave(campaign, label="2026-Q1")
    empty = make_wave(campaign, label="2026-Q2", state="scheduled",
                      opens_at=datetime.now(timezone.utc) + timedelta(days=90))
    now = datetime.now(timezone.utc)
    for fields in ({"state": "sent", "opened_at": now, "responded_at": now}, {"state": "sent", "opened_at": now},
                   {"state": "sent"}, {"state": "failed"}, {"state": "pending"}):
        make_invitation(wave, **fields)

    counts = campaigns.wave_counts(campaign.id)

    assert counts[wave.id] == campaigns.WaveCounts(invited=5, sent=3, failed=1, opened=2, responded=1)
    assert counts[wave.id].response_rate == pytest.approx(1 / 3)
    assert counts[empty.id] == campaigns.WaveCounts() and counts[empty.id].response_rate is None


def test_open_now_invites_the_audience_and_close_early_gives_up_the_undelivered(db, survey, provider):
    campaign = make_campaign(survey, provider=provider, areas=provider.service_areas)
    now = datetime.now(timezone.utc)
    wave = make_wave(campaign, label="next", state="scheduled", opens_at=now + timedelta(days=10))
    make_stakeholder()
    make_stakeholder()

    result = campaigns.open_wave_now(wave, now)
    db.session.commit()

    assert result.invited == 2 and wave.state == "open" and wave.opens_at == now
    with pytest.raises(InvalidTransition):
        campaigns.open_wave_now(wave, now)
    assert campaigns.close_wave_early(wave, now + timedelta(hours=1)) == 2
    db.session.commit()
    states = db.session.scalars(select(Invitation.state).where(Invitation.wave_id == wave.id)).all()
    assert wave.state == "closed" and wave.closes_at == now + timedelta(hours=1) and set(states) == {"failed"}


def test_resend_only_failed_invitations_of_open_waves(db, survey, provider):
    campaign = make_campaign(survey, provider=provider, areas=provider.service_areas)
    wave = make_wave(campaign, label="w")
    failed, _ = make_invitation(wave, state="failed", attempts=5, last_error="550 no such user")
    sent, _ = make_invitation(wave, state="sent")
    now = datetime.now(timezone.utc)

    campaigns.resend_invitation(failed, now)
    db.session.commit()

    assert (failed.state, failed.attempts, failed.last_error) == ("pending", 0, None)
    with pytest.raises(InvalidTransition):
        campaigns.resend_invitation(sent, now)


def test_cli_create_and_list(runner, survey, provider):
    result = runner.invoke(args=["campaigns", "create", "--name", "Monthly pulse", "--provider", "Northwind IT",
                                 "--cadence", "monthly", "--start", "2030-01-15", "--reminders", "3,7",
                                 "--window-days", "10", "--department", "Finance"])
    assert result.exit_code == 0, result.output
    assert "2030-01" in result.output
    bad = runner.invoke(args=["campaigns", "create", "--name", "X", "--provider", "Nobody", "--start", "2030-01-01"])
    assert bad.exit_code != 0 and "provider" in bad.output
    listing = runner.invoke(args=["campaigns", "list"])
    assert "Monthly pulse" in listing.output and "Northwind IT" in listing.output and "1 open" not in listing.output
