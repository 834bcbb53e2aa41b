"""Lost time as totals and cost, and the campaign settings behind comparisons: set on the admin campaign
page, shown on the overview, the area page, the summary CSV and the pack, never for a small group."""
from __future__ import annotations

import csv
import io
import math

import pytest
from scipy import stats as sp
from sqlalchemy import func, insert, select

from app.models import Invitation
from app.models.campaign import invitation_area
from app.services import review_pack
from app.services.reporting.reports import area_report
from app.services.reporting.scope import resolve_scope
from tests.factories import extract_csrf
from tests.reporting_seed import AreaAnswers, add_wave, make_reporting_campaign

HOURS = [1.0, 2.0, 3.0, 4.0, 5.0] * 2  # 10 respondents, 30 hours
INVITED = 40


def _ask_everyone_about(db, wave, area):
    """Record the area draw of every invitation of the wave, as the dispatcher does with area sampling."""
    ids = db.session.scalars(select(Invitation.id).where(Invitation.wave_id == wave.id)).all()
    db.session.execute(insert(invitation_area), [{"invitation_id": i, "service_area_id": area.id} for i in ids])
    db.session.commit()


def _expected_total():
    n, mean = len(HOURS), sum(HOURS) / len(HOURS)
    variance = sum((h - mean) ** 2 for h in HOURS) / (n - 1)
    margin = sp.t.ppf(0.975, n - 1) * INVITED * math.sqrt(variance / n * (1 - n / INVITED))
    return INVITED * mean, max(sum(HOURS), INVITED * mean - margin), INVITED * mean + margin


@pytest.fixture
def seeded(db, survey):
    campaign, (area, small) = make_reporting_campaign(survey, area_count=2)
    waves = []
    for index, label in enumerate(["2025-Q3", "2026-Q1", "2026-Q3"]):
        wave = add_wave(campaign, survey, label, {
            area: AreaAnswers([3, 3, 3, 4, 3, 3, 3, 3, 4, 3], hours=HOURS),
            small: AreaAnswers([5, 5, 5], hours=[8.0, 8.0, 8.0]),
        }, invited=INVITED, index=index)
        _ask_everyone_about(db, wave, area)
        _ask_everyone_about(db, wave, small)
        waves.append(wave)
    return campaign, area, small, waves


def _read_csv(response):
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))


def _save_settings(admin_client, campaign, **data):
    page = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    return admin_client.post(f"/admin/campaigns/{campaign.id}/report-settings",
                             data={"baseline_wave_id": "0", "hourly_cost": "", "currency": "", **data,
                                   "csrf_token": extract_csrf(page)})


def test_admin_sets_the_baseline_and_the_hourly_cost(admin_client, db, seeded):
    campaign, _, _, waves = seeded
    response = _save_settings(admin_client, campaign, baseline_wave_id=str(waves[0].id), hourly_cost="62.50",
                              currency="EUR")
    assert response.status_code == 302
    db.session.refresh(campaign)
    assert campaign.baseline_wave_id == waves[0].id and float(campaign.hourly_cost) == 62.5
    assert campaign.currency == "EUR"
    page = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Report settings saved." in page and "EUR 62.50 per hour" in page
    refused = _save_settings(admin_client, campaign, hourly_cost="-5")
    assert refused.status_code == 422 and "Number must be between 0 and 100000" in refused.get_data(as_text=True)
    db.session.refresh(campaign)
    assert float(campaign.hourly_cost) == 62.5, "a refused form changes nothing"
    cleared = _save_settings(admin_client, campaign)
    assert cleared.status_code == 302
    db.session.refresh(campaign)
    assert (campaign.baseline_wave_id, campaign.hourly_cost, campaign.currency) == (None, None, None)


