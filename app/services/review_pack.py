"""The PDF pack for the quarterly review with the provider: cover, scorecard, one page per
service area, and representative comments. Built from the dashboard's reports and chart specs,
so the pack and the screen always agree. matplotlib is imported by the functions that draw, so
importing this module (the CLI does) stays cheap.
"""
from __future__ import annotations

import functools
import io
import re
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from app.services import charts, chart_specs
from app.services.disclosure import mask_personal_details
from app.services.comments import CommentFilter, CommentItem, list_comments
from app.services.reporting import reports
from app.services.reporting.aspects import AspectSummary, area_aspects
from app.services.reporting.relationship import RelationshipReport, relationship_report
from app.services.reporting.scope import Scope

if TYPE_CHECKING:
    from matplotlib.figure import Figure

PAGE = (11.69, 8.27)  # A4 landscape, inches
INK, MUTED, GOOD, BAD, BRAND = "#1b2430", "#4a5565", "#1a7f37", "#b42318", "#0b5cad"
COMMENTS_PER_AREA = 4
COMMENT_LINE_CHARACTERS = 110  # about the page's width at 10 pt
BODY = (0.03, 0.05, 0.94, 0.8)  # left, bottom, width, height: below the header, above the page number
AREA_NAME_CHARACTERS = 26  # scorecard: longer area names wrap onto a second line, never cut
PROVIDER_WAVES = 6  # the provider-as-a-whole page: the latest waves, three per column


@dataclass(frozen=True)
class PackMeta:
    generated_at: datetime
    prepared_by: str


def _page(title: str, subtitle: str | None = None, *, provisional: str | None = None,
          constrained: bool = False) -> Figure:
    """A page with its header. `constrained` pages lay their charts out below the header (subfigures
    in a grid), so each chart's own constrained layout keeps its labels inside its slot."""
    from matplotlib.figure import Figure
    from matplotlib.lines import Line2D

    fig = Figure(figsize=PAGE, layout="constrained" if constrained else None)
    if constrained:
        fig.get_layout_engine().set(rect=BODY)
    # Titles, names and comments come from data: `$` is a dollar sign, never the start of mathtext.
    fig.text(0.05, 0.93, drawable(title), fontsize=20, fontweight="bold", color=INK, parse_math=False)
    if subtitle:
        fig.text(0.05, 0.895, drawable(subtitle), fontsize=11, color=MUTED, parse_math=False)
    if provisional:
        # On the subtitle's line, right-aligned: a long title ("Service Desk: what people talk about")
        # would run into it on the title's line.
        fig.text(0.95, 0.895, provisional, fontsize=10, fontweight="bold", color=BAD, ha="right",
                 parse_math=False)
    fig.add_artist(Line2D([0.05, 0.95], [0.875, 0.875], transform=fig.transFigure, color="#d5dbe3", linewidth=1))
    fig.vendorpulse_title = title  # the contents page lists pages by this
    return fig


@functools.cache
def _font_codepoints() -> frozenset[int]:
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = FT2Font(font_manager.findfont(font_manager.FontProperties(family="DejaVu Sans")))
    return frozenset(font.get_charmap())


def drawable(text: str) -> str:
    """`text` without the characters DejaVu Sans has no glyph for (emoji, CJK), which would print as
    empty boxes; the spaces they leave are closed up."""
    glyphs = _font_codepoints()
    kept = "".join(c for c in text if ord(c) in glyphs or c in "\n\t")
    return re.sub(r"[ \t]{2,}", " ", kept).strip() if kept != text else text


def _number_pages(pages: list[Figure]) -> None:
    for number, fig in enumerate(pages, start=1):
        fig.text(0.95, 0.025, f"{number} / {len(pages)}", fontsize=9, color=MUTED, ha="right")


