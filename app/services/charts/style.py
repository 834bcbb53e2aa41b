"""The house style of every chart: the palette, matplotlib settings, and the rule that text is drawn as typed.

Nothing here imports matplotlib until a chart is built or rendered (`chart_style` does), so the
modules that describe charts without drawing them stay light.
"""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager

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
DIVERGING_COLOURS = ("#b2182b", "#ef8a62", "#fddbc7", "#f7f7f7", "#d1e5f0", "#67a9cf", "#2166ac")
# Same hues with a grey middle: a near-white "neutral" segment would vanish against the page.
ANSWER_COLOURS = ("#b2182b", "#ef8a62", "#f4c6ad", "#d9d9d9", "#b6d4e8", "#67a9cf", "#2166ac")

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
    import matplotlib as mpl

    with _STYLE_LOCK, mpl.rc_context(_STYLE):
        yield