def test_a_wave_of_another_campaign_cannot_be_the_baseline(db, survey, seeded):
    from app.errors import InvalidInput
    from app.services.campaigns import save_report_settings

    campaign, _, _, _ = seeded
    other, (area,) = make_reporting_campaign(survey, area_count=1)
    foreign = add_wave(other, survey, "2026-Q3", {area: AreaAnswers([4] * 5)})
    with pytest.raises(InvalidInput) as refused:
        save_report_settings(campaign, baseline_wave_id=foreign.id, hourly_cost=None, currency=None)
    assert "baseline_wave_id" in refused.value.errors


def test_hours_lost_are_totalled_over_the_invited_and_priced(admin_client, db, seeded):
    campaign, area, small, waves = seeded
    assert _save_settings(admin_client, campaign, baseline_wave_id=str(waves[1].id), hourly_cost="50",
                          currency="EUR").status_code == 302
    total, low, high = _expected_total()
    scope = resolve_scope(campaign_id=campaign.id)
    lost = area_report(scope, area.id).time_lost[-1]
    assert lost.reported_hours == pytest.approx(30.0) and lost.n == 10
    assert lost.total.invited == INVITED
    assert (lost.total.hours, lost.total.ci_low, lost.total.ci_high) == (
        pytest.approx(total), pytest.approx(low), pytest.approx(high))
    assert lost.cost.total == pytest.approx(total * 50) and lost.cost.ci_high == pytest.approx(high * 50)
    assert area_report(scope, small.id).time_lost[-1].total is None, "3 respondents: under the minimum"

    rows = _read_csv(admin_client.get(f"/exports/summary.csv?campaign={campaign.id}"))
    row = next(r for r in rows if (r["wave"], r["service_area_code"], r["metric"]) == ("2026-Q3", area.code,
                                                                                        "satisfaction"))
    assert row["hours_lost_reported"] == "30.0" and row["invited"] == str(INVITED)
    assert row["hours_lost_total"] == f"{total:.0f}" and row["hours_lost_total_ci95_low"] == f"{low:.0f}"
    assert row["lost_time_cost"] == f"{total * 50:.0f}" and row["currency"] == "EUR"
    assert row["hourly_cost"] == "50.00"
    assert row["year_before_wave"] == "2025-Q3" and row["baseline_wave"] == "2026-Q1"
    assert row["change_vs_year_before"] == "0.00" and row["significant_vs_year_before"] == "no"
    hidden = next(r for r in rows if (r["wave"], r["service_area_code"]) == ("2026-Q3", small.code))
    assert all(hidden[c] == "" for c in ("hours_lost_reported", "hours_lost_total", "lost_time_cost", "invited"))
    wide = _read_csv(admin_client.get(f"/exports/summary-wide.csv?campaign={campaign.id}"))
    cost = next(r for r in wide if (r["service_area_code"], r["metric"]) == (area.code, "lost_time_cost"))
    assert cost["2026-Q3"] == f"{total * 50:.0f}"

    overview = admin_client.get(f"/dashboard/?campaign={campaign.id}").get_data(as_text=True)
    assert f"{total:,.0f} h" in overview and f"EUR {total * 50:,.0f}" in overview
    assert "vs 2025-Q3 (a year before)" in overview and "vs 2026-Q1 (baseline)" in overview
    page = admin_client.get(f"/dashboard/areas/{area.id}?campaign={campaign.id}").get_data(as_text=True)
    assert f"{low:,.0f}–{high:,.0f}" in page and f"of {INVITED} invited" in page
    assert "The same wave a year before, 2025-Q3" in page and "The baseline, 2026-Q1" in page
    small_page = admin_client.get(f"/dashboard/areas/{small.id}?campaign={campaign.id}").get_data(as_text=True)
    assert "8 h" not in small_page and "24 h" not in small_page

    lines = review_pack._lost_time_lines(scope, area_report(scope, area.id, for_provider=True))
    assert lines[0] == f"Hours lost in 2026-Q3: about {total:,.0f} h for all {INVITED} invited"
    assert lines[-1].startswith("Cost at EUR 50.00/h: EUR ")
    assert review_pack._lost_time_lines(scope, area_report(scope, small.id, for_provider=True))[1] == \
        scope.suppression_note


