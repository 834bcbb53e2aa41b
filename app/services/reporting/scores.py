"""Scores from the tallies: satisfaction and happiness with their interval, change and target status for
each service area and wave, and per department where the disclosure gate allows."""
from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

from sqlalchemy import func, select

from app.extensions import db
from app.models import Campaign, ScoreTally
from app.services.disclosure import OTHER_DEPARTMENTS
from app.services.reporting.cache import cached_by_wave
from app.services.reporting.departments import Gate, department_counts, department_gate
from app.services.reporting.scope import AreaRef, Metric, MetricQuestion, Scope, WaveRef
from app.services.stats import (
    Change,
    HappinessEstimate,
    MeanEstimate,
    compare_happiness,
    compare_means,
    distance_to_target,
    distribution_shares,
    happiness_estimate,
    happiness_groups,
    is_reportable,
    mean_estimate,
    target_status,
)


@dataclass(frozen=True)
class MetricCell:
    """One metric for one group. `estimate` and `change` are None whenever the group is too small."""

    metric: Metric
    n: int
    min_group_size: int
    estimate: MeanEstimate | HappinessEstimate | None
    change: Change | None
    target: float | None
    withheld: bool = False  # by complementary suppression: the department's figure would give others away

    @property
    def suppressed(self) -> bool:
        return self.withheld or not is_reportable(self.n, self.min_group_size)

    @property
    def empty(self) -> bool:
        return self.n == 0

    @property
    def value(self) -> float | None:
        if self.estimate is None:
            return None
        return self.estimate.mean if isinstance(self.estimate, MeanEstimate) else self.estimate.score

    @property
    def ci(self) -> tuple[float, float] | None:
        return None if self.estimate is None else (self.estimate.ci_low, self.estimate.ci_high)

    @property
    def status(self) -> str:
        return target_status(self.value, self.target)

    def distance(self, scale: tuple[int, int]) -> float | None:
        return distance_to_target(self.value, self.target, scale[1] - scale[0])


@dataclass(frozen=True)
class ComparedCell:
    """A metric's change against one earlier wave, shaped like a `MetricCell` for the change marker."""

    metric: Metric
    change: Change | None


@dataclass(frozen=True)
class Comparison:
    """One area in one wave against an earlier wave other than the previous one: the same period a year
    before (`kind` "year") or the campaign's baseline ("baseline"). A change is None when either side is
    under the minimum group size or withheld by the department gate."""

    kind: str
    against: WaveRef
    satisfaction: Change | None
    happiness: Change | None

    def cell(self, metric: Metric) -> ComparedCell:
        return ComparedCell(metric, self.satisfaction if metric == "satisfaction" else self.happiness)


@dataclass(frozen=True)
class AreaWave:
    """Scores of one service area in one wave; distributions are None when suppressed."""

    area_id: int
    wave: WaveRef
    satisfaction: MetricCell
    happiness: MetricCell
    satisfaction_shares: tuple[float, ...] | None
    happiness_group_shares: tuple[float, float, float] | None
    comparisons: tuple[Comparison, ...] = ()

    @property
    def responses(self) -> int:
        return self.satisfaction.n

    def metric(self, metric: Metric) -> MetricCell:
        return self.satisfaction if metric == "satisfaction" else self.happiness

    def comparison(self, kind: str) -> Comparison | None:
        return next((c for c in self.comparisons if c.kind == kind), None)


Histograms = dict[tuple[int, int, str], dict[int, int]]  # (wave_id, area_key, question_code) -> score -> count


def histograms(wave_ids: Sequence[int], codes: Sequence[str], department: str | None,
               area_key: int | None = None) -> Histograms:
    """Answer counts per score of the metric questions, by wave and area, summed from the tallies. Each
    wave's counts (every area) are kept under that wave's own version (`cached_by_wave`): while the open
    wave receives responses, only its counts are read again, and every report of the page shares them."""
    if not wave_ids or not codes:
        return {}
    codes = tuple(sorted(set(codes)))

    def count(missing: list[int]) -> dict[int, Histograms]:
        query = (
            select(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.question_code, ScoreTally.score,
                   func.sum(ScoreTally.answer_count))
            .where(ScoreTally.wave_id.in_(missing), ScoreTally.question_code.in_(codes))
            .group_by(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.question_code, ScoreTally.score)
        )
        if department:
            query = query.where(ScoreTally.department == department)
        by_wave: dict[int, Histograms] = {}
        for wave_id, key, code, score, n in db.session.execute(query):
            if n:
                by_wave.setdefault(wave_id, {}).setdefault((wave_id, key, code), {})[int(score)] = int(n)
        return by_wave

    hists: Histograms = {}
    for wave_hists in cached_by_wave(("histograms", codes, department), list(dict.fromkeys(wave_ids)),
                                     count).values():
        for key, hist in (wave_hists or {}).items():
            if area_key is None or key[1] == area_key:
                hists[key] = hist
    return hists


