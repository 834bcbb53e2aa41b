"""Survey statistics from histograms agree with scipy on raw samples and classify changes correctly."""

import math
import warnings

import numpy as np
import pytest
import scipy.stats

from app.services.stats import (
    DEFAULT_MIN_GROUP_SIZE,
    NOT_TESTED,
    HAPPINESS_GROUPS,
    HAPPINESS_Z_TEST,
    WELCH_T_TEST,
    compare_happiness,
    compare_means,
    distance_to_target,
    distribution_shares,
    happiness_estimate,
    is_reportable,
    mean_estimate,
    suppression_label,
    suppression_note,
    target_status,
)


def expand(hist: dict[int, int]) -> np.ndarray:
    return np.repeat(np.array(list(hist), dtype=float), list(hist.values()))


SAMPLES = [
    {1: 2, 2: 5, 3: 10, 4: 12, 5: 5},
    {4: 1, 5: 1},
    {1: 1, 5: 7},
    {0: 3, 6: 4, 7: 2, 9: 8, 10: 6},
]


@pytest.mark.parametrize("hist", SAMPLES)
@pytest.mark.parametrize("confidence", [0.90, 0.95, 0.99])
def test_mean_interval_matches_scipy_on_expanded_sample(hist, confidence):
    data = expand(hist)
    est = mean_estimate(hist, confidence=confidence)
    low, high = scipy.stats.t.interval(confidence, len(data) - 1, loc=data.mean(), scale=scipy.stats.sem(data))
    assert est.n == len(data)
    assert est.mean == pytest.approx(data.mean())
    assert est.sd == pytest.approx(data.std(ddof=1))
    assert (est.ci_low, est.ci_high) == pytest.approx((low, high))


def test_interval_is_clamped_only_when_a_scale_is_given():
    hist = {1: 1, 5: 2}
    unclamped = mean_estimate(hist)
    clamped = mean_estimate(hist, scale=(1, 5))
    assert unclamped.ci_low < 1 and unclamped.ci_high > 5
    assert (clamped.ci_low, clamped.ci_high) == (1, 5)
    assert clamped.mean == unclamped.mean


def test_single_response_gets_the_widest_band_not_none():
    est = mean_estimate({4: 1}, scale=(1, 5))
    assert (est.n, est.mean, est.ci_low, est.ci_high) == (1, 4.0, 1, 5)
    assert mean_estimate({4: 1}).ci_low == -math.inf


def test_no_responses_gives_none_and_zero_counts_are_ignored():
    assert mean_estimate({}) is None
    assert mean_estimate({3: 0}) is None
    assert happiness_estimate({10: 0}) is None
    assert mean_estimate({1: 0, 4: 2}).mean == 4.0


def test_negative_count_is_rejected():
    with pytest.raises(ValueError):
        mean_estimate({3: -1})


def test_student_t_band_covers_true_mean_about_95_percent_of_simulated_waves():
    probs = np.array([0.05, 0.10, 0.15, 0.40, 0.30])  # skewed towards satisfied, like real surveys
    values = np.arange(1, 6)
    true_mean = float(values @ probs)
    rng = np.random.default_rng(20261231)
    answers = rng.choice(values, size=(2000, 30), p=probs)
    counts = (answers[:, :, None] == values).sum(axis=1)

    covered = 0
    for row in counts:
        est = mean_estimate(dict(zip(values.tolist(), row.tolist())), scale=(1, 5))
        covered += est.ci_low <= true_mean <= est.ci_high
    assert 0.93 <= covered / 2000 <= 0.97


def test_happiness_from_known_histogram():
    est = happiness_estimate({10: 30, 9: 20, 8: 20, 7: 10, 6: 5, 3: 10, 0: 5})
    assert (est.n, est.promoters, est.passives, est.detractors) == (100, 50, 30, 20)
    assert HAPPINESS_GROUPS == ("Detractors (0-6)", "Passives (7-8)", "Promoters (9-10)")  # the charts' legend
    assert est.score == pytest.approx(30.0)
    assert (est.promoter_share, est.detractor_share) == (0.5, 0.2)
    half_width = 100 * scipy.stats.norm.ppf(0.975) * math.sqrt((0.5 + 0.2 - 0.3**2) / 100)
    assert (est.ci_low, est.ci_high) == pytest.approx((30 - half_width, 30 + half_width))


def test_happiness_interval_is_clamped_and_single_response_is_full_range():
    assert happiness_estimate({10: 1}).ci_low == -100 and happiness_estimate({10: 1}).ci_high == 100
    est = happiness_estimate({10: 9, 0: 1})
    assert est.score == 80 and est.ci_high == 100


def test_happiness_rejects_answers_off_the_0_to_10_scale():
    with pytest.raises(ValueError):
        happiness_estimate({11: 3})


def test_welch_p_value_matches_scipy_on_raw_samples():
    prev_hist, cur_hist = {1: 3, 2: 4, 3: 9, 4: 6, 5: 2}, {2: 1, 3: 5, 4: 20, 5: 14}
    change = compare_means(mean_estimate(prev_hist), mean_estimate(cur_hist))
    expected = scipy.stats.ttest_ind(expand(cur_hist), expand(prev_hist), equal_var=False)
    assert change.p_value == pytest.approx(expected.pvalue)
    assert change.delta == pytest.approx(expand(cur_hist).mean() - expand(prev_hist).mean())
    assert change.test == WELCH_T_TEST


