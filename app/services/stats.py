"""Survey statistics computed from answer histograms (value -> count) built in SQL.

Every function here is O(number of distinct values), never O(number of responses).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

# scipy.stats takes about half a second to import, so the four functions that need it import it when
# they run (free after the first call): `flask` commands and app start-up never load it.

DEFAULT_MIN_GROUP_SIZE = 5

WELCH_T_TEST = "Welch's t-test"
HAPPINESS_Z_TEST = "two-sample z-test on happiness score"
NOT_TESTED = "not tested (fewer than 2 responses in a wave)"

# The happiness question is answered 0 to 10: detractors answer up to 6, promoters 9 or more, passives between.
HAPPINESS_DETRACTOR_MAX = 6
HAPPINESS_PROMOTER_MIN = 9
HAPPINESS_GROUPS = (f"Detractors (0-{HAPPINESS_DETRACTOR_MAX})",
                    f"Passives ({HAPPINESS_DETRACTOR_MAX + 1}-{HAPPINESS_PROMOTER_MIN - 1})",
                    f"Promoters ({HAPPINESS_PROMOTER_MIN}-10)")
HAPPINESS_SCALE = (-100, 100)  # the score: % promoters minus % detractors

# Float noise from summing weighted histograms must not flip "met" to "below".
_TARGET_TOLERANCE = 1e-9


@dataclass(frozen=True)
class MeanEstimate:
    """Mean of a rating question with its confidence interval.

    ``sd`` is the sample standard deviation (ddof=1); it is 0.0 when n == 1, where it is undefined.
    """

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class HappinessEstimate:
    """Happiness score (NPS-style, -100..+100) with respondent counts per group and its interval."""

    n: int
    score: float
    promoters: int
    passives: int
    detractors: int
    ci_low: float
    ci_high: float

    @property
    def promoter_share(self) -> float:
        return self.promoters / self.n

    @property
    def detractor_share(self) -> float:
        return self.detractors / self.n


@dataclass(frozen=True)
class Change:
    """Wave-on-wave change; ``p_value`` is None when the data cannot support a test."""

    delta: float
    p_value: float | None
    significant: bool
    test: str


def _validated_counts(hist: Mapping[int, int]) -> dict[int, int]:
    counts = {}
    for value, count in hist.items():
        if count < 0:
            raise ValueError(f"negative count {count} for value {value}")
        if count:
            counts[int(value)] = int(count)
    return counts


def _check_confidence(confidence: float) -> None:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")


def _clamp(x: float, lo: float, hi: float) -> float:
    return min(max(x, lo), hi)


def mean_estimate(
    hist: Mapping[int, int],
    confidence: float = 0.95,
    scale: tuple[float, float] | None = None,
) -> MeanEstimate | None:
    """Mean, sample SD and Student-t confidence interval (n-1 df) from a value -> count histogram.

    Returns None when there are no responses. With a single response the interval is unbounded
    (the whole ``scale`` when given): a small sample widens the band, it never hides it. When every
    answer is identical the t interval has zero width. ``scale=(lo, hi)`` clamps the interval.
    """
    _check_confidence(confidence)
    counts = _validated_counts(hist)
    n = sum(counts.values())
    if n == 0:
        return None
    mean = sum(v * c for v, c in counts.items()) / n
    if n == 1:
        sd = 0.0
        low, high = -math.inf, math.inf
    else:
        sd = math.sqrt(sum(c * (v - mean) ** 2 for v, c in counts.items()) / (n - 1))
        from scipy import stats as _sp

        half_width = _sp.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
        low, high = mean - half_width, mean + half_width
    if scale is not None:
        low, high = _clamp(low, *scale), _clamp(high, *scale)
    return MeanEstimate(n=n, mean=mean, sd=sd, ci_low=float(low), ci_high=float(high))


def happiness_groups(hist: Mapping[int, int]) -> tuple[int, int, int]:
    """(detractors, passives, promoters): how many answers of a 0..10 histogram fall in each group."""
    detractors = sum(c for v, c in hist.items() if v <= HAPPINESS_DETRACTOR_MAX)
    promoters = sum(c for v, c in hist.items() if v >= HAPPINESS_PROMOTER_MIN)
    return detractors, sum(hist.values()) - detractors - promoters, promoters


def _happiness_variance(promoter_share: float, detractor_share: float, n: int) -> float:
    # Variance of (promoter share - detractor share) for a trinomial sample, in share units.
    return (promoter_share + detractor_share - (promoter_share - detractor_share) ** 2) / n


def happiness_estimate(hist: Mapping[int, int], confidence: float = 0.95) -> HappinessEstimate | None:
    """Happiness score from a 0..10 "would you recommend" histogram, with a Wald interval.

    Method: the groups of ``happiness_groups`` (promoters 9-10, passives 7-8, detractors 0-6);
    score = 100 * (p_p - p_d).
    Its variance is (p_p + p_d - (p_p - p_d)**2) / n (the trinomial variance of a difference of
    shares); the interval is score +/- z * 100 * sqrt(variance) with z from the normal
    distribution, clamped to [-100, 100]. With a single response the interval is the whole range,
    because the formula gives zero width there. Returns None when there are no responses.
    """
    _check_confidence(confidence)
    counts = _validated_counts(hist)
    out_of_range = sorted(v for v in counts if not 0 <= v <= 10)
    if out_of_range:
        raise ValueError(f"happiness answers must be 0..10, got {out_of_range}")
    n = sum(counts.values())
    if n == 0:
        return None
    detractors, passives, promoters = happiness_groups(counts)
    p_p, p_d = promoters / n, detractors / n
    score = 100.0 * (p_p - p_d)
    if n == 1:
        low, high = -100.0, 100.0
    else:
        from scipy import stats as _sp

        z = _sp.norm.ppf(0.5 + confidence / 2)
        half_width = 100.0 * z * math.sqrt(_happiness_variance(p_p, p_d, n))
        low, high = _clamp(score - half_width, -100.0, 100.0), _clamp(score + half_width, -100.0, 100.0)
    return HappinessEstimate(
        n=n,
        score=score,
        promoters=promoters,
        passives=passives,
        detractors=detractors,
        ci_low=float(low),
        ci_high=float(high),
    )


def _zero_variance_change(delta: float, alpha: float, test: str) -> Change:
    # Both waves answered unanimously: any difference is certain, no difference is no change.
    p_value = 1.0 if delta == 0 else 0.0
    return Change(delta=delta, p_value=p_value, significant=p_value < alpha, test=test)


def compare_means(prev: MeanEstimate, cur: MeanEstimate, alpha: float = 0.05) -> Change:
    """Change in mean from ``prev`` to ``cur``, tested with Welch's t-test on the summary statistics.

    Welch does not assume equal variances or equal group sizes, which waves rarely have. A wave with
    a single response cannot be tested (p_value None, not significant).
    """
    delta = cur.mean - prev.mean
    if prev.n < 2 or cur.n < 2:
        return Change(delta=delta, p_value=None, significant=False, test=NOT_TESTED)
    if prev.sd == 0 and cur.sd == 0:
        return _zero_variance_change(delta, alpha, WELCH_T_TEST)
    from scipy import stats as _sp

    result = _sp.ttest_ind_from_stats(
        cur.mean, cur.sd, cur.n, prev.mean, prev.sd, prev.n, equal_var=False
    )
    p_value = float(result.pvalue)
    return Change(delta=delta, p_value=p_value, significant=p_value < alpha, test=WELCH_T_TEST)


def compare_happiness(prev: HappinessEstimate, cur: HappinessEstimate, alpha: float = 0.05) -> Change:
    """Change in happiness score (points), tested with a two-sided two-sample z-test.

    z = (score_cur - score_prev) / (100 * sqrt(var_prev + var_cur)), with each variance as in
    ``happiness_estimate``; the waves are independent samples.
    """
    delta = cur.score - prev.score
    if prev.n < 2 or cur.n < 2:
        return Change(delta=delta, p_value=None, significant=False, test=NOT_TESTED)
    variance = _happiness_variance(prev.promoter_share, prev.detractor_share, prev.n) + _happiness_variance(
        cur.promoter_share, cur.detractor_share, cur.n
    )
    if variance <= 0:
        return _zero_variance_change(delta, alpha, HAPPINESS_Z_TEST)
    z = (delta / 100.0) / math.sqrt(variance)
    from scipy import stats as _sp

    p_value = float(2.0 * _sp.norm.sf(abs(z)))
    return Change(delta=delta, p_value=p_value, significant=p_value < alpha, test=HAPPINESS_Z_TEST)


def distribution_shares(hist: Mapping[int, int], scale: Sequence[int]) -> list[float]:
    """Share of answers for each value of ``scale``, in scale order; all zeros when empty.

    Values outside the scale raise ValueError: silently dropping them would misstate the shares.
    """
    counts = _validated_counts(hist)
    unknown = sorted(set(counts) - set(scale))
    if unknown:
        raise ValueError(f"values {unknown} are not on the scale {list(scale)}")
    n = sum(counts.values())
    if n == 0:
        return [0.0] * len(scale)
    return [counts.get(value, 0) / n for value in scale]


def _check_min_group_size(min_group_size: int) -> None:
    if min_group_size < 1:
        raise ValueError(f"min_group_size must be at least 1, got {min_group_size}")


def is_reportable(n: int, min_group_size: int) -> bool:
    """True when a group has enough responses to be shown without risking anonymity."""
    _check_min_group_size(min_group_size)
    return n >= min_group_size


def suppression_note(min_group_size: int) -> str:
    """Sentence-style reason shown next to a hidden figure, e.g. "fewer than 5 responses"."""
    _check_min_group_size(min_group_size)
    return f"fewer than {min_group_size} responses"


def suppression_label(min_group_size: int) -> str:
    """Short marker for a hidden figure in tables and charts, e.g. "n<5"."""
    _check_min_group_size(min_group_size)
    return f"n<{min_group_size}"


def target_status(value: float | None, target: float | None) -> Literal["met", "below", "unknown"]:
    """"met" when ``value`` reaches the contract target, "below" when not, "unknown" without both."""
    if value is None or target is None:
        return "unknown"
    return "met" if value >= target - _TARGET_TOLERANCE else "below"


def distance_to_target(value: float | None, target: float | None, scale_span: float) -> float | None:
    """(value - target) as a fraction of the scale's span, clamped to [-1, 1]; None without both.

    Used to colour heat maps, so a 1-point miss looks the same on every question with that scale.
    """
    if scale_span <= 0:
        raise ValueError(f"scale_span must be positive, got {scale_span}")
    if value is None or target is None:
        return None
    return _clamp((value - target) / scale_span, -1.0, 1.0)
