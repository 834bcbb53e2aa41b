"""Reporting service: figures from tallies match the seeded answers; small groups never show."""
from __future__ import annotations

import math

import pytest
from scipy import stats as sp

from app.services.reporting.cache import data_version
from app.services.reporting.departments import departments
from app.services.reporting.reports import area_report, overview, summary_rows
from app.services.reporting.scope import default_campaign, resolve_scope
from app.services.reporting.scores import area_wave_table, department_breakdown
from app.services.stats import HAPPINESS_Z_TEST, WELCH_T_TEST
from tests.reporting_seed import AreaAnswers, add_wave, make_reporting_campaign, story


def _scope(seeded, **filters):
    return resolve_scope(campaign_id=seeded.campaign.id, **filters)


def test_means_and_intervals_match_the_answers_and_scipy(db, survey):
    seeded = story(survey)
    table = area_wave_table(_scope(seeded))
    first_area = seeded.areas[0]
    q2 = table[first_area.id][1]
    raw = [4, 5, 4, 4, 5, 4, 5, 4, 4, 5] * 2
    assert q2.satisfaction.n == 20
    assert q2.satisfaction.value == pytest.approx(4.4)
    low, high = sp.t.interval(0.95, len(raw) - 1, loc=sum(raw) / len(raw), scale=sp.sem(raw))
    assert q2.satisfaction.ci == (pytest.approx(low), pytest.approx(min(high, 5)))
    # recommend = 2 x satisfaction: 5 -> 10 (promoter), 4 -> 8 (passive): 8 promoters of 20, no detractors
    assert q2.happiness.value == pytest.approx(40.0)
    assert q2.satisfaction_shares == pytest.approx((0, 0, 0, 0.6, 0.4))
    assert q2.happiness_group_shares == pytest.approx((0.0, 0.6, 0.4))
    assert q2.satisfaction.status == "met"  # target 4.0


def test_significant_change_is_flagged_and_noise_is_not(db, survey):
    seeded = story(survey)
    table = area_wave_table(_scope(seeded))
    improved = table[seeded.areas[0].id][1].satisfaction.change
    assert improved.delta == pytest.approx(2.0)
    assert improved.significant and improved.test == WELCH_T_TEST
    noisy = table[seeded.areas[1].id][1].satisfaction.change
    assert noisy.delta == pytest.approx(-0.1)
    assert not noisy.significant and noisy.p_value > 0.05
    happiness = table[seeded.areas[0].id][1].happiness.change
    assert happiness.test == HAPPINESS_Z_TEST and happiness.significant
    # The first wave of the campaign has nothing to compare with.
    assert table[seeded.areas[0].id][0].satisfaction.change is None


def test_four_responses_are_suppressed_and_five_are_shown(db, survey):
    seeded = story(survey)
    scope = _scope(seeded)
    small = area_wave_table(scope)[seeded.areas[1].id][2]
    assert small.satisfaction.n == 4
    assert small.satisfaction.suppressed and small.satisfaction.estimate is None and small.satisfaction.value is None
    assert small.happiness.estimate is None and small.satisfaction_shares is None
    # No change is reported into or out of a suppressed wave.
    assert small.satisfaction.change is None
    report = area_report(scope, seeded.areas[1].id)
    assert report.time_lost[-1].suppressed and report.time_lost[-1].mean_hours is None
    last_mix = report.sentiment[-1][1]
    assert last_mix.suppressed and (last_mix.positive, last_mix.negative, last_mix.mean_polarity) == (0, 0, None)

    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    add_wave(campaign, survey, "W1", {area: AreaAnswers([2, 2, 2, 2, 3])})
    five = area_wave_table(resolve_scope(campaign_id=campaign.id))[area.id][0]
    assert not five.satisfaction.suppressed and five.satisfaction.value == pytest.approx(2.2)


def test_campaign_minimum_is_used(db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1, min_group_size=8)
    add_wave(campaign, survey, "W1", {area: AreaAnswers([4] * 7)})
    scope = resolve_scope(campaign_id=campaign.id)
    assert scope.suppression_note == "fewer than 8 responses"
    assert area_wave_table(scope)[area.id][0].satisfaction.suppressed


