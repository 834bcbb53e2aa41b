"""The figures: one ``build_*_figure`` per chart, taking plain data and returning a matplotlib Figure.

This module imports matplotlib and numpy, so it is imported only by code about to draw (the package
loads it on first use of a builder). Figures are made with the Figure API and drawn by the Agg
canvas, which keep no process-global figures, so requests can draw at the same time.
"""
from __future__ import annotations

import math
import textwrap
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Literal

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.colors import LinearSegmentedColormap, Normalize, to_rgb
from matplotlib.figure import Figure, FigureBase
from matplotlib.ticker import FixedLocator, MaxNLocator, PercentFormatter

from app.services.charts.data import TrendPoint, n_label
from app.services.charts.style import (
    ACCENT,
    ANSWER_COLOURS,
    DIVERGING_COLOURS,
    GRID,
    INK,
    MAIN,
    MISSING,
    MUTED,
    chart_style,
)
from app.services.stats import DEFAULT_MIN_GROUP_SIZE, suppression_label

DIVERGING = LinearSegmentedColormap.from_list("vendorpulse_diverging", list(DIVERGING_COLOURS))
ANSWER_SCALE = LinearSegmentedColormap.from_list("vendorpulse_answers", list(ANSWER_COLOURS))
# A white outline keeps value labels legible where they cross a band or gridline.
_HALO = [patheffects.withStroke(linewidth=3, foreground="white")]
SUPPRESSED_TEXT = suppression_label(DEFAULT_MIN_GROUP_SIZE)


# Set by `drawing_into`: the builders then draw into this (sub)figure instead of a new Figure.
_TARGET: ContextVar[FigureBase | None] = ContextVar("chart_target", default=None)


@contextmanager
def drawing_into(target: FigureBase) -> Iterator[FigureBase]:
    """Builders called inside draw into `target` (a subfigure of a PDF page) and return it, so the
    page holds the chart as vectors at its real text size instead of a scaled-down bitmap. The
    page figure needs the constrained layout for the chart's own layout to apply."""
    token = _TARGET.set(target)
    try:
        yield target
    finally:
        _TARGET.reset(token)


def _new_figure(width: float, height: float) -> Figure:
    target = _TARGET.get()
    if target is not None:
        return target  # type: ignore[return-value]  # a SubFigure draws like a Figure here
    return Figure(figsize=(width, height), layout="constrained")


def _style_value_axis(ax: Axes, axis: Literal["x", "y"] = "y") -> None:
    ax.grid(True, axis=axis, color=GRID, linewidth=0.8)
    ax.set_axisbelow(True)
    ax.tick_params(length=0 if axis == "y" else 3, axis=axis)


def _text_colour_on(background: str | tuple[float, ...]) -> str:
    r, g, b = to_rgb(background)
    # Relative luminance (sRGB approximation) decides dark or light text for contrast.
    return "white" if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.5 else INK


def _finite_or_nan(value: float | None) -> float:
    return math.nan if value is None else float(value)


def _scale_ticks(ax: Axes, scale: tuple[float, float]) -> None:
    lo, hi = scale
    if float(lo).is_integer() and float(hi).is_integer() and hi - lo <= 10:
        ax.yaxis.set_major_locator(FixedLocator(np.arange(lo, hi + 1)))
    else:
        ax.yaxis.set_major_locator(MaxNLocator(nbins=5, steps=[1, 2, 2.5, 5, 10]))


TREND_SUBTITLE = "Mean per wave; shaded band: 95% confidence interval"


def _trend_width(count: int) -> float:
    return max(6.4, min(14.0, 1.6 + 0.95 * count))