def test_large_real_improvement_is_significant():
    prev = mean_estimate({1: 20, 2: 40, 3: 50, 4: 60, 5: 30})
    cur = mean_estimate({1: 5, 2: 15, 3: 35, 4: 85, 5: 60})
    assert (prev.n, prev.mean, cur.n, cur.mean) == (200, 3.2, 200, 3.9)
    change = compare_means(prev, cur)
    assert change.significant and change.p_value < 0.001
    assert change.delta == pytest.approx(0.7)


def test_small_noisy_difference_is_not_significant():
    prev = mean_estimate({2: 1, 3: 3, 4: 3, 5: 1})
    cur = mean_estimate({2: 1, 3: 2, 4: 3, 5: 2})
    assert (prev.n, prev.mean, cur.n, cur.mean) == (8, 3.5, 8, 3.75)
    change = compare_means(prev, cur)
    assert not change.significant and change.p_value > 0.3


def test_zero_variance_waves_are_classified_without_warnings_or_nan():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        same = compare_means(mean_estimate({5: 10}), mean_estimate({5: 12}))
        moved = compare_means(mean_estimate({5: 2}), mean_estimate({1: 2}))
        one_sided = compare_means(mean_estimate({5: 10}), mean_estimate({4: 5, 5: 5}))
        happiness_same = compare_happiness(happiness_estimate({10: 6}), happiness_estimate({9: 8}))
        happiness_moved = compare_happiness(happiness_estimate({10: 6}), happiness_estimate({2: 8}))
    assert (same.delta, same.p_value, same.significant) == (0, 1.0, False)
    assert (moved.delta, moved.p_value, moved.significant) == (-4, 0.0, True)
    assert 0 < one_sided.p_value < 1 and not math.isnan(one_sided.p_value)
    assert (happiness_same.p_value, happiness_same.significant) == (1.0, False)
    assert (happiness_moved.delta, happiness_moved.p_value, happiness_moved.significant) == (-200, 0.0, True)


def test_single_response_wave_is_not_tested():
    change = compare_means(mean_estimate({1: 1}), mean_estimate({5: 40}))
    assert (change.p_value, change.significant, change.test) == (None, False, NOT_TESTED)
    assert change.delta == 4


def test_happiness_z_test_matches_hand_computation():
    prev = happiness_estimate({10: 30, 8: 40, 2: 30})  # score 0
    cur = happiness_estimate({10: 50, 8: 30, 2: 20})  # score +30
    variance = (0.3 + 0.3 - 0.0) / 100 + (0.5 + 0.2 - 0.3**2) / 100
    z = 0.30 / math.sqrt(variance)
    change = compare_happiness(prev, cur)
    assert change.delta == pytest.approx(30)
    assert change.p_value == pytest.approx(2 * scipy.stats.norm.sf(z))
    assert change.significant and change.test == HAPPINESS_Z_TEST
    noisy = compare_happiness(happiness_estimate({10: 3, 8: 3, 2: 2}), happiness_estimate({10: 4, 8: 2, 2: 2}))
    assert not noisy.significant


def test_significance_needs_p_strictly_below_alpha():
    prev, cur = mean_estimate({2: 1, 3: 3, 4: 3, 5: 1}), mean_estimate({2: 1, 3: 2, 4: 3, 5: 2})
    p_value = compare_means(prev, cur).p_value
    assert not compare_means(prev, cur, alpha=p_value).significant
    assert compare_means(prev, cur, alpha=p_value + 1e-9).significant


def test_distribution_shares_cover_the_scale_in_order():
    assert distribution_shares({5: 2, 3: 1, 4: 1}, [1, 2, 3, 4, 5]) == [0, 0, 0.25, 0.25, 0.5]
    assert distribution_shares({}, range(0, 11)) == [0.0] * 11
    assert sum(distribution_shares({0: 3, 7: 4, 10: 5}, range(0, 11))) == pytest.approx(1)
    with pytest.raises(ValueError):
        distribution_shares({6: 1}, [1, 2, 3, 4, 5])


def test_groups_of_four_are_suppressed_and_groups_of_five_are_shown():
    assert DEFAULT_MIN_GROUP_SIZE == 5
    assert not is_reportable(4, DEFAULT_MIN_GROUP_SIZE)
    assert is_reportable(5, DEFAULT_MIN_GROUP_SIZE)
    assert suppression_note(5) == "fewer than 5 responses"
    assert suppression_label(10) == "n<10"


def test_target_status_and_distance():
    assert target_status(4.0, 4.0) == "met"
    assert target_status(4.0 - 1e-12, 4.0) == "met"  # float noise does not miss a target
    assert target_status(3.99, 4.0) == "below"
    assert target_status(None, 4.0) == target_status(4.2, None) == "unknown"
    assert distance_to_target(3.0, 4.0, 4) == -0.25
    assert distance_to_target(-100, 50, 20) == -1
    assert distance_to_target(None, 4.0, 4) is None