def test_overview_response_rate_and_sentiment_mix(db, survey):
    seeded = story(survey)
    scope = _scope(seeded)
    report = overview(scope)
    assert [w.label for w in scope.waves] == ["2025-Q1", "2025-Q2", "2025-Q3"]
    assert report.response_rate.invited == 40 and report.response_rate.responded == 20
    assert report.response_rate.rate == pytest.approx(0.5)
    first_row = report.rows[0]
    assert first_row.sentiment.comments == 6 and first_row.sentiment.positive == 6
    assert first_row.series[0].satisfaction.value == pytest.approx(2.4)
    assert report.rows[1].series[-1].satisfaction.value is None  # suppressed wave leaves a gap in the sparkline
    assert report.rows[1].sentiment.suppressed


def test_area_report_reasons_and_time_lost(db, survey):
    seeded = story(survey)
    scope = _scope(seeded, last_wave_id=seeded.waves[1].id)
    assert scope.current_wave.label == "2025-Q2"
    report = area_report(scope, seeded.areas[0].id)
    assert report.time_lost[0].mean_hours == pytest.approx(4.0)
    assert report.time_lost[1].mean_hours == pytest.approx(1.0)
    reasons = report.reasons
    assert reasons.respondents == 10
    assert [(r.code, r.count, r.polarity) for r in reasons.items] == [("fast_response", 8, "good"),
                                                                      ("slow_response", 2, "bad")]
    assert reasons.items[0].label == "Fast response" and reasons.items[0].share == pytest.approx(0.8)
    mix = dict((w.label, m) for w, m in report.sentiment)
    assert (mix["2025-Q1"].negative, mix["2025-Q2"].positive, mix["2025-Q2"].negative) == (6, 5, 2)


