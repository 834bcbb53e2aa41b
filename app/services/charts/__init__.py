"""Dashboard and PDF-pack charts, drawn from plain data and described in words.

`style` holds the palette and matplotlib settings (user text is never parsed as mathtext), `figures`
one ``build_*_figure`` per chart, `alt_text` the sentences that say what each chart shows, and
`render` turns a figure into SVG or PNG bytes. Importing this package does not import matplotlib:
the figure builders load on first use, so pages and commands that never draw stay light.
"""
from __future__ import annotations

from typing import Any

from app.services.charts.alt_text import (
    describe_bars,
    describe_distribution,
    describe_heatmap,
    describe_sentiment,
    describe_trend,
)
from app.services.charts.data import TrendPoint
from app.services.charts.render import ChartFormat, render
from app.services.charts.style import chart_style

_FIGURE_BUILDERS = frozenset({
    "build_bar_figure", "build_distribution_figure", "build_heatmap_figure", "build_sentiment_trend_figure",
    "build_sparkline_figure", "build_trend_figure", "drawing_into",
})

__all__ = [
    "ChartFormat", "TrendPoint", "chart_style", "describe_bars", "describe_distribution", "describe_heatmap",
    "describe_sentiment", "describe_trend", "render", *sorted(_FIGURE_BUILDERS),
]


def __getattr__(name: str) -> Any:
    # Module-level __getattr__ (PEP 562): `charts.build_trend_figure` imports `figures`, and with it
    # matplotlib, the first time a builder is asked for.
    if name in _FIGURE_BUILDERS:
        from app.services.charts import figures

        return getattr(figures, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
