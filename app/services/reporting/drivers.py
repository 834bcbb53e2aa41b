"""Key drivers of one service area: how strongly each sub-rating (responsiveness, resolution quality, ...) moves
with overall satisfaction, where the area stands on it, and which to fix first.

Each correlation is Spearman's rho (the ratings are ordinal, with many ties), computed exactly from the joint
histogram of (sub-rating, satisfaction) pairs counted in SQL: at most 25 rows per sub-rating on a 1-5 scale,
however many people answered. Its 95% interval comes from Fisher's z with Fieller's standard error
sqrt(1.06 / (n - 3)). "Fix first" is the importance-performance quadrant: a sub-rating that matters more than
the area's others on average (rho above their mean, its interval above zero) and scores below their mean.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Campaign, Question, ScoreTally
from app.services.disclosure import count_departments
from app.services.reporting.cache import cached, cached_by_wave, data_version
from app.services.reporting.scope import AreaRef, Scope, WaveRef
from app.services.stats import MeanEstimate, is_reportable, mean_estimate
from app.services.tallies import JOINT_PREFIX

# Below this many pairs in the current wave, the correlation is read from every wave of the range together.
MIN_PAIRS_PER_WAVE = 30
# Below this many pairs even then, no correlation is estimated (its interval would span most of -1..1).
MIN_PAIRS = 10
FIELLER_VARIANCE = 1.06

Joint = dict[tuple[int, int], int]  # (sub-rating score, satisfaction score) -> how many people gave both


@dataclass(frozen=True)
class Correlation:
    n: int
    rho: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class SubRating:
    code: str
    text: str
    scale: tuple[int, int]

    @property
    def title(self) -> str:
        return self.code.replace("_", " ").capitalize()


@dataclass(frozen=True)
class Driver:
    sub_rating: SubRating
    n: int
    correlation: Correlation | None  # None: too few pairs, withheld, or no spread to correlate
    mean: MeanEstimate | None
    suppressed: bool  # under the minimum group size (or withheld for a department)
    fix_first: bool = False


@dataclass(frozen=True)
class DriverTable:
    area: AreaRef
    waves: tuple[WaveRef, ...]  # the waves the figures are read from
    pooled: bool  # True when the current wave alone had too few pairs
    drivers: tuple[Driver, ...]  # strongest first; those without a correlation last

    @property
    def estimated(self) -> tuple[Driver, ...]:
        return tuple(d for d in self.drivers if d.correlation is not None)


def sub_ratings(scope: Scope) -> tuple[SubRating, ...]:
    """The campaign's per-area rating questions other than the satisfaction it leads with (none in the pulse)."""
    if scope.satisfaction is None:
        return ()
    rows = db.session.execute(
        select(Question.code, Question.text, Question.min_value, Question.max_value, Question.options)
        .join(Campaign, Campaign.definition_id == Question.definition_id)
        .where(Campaign.id == scope.campaign_id, Question.scope == "area", Question.kind == "rating",
               Question.code != scope.satisfaction.code)
        .order_by(Question.position)
    ).all()
    return tuple(SubRating(code, text, (low if low is not None else 1, high if high is not None else 5))
                 for code, text, low, high, options in rows if not (options or {}).get("metric"))


def _ranks(counts: Mapping[int, int]) -> dict[int, float]:
    """Mid-ranks of each value among all answers (ties share the mean of the ranks they span)."""
    ranks, below = {}, 0
    for value in sorted(counts):
        ranks[value] = below + (counts[value] + 1) / 2
        below += counts[value]
    return ranks


def spearman(joint: Joint, confidence: float = 0.95) -> Correlation | None:
    """Spearman's rho of a joint histogram with its Fisher-z interval; None below 4 pairs or without spread."""
    n = sum(joint.values())
    if n < 4:
        return None
    xs: dict[int, int] = {}
    ys: dict[int, int] = {}
    for (x, y), count in joint.items():
        xs[x] = xs.get(x, 0) + count
        ys[y] = ys.get(y, 0) + count
    rx, ry = _ranks(xs), _ranks(ys)
    mean = (n + 1) / 2  # the mean of mid-ranks is always (n + 1) / 2
    sxy = sum(c * (rx[x] - mean) * (ry[y] - mean) for (x, y), c in joint.items())
    sxx = sum(c * (rx[x] - mean) ** 2 for x, c in xs.items())
    syy = sum(c * (ry[y] - mean) ** 2 for y, c in ys.items())
    if sxx == 0 or syy == 0:
        return None
    rho = max(-1.0, min(1.0, sxy / math.sqrt(sxx * syy)))
    from scipy import stats as _sp

    z = math.atanh(max(-0.999999, min(0.999999, rho)))
    half = _sp.norm.ppf(0.5 + confidence / 2) * math.sqrt(FIELLER_VARIANCE / (n - 3))
    return Correlation(n, rho, math.tanh(z - half), math.tanh(z + half))


