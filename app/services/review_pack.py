"""The PDF pack for the quarterly review with the provider: cover, scorecard, one page per
service area, and representative comments. Built from the dashboard's reports and chart specs,
so the pack and the screen always agree. matplotlib is imported by the functions that draw, so
importing this module (the CLI does) stays cheap.
"""
from __future__ import annotations

import io
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.services import charts, chart_specs
from app.services.disclosure import mask_personal_details
from app.services.comments import CommentFilter, CommentItem, list_comments
from app.services.reporting import reports
from app.services.reporting.scope import Scope

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PAGE = (11.69, 8.27)  # A4 landscape, inches
INK, MUTED, GOOD, BAD, BRAND = "#1b2430", "#4a5565", "#1a7f37", "#b42318", "#0b5cad"
COMMENTS_PER_AREA = 4
COMMENT_LINE_CHARACTERS = 110  # about the page's width at 10 pt


@dataclass(frozen=True)
class PackMeta:
    generated_at: datetime
    prepared_by: str


def _page(title: str, subtitle: str | None = None) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=PAGE)
    # Titles, names and comments come from data: `$` is a dollar sign, never the start of mathtext.
    fig.text(0.05, 0.93, title, fontsize=20, fontweight="bold", color=INK, parse_math=False)
    if subtitle:
        fig.text(0.05, 0.895, subtitle, fontsize=11, color=MUTED, parse_math=False)
    fig.add_artist(Line2D([0.05, 0.95], [0.875, 0.875], transform=fig.transFigure, color="#d5dbe3", linewidth=1))
    return fig


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "—"
    return f"{value:.2f}" if metric == "satisfaction" else f"{value:+.0f}"


def _change(cell) -> str:
    if cell.change is None:
        return "—"
    arrow = "▲" if cell.change.delta > 0 else "▼" if cell.change.delta < 0 else "="
    value = f"{cell.change.delta:+.2f}" if cell.metric == "satisfaction" else f"{cell.change.delta:+.0f}"
    return f"{arrow} {value}{' *' if cell.change.significant else ''}"


def cover_page(scope: Scope, overview: reports.Overview, meta: PackMeta) -> Figure:
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    fig = Figure(figsize=PAGE)
    fig.patch.set_facecolor("white")
    fig.add_artist(Rectangle((0, 0.62), 1, 0.38, transform=fig.transFigure, color=BRAND))
    current = scope.waves[-1].label if scope.waves else "no wave yet"
    period = scope.waves[0].label if len(scope.waves) <= 1 else f"{scope.waves[0].label} to {scope.waves[-1].label}"
    fig.text(0.06, 0.84, "Quarterly service review", fontsize=32, fontweight="bold", color="white")
    fig.text(0.06, 0.76, f"{scope.provider_name} · {current}", fontsize=20, color="white", parse_math=False)
    fig.text(0.06, 0.69, f"Employee experience of IT services, trends {period}", fontsize=13, color="white",
             parse_math=False)
    rate = overview.response_rate
    if rate is None or not rate.invited:
        rate_text = "No invitations sent for this wave"
    elif rate.suppressed:
        rate_text = f"Response rate not shown: {scope.suppression_note}"
    else:
        rate_text = f"Response rate {rate.rate:.0%}: {rate.responded} of {rate.invited} invited employees answered"
    lines = [
        ("Campaign", scope.campaign_name),
        ("Period", period),
        ("Responses", rate_text),
        ("Below target now", f"{len(overview.below_target)} of {len(overview.rows)} service areas"),
        ("Significant changes", f"{len(overview.significant_changes)} service areas changed more than noise"),
    ]
    y = 0.52
    for label, value in lines:
        fig.text(0.06, y, label, fontsize=12, color=MUTED)
        fig.text(0.28, y, value, fontsize=12, color=INK, parse_math=False)
        y -= 0.06
    fig.text(0.06, 0.12, f"Prepared {meta.generated_at:%d %B %Y} by {meta.prepared_by} with VendorPulse. "
             f"Figures built from {scope.suppression_note} are not shown, to protect respondents.",
             fontsize=9, color=MUTED, parse_math=False)
    fig.text(0.06, 0.09, "Changes marked * are statistically significant at 5% (Welch's t-test for means, "
             "z-test for happiness).", fontsize=9, color=MUTED)
    return fig


def scorecard_page(scope: Scope, overview: reports.Overview) -> Figure:
    current = scope.waves[-1].label if scope.waves else ""
    fig = _page("Scorecard", f"{scope.provider_name}, {current}: every service area against its contract targets")
    ax = fig.add_axes((0.05, 0.08, 0.9, 0.76))
    ax.axis("off")
    headers = ["Service area", "Satisfaction", "Target", "Change", "Happiness", "Target", "Change", "Responses"]
    cells, colours = [], []
    for row in overview.rows:
        sat, hap = row.current.satisfaction, row.current.happiness
        cells.append([
            row.area.name,
            scope.suppression_label if sat.suppressed else _fmt(sat.value, "satisfaction"),
            _fmt(sat.target, "satisfaction"), _change(sat),
            scope.suppression_label if hap.suppressed else _fmt(hap.value, "happiness"),
            _fmt(hap.target, "happiness"), _change(hap), str(sat.n),
        ])
        colours.append(["white", _status_colour(sat.status), "white", "white", _status_colour(hap.status),
                        "white", "white", "white"])
    table = ax.table(cellText=cells or [["No service areas"] + [""] * 7], colLabels=headers,
                     cellColours=colours or None, loc="upper center", cellLoc="left", colLoc="left")
    table.auto_set_font_size(False)
    table.set_fontsize(11)
    table.scale(1, 2.0)
    for (r, _c), cell in table.get_celld().items():
        cell.get_text().set_parse_math(False)
        cell.set_edgecolor("#d5dbe3")
        if r == 0:
            cell.set_text_props(fontweight="bold", color=MUTED)
    fig.text(0.05, 0.04, "Green: target met. Red: below target. ▲▼ change since the previous wave; "
             "* significant at 5%.", fontsize=9, color=MUTED)
    return fig