def _estimate(metric: Metric, hist: dict[int, int], scale: tuple[int, int]):
    if metric == "satisfaction":
        return mean_estimate(hist, scale=scale)
    return happiness_estimate(hist)


def _cell(metric: Metric, question: MetricQuestion | None, hist: dict[int, int], previous: dict[int, int] | None,
          target: float | None, min_group_size: int, *, withheld: bool = False) -> MetricCell:
    n = sum(hist.values())
    if withheld:
        return MetricCell(metric, n, min_group_size, None, None, target, withheld=True)
    if question is None or not is_reportable(n, min_group_size):
        return MetricCell(metric, n, min_group_size, None, None, target)
    estimate = _estimate(metric, hist, question.scale)
    change = None
    if previous is not None and is_reportable(sum(previous.values()), min_group_size):
        before = _estimate(metric, previous, question.scale)
        change = compare_means(before, estimate) if metric == "satisfaction" else compare_happiness(before, estimate)
    return MetricCell(metric, n, min_group_size, estimate, change, target)


_YEAR_LABEL = re.compile(r"^(\d{4})(-.+)$")


def year_before(wave: WaveRef, candidates: Sequence[WaveRef]) -> WaveRef | None:
    """The wave among `candidates` labelled as the same period one year earlier (2026-Q3 -> 2025-Q3,
    2026-11 -> 2025-11, 2026-W47 -> 2025-W47); None when the campaign has no such wave."""
    match = _YEAR_LABEL.match(wave.label)
    if not match:
        return None
    label = f"{int(match.group(1)) - 1}{match.group(2)}"
    return next((w for w in candidates if w.label == label), None)


def baseline_wave(scope: Scope) -> WaveRef | None:
    """The campaign's baseline wave when one is set and has opened."""
    baseline_id = db.session.scalar(select(Campaign.baseline_wave_id).where(Campaign.id == scope.campaign_id))
    return next((w for w in scope.all_waves if w.id == baseline_id), None) if baseline_id else None


def comparison_waves(scope: Scope, wave: WaveRef, baseline: WaveRef | None) -> list[tuple[str, WaveRef]]:
    """The earlier waves `wave` is compared with beside the previous one: a year before, the baseline."""
    against = []
    if (year := year_before(wave, scope.all_waves)) is not None:
        against.append(("year", year))
    if baseline is not None and baseline.id != wave.id:
        against.append(("baseline", baseline))
    return against


@dataclass(frozen=True)
class _ComparisonBasis:
    """What comparing a report's waves needs, read once per report: the waves each is compared with,
    their histograms and the department gate over them."""

    against: dict[int, list[tuple[str, WaveRef]]]
    hists: Histograms
    may_show: Gate


def _comparison_basis(scope: Scope, waves: Sequence[WaveRef], area_key: int | None = None) -> _ComparisonBasis:
    baseline = baseline_wave(scope)
    against = {wave.id: comparison_waves(scope, wave, baseline) for wave in waves}
    earlier = list({ref.id: ref for pairs in against.values() for _, ref in pairs}.values())
    if not earlier:
        return _ComparisonBasis(against, {}, lambda *_: False)
    hists = histograms([w.id for w in earlier], scope.metric_codes, scope.department, area_key=area_key)
    # The gate of a department-filtered report, over the compared waves (today's rule, those waves' counts).
    gate = department_gate(replace(scope, waves=tuple(earlier), previous_wave=None))
    return _ComparisonBasis(against, hists, gate)


