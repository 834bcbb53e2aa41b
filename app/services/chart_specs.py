"""Charts as plain data: what to draw, its alt text and its data table (dashboard and PDF pack).

A ChartSpec is cheap to build (no drawing). Its ETag is a hash of exactly the data handed to the
chart function, so an unchanged chart is answered with 304 before matplotlib is touched, and the
page can show the same alt text and table the image was drawn from.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from app.caching import CHART_SPECS, CHARTS, MISSING
from app.errors import NotFound
from app.services import charts
from app.services.reporting.reports import AreaReport, Overview
from app.services.reporting.scope import DEFAULT_WAVE_COUNT, Metric, Scope
from app.services.charts.data import EXACT_N_BELOW
from app.services.stats import HAPPINESS_GROUPS, HAPPINESS_SCALE

if TYPE_CHECKING:
    from matplotlib.figure import Figure

CHART_KINDS = ("trend", "distribution", "sentiment", "timelost", "reasons", "sparkline", "heatmap")
# Bump when a chart function's drawing changes, so browsers do not keep an old picture.
STYLE_VERSION = "1"

METRIC_TITLES = {"satisfaction": "Satisfaction", "happiness": "Happiness score"}


@dataclass(frozen=True)
class ChartTable:
    caption: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ChartSpec:
    kind: str
    title: str
    alt: str
    table: ChartTable
    data: tuple  # every argument of the chart call, as plain values
    builder: str  # the `app.services.charts` function that draws it, called with `args` and `kwargs`
    args: tuple = ()
    kwargs: tuple = ()  # (name, value) pairs: plain data, so a spec can be pickled and shared

    def figure(self) -> Figure:
        """The matplotlib Figure; the PDF pack adds it to a page."""
        return getattr(charts, self.builder)(*self.args, **dict(self.kwargs))

    def draw(self, fmt: charts.ChartFormat = "svg") -> bytes:
        return charts.render(self.figure(), fmt)

    @property
    def etag(self) -> str:
        digest = hashlib.sha256(repr((STYLE_VERSION, self.kind, self.data)).encode("utf-8")).hexdigest()
        return digest[:40]


# What a picture can show. A chart's data (and so its ETag) carries each value rounded to these places,
# finer than a pixel of the chart and than any label it prints, so while a large wave takes responses its
# charts are drawn again only when a line or bar would move, not after every answer. The alt text and the
# data table beside the picture keep the exact values.
DRAWN_PLACES = {"satisfaction": 3, "happiness": 1, "hours": 2, "share": 3, "polarity": 3}


def _drawn(value: float | None, places: int) -> float | None:
    return None if value is None else round(value, places)


def _drawn_points(points: tuple[charts.TrendPoint, ...], places: int) -> tuple[charts.TrendPoint, ...]:
    # A large wave's n is printed in thousands (`n_label`): the picture carries what it prints.
    return tuple(replace(p, mean=_drawn(p.mean, places), ci_low=_drawn(p.ci_low, places),
                         ci_high=_drawn(p.ci_high, places),
                         n=p.n if p.n < EXACT_N_BELOW else round(p.n, -3)) for p in points)


def _fmt(value: float | None, fmt: str, empty: str) -> str:
    return empty if value is None else fmt.format(value)


def _value_format(metric: Metric) -> str:
    return "{:.2f}" if metric == "satisfaction" else "{:+.0f}"


def _n_text(n: int, scope: Scope) -> str:
    return scope.suppression_note if not scope.reportable(n) else str(n)


def trend_spec(report: AreaReport, metric: Metric) -> ChartSpec:
    scope, area = report.scope, report.area
    question = scope.metric_question(metric)
    scale = question.scale if metric == "satisfaction" and question else HAPPINESS_SCALE
    points = tuple(
        charts.TrendPoint(label=aw.wave.label, n=aw.metric(metric).n, mean=aw.metric(metric).value,
                          ci_low=aw.metric(metric).ci[0] if aw.metric(metric).ci else None,
                          ci_high=aw.metric(metric).ci[1] if aw.metric(metric).ci else None,
                          suppressed=aw.metric(metric).suppressed)
        for aw in report.series
    )
    target = area.target(metric)
    title = f"{METRIC_TITLES[metric]}: {area.name}"
    y_label = "Mean satisfaction (1-5)" if metric == "satisfaction" else "Happiness score (-100 to +100)"
    value_format = "{:.1f}" if metric == "satisfaction" else "{:+.0f}"
    kwargs = dict(target=target, scale=tuple(scale), title=title, y_label=y_label, value_format=value_format,
                  suppressed_text=scope.suppression_label)
    rows = tuple(
        (p.label, _n_text(p.n, scope), _fmt(p.mean, _value_format(metric), "—"),
         "—" if p.mean is None else f"{_value_format(metric).format(p.ci_low)} to {_value_format(metric).format(p.ci_high)}",
         _change_text(aw.metric(metric)))
        for p, aw in zip(points, report.series)
    )
    drawn = _drawn_points(points, DRAWN_PLACES[metric])
    return ChartSpec(
        kind="trend", title=title,
        alt=charts.describe_trend(points, target, title, value_format=value_format),
        table=ChartTable(f"{title}, per wave", ("Wave", "Responses", "Value", "95% interval", "Change"), rows),
        data=(drawn, tuple(sorted(kwargs.items()))),
        builder="build_trend_figure", args=(drawn,), kwargs=tuple(kwargs.items()),
    )


def _change_text(cell) -> str:
    change = cell.change
    if change is None:
        return "—"
    verdict = "significant" if change.significant else "not significant"
    p = "" if change.p_value is None else f", p={change.p_value:.3f}"
    return f"{change.delta:+.2f} ({verdict}{p})" if cell.metric == "satisfaction" else f"{change.delta:+.0f} ({verdict}{p})"


def distribution_spec(report: AreaReport, metric: Metric) -> ChartSpec:
    scope = report.scope
    labels = tuple(aw.wave.label for aw in report.series)
    if metric == "satisfaction":
        question = scope.satisfaction
        scale_labels = question.scale_labels if question else ()
        shares = tuple(aw.satisfaction_shares or tuple(0.0 for _ in scale_labels) for aw in report.series)
        suppressed = tuple(aw.satisfaction_shares is None and aw.satisfaction.n > 0 for aw in report.series)
    else:
        scale_labels = HAPPINESS_GROUPS
        shares = tuple(aw.happiness_group_shares or (0.0, 0.0, 0.0) for aw in report.series)
        suppressed = tuple(aw.happiness_group_shares is None and aw.happiness.n > 0 for aw in report.series)
    title = f"{'Satisfaction answers' if metric == 'satisfaction' else 'Promoters and detractors'}: {report.area.name}"
    kwargs = dict(title=title, suppressed=suppressed, suppressed_text=scope.suppression_label)
    rows = tuple(
        (label, *((scope.suppression_note,) + ("",) * (len(scale_labels) - 1) if hidden
                  else tuple(f"{s:.0%}" for s in row) if any(row) else ("—",) * len(scale_labels)))
        for label, row, hidden in zip(labels, shares, suppressed)
    )
    drawn = tuple(tuple(round(share, DRAWN_PLACES["share"]) for share in row) for row in shares)
    return ChartSpec(
        kind="distribution", title=title,
        alt=charts.describe_distribution(labels, [row if not hidden else [0.0] * len(row)
                                                  for row, hidden in zip(shares, suppressed)], scale_labels, title),
        table=ChartTable(f"{title}: share of answers per wave", ("Wave", *scale_labels), rows),
        data=(labels, drawn, tuple(scale_labels), tuple(sorted(kwargs.items()))),
        builder="build_distribution_figure", args=(labels, drawn, tuple(scale_labels)), kwargs=tuple(kwargs.items()),
    )


def sentiment_spec(report: AreaReport) -> ChartSpec:
    scope = report.scope
    labels = tuple(w.label for w, _ in report.sentiment)
    polarity = tuple(None if mix is None or mix.suppressed else round(mix.mean_polarity or 0.0, 4)
                     for _, mix in report.sentiment)
    negative = tuple(None if mix is None or mix.suppressed else mix.share_negative for _, mix in report.sentiment)
    title = f"Comment sentiment: {report.area.name}"
    rows = tuple(
        (w.label,
         "0" if mix is None else _n_text(mix.comments, scope),
         "—" if p is None else f"{p:+.2f}", "—" if s is None else f"{s:.0%}")
        for (w, mix), p, s in zip(report.sentiment, polarity, negative)
    )
    kwargs = dict(title=title, suppressed_text=scope.suppression_label)
    drawn_polarity = tuple(_drawn(p, DRAWN_PLACES["polarity"]) for p in polarity)
    drawn_negative = tuple(_drawn(s, DRAWN_PLACES["share"]) for s in negative)
    return ChartSpec(
        kind="sentiment", title=title,
        alt=charts.describe_sentiment(labels, polarity, negative, title),
        table=ChartTable(f"{title}, per wave", ("Wave", "Comments", "Mean polarity", "Negative"), rows),
        data=(labels, drawn_polarity, drawn_negative, tuple(sorted(kwargs.items()))),
        builder="build_sentiment_trend_figure", args=(labels, drawn_polarity, drawn_negative),
        kwargs=tuple(kwargs.items()),
    )


def time_lost_spec(report: AreaReport) -> ChartSpec:
    scope = report.scope
    points = tuple(
        charts.TrendPoint(label=t.wave.label, n=t.n, mean=t.mean_hours, ci_low=None, ci_high=None,
                          suppressed=t.suppressed)
        for t in report.time_lost
    )
    drawn = _drawn_points(points, DRAWN_PLACES["hours"])
    top = max([p.mean for p in drawn if p.mean is not None], default=1.0)
    title = f"Working hours lost per respondent: {report.area.name}"
    kwargs = dict(target=None, scale=(0, max(1.0, round(top * 1.25 + 0.5))), title=title,
                  y_label="Hours per respondent", value_format="{:.1f}", suppressed_text=scope.suppression_label,
                  subtitle="Mean hours lost per respondent who answered")
    rows = tuple((p.label, _n_text(p.n, scope), _fmt(p.mean, "{:.1f} h", "—")) for p in points)
    return ChartSpec(
        kind="timelost", title=title,
        alt=charts.describe_trend(points, None, "Hours lost per respondent"),
        table=ChartTable(f"{title}, per wave", ("Wave", "Respondents", "Mean hours"), rows),
        data=(drawn, tuple(sorted(kwargs.items()))),
        builder="build_trend_figure", args=(drawn,), kwargs=tuple(kwargs.items()),
    )


def reasons_spec(report: AreaReport) -> ChartSpec:
    reasons = report.reasons
    wave = reasons.wave.label if reasons.wave else ""
    labels = tuple(f"{r.label} ({'good' if r.polarity == 'good' else 'bad'})" for r in reasons.items)
    values = tuple(round(r.share * 100, 1) for r in reasons.items)
    title = f"Most chosen reasons, {wave}: {report.area.name}"
    kwargs = dict(title=title, x_label="% of respondents who gave reasons", value_format="{:.0f}%")
    rows = tuple((r.label, "positive" if r.polarity == "good" else "negative", str(r.count), f"{r.share:.0%}")
                 for r in reasons.items)
    if reasons.suppressed:
        alt = f"{title}: {report.scope.suppression_note}."
    else:
        alt = charts.describe_bars(labels, values, title, "{:.0f}%")
    return ChartSpec(
        kind="reasons", title=title, alt=alt,
        table=ChartTable(title, ("Reason", "Kind", "Respondents", "Share"), rows),
        data=(labels, values, tuple(sorted(kwargs.items()))),
        builder="build_bar_figure", args=(labels, values), kwargs=tuple(kwargs.items()),
    )


def sparkline_spec(report_series, area, scope: Scope, metric: Metric = "satisfaction") -> ChartSpec:
    values = tuple(aw.metric(metric).value for aw in report_series[-DEFAULT_WAVE_COUNT:])
    drawn = tuple(_drawn(v, DRAWN_PLACES[metric]) for v in values)
    # A word-sized line is read for its shape: let it fill its height instead of the whole scale.
    scale = None
    target = area.target(metric)
    points = tuple(charts.TrendPoint(aw.wave.label, aw.metric(metric).n, v, None, None, aw.metric(metric).suppressed)
                   for aw, v in zip(report_series[-DEFAULT_WAVE_COUNT:], values))
    title = f"{METRIC_TITLES[metric]} trend for {area.name}"
    rows = tuple((p.label, _n_text(p.n, scope), _fmt(p.mean, _value_format(metric), "—")) for p in points)
    return ChartSpec(
        kind="sparkline", title=title,
        alt=charts.describe_trend(points, target, title,
                                  value_format="{:.1f}" if metric == "satisfaction" else "{:+.0f}"),
        table=ChartTable(title, ("Wave", "Responses", "Value"), rows),
        data=(drawn, target, scale),
        builder="build_sparkline_figure", args=(drawn,), kwargs=(("target", target), ("scale", scale)),
    )


def heatmap_spec(overview: Overview, metric: Metric = "satisfaction") -> ChartSpec:
    scope = overview.scope
    question = scope.metric_question(metric)
    scale = question.scale if metric == "satisfaction" and question else HAPPINESS_SCALE
    rows_labels = tuple(row.area.name for row in overview.rows)
    cols = tuple(w.label for w in scope.waves)
    distance = tuple(
        tuple(_drawn(aw.metric(metric).distance(scale), DRAWN_PLACES["share"]) for aw in row.series)
        for row in overview.rows
    )
    fmt = "{:.1f}" if metric == "satisfaction" else "{:+.0f}"
    annotations = tuple(
        tuple("no data" if aw.metric(metric).empty else ("" if aw.metric(metric).value is None
                                                         else fmt.format(aw.metric(metric).value))
              for aw in row.series)
        for row in overview.rows
    )
    title = f"{METRIC_TITLES[metric]} against target"
    kwargs = dict(title=title, suppressed_text=scope.suppression_label)
    table_rows = tuple(
        (row.area.name, *(scope.suppression_note if aw.metric(metric).suppressed and not aw.metric(metric).empty
                          else (ann or "—") + (f" ({aw.metric(metric).status})" if aw.metric(metric).status != "unknown" else "")
                          for aw, ann in zip(row.series, anns)))
        for row, anns in zip(overview.rows, annotations)
    )
    return ChartSpec(
        kind="heatmap", title=title,
        alt=charts.describe_heatmap(rows_labels, cols, distance, title),
        table=ChartTable(f"{title}: value per service area and wave", ("Service area", *cols), table_rows),
        data=(rows_labels, cols, distance, annotations, tuple(sorted(kwargs.items()))),
        builder="build_heatmap_figure", args=(rows_labels, cols, distance, annotations), kwargs=tuple(kwargs.items()),
    )


def area_spec(kind: str, report: AreaReport, metric: Metric) -> ChartSpec:
    if kind == "trend":
        return trend_spec(report, metric)
    if kind == "distribution":
        return distribution_spec(report, metric)
    if kind == "sentiment":
        return sentiment_spec(report)
    if kind == "timelost":
        return time_lost_spec(report)
    if kind == "reasons":
        return reasons_spec(report)
    if kind == "sparkline":
        return sparkline_spec(report.series, report.area, report.scope, metric)
    raise NotFound("There is no such chart.")


# Rendered charts by ETag: the same data drawn twice gives the same bytes, so keep the bytes.
def rendered(spec: ChartSpec) -> bytes:
    """The chart drawn once per data (its ETag), then served from `app.caching.CHARTS`: shared by every
    worker through Redis when it is configured, else once per process."""
    return CHARTS.get_or_compute(spec.etag, spec.draw)


def publish(specs, audience: tuple) -> None:
    """Keep the specs of the charts a page shows to `audience` (staff, or one provider), under their ETags,
    which the page's image links carry (`?v=`): each image is then drawn from exactly what the page
    showed, by whichever worker gets the request, without building the report again."""
    for spec in specs:
        CHART_SPECS.put((audience, spec.etag), spec)


def published(etag: str, audience: tuple) -> ChartSpec | None:
    """A chart a page showed to `audience`, by its ETag; None when unknown (or shown to someone else)."""
    spec = CHART_SPECS.get((audience, etag))
    return None if spec is MISSING else spec