def build_trend_figure(
    points: Sequence[TrendPoint],
    *,
    target: float | None,
    scale: tuple[float, float] = (1, 5),
    title: str,
    y_label: str,
    value_format: str = "{:.1f}",
    suppressed_text: str = SUPPRESSED_TEXT,
    subtitle: str = TREND_SUBTITLE,
) -> Figure:
    """Mean per wave with its confidence band, the contract target, and n under each wave."""
    lo, hi = scale
    with chart_style():
        fig = _new_figure(_trend_width(len(points)), 4.2)
        ax = fig.add_subplot()
        x = np.arange(len(points))
        mean = np.array([math.nan if p.suppressed else _finite_or_nan(p.mean) for p in points])
        # A one-response wave has an unbounded interval; the band stops at the scale's edges.
        band_low = np.clip([math.nan if p.suppressed else _finite_or_nan(p.ci_low) for p in points], lo, hi)
        band_high = np.clip([math.nan if p.suppressed else _finite_or_nan(p.ci_high) for p in points], lo, hi)

        pad = (hi - lo) * 0.04
        ax.set_ylim(lo - pad, hi + pad)
        ax.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
        _scale_ticks(ax, scale)
        _style_value_axis(ax)
        ax.spines["left"].set_visible(False)

        has_band = bool(np.isfinite(band_low).any())
        if has_band:
            ax.fill_between(x, band_low, band_high, color=MAIN, alpha=0.18, linewidth=0)
            # A band around an isolated wave has no width on its own; draw it as an error bar.
            isolated = [
                i
                for i in range(len(points))
                if np.isfinite(band_low[i])
                and not (i > 0 and np.isfinite(band_low[i - 1]))
                and not (i + 1 < len(points) and np.isfinite(band_low[i + 1]))
            ]
            for i in isolated:
                ax.plot([i, i], [band_low[i], band_high[i]], color=MAIN, alpha=0.35, linewidth=6,
                        solid_capstyle="butt")
        ax.plot(x, mean, color=MAIN, linewidth=2.2, marker="o", markersize=7, markeredgecolor="white",
                markeredgewidth=1.2, zorder=3)
        for i, value in enumerate(mean):
            if np.isfinite(value):
                # Labels sit on the side away from the target line so the two never collide.
                above = target is None or value >= target
                ax.annotate(value_format.format(value), (i, value), xytext=(0, 9 if above else -9),
                            textcoords="offset points", ha="center", va="bottom" if above else "top",
                            fontsize=10, color=INK, zorder=4, path_effects=_HALO)

        for i, point in enumerate(points):
            if point.suppressed:
                ax.text(i, (lo + hi) / 2, suppressed_text, ha="center", va="center", fontsize=10,
                        color=MUTED, style="italic")

        if target is not None:
            ax.axhline(target, color=ACCENT, linestyle=(0, (5, 3)), linewidth=1.6, zorder=2)
            ax.annotate(f"Target {value_format.format(target)}", xy=(1, target), xycoords=("axes fraction", "data"),
                        xytext=(4, 0), textcoords="offset points", ha="left", va="center",
                        color=ACCENT, fontsize=10, fontweight="bold")

        ax.set_xticks(x, [f"{p.label}\n{suppressed_text if p.suppressed else n_label(p.n)}" for p in points])
        ax.set_ylabel(y_label)
        ax.set_title(title, pad=26)
        # A subtitle explains the band in words; a legend box would cover data.
        ax.text(0, 1.02, subtitle,
                transform=ax.transAxes, ha="left", va="bottom", fontsize=10, color=MUTED)
    return fig


def diverging_colours(count: int) -> list[tuple[float, float, float, float]]:
    """``count`` colours from red (worst answer) to blue (best), for scale-ordered categories."""
    if count == 1:
        return [ANSWER_SCALE(0.5)]
    return [ANSWER_SCALE(i / (count - 1)) for i in range(count)]


def build_distribution_figure(
    labels: Sequence[str],
    shares: Sequence[Sequence[float]],
    scale_labels: Sequence[str],
    *,
    title: str = "Answer distribution",
    suppressed: Sequence[bool] | None = None,
    suppressed_text: str = SUPPRESSED_TEXT,
) -> Figure:
    """100% stacked horizontal bars, one per wave (first wave on top), worst answer on the left."""
    if len(shares) != len(labels):
        raise ValueError("one row of shares is needed per label")
    suppressed = list(suppressed) if suppressed is not None else [False] * len(labels)
    colours = diverging_colours(len(scale_labels))
    with chart_style():
        fig = _new_figure(8.0, 1.6 + 0.5 * len(labels))
        ax = fig.add_subplot()
        y = np.arange(len(labels))
        for row, (row_shares, hidden) in enumerate(zip(shares, suppressed)):
            if hidden or not any(row_shares):
                ax.text(0.5, row, suppressed_text if hidden else "no responses", ha="center", va="center",
                        color=MUTED, style="italic", fontsize=10)
                continue
            if len(row_shares) != len(scale_labels):
                raise ValueError("each row of shares needs one share per scale label")
            left = 0.0
            for share, colour in zip(row_shares, colours):
                ax.barh(row, share, left=left, height=0.68, color=colour, edgecolor="white", linewidth=0.8)
                # Labels on slivers would overlap; the data table carries every share.
                if share >= 0.07:
                    ax.text(left + share / 2, row, f"{share:.0%}", ha="center", va="center", fontsize=10,
                            color=_text_colour_on(colour))
                left += share
        for label, colour in zip(scale_labels, colours):
            ax.barh(math.nan, 0, color=colour, label=label, edgecolor="#bbbbbb", linewidth=0.5)
        ax.set_yticks(y, labels)
        ax.set_ylim(len(labels) - 0.5, -0.5)
        ax.set_xlim(0, 1)
        ax.xaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
        ax.set_title(title)
        # One row when the labels fit (e.g. 0-10), otherwise two rows.
        one_row = sum(len(label) + 4 for label in scale_labels) <= 90
        fig.legend(loc="outside lower center", ncols=len(scale_labels) if one_row else math.ceil(len(scale_labels) / 2),
                   handlelength=1.2, columnspacing=1.2)
    return fig