def _compare(metric: Metric, question: MetricQuestion | None, cell: MetricCell, hist: dict[int, int],
             min_group_size: int) -> Change | None:
    if question is None or cell.estimate is None or not is_reportable(sum(hist.values()), min_group_size):
        return None
    before = _estimate(metric, hist, question.scale)
    if before is None:
        return None
    return compare_means(before, cell.estimate) if metric == "satisfaction" else compare_happiness(before, cell.estimate)


def _comparisons(scope: Scope, basis: _ComparisonBasis, area: AreaRef, wave: WaveRef, sat_cell: MetricCell,
                 hap_cell: MetricCell) -> tuple[Comparison, ...]:
    result = []
    for kind, earlier in basis.against.get(wave.id, ()):
        changes = []
        for metric, question, cell in (("satisfaction", scope.satisfaction, sat_cell),
                                       ("happiness", scope.happiness, hap_cell)):
            if question is None or not basis.may_show(earlier.id, area.id, metric):
                changes.append(None)
                continue
            hist = basis.hists.get((earlier.id, area.id, question.code), {})
            changes.append(_compare(metric, question, cell, hist, scope.min_group_size))
        result.append(Comparison(kind, earlier, *changes))
    return tuple(result)


def area_waves(scope: Scope, hists: Histograms, area: AreaRef, waves: Sequence[WaveRef],
               previous: WaveRef | None, basis: _ComparisonBasis | None = None) -> list[AreaWave]:
    """One area's cells in each of `waves`, each compared with the wave before it (`previous` for the first)
    and, when `basis` is given, with the same wave a year before and the campaign's baseline."""
    result = []
    sat_code = scope.satisfaction.code if scope.satisfaction else ""
    hap_code = scope.happiness.code if scope.happiness else ""
    may_show = department_gate(scope)
    before = previous
    for wave in waves:
        sat = hists.get((wave.id, area.id, sat_code), {})
        hap = hists.get((wave.id, area.id, hap_code), {})
        sat_prev = hists.get((before.id, area.id, sat_code), {}) \
            if before and may_show(before.id, area.id, "satisfaction") else None
        hap_prev = hists.get((before.id, area.id, hap_code), {}) \
            if before and may_show(before.id, area.id, "happiness") else None
        sat_cell = _cell("satisfaction", scope.satisfaction, sat, sat_prev, area.target_satisfaction,
                         scope.min_group_size, withheld=not may_show(wave.id, area.id, "satisfaction"))
        hap_cell = _cell("happiness", scope.happiness, hap, hap_prev, area.target_happiness, scope.min_group_size,
                         withheld=not may_show(wave.id, area.id, "happiness"))
        shares = None
        if sat_cell.estimate is not None and scope.satisfaction is not None:
            low, high = scope.satisfaction.scale
            shares = tuple(distribution_shares(sat, range(low, high + 1)))
        groups = None
        if hap_cell.estimate is not None:
            groups = tuple(count / hap_cell.n for count in happiness_groups(hap))
        compared = _comparisons(scope, basis, area, wave, sat_cell, hap_cell) if basis is not None else ()
        result.append(AreaWave(area.id, wave, sat_cell, hap_cell, shares, groups, compared))
        before = wave
    return result


def comparison_basis(scope: Scope, area_key: int | None = None) -> _ComparisonBasis:
    """Read once per report what comparing each of the scope's waves with a year before and the baseline needs."""
    return _comparison_basis(scope, scope.waves, area_key)


def area_wave_table(scope: Scope) -> dict[int, list[AreaWave]]:
    """For each service area, its scores in every wave of the scope (oldest first), each compared with the
    wave before, the same wave a year before and the baseline, from two queries."""
    hists = histograms(scope.wave_ids_with_previous, scope.metric_codes, scope.department)
    basis = comparison_basis(scope)
    return {area.id: area_waves(scope, hists, area, scope.waves, scope.previous_wave, basis)
            for area in scope.areas}


def compared_wave_ids(scope: Scope) -> tuple[int, ...]:
    """Every wave a report of the scope reads: its range and the one before, the waves up to its current
    one (for how long an area has been below target) and the baseline; for the report's cache key."""
    ids = list(scope.wave_ids_with_previous)
    if scope.current_wave is not None:
        ids += [w.id for w in _history(scope)]
    baseline = baseline_wave(scope)
    if baseline is not None:
        ids.append(baseline.id)
    return tuple(dict.fromkeys(ids))