def contents_page(titles: list[str], scope: Scope) -> Figure:
    """Page 2: every page of the pack with its number (the cover is 1, this page 2)."""
    fig = _page("Contents", f"{scope.provider_name}, {scope.waves[-1].label if scope.waves else ''}",
                provisional=scope.provisional)
    entries = [("Cover", 1), ("Contents", 2)] + [(title, number) for number, title in enumerate(titles, start=3)]
    columns = 1 if len(entries) <= 16 else 2
    per_column = -(-len(entries) // columns)
    for index, (title, number) in enumerate(entries):
        column, row = divmod(index, per_column)
        x = 0.08 + column * 0.45
        y = 0.8 - row * 0.045
        fig.text(x, y, drawable(title), fontsize=12, color=INK, parse_math=False)
        fig.text(x + 0.38, y, str(number), fontsize=12, color=MUTED, ha="right")
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
    fig.text(0.06, 0.76, drawable(f"{scope.provider_name} · {current}"), fontsize=20, color="white",
             parse_math=False)
    if scope.provisional:
        fig.text(0.06, 0.645, scope.provisional, fontsize=12, fontweight="bold", color="white", parse_math=False)
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
        ("Campaign", drawable(scope.campaign_name)),
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
    fig = _page("Scorecard", f"{scope.provider_name}, {current}: every service area against its contract targets",
                provisional=scope.provisional)
    ax = fig.add_axes((0.05, 0.08, 0.9, 0.76))
    ax.axis("off")
    headers = ["Service area", "Satisfaction", "Target", "Change", "Happiness", "Target", "Change", "Responses"]
    cells, colours = [], []
    for row in overview.rows:
        sat, hap = row.current.satisfaction, row.current.happiness
        cells.append([
            textwrap.fill(drawable(row.area.name), AREA_NAME_CHARACTERS),
            scope.suppression_label if sat.suppressed else _fmt(sat.value, "satisfaction"),
            _fmt(sat.target, "satisfaction"), _change(sat),
            scope.suppression_label if hap.suppressed else _fmt(hap.value, "happiness"),
            _fmt(hap.target, "happiness"), _change(hap), str(sat.n),
        ])
        colours.append(["white", _status_colour(sat.status), "white", "white", _status_colour(hap.status),
                        "white", "white", "white"])
    table = ax.table(cellText=cells or [["No service areas"] + [""] * 7], colLabels=headers,
                     cellColours=colours or None, loc="upper center", cellLoc="left", colLoc="left",
                     colWidths=[0.25, 0.12, 0.07, 0.12, 0.11, 0.07, 0.12, 0.14])
    table.auto_set_font_size(False)
    table.set_fontsize(12)
    table.scale(1, 2.4)
    for (r, _c), cell in table.get_celld().items():
        if "\n" in cell.get_text().get_text():  # a wrapped area name: the row grows, the name stays whole
            cell.set_height(cell.get_height() * 1.6)
        cell.get_text().set_parse_math(False)
        cell.set_edgecolor("#d5dbe3")
        if r == 0:
            cell.set_text_props(fontweight="bold", color=MUTED)
    fig.text(0.05, 0.04, "Green: target met. Red: below target. ▲▼ change since the previous wave; "
             "* significant at 5%.", fontsize=9, color=MUTED)
    return fig


def _status_colour(status: str) -> str:
    return {"met": "#dcefe2", "below": "#f7dcda"}.get(status, "white")


def _fit_into_slot(chart, area_name: str) -> None:
    """A chart made for a whole screen, fitted into a part of a page without shrinking its text: the
    page title names the area, so chart titles drop it, and many waves' labels go on two lines."""
    from matplotlib.text import Text

    suffix = f": {area_name}"
    for ax in chart.axes:
        for text in ax.get_children():
            if isinstance(text, Text) and text.get_text().endswith(suffix):
                text.set_text(text.get_text()[: -len(suffix)])
        labels = [label.get_text() for label in ax.get_xticklabels()]
        if len(labels) > 4 and any("-" in label for label in labels):
            ax.set_xticks(ax.get_xticks(), [label.replace("-", "\n", 1) for label in labels])


def area_page(scope: Scope, report: reports.AreaReport, talk: AspectSummary) -> Figure:
    """Charts drawn into the page as vectors (subfigures), at the text sizes they have on screen."""
    current = report.current
    sat = current.satisfaction if current else None
    subtitle = (f"{scope.waves[-1].label}: satisfaction {_fmt(sat.value, 'satisfaction')} "
                f"(target {_fmt(sat.target, 'satisfaction')}), {sat.n} responses"
                if sat and not sat.suppressed else f"{scope.suppression_note} in the latest wave")
    fig = _page(report.area.name, subtitle, provisional=scope.provisional, constrained=True)
    grid = fig.add_gridspec(2, 2, width_ratios=[3, 2], height_ratios=[5, 4])
    for slot, spec in ((grid[0, 0], chart_specs.trend_spec(report, "satisfaction")),
                       (grid[1, 0], chart_specs.distribution_spec(report, "satisfaction")),
                       (grid[0, 1], chart_specs.sentiment_spec(report))):
        with charts.drawing_into(fig.add_subfigure(slot)) as chart:
            spec.figure()
        _fit_into_slot(chart, report.area.name)
    box = fig.add_subfigure(grid[1, 1])
    box.text(0.04, 0.92, "What comments talk about", fontsize=12, fontweight="bold", color=INK)
    lost = _lost_time_lines(scope, report)
    for index, line in enumerate(lost):
        box.text(0.04, 0.06 + (len(lost) - 1 - index) * 0.07, line, fontsize=9, parse_math=False,
                 color=INK if index == 0 else MUTED, fontweight="bold" if index == 0 else "normal")
    if talk.rows:
        box.text(0.62, 0.82, "comments", fontsize=9, color=MUTED, ha="right")
        box.text(0.9, 0.82, "net", fontsize=9, color=MUTED, ha="right")
        for index, row in enumerate(talk.rows[:5 if lost else 7]):
            y = 0.72 - index * 0.1
            box.text(0.04, y, drawable(row.name) + (" ▲▼" if row.moved else ""), fontsize=10,
                     color=INK, parse_math=False, fontweight="bold" if row.moved else "normal")
            box.text(0.62, y, f"{row.mentions}", fontsize=10, color=MUTED, ha="right")
            box.text(0.9, y, f"{row.net:+.0f}", fontsize=10, color=GOOD if row.net > 0 else BAD if row.net < 0
                     else MUTED, ha="right")
    else:
        box.text(0.04, 0.8, _talk_gap(talk, scope), fontsize=10, color=MUTED, wrap=True)
    return fig


def _lost_time_lines(scope: Scope, report: reports.AreaReport) -> list[str]:
    """The latest wave's working hours lost, their total over everyone invited and their cost, as on the
    area page; nothing when no one answered, a note when the group is under the minimum."""
    lost = report.time_lost[-1] if report.time_lost else None
    if lost is None or lost.n == 0:
        return []
    heading = f"Hours lost in {lost.wave.label}"
    if lost.suppressed:
        return [heading, scope.suppression_note]
    total, cost = lost.total, lost.cost
    lines = [heading + (f": about {total.hours:,.0f} h for all {total.invited} invited" if total
                        else f": {lost.reported_hours:,.0f} h reported")]
    if total:
        lines.append(f"95% interval {total.ci_low:,.0f}-{total.ci_high:,.0f} h; {lost.reported_hours:,.0f} h "
                     f"reported by {lost.n}")
    else:
        lines.append(f"by {lost.n} respondents, {lost.mean_hours:.1f} h each")
    if cost is not None:
        money = f"{cost.currency} " if cost.currency else ""
        if cost.total is not None:
            lines.append(f"Cost at {money}{cost.hourly_cost:,.2f}/h: {money}{cost.total:,.0f} "
                         f"({cost.ci_low:,.0f}-{cost.ci_high:,.0f})")
        else:
            lines.append(f"Cost at {money}{cost.hourly_cost:,.2f}/h: {money}{cost.reported:,.0f} reported")
    return [drawable(line) for line in lines]


def _talk_gap(talk: AspectSummary, scope: Scope) -> str:
    if talk.withheld:
        return f"Not enough shared comments ({scope.suppression_note})."
    return "No shared comment talks about a service aspect."


def talk_page(scope: Scope, talk: AspectSummary) -> Figure:
    """What people talk about in one area, from the comments shared with the provider: each aspect with
    its share, net sentiment and change, one example in the writer's words; then what emerged."""
    subtitle = (f"{talk.wave.label}: {talk.comments} shared comments"
                + (f", against {talk.previous.label}" if talk.previous_comments is not None else ""))
    fig = _page(f"{talk.area.name}: what people talk about", subtitle, provisional=scope.provisional)
    y = 0.83
    fig.text(0.05, y, "Aspect", fontsize=10, color=MUTED)
    fig.text(0.37, y, "Comments", fontsize=10, color=MUTED, ha="right")
    fig.text(0.47, y, "Net", fontsize=10, color=MUTED, ha="right")
    fig.text(0.5, y, "Change / example", fontsize=10, color=MUTED)
    for row in talk.rows[:8]:
        y -= 0.075
        fig.text(0.05, y, drawable(row.name), fontsize=11, color=INK, parse_math=False,
                 fontweight="bold" if row.moved else "normal")
        fig.text(0.37, y, f"{row.mentions} ({row.share:.0%})", fontsize=11, color=INK, ha="right")
        fig.text(0.47, y, f"{row.net:+.0f}", fontsize=11, ha="right",
                 color=GOOD if row.net > 0 else BAD if row.net < 0 else MUTED)
        change = ("no earlier figure" if row.share_change is None else
                  f"{row.share_change:+.0f} pts of comments" + (f", net {row.net_change:+.0f}" if row.net_change
                                                                 is not None else "")
                  + (": changed" if row.moved else ": within chance" if row.p_value is not None else ""))
        fig.text(0.5, y, change, fontsize=10, color=INK if row.moved else MUTED, parse_math=False)
        if row.examples:
            example = _shorten(row.examples[0].text, 95)
            fig.text(0.5, y - 0.028, f"“{drawable(example)}”", fontsize=9.5, color=MUTED, style="italic",
                     parse_math=False)
    y -= 0.1
    fig.text(0.05, y, "New or fading this wave", fontsize=12, fontweight="bold", color=INK)
    for item in talk.emerging[:5] or ():
        y -= 0.045
        fig.text(0.05, y, drawable(_shorten(item.description, 130)), fontsize=10, color=INK, parse_math=False)
    if not talk.emerging:
        fig.text(0.05, y - 0.045, "No word or phrase is more or less frequent than before beyond chance.",
                 fontsize=10, color=MUTED)
    fig.text(0.05, 0.05, "Net: comments positive about the aspect minus negative, per 100. Changed: more than "
             "chance (Fisher's exact and Mann-Whitney tests, 5% false-discovery rate).", fontsize=8.5,
             color=MUTED)
    return fig


def provider_page(scope: Scope, report: RelationshipReport) -> Figure:
    """The ratings of the provider as a whole (partnership, proactivity, account management), a small table
    per wave, newest first: n, mean, 95% interval and change since the wave before, as on the relationship
    page (minimum group size and department gate applied there)."""
    respondents = dict((wave.id, n) for wave, n in report.respondents)
    latest = scope.waves[-1].label if scope.waves else ""
    fig = _page("The provider as a whole", f"{scope.provider_name}, {latest}: the questions about the provider "
                "itself rather than one service area", provisional=scope.provisional)
    waves = list(enumerate(scope.waves))[::-1][:PROVIDER_WAVES]
    per_column = -(-PROVIDER_WAVES // 2)
    for position, (index, wave) in enumerate(waves):
        column, slot = divmod(position, per_column)
        x, y = 0.05 + column * 0.47, 0.83 - slot * 0.245
        fig.text(x, y, drawable(wave.label), fontsize=13, fontweight="bold", color=INK, parse_math=False)
        fig.text(x + 0.43, y, f"{respondents.get(wave.id, 0)} respondents", fontsize=9, color=MUTED, ha="right")
        y -= 0.04
        for offset, heading, align in ((0, "Question", "left"), (0.19, "n", "right"), (0.25, "Mean", "right"),
                                       (0.345, "95% interval", "right"), (0.43, "Change", "right")):
            fig.text(x + offset, y, heading, fontsize=9, color=MUTED, ha=align)
        for row in report.rows:
            y -= 0.04
            _, cell = row.cells[index]
            metric = row.question.metric
            if cell.empty:
                figures = ("0", "no answers", "", "")
            elif cell.estimate is None:
                figures = (str(cell.n) if not cell.withheld else "", scope.suppression_label, "", "")
            else:
                figures = (str(cell.n), _fmt(cell.value, metric),
                           f"{_fmt(cell.ci[0], metric)} to {_fmt(cell.ci[1], metric)}", _change(cell))
            fig.text(x, y, drawable(row.question.title), fontsize=11, color=INK, parse_math=False)
            for offset, text in zip((0.19, 0.25, 0.345, 0.43), figures):
                fig.text(x + offset, y, text, fontsize=11, color=INK, ha="right", parse_math=False)
    if len(scope.waves) > PROVIDER_WAVES:
        fig.text(0.05, 0.075, f"The latest {PROVIDER_WAVES} waves; the relationship CSV has every wave.",
                 fontsize=9, color=MUTED)
    scales = sorted({f"{r.question.scale[0]} to {r.question.scale[1]}" for r in report.rows})
    fig.text(0.05, 0.05, f"Mean rating ({', '.join(scales)}). ▲▼ change since the previous wave; * significant at "
             f"5%. {scope.suppression_note.capitalize()}: no figures.", fontsize=8.5, color=MUTED, parse_math=False)
    return fig


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _comment_pages(scope: Scope) -> Iterator[Figure]:
    wave = scope.waves[-1] if scope.waves else None
    blocks: list[tuple[str, list[CommentItem]]] = []
    # Never the same words twice in the pack: several people (or areas) can share one identical comment.
    seen: set[str] = set()
    for area in scope.areas:
        picked: list[CommentItem] = []
        for label in ("negative", "positive", "neutral"):
            page = list_comments(scope, CommentFilter(wave_id=wave.id if wave else None, area_id=area.id,
                                                      label=label, shareable_only=True),
                                 page=1, per_page=COMMENTS_PER_AREA * 3)
            fresh = [item for item in page.items if " ".join(item.text.casefold().split()) not in seen][:2]
            seen.update(" ".join(item.text.casefold().split()) for item in fresh)
            picked.extend(fresh)
        if picked:
            blocks.append((area.name, picked[:COMMENTS_PER_AREA]))
    if not blocks:
        fig = _page("What employees said", "No comments were marked shareable with the provider for this wave.",
                    provisional=scope.provisional)
        yield fig
        return
    fig, y = None, 0.0
    for area_name, items in blocks:
        needed = 0.06 + 0.075 * len(items)
        if fig is None or y - needed < 0.06:
            if fig is not None:
                yield fig
            fig = _page("What employees said", "Comments marked shareable by the vendor manager; "
                                               "email addresses and phone numbers are masked.",
                        provisional=scope.provisional)
            y = 0.83
        fig.text(0.05, y, drawable(area_name), fontsize=13, fontweight="bold", color=INK, parse_math=False)
        y -= 0.045
        for item in items:
            colour = {"negative": BAD, "positive": GOOD}.get(item.label or "", MUTED)
            fig.text(0.05, y, (item.label or "").upper(), fontsize=8, fontweight="bold", color=colour)
            fig.text(0.05, y - 0.022, drawable(item.wave), fontsize=8, color=MUTED, parse_math=False)
            text = drawable(mask_personal_details(item.text).replace("\n", " "))
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
    """The pack's pages in order, each numbered "n / total": cover, contents, scorecard, each area (its
    figures, then what people talk about when shared comments say enough), the provider as a whole when
    the survey asks about it, comments."""
    overview = reports.overview(scope)
    body = [scorecard_page(scope, overview)]
    for area in scope.areas:
        talk = area_aspects(scope, area.id, for_provider=True)
        body.append(area_page(scope, reports.area_report(scope, area.id, for_provider=True), talk))
        if talk.rows:
            body.append(talk_page(scope, talk))
    relationship = relationship_report(scope)
    if relationship.rows:
        body.append(provider_page(scope, relationship))
    body.extend(_comment_pages(scope))
    titles = [getattr(page, "vendorpulse_title", "") for page in body]
    pages = [cover_page(scope, overview, meta), contents_page(titles, scope), *body]
    _number_pages(pages)
    yield from pages


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
