"""Alt text for each chart, in sentences, from the same plain data the chart is drawn from."""
from __future__ import annotations

from collections.abc import Sequence

from app.services.charts.data import TrendPoint


def _largest(values: Sequence[float]) -> int:
    """Index of the first largest value."""
    return max(range(len(values)), key=values.__getitem__)


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
        top = _largest(row)
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
    top = _largest(values)
    return f"{title}: {labels[top]} is highest at {value_format.format(values[top])}, of {len(values)} items."