def joint_histograms(wave_ids: list[int], area_id: int, satisfaction_code: str, codes: list[str],
                     department: str | None) -> dict[tuple[int, str], Joint]:
    """(wave, sub-rating code) -> joint histogram with satisfaction (a sub-rating and the satisfaction of the
    same response and area), from the tallies. Each wave's histograms are kept under that wave's own version.
    `satisfaction_code` names the campaign's satisfaction question, the one the tallies pair with."""
    if not wave_ids or not codes:
        return {}
    codes = sorted(set(codes))

    def count(missing: list[int]) -> dict[int, dict[tuple[int, str], Joint]]:
        # From the joint tallies (`app.services.tallies`): each response's sub-rating paired with its
        # satisfaction in the same area, counted when it was stored.
        query = (
            select(ScoreTally.wave_id, ScoreTally.question_code, ScoreTally.score, func.sum(ScoreTally.answer_count))
            .where(ScoreTally.wave_id.in_(missing), ScoreTally.area_key == area_id,
                   ScoreTally.question_code.in_([JOINT_PREFIX + code for code in codes]))
            .group_by(ScoreTally.wave_id, ScoreTally.question_code, ScoreTally.score)
        )
        if department:
            query = query.where(ScoreTally.department == department)
        by_wave: dict[int, dict[tuple[int, str], Joint]] = {}
        for wave_id, code, pair, n in db.session.execute(query):
            if n:
                x, y = divmod(int(pair), 100)
                by_wave.setdefault(wave_id, {}).setdefault((wave_id, code[len(JOINT_PREFIX):]), {})[(x, y)] = int(n)
        return by_wave

    joints: dict[tuple[int, str], Joint] = {}
    key = ("joint-histograms", area_id, satisfaction_code, tuple(codes), department)
    for wave_joints in cached_by_wave(key, list(dict.fromkeys(wave_ids)), count).values():
        joints.update(wave_joints or {})
    return joints


def _merge(joints: list[Joint]) -> Joint:
    merged: Joint = {}
    for joint in joints:
        for pair, count in joint.items():
            merged[pair] = merged.get(pair, 0) + count
    return merged


def key_drivers(scope: Scope, area_id: int) -> DriverTable | None:
    """The key-driver table of one area for the scope's current wave, or pooled over the scope's waves when the
    current wave has fewer than `MIN_PAIRS_PER_WAVE` pairs for some sub-rating. None when the campaign's
    survey asks no sub-ratings. A sub-rating's figures are shown only for at least k pairs, and under a
    department filter only from waves where the disclosure gate shows that department for both the
    sub-rating and satisfaction."""
    questions = sub_ratings(scope)
    if not questions or scope.satisfaction is None or not scope.waves:
        return None
    area = scope.area(area_id)

    def compute() -> DriverTable:
        codes = [q.code for q in questions]
        joints = joint_histograms(list(scope.wave_ids), area_id, scope.satisfaction.code, codes, scope.department)
        current = scope.current_wave
        pooled = any(sum(joints.get((current.id, c), {}).values()) < MIN_PAIRS_PER_WAVE for c in codes)
        waves = scope.waves if pooled else (current,)
        allowed = _department_gate(scope, area_id, codes, [w.id for w in waves])
        drivers = []
        for question in questions:
            joint = _merge([joints.get((w.id, question.code), {}) for w in waves
                            if allowed(w.id, question.code)])
            n = sum(joint.values())
            withheld = any(not allowed(w.id, question.code) and joints.get((w.id, question.code)) for w in waves)
            if withheld and not joint:
                drivers.append(Driver(question, n, None, None, True))
                continue
            if not is_reportable(n, scope.min_group_size):
                drivers.append(Driver(question, n, None, None, True))
                continue
            scores: dict[int, int] = {}
            for (x, _), count in joint.items():
                scores[x] = scores.get(x, 0) + count
            correlation = spearman(joint) if n >= MIN_PAIRS else None
            drivers.append(Driver(question, n, correlation, mean_estimate(scores, scale=question.scale), False))
        return DriverTable(area, tuple(waves), pooled, _ranked(_flag_fix_first(drivers)))

    return cached(("drivers", scope, area_id, data_version(scope.wave_ids)), compute)


def _department_gate(scope: Scope, area_id: int, codes: list[str], wave_ids: list[int]):
    if not scope.department:
        return lambda _wave_id, _code: True
    measures = {code: code for code in [scope.satisfaction.code, *codes]}
    counts = count_departments(k=scope.min_group_size, wave_ids=wave_ids, metric_codes=measures,
                               question_measures={})
    department, satisfaction = scope.department, scope.satisfaction.code
    return lambda wave_id, code: (counts.allows(wave_id, area_id, code, department)
                                  and counts.allows(wave_id, area_id, satisfaction, department))


def _flag_fix_first(drivers: list[Driver]) -> list[Driver]:
    """Importance-performance: strong driver (rho above the area's average, interval above 0) and low score
    (mean below the average of the sub-ratings' means, each normalised to its scale)."""
    estimated = [d for d in drivers if d.correlation is not None and d.mean is not None]
    if len(estimated) < 2:
        return drivers
    average_rho = sum(d.correlation.rho for d in estimated) / len(estimated)
    average_score = sum(_position(d) for d in estimated) / len(estimated)
    flagged = []
    for d in drivers:
        fix = (d in estimated and d.correlation.rho > average_rho and d.correlation.ci_low > 0
               and _position(d) < average_score)
        flagged.append(Driver(d.sub_rating, d.n, d.correlation, d.mean, d.suppressed, fix))
    return flagged


def _position(driver: Driver) -> float:
    low, high = driver.sub_rating.scale
    return (driver.mean.mean - low) / (high - low) if high > low else 0.0


def _ranked(drivers: list[Driver]) -> tuple[Driver, ...]:
    return tuple(sorted(drivers, key=lambda d: (d.correlation is None, -(d.correlation.rho if d.correlation else 0))))