def build_sentiment_trend_figure(
    labels: Sequence[str],
    mean_polarity: Sequence[float | None],
    share_negative: Sequence[float | None],
    *,
    title: str = "Comment sentiment",
    suppressed_text: str = SUPPRESSED_TEXT,
) -> Figure:
    """Mean comment polarity (-1..1) above, share of negative comments below, sharing the waves axis.

    Two stacked axes rather than a twin axis: two y scales on one plot invite false comparisons.
    """
    if not len(labels) == len(mean_polarity) == len(share_negative):
        raise ValueError("labels, mean_polarity and share_negative must have the same length")
    x = np.arange(len(labels))
    polarity = np.array([_finite_or_nan(v) for v in mean_polarity])
    negative = np.array([_finite_or_nan(v) for v in share_negative])
    with chart_style():
        fig = _new_figure(_trend_width(len(labels)), 5.4)
        top, bottom = fig.subplots(2, 1, sharex=True, height_ratios=[3, 2])
        top.axhline(0, color="#9a9a9a", linewidth=1)
        top.plot(x, polarity, color=MAIN, linewidth=2.2, marker="o", markersize=7, markeredgecolor="white",
                 markeredgewidth=1.2)
        top.set_ylim(-1.05, 1.05)
        top.yaxis.set_major_locator(FixedLocator([-1, -0.5, 0, 0.5, 1]))
        top.set_ylabel("Mean polarity")
        top.set_title(title)
        _style_value_axis(top)
        top.spines["left"].set_visible(False)
        top.spines["bottom"].set_visible(False)
        top.tick_params(axis="x", length=0)

        bottom.bar(x, np.nan_to_num(negative), width=0.6, color=ACCENT)
        for i, value in enumerate(negative):
            text = suppressed_text if math.isnan(value) else f"{value:.0%}"
            bottom.annotate(text, (i, 0 if math.isnan(value) else value), xytext=(0, 3), textcoords="offset points",
                            ha="center", va="bottom", fontsize=10, color=MUTED if math.isnan(value) else INK)
        top_share = float(np.nanmax(negative)) if np.isfinite(negative).any() else 0.0
        bottom.set_ylim(0, max(0.25, min(1.0, top_share * 1.3)))
        bottom.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=0))
        bottom.yaxis.set_major_locator(MaxNLocator(nbins=3))
        bottom.set_ylabel("Negative")
        _style_value_axis(bottom)
        bottom.spines["left"].set_visible(False)
        bottom.set_xticks(x, list(labels))
        bottom.set_xlim(-0.5, max(len(labels) - 0.5, 0.5))
    return fig


# SVG sizes are in points (1/72 in); browsers map 96 px to the inch, so this keeps pixel sizes exact.
_CSS_PX_PER_INCH = 96


def build_sparkline_figure(
    values: Sequence[float | None],
    *,
    target: float | None,
    width_px: int = 120,
    height_px: int = 28,
    scale: tuple[float, float] | None = None,
) -> Figure:
    """A word-sized trend: line, last value marked, target as a faint line, nothing else."""
    series = np.array([_finite_or_nan(v) for v in values])
    with chart_style():
        fig = Figure(figsize=(width_px / _CSS_PX_PER_INCH, height_px / _CSS_PX_PER_INCH))
        fig.patch.set_alpha(0)
        ax = fig.add_axes((0.04, 0.12, 0.88, 0.76))
        ax.set_axis_off()
        finite = series[np.isfinite(series)]
        if scale is not None:
            low, high = scale
        else:
            known = np.concatenate([finite, [target] if target is not None else []])
            low, high = (float(known.min()), float(known.max())) if known.size else (0.0, 1.0)
            if high - low < 1e-9:
                low, high = low - 0.5, high + 0.5
        ax.set_ylim(low, high)
        ax.set_xlim(-0.3, max(len(series) - 1, 1) + 0.3)
        if target is not None:
            ax.axhline(target, color=ACCENT, alpha=0.45, linewidth=0.9, linestyle=(0, (3, 2)))
        ax.plot(np.arange(len(series)), series, color=MAIN, linewidth=1.4, solid_capstyle="round")
        if finite.size:
            last = int(np.flatnonzero(np.isfinite(series))[-1])
            ax.plot([last], [series[last]], "o", color=MAIN, markersize=3.5, markeredgewidth=0)
    return fig


