"""What each page and file is built from: the overview (dashboard and scorecard), one service area's
report (its page, its charts and the PDF pack) and the summary rows of the CSV export, cached per scope."""
from __future__ import annotations

from dataclasses import dataclass

from app.services.reporting.breakdowns import (
    Reasons,
    ResponseRate,
    SentimentMix,
    TimeLost,
    response_rates,
    sentiment_mix,
    time_lost,
    top_reasons,
)
from app.services.reporting.cache import cached, data_version
from app.services.reporting.scope import METRICS, AreaRef, Metric, Scope, WaveRef
from app.services.reporting.scores import (
    AreaWave,
    Comparison,
    DepartmentRow,
    area_wave_table,
    area_waves,
    compared_wave_ids,
    comparison_basis,
    department_breakdown,
    histograms,
    waves_below_target,
)


@dataclass(frozen=True)
class OverviewRow:
    area: AreaRef
    series: tuple[AreaWave, ...]  # every wave of the scope, oldest first
    sentiment: SentimentMix | None
    waves_below_target: int = 0  # waves in a row, ending now, below a contract target
    time_lost: TimeLost | None = None  # in the current wave

    @property
    def current(self) -> AreaWave:
        return self.series[-1]


@dataclass(frozen=True)
class Overview:
    scope: Scope
    rows: tuple[OverviewRow, ...]
    response_rate: ResponseRate | None
    response_rates: tuple[ResponseRate, ...]

    @property
    def below_target(self) -> list[OverviewRow]:
        return [r for r in self.rows
                if r.current.satisfaction.status == "below" or r.current.happiness.status == "below"]

    @property
    def significant_changes(self) -> list[OverviewRow]:
        return [r for r in self.rows if any(c.change is not None and c.change.significant
                                            for c in (r.current.satisfaction, r.current.happiness))]


def overview(scope: Scope) -> Overview:
    """One row per service area for the scope's current wave, with its series for sparklines."""
    def compute() -> Overview:
        if not scope.waves:
            return Overview(scope, (), None, ())
        table = area_wave_table(scope)
        mix = sentiment_mix(scope, [scope.current_wave.id])
        rates = response_rates(scope)
        below = waves_below_target(scope)
        rows = tuple(
            OverviewRow(area, tuple(table[area.id]), mix.get((scope.current_wave.id, area.id)),
                        below.get(area.id, 0), time_lost(scope, area.id)[-1])
            for area in scope.areas
        )
        return Overview(scope, rows, rates.get(scope.current_wave.id), tuple(rates[w.id] for w in scope.waves))

    return cached(("overview", scope, data_version(compared_wave_ids(scope))), compute)


@dataclass(frozen=True)
class AreaReport:
    scope: Scope
    area: AreaRef
    series: tuple[AreaWave, ...]
    sentiment: tuple[tuple[WaveRef, SentimentMix | None], ...]
    time_lost: tuple[TimeLost, ...]
    reasons: Reasons
    departments: tuple[DepartmentRow, ...]  # empty unless asked for

    @property
    def current(self) -> AreaWave | None:
        return self.series[-1] if self.series else None


def area_report(scope: Scope, area_id: int, *, for_provider: bool = False) -> AreaReport:
    """Everything the service area page shows. The provider's copy (`for_provider`: scorecard, PDF pack)
    has no department breakdown."""
    area = scope.area(area_id)

    def compute() -> AreaReport:
        if not scope.waves:
            return AreaReport(scope, area, (), (), (), Reasons(None, 0, (), scope.min_group_size), ())
        hists = histograms(scope.wave_ids_with_previous, scope.metric_codes, scope.department, area_key=area.id)
        series = area_waves(scope, hists, area, scope.waves, scope.previous_wave, comparison_basis(scope, area.id))
        mix = sentiment_mix(scope, scope.wave_ids, area.id)
        return AreaReport(
            scope=scope,
            area=area,
            series=tuple(series),
            sentiment=tuple((w, mix.get((w.id, area.id))) for w in scope.waves),
            time_lost=tuple(time_lost(scope, area.id)),
            reasons=top_reasons(scope, area.id),
            departments=tuple(department_breakdown(scope, area.id)) if not for_provider and not scope.department
            else (),
        )

    return cached(("area", scope, area_id, for_provider, data_version(compared_wave_ids(scope))), compute)


@dataclass(frozen=True)
class SummaryRow:
    """One wave x service area x metric. Figures are None when the group is under the minimum."""

    wave: str
    area_code: str
    area_name: str
    metric: Metric
    n: int
    suppressed: bool
    value: float | None
    ci_low: float | None
    ci_high: float | None
    target: float | None
    status: str  # met / below / unknown
    change: float | None
    p_value: float | None
    significant: bool | None
    test: str | None
    share_negative: float | None
    year_before: Comparison | None = None  # against the same period a year before, when the campaign has it
    baseline: Comparison | None = None  # against the campaign's baseline wave, when one is set

    def compared(self, kind: str) -> tuple[str | None, float | None, float | None, bool | None]:
        """(wave compared with, change, p-value, significant) against a year before or the baseline."""
        comparison = self.year_before if kind == "year" else self.baseline
        if comparison is None:
            return (None, None, None, None)
        change = comparison.satisfaction if self.metric == "satisfaction" else comparison.happiness
        if change is None:
            return (comparison.against.label, None, None, None)
        return (comparison.against.label, change.delta, change.p_value, change.significant)


def summary_rows(scope: Scope) -> list[SummaryRow]:
    """Flat rows for CSV/PDF: one per wave, area and metric, suppression already applied."""
    table = area_wave_table(scope)
    mix = sentiment_mix(scope, scope.wave_ids)
    rows = []
    for wave_index, wave in enumerate(scope.waves):
        for area in scope.areas:
            area_wave = table[area.id][wave_index]
            negative = mix.get((wave.id, area.id))
            for metric in METRICS:
                cell = area_wave.metric(metric)
                ci = cell.ci
                rows.append(SummaryRow(
                    wave=wave.label, area_code=area.code, area_name=area.name, metric=metric, n=cell.n,
                    suppressed=cell.suppressed, value=cell.value, ci_low=ci[0] if ci else None,
                    ci_high=ci[1] if ci else None, target=cell.target,
                    status=cell.status if not cell.suppressed else "unknown",
                    change=cell.change.delta if cell.change else None,
                    p_value=cell.change.p_value if cell.change else None,
                    significant=cell.change.significant if cell.change else None,
                    test=cell.change.test if cell.change else None,
                    share_negative=negative.share_negative if negative else None,
                    year_before=area_wave.comparison("year"), baseline=area_wave.comparison("baseline"),
                ))
    return rows


def lost_time_rows(scope: Scope) -> dict[tuple[str, str], TimeLost]:
    """(wave label, area code) -> the hours lost in that area and wave, with their total and cost, for the
    summary files; suppression already applied."""
    return {(lost.wave.label, area.code): lost for area in scope.areas for lost in time_lost(scope, area.id)}
