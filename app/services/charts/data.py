"""The plain data a chart is drawn from and described by, beyond lists of labels and numbers."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class TrendPoint:
    """One wave on a trend chart; ``mean`` and the interval are None when suppressed or missing."""

    label: str
    n: int
    mean: float | None
    ci_low: float | None
    ci_high: float | None
    suppressed: bool


EXACT_N_BELOW = 10_000  # under a wave on a trend chart: exact below this, in thousands from it


def n_label(n: int) -> str:
    """How many answered, under a wave on a trend chart: "n=812", or "n=125k" for a large wave (the data
    table beside the chart gives the exact count), so a chart is not redrawn for every answer."""
    return f"n={n}" if n < EXACT_N_BELOW else f"n={round(n / 1000)}k"