def _history(scope: Scope) -> tuple[WaveRef, ...]:
    """Every wave of the campaign up to the scope's current one, oldest first."""
    current = scope.current_wave
    ids = [w.id for w in scope.all_waves]
    return scope.all_waves[:ids.index(current.id) + 1] if current and current.id in ids else scope.waves


def waves_below_target(scope: Scope) -> dict[int, int]:
    """For each service area, how many waves in a row, ending with the scope's current wave, it has been
    below a contract target (satisfaction or happiness); 0 when it is not below now. A wave whose figures
    may not be shown (too few responses, or withheld for the department) ends the run: nothing is assumed."""
    history = _history(scope)
    if not history or not scope.metric_codes:
        return {area.id: 0 for area in scope.areas}
    hists = histograms([w.id for w in history], scope.metric_codes, scope.department)
    may_show = department_gate(replace(scope, waves=history, previous_wave=None))
    result = {}
    for area in scope.areas:
        run = 0
        for wave in reversed(history):
            below = False
            for metric, question in (("satisfaction", scope.satisfaction), ("happiness", scope.happiness)):
                if question is None or not may_show(wave.id, area.id, metric):
                    continue
                hist = hists.get((wave.id, area.id, question.code), {})
                if not is_reportable(sum(hist.values()), scope.min_group_size):
                    continue
                estimate = _estimate(metric, hist, question.scale)
                value = None if estimate is None else (
                    estimate.mean if isinstance(estimate, MeanEstimate) else estimate.score)
                below = below or target_status(value, area.target(metric)) == "below"
            if not below:
                break
            run += 1
        result[area.id] = run
    return result


@dataclass(frozen=True)
class DepartmentRow:
    department: str
    satisfaction: MetricCell
    happiness: MetricCell
    merged: int = 0  # how many withheld departments this row combines


def department_breakdown(scope: Scope, area_id: int, wave: WaveRef | None = None) -> list[DepartmentRow]:
    """Scores by department in one wave, as the disclosure gate allows: a department has its own row only
    when it is shown for both metrics; every other department is combined into one row, itself
    suppressed while it holds fewer than the minimum."""
    wave = wave or scope.current_wave
    codes = scope.metric_codes
    if wave is None or not codes:
        return []
    area = scope.area(area_id)
    query = (
        select(ScoreTally.department, ScoreTally.question_code, ScoreTally.score, func.sum(ScoreTally.answer_count))
        .where(ScoreTally.wave_id == wave.id, ScoreTally.area_key == area_id, ScoreTally.question_code.in_(codes))
        .group_by(ScoreTally.department, ScoreTally.question_code, ScoreTally.score)
    )
    hists: dict[str, dict[str, dict[int, int]]] = {}
    for department, code, score, count in db.session.execute(query):
        if count:
            hists.setdefault(department or "", {}).setdefault(code, {})[int(score)] = int(count)
    sat_code = scope.satisfaction.code if scope.satisfaction else ""
    hap_code = scope.happiness.code if scope.happiness else ""
    gate = department_counts(scope, answers=False)  # its cells: satisfaction and happiness only
    shown = set(hists)
    for metric, question in (("satisfaction", scope.satisfaction), ("happiness", scope.happiness)):
        if question is not None:
            shown &= gate.shown(wave.id, area_id, metric)

    def row(name: str, by_code: dict[str, dict[int, int]], merged: int = 0) -> DepartmentRow:
        return DepartmentRow(
            name,
            _cell("satisfaction", scope.satisfaction, by_code.get(sat_code, {}), None, area.target_satisfaction,
                  scope.min_group_size),
            _cell("happiness", scope.happiness, by_code.get(hap_code, {}), None, area.target_happiness,
                  scope.min_group_size),
            merged,
        )

    rows = [row(name or "(not recorded)", hists[name]) for name in sorted(shown)]
    withheld = [name for name in hists if name not in shown]
    if withheld:
        combined: dict[str, dict[int, int]] = {}
        for name in withheld:
            for code, hist in hists[name].items():
                for score, count in hist.items():
                    combined.setdefault(code, {})[score] = combined.setdefault(code, {}).get(score, 0) + count
        rows.append(row(OTHER_DEPARTMENTS, combined, merged=len(withheld)))
    return rows
