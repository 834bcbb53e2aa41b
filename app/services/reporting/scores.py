"""Scores from the tallies: satisfaction and happiness with their interval, change and target status for
each service area and wave, and per department where the disclosure gate allows."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import ScoreTally
from app.services.disclosure import OTHER_DEPARTMENTS
from app.services.reporting.departments import department_counts, department_gate
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
class AreaWave:
    """Scores of one service area in one wave; distributions are None when suppressed."""

    area_id: int
    wave: WaveRef
    satisfaction: MetricCell
    happiness: MetricCell
    satisfaction_shares: tuple[float, ...] | None
    happiness_group_shares: tuple[float, float, float] | None

    @property
    def responses(self) -> int:
        return self.satisfaction.n

    def metric(self, metric: Metric) -> MetricCell:
        return self.satisfaction if metric == "satisfaction" else self.happiness


Histograms = dict[tuple[int, int, str], dict[int, int]]  # (wave_id, area_key, question_code) -> score -> count


def histograms(wave_ids: Sequence[int], codes: Sequence[str], department: str | None,
               area_key: int | None = None) -> Histograms:
    """Answer counts per score of the metric questions, by wave and area, summed from the tallies."""
    if not wave_ids or not codes:
        return {}
    query = (
        select(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.question_code, ScoreTally.score,
               func.sum(ScoreTally.answer_count))
        .where(ScoreTally.wave_id.in_(list(wave_ids)), ScoreTally.question_code.in_(list(codes)))
        .group_by(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.question_code, ScoreTally.score)
    )
    if department:
        query = query.where(ScoreTally.department == department)
    if area_key is not None:
        query = query.where(ScoreTally.area_key == area_key)
    hists: Histograms = {}
    for wave_id, key, code, score, count in db.session.execute(query):
        if count:
            hists.setdefault((wave_id, key, code), {})[int(score)] = int(count)
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


def area_waves(scope: Scope, hists: Histograms, area: AreaRef, waves: Sequence[WaveRef],
               previous: WaveRef | None) -> list[AreaWave]:
    """One area's cells in each of `waves`, each compared with the wave before it (`previous` for the first)."""
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
        result.append(AreaWave(area.id, wave, sat_cell, hap_cell, shares, groups))
        before = wave
    return result


def area_wave_table(scope: Scope) -> dict[int, list[AreaWave]]:
    """For each service area, its scores in every wave of the scope (oldest first), from one query."""
    hists = histograms(scope.wave_ids_with_previous, scope.metric_codes, scope.department)
    return {area.id: area_waves(scope, hists, area, scope.waves, scope.previous_wave) for area in scope.areas}


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