def _status_colour(status: str) -> str:
    return {"met": "#dcefe2", "below": "#f7dcda"}.get(status, "white")


def _image(fig: Figure, rect: tuple[float, float, float, float], spec: chart_specs.ChartSpec) -> None:
    """Charts are placed as 200 dpi images, so each keeps its own tested layout."""
    import matplotlib.image as mpimg

    png = charts.render(spec.figure(), "png")
    ax = fig.add_axes(rect)
    ax.imshow(mpimg.imread(io.BytesIO(png), format="png"))
    ax.axis("off")


def area_page(scope: Scope, report: reports.AreaReport) -> Figure:
    current = report.current
    sat = current.satisfaction if current else None
    subtitle = (f"{scope.waves[-1].label}: satisfaction {_fmt(sat.value, 'satisfaction')} "
                f"(target {_fmt(sat.target, 'satisfaction')}), {sat.n} responses"
                if sat and not sat.suppressed else f"{scope.suppression_note} in the latest wave")
    fig = _page(report.area.name, subtitle)
    _image(fig, (0.03, 0.42, 0.55, 0.44), chart_specs.trend_spec(report, "satisfaction"))
    _image(fig, (0.03, 0.02, 0.55, 0.38), chart_specs.distribution_spec(report, "satisfaction"))
    _image(fig, (0.6, 0.42, 0.38, 0.44), chart_specs.sentiment_spec(report))
    fig.text(0.62, 0.37, "What comments talk about", fontsize=12, fontweight="bold", color=INK)
    themes = report.themes[:8]
    if themes:
        for index, (phrase, count) in enumerate(themes):
            fig.text(0.62, 0.33 - index * 0.035, f"{phrase}", fontsize=10, color=INK, parse_math=False)
            fig.text(0.9, 0.33 - index * 0.035, f"{count}", fontsize=10, color=MUTED, ha="right")
    else:
        fig.text(0.62, 0.33, "Not enough comments to show themes.", fontsize=10, color=MUTED)
    return fig


def _comment_pages(scope: Scope) -> Iterator[Figure]:
    wave = scope.waves[-1] if scope.waves else None
    blocks: list[tuple[str, list[CommentItem]]] = []
    for area in scope.areas:
        picked: list[CommentItem] = []
        for label in ("negative", "positive", "neutral"):
            page = list_comments(scope, CommentFilter(wave_id=wave.id if wave else None, area_id=area.id,
                                                      label=label, shareable_only=True),
                                 page=1, per_page=2)
            picked.extend(page.items)
        if picked:
            blocks.append((area.name, picked[:COMMENTS_PER_AREA]))
    if not blocks:
        fig = _page("What employees said", "No comments were marked shareable with the provider for this wave.")
        yield fig
        return
    fig, y = None, 0.0
    for area_name, items in blocks:
        needed = 0.06 + 0.075 * len(items)
        if fig is None or y - needed < 0.06:
            if fig is not None:
                yield fig
            fig = _page("What employees said", "Comments marked shareable by the vendor manager; "
                                               "email addresses and phone numbers are masked.")
            y = 0.83
        fig.text(0.05, y, area_name, fontsize=13, fontweight="bold", color=INK, parse_math=False)
        y -= 0.045
        for item in items:
            colour = {"negative": BAD, "positive": GOOD}.get(item.label or "", MUTED)
            fig.text(0.05, y, (item.label or "").upper(), fontsize=8, fontweight="bold", color=colour)
            text = mask_personal_details(item.text).replace("\n", " ")
            quote = "“" + (text[:170] + "…" if len(text) > 170 else text) + "”"
            # Broken into lines here, not with wrap=True: matplotlib measures the lines it wraps as
            # mathtext whenever they hold two "$", whatever parse_math says.
            fig.text(0.13, y, textwrap.fill(quote, COMMENT_LINE_CHARACTERS), fontsize=10, color=INK,
                     parse_math=False)
            y -= 0.075
        y -= 0.015
    if fig is not None:
        yield fig


def pack_pages(scope: Scope, meta: PackMeta) -> Iterator[Figure]:
    overview = reports.overview(scope)
    yield cover_page(scope, overview, meta)
    yield scorecard_page(scope, overview)
    for area in scope.areas:
        yield area_page(scope, reports.area_report(scope, area.id, for_provider=True))
    yield from _comment_pages(scope)


def build_review_pack(scope: Scope, meta: PackMeta) -> bytes:
    """The whole pack as PDF bytes, with document metadata."""
    from matplotlib.backends.backend_pdf import PdfPages

    buffer = io.BytesIO()
    with charts.chart_style(), PdfPages(buffer, metadata={
        "Title": f"Quarterly service review: {scope.provider_name}",
        "Author": meta.prepared_by, "Creator": "VendorPulse", "CreationDate": None,
    }) as pdf:
        for page in pack_pages(scope, meta):
            pdf.savefig(page)
    return buffer.getvalue()
