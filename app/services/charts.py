"""Dashboard and PDF-pack charts drawn from plain data with matplotlib's Figure API and Agg canvas.

Each chart has a ``build_*_figure`` returning a Figure (for PdfPages) and a wrapper returning bytes.
"""

from __future__ import annotations

import io
import math
import textwrap
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Literal

import matplotlib as mpl
import numpy as np
from matplotlib.axes import Axes
from matplotlib import patheffects
from matplotlib.colors import LinearSegmentedColormap, Normalize, to_rgb
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, PercentFormatter

from app.services.stats import DEFAULT_MIN_GROUP_SIZE, suppression_label

ChartFormat = Literal["svg", "png"]

# Okabe & Ito (2008): distinguishable with every common colour-vision deficiency.
OKABE_ITO = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
MAIN = OKABE_ITO["blue"]
ACCENT = OKABE_ITO["vermillion"]
INK = "#222222"
MUTED = "#6b6b6b"
GRID = "#e3e3e3"
MISSING = "#d9d9d9"

# Red (bad) -> near white -> blue (good), after ColorBrewer RdBu, which is colour-blind safe.
DIVERGING = LinearSegmentedColormap.from_list(
    "vendorpulse_diverging", ["#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac"]
)

PNG_DPI = 150
# A white outline keeps value labels legible where they cross a band or gridline.
_HALO = [patheffects.withStroke(linewidth=3, foreground="white")]
SUPPRESSED_TEXT = suppression_label(DEFAULT_MIN_GROUP_SIZE)

_STYLE = {
    "font.family": "DejaVu Sans",
    "font.size": 11,
    "axes.titlesize": 13,
    "axes.titleweight": "bold",
    "axes.titlelocation": "left",
    "axes.titlepad": 12,
    "axes.labelsize": 11,
    "axes.labelcolor": INK,
    "axes.edgecolor": "#9a9a9a",
    "axes.linewidth": 0.8,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "grid.color": GRID,
    "grid.linewidth": 0.8,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "xtick.color": INK,
    "ytick.color": INK,
    "legend.fontsize": 10,
    "legend.frameon": False,
    "text.color": INK,
    # Labels come from data (area and provider names, wave and reason labels, comments): "$x$" or an
    # unbalanced "$\frac{1}{$" is text to show as typed, not mathtext to parse (and crash on). Every
    # Text made inside chart_style(), tick labels made while drawing included, takes this default.
    "text.parse_math": False,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    # Fixed salt makes SVG clip-path ids stable, so identical data gives identical bytes (ETags).
    "svg.hashsalt": "vendorpulse",
    "svg.fonttype": "path",
}

# rcParams are process-global; the lock stops concurrent requests restoring each other's style
# half-way through a chart.
_STYLE_LOCK = threading.RLock()


@contextmanager
def chart_style() -> Iterator[None]:
    """House style for building and rendering figures; safe to nest and to use from threads."""
    with _STYLE_LOCK, mpl.rc_context(_STYLE):
        yield


@dataclass(frozen=True)
class TrendPoint:
    """One wave on a trend chart; ``mean`` and the interval are None when suppressed or missing."""

    label: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool


def render(fig: Figure, fmt: ChartFormat = "svg") -> bytes:
    """Serialise a figure to SVG or PNG bytes, identical for identical figures."""
    if fmt not in ("svg", "png"):
        raise ValueError(f"unsupported chart format {fmt!r}; use 'svg' or 'png'")
    buffer = io.BytesIO()
    with chart_style():
        if fmt == "svg":
            fig.savefig(buffer, format="svg", metadata={"Date": None})
        else:
            fig.savefig(buffer, format="png", dpi=PNG_DPI)
    return buffer.getvalue()


def _new_figure(width: float, height: float) -> Figure:
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

        ax.set_xticks(x, [f"{p.label}\n{suppressed_text if p.suppressed else f'n={p.n}'}" for p in points])
        ax.set_ylabel(y_label)
        ax.set_title(title, pad=26)
        # A subtitle explains the band in words; a legend box would cover data.
        ax.text(0, 1.02, subtitle,
                transform=ax.transAxes, ha="left", va="bottom", fontsize=10, color=MUTED)
    return fig


