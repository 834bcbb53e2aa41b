"""Key drivers: Spearman's rho from joint histograms, the driver table of an area, pooling, suppression."""
from __future__ import annotations

import random

import pytest
from scipy import stats as sp

from app.services.reporting import drivers
from app.services.reporting.scope import resolve_scope
from tests.question_seed import answer_every_question
from tests.reporting_seed import make_reporting_campaign


def _expand(joint):
    xs, ys = [], []
    for (x, y), count in joint.items():
        xs += [x] * count
        ys += [y] * count
    return xs, ys


def test_spearman_from_a_joint_histogram_matches_scipy_on_the_raw_pairs():
    rng = random.Random(3)
    joint = {}
    for _ in range(200):
        y = rng.randint(1, 5)
        x = max(1, min(5, y + rng.choice([-1, 0, 0, 1, 2])))
        joint[(x, y)] = joint.get((x, y), 0) + 1
    result = drivers.spearman(joint)
    xs, ys = _expand(joint)
    expected = sp.spearmanr(xs, ys).statistic
    assert result.rho == pytest.approx(expected, abs=1e-12)
    assert result.n == 200
    assert result.ci_low < result.rho < result.ci_high
    # Fisher's z with Fieller's standard error, by hand
    import math
    half = sp.norm.ppf(0.975) * math.sqrt(1.06 / 197)
    assert result.ci_low == pytest.approx(math.tanh(math.atanh(expected) - half))


def test_no_correlation_without_spread_or_with_too_few_pairs():
    assert drivers.spearman({(3, 1): 4, (3, 5): 6}) is None  # the sub-rating never varies
    assert drivers.spearman({(1, 1): 1, (5, 5): 2}) is None  # 3 pairs


def test_the_driver_table_ranks_the_rating_that_follows_satisfaction_first_and_flags_it(db, survey):
    campaign, areas = make_reporting_campaign(survey, area_count=1)
    answer_every_question(campaign, survey, "2025-Q1", people=120, seed=11)
    scope = resolve_scope(campaign_id=campaign.id)
    table = drivers.key_drivers(scope, areas[0].id)
    assert not table.pooled and [w.label for w in table.waves] == ["2025-Q1"]
    codes = [d.sub_rating.code for d in table.drivers]
    assert codes[0] == "resolution_quality"
    assert set(codes) == {"responsiveness", "resolution_quality", "communication", "expertise"}
    first = table.drivers[0]
    assert first.fix_first and first.correlation.rho > 0.8 and first.n == 120
    expertise = next(d for d in table.drivers if d.sub_rating.code == "expertise")
    assert not expertise.fix_first and expertise.correlation.ci_low < 0 < expertise.correlation.ci_high
    assert sum(d.fix_first for d in table.drivers) == 1


def test_a_small_current_wave_is_pooled_with_the_range_and_a_tiny_group_is_withheld(db, survey):
    campaign, areas = make_reporting_campaign(survey, area_count=1)
    answer_every_question(campaign, survey, "2025-Q1", people=40, index=0, seed=1)
    answer_every_question(campaign, survey, "2025-Q2", people=12, index=1, seed=2)
    scope = resolve_scope(campaign_id=campaign.id)
    table = drivers.key_drivers(scope, areas[0].id)
    assert table.pooled and [w.label for w in table.waves] == ["2025-Q1", "2025-Q2"]
    assert all(d.n == 52 for d in table.drivers)

    only_small = resolve_scope(campaign_id=campaign.id, first_wave_id=scope.waves[1].id,
                               last_wave_id=scope.waves[1].id)
    small = drivers.key_drivers(only_small, areas[0].id)
    assert small.pooled and all(d.n == 12 and d.correlation is not None for d in small.drivers)

    few = make_reporting_campaign(survey, area_count=1, min_group_size=5)[0]
    answer_every_question(few, survey, "2025-Q1", people=7, seed=3)
    table = drivers.key_drivers(resolve_scope(campaign_id=few.id), few.service_areas[0].id)
    # k = 5 people may see the means, but 7 pairs are too few for a correlation worth reading
    assert all(not d.suppressed and d.mean is not None and d.correlation is None for d in table.drivers)
    assert not any(d.fix_first for d in table.drivers)

    tiny = make_reporting_campaign(survey, area_count=1, min_group_size=5)[0]
    answer_every_question(tiny, survey, "2025-Q1", people=4, seed=3)
    table = drivers.key_drivers(resolve_scope(campaign_id=tiny.id), tiny.service_areas[0].id)
    assert all(d.suppressed and d.correlation is None and d.mean is None for d in table.drivers)


def test_a_department_filter_reads_only_that_department_through_the_gate(db, survey):
    campaign, areas = make_reporting_campaign(survey, area_count=1)
    # 60 people over three departments (20 each), then 2 more in a fourth: Legal is too small to show
    answer_every_question(campaign, survey, "2025-Q1", people=62, seed=5,
                          departments=("Finance", "Sales", "Engineering") * 20 + ("Legal", "Legal"))
    finance = drivers.key_drivers(resolve_scope(campaign_id=campaign.id, department="Finance"), areas[0].id)
    assert all(d.n == 20 and not d.suppressed for d in finance.drivers)
    legal = drivers.key_drivers(resolve_scope(campaign_id=campaign.id, department="Legal"), areas[0].id)
    assert all(d.suppressed and d.mean is None for d in legal.drivers)


def test_the_pulse_asks_no_sub_ratings(db, survey):
    from app.services.catalog import latest_definition

    pulse = latest_definition("pulse")
    campaign, areas = make_reporting_campaign(pulse, area_count=1)
    answer_every_question(campaign, pulse, "2025-Q1", people=20)
    assert drivers.key_drivers(resolve_scope(campaign_id=campaign.id), areas[0].id) is None