def test_the_overview_says_how_long_an_area_has_been_below_target(admin_client, db, seeded):
    campaign, area, small, _ = seeded
    overview = admin_client.get(f"/dashboard/?campaign={campaign.id}").get_data(as_text=True)
    assert "3 waves below target" in overview  # satisfaction 3.2 against 4.0 in all three waves
    assert overview.count("below target</span>") == 1, "the small area's figures are not shown, so not counted"


def test_a_department_filter_gives_only_the_reported_hours(admin_client, db, seeded):
    campaign, area, _, _ = seeded
    scope = resolve_scope(campaign_id=campaign.id, department="Finance")
    lost = area_report(scope, area.id).time_lost[-1]
    assert lost.reported_hours == pytest.approx(30.0) and lost.total is None and lost.cost is None


def test_a_closed_waves_invitations_are_counted_once_and_again_after_a_bounce(db, seeded):
    """Counting every invitation of every wave on each cold page was the slowest part of the dashboard at
    scale; a closed wave's are counted once and kept, and a bounce (the one thing that changes a closed
    wave's invitations) makes them counted again."""
    from datetime import datetime, timezone

    from app.models import ScoreTally
    from app.services import bounces, reporting
    from app.services.tallies import INVITED_CODE

    campaign, area, small, waves = seeded
    latest = waves[-1]

    def invited() -> int:
        reporting.clear_cache()
        return area_report(resolve_scope(campaign_id=campaign.id), area.id).time_lost[-1].total.invited

    def kept() -> dict[int, int]:
        return dict(db.session.execute(select(ScoreTally.area_key, ScoreTally.answer_count).where(
            ScoreTally.wave_id == latest.id, ScoreTally.question_code == INVITED_CODE)).all())

    assert invited() == INVITED
    assert kept() == {-1: 0, area.id: INVITED, small.id: INVITED}
    # Kept, not counted again: a change no bounce made (none can happen) goes unseen.
    unanswered = db.session.scalars(select(Invitation).where(Invitation.wave_id == latest.id,
                                                             Invitation.responded_at.is_(None))).first()
    db.session.execute(invitation_area.delete().where(invitation_area.c.invitation_id == unanswered.id,
                                                      invitation_area.c.service_area_id == small.id))
    db.session.commit()
    assert invited() == INVITED
    assert bounces.record_bounce(bounces.Bounce(unanswered.id, "hard", "550 no such user"),
                                 datetime(2026, 12, 1, tzinfo=timezone.utc))
    assert kept() == {}
    assert invited() == INVITED - 1  # the bounced invitation never reached anyone
    assert kept() == {-1: 0, area.id: INVITED - 1, small.id: INVITED - 1}


def test_a_closed_waves_response_rate_is_kept_per_department_and_a_department_filter_reads_its_own(
        db, seeded):
    from app.models import Stakeholder
    from app.services import reporting
    from app.services.reporting.breakdowns import response_rates

    campaign, _, _, waves = seeded
    latest = waves[-1]
    everyone = response_rates(resolve_scope(campaign_id=campaign.id))[latest.id]
    departments = db.session.scalars(select(Stakeholder.department).join(
        Invitation, Invitation.stakeholder_id == Stakeholder.id).where(Invitation.wave_id == latest.id)).all()
    name = max(set(departments), key=departments.count)
    reporting.clear_cache()
    theirs = response_rates(resolve_scope(campaign_id=campaign.id, department=name))[latest.id]
    expected = db.session.execute(select(func.count(), func.count(Invitation.responded_at)).join(
        Stakeholder, Stakeholder.id == Invitation.stakeholder_id).where(
        Invitation.wave_id == latest.id, Stakeholder.department == name)).one()
    assert (theirs.invited, theirs.responded) == tuple(expected)
    overall = db.session.execute(select(func.count(), func.count(Invitation.responded_at)).where(
        Invitation.wave_id == latest.id)).one()
    assert (everyone.invited, everyone.responded) == tuple(overall) and overall[0] == INVITED