def trend_chart(
    points: Sequence[TrendPoint],
    *,
    target: float | None,
    scale: tuple[float, float] = (1, 5),
    title: str,
    y_label: str,
    value_format: str = "{:.1f}",
    suppressed_text: str = SUPPRESSED_TEXT,
    subtitle: str = TREND_SUBTITLE,
    fmt: ChartFormat = "svg",
) -> bytes:
    """Trend chart as SVG/PNG bytes; see ``build_trend_figure``."""
    return render(
        build_trend_figure(points, target=target, scale=scale, title=title, y_label=y_label,
                           value_format=value_format, suppressed_text=suppressed_text,
                           subtitle=subtitle),
        fmt,
    )


# Same hues with a grey middle: a near-white "neutral" segment would vanish against the page.
ANSWER_SCALE = LinearSegmentedColormap.from_list(
    "vendorpulse_answers", ["#b2182b", "#ef8a62", "#f4c6ad", "#d9d9d9", "#b6d4e8", "#67a9cf", "#2166ac"]
)


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


def distribution_chart(
    labels: Sequence[str],
    shares: Sequence[Sequence[float]],
    scale_labels: Sequence[str],
    *,
    title: str = "Answer distribution",
    suppressed: Sequence[bool] | None = None,
    suppressed_text: str = SUPPRESSED_TEXT,
    fmt: ChartFormat = "svg",
) -> bytes:
    """Distribution chart as SVG/PNG bytes; see ``build_distribution_figure``."""
    return render(
        build_distribution_figure(labels, shares, scale_labels, title=title, suppressed=suppressed,
                                  suppressed_text=suppressed_text),
        fmt,
    )


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


def sentiment_trend_chart(
    labels: Sequence[str],
    mean_polarity: Sequence[float | None],
    share_negative: Sequence[float | None],
    *,
    title: str = "Comment sentiment",
    suppressed_text: str = SUPPRESSED_TEXT,
    fmt: ChartFormat = "svg",
) -> bytes:
    """Sentiment trend as SVG/PNG bytes; see ``build_sentiment_trend_figure``."""
    return render(
        build_sentiment_trend_figure(labels, mean_polarity, share_negative, title=title,
                                     suppressed_text=suppressed_text),
        fmt,
    )


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


def sparkline(
    values: Sequence[float | None],
    *,
    target: float | None,
    width_px: int = 120,
    height_px: int = 28,
    scale: tuple[float, float] | None = None,
) -> bytes:
    """Sparkline as SVG bytes; see ``build_sparkline_figure``."""
    return render(
        build_sparkline_figure(values, target=target, width_px=width_px, height_px=height_px, scale=scale),
        "svg",
    )


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


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    distance: Sequence[Sequence[float | None]],
    annotations: Sequence[Sequence[str]],
    *,
    title: str = "Distance to target",
    colour_limit: float = 0.25,
    suppressed_text: str = SUPPRESSED_TEXT,
    fmt: ChartFormat = "svg",
) -> bytes:
    """Heat map as SVG/PNG bytes; see ``build_heatmap_figure``."""
    return render(
        build_heatmap_figure(rows, cols, distance, annotations, title=title, colour_limit=colour_limit,
                             suppressed_text=suppressed_text),
        fmt,
    )


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


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    *,
    title: str,
    x_label: str,
    value_format: str = "{:g}",
    fmt: ChartFormat = "svg",
) -> bytes:
    """Bar chart as SVG/PNG bytes; see ``build_bar_figure``."""
    return render(build_bar_figure(labels, values, title=title, x_label=x_label, value_format=value_format), fmt)


def _movement(first: float, last: float, value_format: str) -> str:
    first_text, last_text = value_format.format(first), value_format.format(last)
    if first_text == last_text:
        return f"was {first_text} in both"
    return ("rose" if last > first else "fell") + f" from {first_text}"


