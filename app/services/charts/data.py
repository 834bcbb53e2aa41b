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
