"""Comparisons beyond the previous wave: the same wave a year before, the campaign's baseline, and how long
an area has been below target; every one tested as the previous-wave change is, and never from a small group."""
from __future__ import annotations

import pytest
from scipy import stats as sp

from app.extensions import db as _db
from app.services.reporting.reports import overview, summary_rows
from app.services.reporting.scope import resolve_scope
from app.services.reporting.scores import area_wave_table, waves_below_target, year_before
from app.services.reporting.scope import WaveRef
from app.services.stats import WELCH_T_TEST
from tests.reporting_seed import AreaAnswers, add_wave, make_reporting_campaign


LAST_YEAR = [2, 3] * 6  # mean 2.5
NOW = [4, 5] * 6  # mean 4.5


def _two_years(survey, *, last_year=LAST_YEAR):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    waves = {}
    for index, (label, scores) in enumerate([("2025-Q1", [1, 2] * 6), ("2025-Q3", last_year),
                                             ("2026-Q1", [3, 3, 3, 4] * 3), ("2026-Q3", NOW)]):
        waves[label] = add_wave(campaign, survey, label, {area: AreaAnswers(scores)}, index=index)
    return campaign, area, waves


def test_year_before_is_the_same_period_label_a_year_earlier():
    waves = [WaveRef(1, "2025-Q3", "closed"), WaveRef(2, "2025-11", "closed"), WaveRef(3, "2025-W47", "closed")]
    assert year_before(WaveRef(9, "2026-Q3", "open"), waves).id == 1
    assert year_before(WaveRef(9, "2026-11", "open"), waves).id == 2
    assert year_before(WaveRef(9, "2026-W47", "open"), waves).id == 3
    assert year_before(WaveRef(9, "2026-Q4", "open"), waves) is None
    assert year_before(WaveRef(9, "Spring pulse", "open"), waves) is None


def test_the_current_wave_is_compared_with_a_year_before_by_welch_t_test(db, survey):
    campaign, area, waves = _two_years(survey)
    current = area_wave_table(resolve_scope(campaign_id=campaign.id))[area.id][-1]
    compared = current.comparison("year")
    assert compared.against.label == "2025-Q3"
    assert compared.satisfaction.delta == pytest.approx(2.0)
    expected = sp.ttest_ind(NOW, LAST_YEAR, equal_var=False).pvalue
    assert compared.satisfaction.p_value == pytest.approx(expected)
    assert compared.satisfaction.significant and compared.satisfaction.test == WELCH_T_TEST
    assert compared.happiness is not None  # tested too (z-test), from the same tallies
    # No baseline set: no baseline comparison at all.
    assert current.comparison("baseline") is None
    # The previous wave's change is unchanged by all this.
    assert current.satisfaction.change.delta == pytest.approx(4.5 - 3.25)


def test_a_baseline_set_on_the_campaign_is_compared_with_every_later_wave(db, survey):
    campaign, area, waves = _two_years(survey)
    campaign.baseline_wave_id = waves["2025-Q1"].id
    _db.session.commit()
    scope = resolve_scope(campaign_id=campaign.id)
    series = area_wave_table(scope)[area.id]
    current = series[-1].comparison("baseline")
    assert current.against.label == "2025-Q1"
    assert current.satisfaction.delta == pytest.approx(4.5 - 1.5)
    assert current.satisfaction.p_value == pytest.approx(sp.ttest_ind(NOW, [1, 2] * 6, equal_var=False).pvalue)
    # The baseline wave itself is not compared with itself.
    assert series[0].wave.label == "2025-Q1" and series[0].comparison("baseline") is None
    # The overview, cached before, follows the campaign's new baseline.
    assert overview(scope).rows[0].current.comparison("baseline").against.label == "2025-Q1"
    campaign.baseline_wave_id = waves["2026-Q1"].id
    _db.session.commit()
    assert overview(resolve_scope(campaign_id=campaign.id)).rows[0].current.comparison("baseline").against.label \
        == "2026-Q1"


def test_a_small_earlier_group_gives_no_comparison(db, survey):
    campaign, area, _ = _two_years(survey, last_year=[1, 1, 1])  # 3 answers, minimum 5
    current = area_wave_table(resolve_scope(campaign_id=campaign.id))[area.id][-1]
    compared = current.comparison("year")
    assert compared.against.label == "2025-Q3"
    assert compared.satisfaction is None and compared.happiness is None
    row = next(r for r in summary_rows(resolve_scope(campaign_id=campaign.id))
               if r.wave == "2026-Q3" and r.metric == "satisfaction")
    assert row.compared("year") == ("2025-Q3", None, None, None)


def test_summary_rows_carry_both_comparisons(db, survey):
    campaign, area, waves = _two_years(survey)
    campaign.baseline_wave_id = waves["2025-Q1"].id
    _db.session.commit()
    row = next(r for r in summary_rows(resolve_scope(campaign_id=campaign.id))
               if r.wave == "2026-Q3" and r.metric == "satisfaction")
    label, delta, p_value, significant = row.compared("year")
    assert (label, significant) == ("2025-Q3", True) and delta == pytest.approx(2.0) and p_value < 0.05
    assert row.compared("baseline")[:2] == ("2025-Q1", pytest.approx(3.0))


def test_waves_below_target_counts_the_run_up_to_now(db, survey):
    campaign, (area, other) = make_reporting_campaign(survey, area_count=2)  # targets 4.0 and +20
    for index, (first, second) in enumerate([([5] * 6, [5] * 6), ([3] * 6, [5] * 6), ([3] * 6, [3] * 3),
                                             ([2] * 6, [5] * 6), ([3] * 6, [3] * 6)]):
        add_wave(campaign, survey, f"2026-{index + 1:02d}", {area: AreaAnswers(first), other: AreaAnswers(second)},
                 index=index)
    scope = resolve_scope(campaign_id=campaign.id, wave_count=2)  # the run reaches back past the range
    below = waves_below_target(scope)
    assert below[area.id] == 4
    assert below[other.id] == 1  # below now; the wave before met the target
    rows = {row.area.id: row for row in overview(scope).rows}
    assert rows[area.id].waves_below_target == 4
    # A wave too small to show ends the run: nothing is assumed about it.
    earlier = resolve_scope(campaign_id=campaign.id, last_wave_id=scope.all_waves[3].id)
    assert waves_below_target(earlier)[other.id] == 0  # met in 2026-04
    small = resolve_scope(campaign_id=campaign.id, last_wave_id=scope.all_waves[2].id)
    assert waves_below_target(small)[other.id] == 0  # 3 answers in 2026-03: not shown, not counted


def test_a_department_filter_compares_only_with_waves_where_the_gate_shows_that_department(db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    # A year before: 6 in Finance and 2 in HR. HR alone is too small, and Finance would give HR away by
    # subtraction, so neither department's figure may be shown for that wave.
    add_wave(campaign, survey, "2025-Q3", {area: AreaAnswers([2, 3] * 4, departments=["Finance"] * 6 + ["HR"] * 2)},
             index=0)
    add_wave(campaign, survey, "2026-Q3", {area: AreaAnswers(NOW)}, index=1)  # everyone in Finance
    unfiltered = area_wave_table(resolve_scope(campaign_id=campaign.id))[area.id][-1].comparison("year")
    assert unfiltered.satisfaction is not None
    finance = resolve_scope(campaign_id=campaign.id, department="Finance")
    current = area_wave_table(finance)[area.id][-1]
    assert current.satisfaction.value == pytest.approx(4.5), "Finance's own figure this wave is shown"
    assert current.comparison("year").satisfaction is None and current.comparison("year").happiness is None