def describe_trend(
    points: Sequence[TrendPoint],
    target: float | None,
    title: str,
    *,
    value_format: str = "{:.1f}",
) -> str:
    """One or two sentences of alt text for a trend chart, from the same data as the chart."""
    shown = [p for p in points if not p.suppressed and p.mean is not None]
    hidden = len(points) - len(shown)
    if not shown:
        return f"{title}: no wave has enough responses to report."
    first, last = shown[0], shown[-1]
    if len(shown) == 1:
        sentence = f"{title} was {value_format.format(first.mean)} in {first.label}"
    elif value_format.format(first.mean) == value_format.format(last.mean):
        sentence = f"{title} was {value_format.format(first.mean)} in both {first.label} and {last.label}"
    else:
        sentence = (f"{title} {_movement(first.mean, last.mean, value_format)} in {first.label} "
                    f"to {value_format.format(last.mean)} in {last.label}")
    if target is not None:
        met = sum(1 for p in shown if p.mean >= target - 1e-9)
        sentence += f"; target {value_format.format(target)} met in {met} of {len(shown)} reported waves"
    sentence += "."
    if hidden:
        sentence += f" {hidden} wave{'s' if hidden != 1 else ''} not shown (too few responses)."
    return sentence


def describe_distribution(labels: Sequence[str], shares: Sequence[Sequence[float]],
                          scale_labels: Sequence[str], title: str = "Answer distribution") -> str:
    """Alt text naming the most common answer in the first and last reported waves."""
    reported = [(label, row) for label, row in zip(labels, shares) if any(row)]
    if not reported:
        return f"{title}: no wave has enough responses to report."
    parts = []
    for label, row in (reported[0], reported[-1]) if len(reported) > 1 else (reported[0],):
        top = int(np.argmax(row))
        parts.append(f"in {label} the most common answer was {scale_labels[top]} ({row[top]:.0%})")
    return f"{title}: " + "; ".join(parts) + "."


def describe_sentiment(labels: Sequence[str], mean_polarity: Sequence[float | None],
                       share_negative: Sequence[float | None], title: str = "Comment sentiment") -> str:
    """Alt text for the sentiment trend: first and last reported polarity and share negative."""
    reported = [(lab, p, s) for lab, p, s in zip(labels, mean_polarity, share_negative) if p is not None]
    if not reported:
        return f"{title}: no wave has enough comments to report."
    first, last = reported[0], reported[-1]

    def wave(item: tuple[str, float, float | None]) -> str:
        negative = "" if item[2] is None else f", {item[2]:.0%} negative"
        return f"{item[1]:+.2f} in {item[0]}{negative}"

    if len(reported) == 1:
        return f"{title}: mean polarity {wave(first)}."
    return f"{title}: mean polarity {wave(first)}, and {wave(last)}."


def describe_heatmap(rows: Sequence[str], cols: Sequence[str], distance: Sequence[Sequence[float | None]],
                     title: str = "Distance to target") -> str:
    """Alt text counting cells below target, overall and in the latest wave."""
    cells = [v for row in distance for v in row if v is not None]
    below = sum(1 for v in cells if v < 0)
    sentence = f"{title}: {below} of {len(cells)} reported cells across {len(rows)} areas are below target"
    if cols:
        latest = [name for name, row in zip(rows, distance) if row and row[-1] is not None and row[-1] < 0]
        sentence += (f"; in {cols[-1]}, below target: {', '.join(latest)}" if latest
                     else f"; in {cols[-1]} no reported area is below target")
    return sentence + "."


def describe_bars(labels: Sequence[str], values: Sequence[float], title: str, value_format: str = "{:g}") -> str:
    """Alt text naming the largest bar."""
    if not values:
        return f"{title}: no data."
    top = int(np.argmax(values))
    return f"{title}: {labels[top]} is highest at {value_format.format(values[top])}, of {len(values)} items."