def build_heatmap_figure(
    rows: Sequence[str],
    cols: Sequence[str],
    distance: Sequence[Sequence[float | None]],
    annotations: Sequence[Sequence[str]],
    *,
    title: str = "Distance to target",
    colour_limit: float = 0.25,
    suppressed_text: str = SUPPRESSED_TEXT,
) -> Figure:
    """Service area x wave grid: red below target, blue above, grey where nothing can be shown.

    ``distance`` comes from ``stats.distance_to_target``; colours saturate at ``colour_limit``
    (a quarter of the scale, one point on 1-5) so the misses that matter stand out. Grey cells show
    their annotation, or ``suppressed_text`` when it is empty.
    """
    if len(distance) != len(rows) or any(len(r) != len(cols) for r in distance):
        raise ValueError("distance must be a rows x cols grid")
    if len(annotations) != len(rows) or any(len(r) != len(cols) for r in annotations):
        raise ValueError("annotations must be a rows x cols grid")
    grid = np.ma.masked_invalid(np.array([[_finite_or_nan(v) for v in row] for row in distance], dtype=float))
    colour_map = DIVERGING.with_extremes(bad=MISSING)
    norm = Normalize(vmin=-colour_limit, vmax=colour_limit, clip=True)
    label_width = max((len(r) for r in rows), default=10)
    with chart_style():
        fig = _new_figure(min(16.0, 1.2 + 0.095 * label_width + 1.0 * len(cols) + 1.0), 1.3 + 0.5 * len(rows))
        ax = fig.add_subplot()
        mesh = ax.pcolormesh(grid, cmap=colour_map, norm=norm, edgecolors="white", linewidth=2)
        for r in range(len(rows)):
            for c in range(len(cols)):
                missing = bool(grid.mask[r, c]) if np.ma.is_masked(grid) else False
                text = annotations[r][c] or (suppressed_text if missing else "")
                colour = MISSING if missing else colour_map(norm(grid[r, c]))
                ax.text(c + 0.5, r + 0.5, text, ha="center", va="center", fontsize=10,
                        color=MUTED if missing else _text_colour_on(colour), style="italic" if missing else "normal")
        ax.set_xticks(np.arange(len(cols)) + 0.5, list(cols))
        ax.set_yticks(np.arange(len(rows)) + 0.5, list(rows))
        ax.set_ylim(len(rows), 0)
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
        for spine in ax.spines.values():
            spine.set_visible(False)
        ax.set_title(title)
        bar = fig.colorbar(mesh, ax=ax, shrink=min(1.0, 2.4 / max(len(rows), 1) + 0.35), aspect=12, pad=0.02)
        bar.set_ticks([-colour_limit, 0, colour_limit], labels=["below", "on target", "above"])
        bar.outline.set_visible(False)
        bar.ax.tick_params(length=0, labelsize=10)
    return fig


def build_bar_figure(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    x_label: str,
    value_format: str = "{:g}",
) -> Figure:
    """Horizontal bars in the order given (callers sort), each labelled with its value."""
    if len(labels) != len(values):
        raise ValueError("labels and values must have the same length")
    wrapped = ["\n".join(textwrap.wrap(label, 30)) or " " for label in labels]
    lines = sum(label.count("\n") + 1 for label in wrapped)
    with chart_style():
        fig = _new_figure(7.5, 1.3 + 0.32 * lines + 0.2 * len(labels))
        ax = fig.add_subplot()
        y = np.arange(len(labels))
        ax.barh(y, values, height=0.62, color=MAIN)
        for i, value in enumerate(values):
            ax.annotate(value_format.format(value), (value, i), xytext=(4, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=10)
        ax.set_yticks(y, wrapped)
        ax.set_ylim(max(len(labels), 1) - 0.5, -0.5)  # first item on top; an empty chart keeps one row
        ax.set_xlim(0, (max(values, default=0) or 1) * 1.12)
        ax.set_xlabel(x_label)
        ax.set_title(title)
        _style_value_axis(ax, "x")
        ax.tick_params(axis="y", length=0)
        ax.spines["left"].set_visible(False)
    return fig
