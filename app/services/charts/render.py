"""A built figure to SVG or PNG bytes, identical bytes for identical figures (the dashboard's ETags rely on it)."""
from __future__ import annotations

import io
from typing import TYPE_CHECKING, Literal

from app.services.charts.style import chart_style

if TYPE_CHECKING:
    from matplotlib.figure import Figure

ChartFormat = Literal["svg", "png"]
PNG_DPI = 150


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