def test_wave_range_and_department_filters(db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    scores = [5] * 6 + [1] * 6
    people = ["Finance"] * 6 + ["Sales"] * 6
    waves = [add_wave(campaign, survey, f"W{i}", {area: AreaAnswers(scores, departments=people)}, index=i)
             for i in range(3)]
    ranged = resolve_scope(campaign_id=campaign.id, first_wave_id=waves[1].id, last_wave_id=waves[1].id)
    assert [w.label for w in ranged.waves] == ["W1"] and ranged.previous_wave.label == "W0"
    sales = resolve_scope(campaign_id=campaign.id, department="Sales")
    cell = area_wave_table(sales)[area.id][-1].satisfaction
    assert cell.n == 6 and cell.value == pytest.approx(1.0)
    assert departments(sales) == ["Finance", "Sales"]


def test_department_breakdown_combines_and_protects_small_departments(db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    people = ["Finance"] * 6 + ["Sales"] * 7 + ["Legal"] * 2
    add_wave(campaign, survey, "W1", {area: AreaAnswers([4] * 15, departments=people)})
    rows = department_breakdown(resolve_scope(campaign_id=campaign.id), area.id)
    # Legal alone (2) would be under 5 and "total minus the rest" would reveal it, so the smallest
    # reportable department (Finance, 6) is combined with it.
    assert [(r.department, r.satisfaction.n, r.merged) for r in rows] == [("Sales", 7, 0),
                                                                         ("Other departments", 8, 2)]
    assert all(not r.satisfaction.suppressed for r in rows)


def test_provider_scope_never_reaches_another_provider(db, survey):
    seeded = story(survey)
    other_campaign, _ = make_reporting_campaign(survey)
    scope = resolve_scope(provider_id=seeded.campaign.provider_id, campaign_id=other_campaign.id)
    assert scope.campaign_id == seeded.campaign.id
    assert resolve_scope(provider_id=-1) is None


def test_summary_rows_carry_no_figures_for_small_groups(db, survey):
    seeded = story(survey)
    rows = summary_rows(_scope(seeded))
    assert len(rows) == 3 * 2 * 2
    small = [r for r in rows if r.wave == "2025-Q3" and r.area_code == seeded.areas[1].code]
    assert all(r.suppressed and r.value is None and r.ci_low is None and r.change is None for r in small)
    improved = next(r for r in rows if r.wave == "2025-Q2" and r.area_code == seeded.areas[0].code
                    and r.metric == "satisfaction")
    assert improved.significant is True and improved.status == "met" and math.isclose(improved.value, 4.4)


def test_cached_overview_follows_new_responses(db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    add_wave(campaign, survey, "W1", {area: AreaAnswers([3] * 5)})
    scope = resolve_scope(campaign_id=campaign.id)
    assert overview(scope).rows[0].current.satisfaction.value == pytest.approx(3.0)
    version = data_version(scope.wave_ids)
    add_wave(campaign, survey, "W2", {area: AreaAnswers([5] * 5)}, index=1)
    assert data_version(scope.wave_ids) == version  # other waves do not disturb this scope
    latest = resolve_scope(campaign_id=campaign.id)
    assert overview(latest).rows[0].current.satisfaction.value == pytest.approx(5.0)


def test_default_campaign_prefers_finished_figures_then_any_data_never_an_empty_one(db, survey):
    closed, (closed_area,) = make_reporting_campaign(survey, area_count=1)
    add_wave(closed, survey, "2025-Q1", {closed_area: AreaAnswers([4] * 6)}, index=0)
    running, (running_area,) = make_reporting_campaign(survey, area_count=1)
    add_wave(running, survey, "2025-Q3", {running_area: AreaAnswers([2] * 6)}, index=2, state="open")
    empty, (empty_area,) = make_reporting_campaign(survey, area_count=1)
    add_wave(empty, survey, "2026-Q1", {empty_area: AreaAnswers([])}, index=5, invited=3, state="open")
    assert resolve_scope().campaign_id == closed.id  # a closed wave with data beats a newer open one
    assert resolve_scope(preferred_campaign_id=running.id).campaign_id == running.id
    assert resolve_scope(preferred_campaign_id=empty.id).campaign_id == closed.id
    assert resolve_scope(provider_id=running.provider_id, preferred_campaign_id=closed.id).campaign_id == running.id
    assert default_campaign([running.id, empty.id]) == running.id  # data in an open wave beats none
    assert resolve_scope(provider_id=empty.provider_id).campaign_id == empty.id  # nothing else to show


def test_the_aspect_sentiment_test_from_counts_is_scipys_mann_whitney_on_the_answers():
    """'Did the sentiment about an aspect change' is tested from the counts per level (a wave's mentions
    can number thousands): the same p-value as scipy's Mann-Whitney U on the expanded answers."""
    import random

    from scipy import stats

    from app.services.reporting.aspects import mann_whitney_p

    rng = random.Random(2026)
    compared = 0
    for _ in range(300):
        a, b = [rng.randint(0, 40) for _ in range(3)], [rng.randint(0, 40) for _ in range(3)]
        answers_a = [-1] * a[0] + [0] * a[1] + [1] * a[2]
        answers_b = [-1] * b[0] + [0] * b[1] + [1] * b[2]
        if len(answers_a) < 2 or len(answers_b) < 2 or len(set(answers_a) | set(answers_b)) < 2:
            continue
        assert mann_whitney_p(a, b) == pytest.approx(stats.mannwhitneyu(answers_a, answers_b).pvalue, abs=1e-12)
        compared += 1
    assert compared > 250
    assert mann_whitney_p([0, 5, 0], [0, 7, 0]) is None  # everyone neutral both times: nothing to test


def test_an_aspects_share_change_is_fishers_exact_test_but_for_large_tables_where_chi_square_agrees():
    """Small tables (every demo wave) get Fisher's exact p. A large wave's tables, every expected count at
    least 1,000, get the chi-square test with Yates' correction: within a fifth of Fisher's p, and the
    same verdict at 5% wherever Fisher's p is not within a hair of the line."""
    import random

    from scipy import stats

    from app.services.reporting.aspects import LARGE_EXPECTED, share_change_p

    small = [[12, 88], [4, 96]]
    assert share_change_p(small) == stats.fisher_exact(small).pvalue
    rng = random.Random(17)
    compared = 0
    for _ in range(400):
        now, before = rng.randint(2_000, 250_000), rng.randint(2_000, 250_000)
        share = rng.uniform(0.02, 0.5)
        a = round(now * share)
        c = round(before * share * rng.uniform(0.94, 1.06))
        table = [[a, now - a], [c, before - c]]
        expected = min(sum(table[0]), sum(table[1])) * min(a + c, now - a + before - c) / (now + before)
        if expected < LARGE_EXPECTED:
            continue
        exact, quick = stats.fisher_exact(table).pvalue, share_change_p(table)
        if exact > 1e-6:
            assert quick == pytest.approx(exact, rel=0.2)
        if abs(exact - 0.05) > 0.005:
            assert (quick <= 0.05) == (exact <= 0.05)
        compared += 1
    assert compared > 300
