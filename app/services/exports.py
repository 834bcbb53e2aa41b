"""CSV exports for the quarterly review: what rows each kind holds, streamed from the database.

No export ever holds a name, an email address, a response's id or its date. What a file may hold is
decided by the disclosure gate (`app.services.disclosure`): the summary through the dashboard's own
statistics; row-level files (answers, responses) by a row plan that keeps every combination of wave,
department and areas answered at the minimum group size or above; comments only from groups that are
large enough, never by department.
"""
from __future__ import annotations

import itertools
import secrets
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import BigInteger, Select, case, distinct, func, literal, select
from sqlalchemy.orm import aliased

from app.errors import InvalidInput
from app.extensions import db
from app.models import Answer, Question, Response, ServiceArea, Wave
from app.services.aspects import TAXONOMY
from app.services.csv_stream import Column
from app.services.disclosure import NOT_RECORDED, RELATIONSHIP, RowPlan, count_departments, plan_rows
from app.services.reporting.aspects import area_aspects
from app.services.reporting.relationship import relationship_report
from app.services.reporting.reports import lost_time_rows, summary_rows
from app.services.reporting.scope import Scope, resolve_scope
from app.services.stats import suppression_note

KINDS = ("answers", "responses", "comments", "aspects", "summary", "summary-wide", "relationship")
CHUNK = 2000


@dataclass(frozen=True)
class ExportTable:
    columns: list[Column]
    rows: Iterator[Sequence[Any]]
    filename: str


def range_label(scope: Scope) -> str:
    if not scope.waves:
        return "no-waves"
    first, last = scope.waves[0].label, scope.waves[-1].label
    return first if first == last else f"{first}..{last}"


def scope_for_labels(waves: str | None = None, *, provider_id: int | None = None, campaign_id: int | None = None,
                     department: str | None = None) -> Scope:
    """The dashboard's report scope for a wave label or range ("2026-Q1..2026-Q4"; default: every wave)."""
    everything = resolve_scope(provider_id=provider_id, campaign_id=campaign_id, wave_count=10**6)
    if everything is None:
        raise InvalidInput("There is no campaign to export yet.", errors={"campaign": ["none"]})
    first_id = last_id = None
    if waves:
        start, _, end = waves.partition("..")
        by_label = {w.label: w.id for w in everything.all_waves}
        for label in (start.strip(), (end or start).strip()):
            if label not in by_label:
                raise InvalidInput(f"No wave labelled {label!r} in {everything.campaign_name}.",
                                   errors={"waves": [f"unknown wave {label}"]})
        first_id, last_id = by_label[start.strip()], by_label[(end or start).strip()]
    else:
        first_id = everything.all_waves[0].id if everything.all_waves else None
        last_id = everything.all_waves[-1].id if everything.all_waves else None
    return resolve_scope(provider_id=provider_id, campaign_id=everything.campaign_id,
                         first_wave_id=first_id, last_wave_id=last_id, department=department,
                         wave_count=10**6)


def check_area(scope: Scope, area_code: str | None) -> str | None:
    if area_code is not None and area_code not in {a.code for a in scope.areas}:
        raise InvalidInput(f"No service area {area_code!r} in {scope.campaign_name}.", errors={"area": ["unknown"]})
    return area_code


def _answer_query(scope: Scope, area_code: str | None, *columns) -> Select:
    query = (
        select(*columns)
        .select_from(Answer)
        .join(Response, Response.id == Answer.response_id)
        .join(Wave, Wave.id == Answer.wave_id)
        .join(Question, Question.id == Answer.question_id)
        .outerjoin(ServiceArea, ServiceArea.id == Answer.service_area_id)
        .where(Answer.wave_id.in_(scope.wave_ids))
    )
    if area_code:
        query = query.where(ServiceArea.code == area_code)
    if scope.department:
        query = query.where(Response.department == scope.department)
    return query


def _stream(query: Select) -> Iterator[Any]:
    """Rows in chunks through a server-side cursor; closing the generator (client gone) closes it.

    Executed on the session's connection (Core), not through the ORM: these are plain column
    tuples, and skipping ORM row loading saves a third of the export's time.
    """
    result = db.session.connection().execute(query.execution_options(yield_per=CHUNK))
    try:
        yield from result
    finally:
        result.close()


def _reasons(value: list[str] | None) -> str | None:
    return ";".join(value) if value else None


def reason_labels(scope: Scope) -> dict[str, dict[str, str]]:
    """Question code -> reason code -> its label in the survey definition, for every reasons question
    answered in the scope (a later definition's wording wins where versions differ)."""
    labels: dict[str, dict[str, str]] = {}
    options = db.session.execute(
        select(Question.code, Question.options).where(Question.kind == "reasons", Question.id.in_(
            select(Answer.question_id).where(Answer.wave_id.in_(scope.wave_ids)).distinct()))
        .order_by(Question.id)
    ).all()
    for code, settings in options:
        for group in ("good", "bad"):
            for reason in (settings or {}).get(group) or []:
                labels.setdefault(code, {})[reason["code"]] = reason["label"]
    return labels


def _reasons_text(labels: dict[str, str], value: list[str] | None) -> str | None:
    return ";".join(labels.get(code, code) for code in value) if value else None


# How the dashboard shows each measure (templates/dashboard/_macros.html): the summary's figures are
# rounded per row, as the measure of the row is shown on screen.
SCREEN_DIGITS = {"satisfaction": 2, "happiness": 0}
POLARITY_DIGITS = 2
HOURS_DIGITS = 1


def on_screen(value: float | None, digits: int) -> Decimal | None:
    """A figure rounded as the dashboard shows it, as a Decimal the CSV writes digit for digit."""
    return None if value is None else Decimal(repr(round(value, digits) + 0.0)).quantize(Decimal(1).scaleb(-digits))


# --------------------------------------------------------------------------------------------
# Row-level exports: the disclosure gate's row plan, applied as rows stream
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class RowPlanner:
    """Each response's areas as a bit mask computed by the database, and the plan for every
    (wave, department, areas) group: what department its rows carry and whether they are split."""

    area_bits: dict[int, int]  # area key (0: provider-wide questions) -> bit
    masks: Any  # subquery: response_id, mask
    plans: dict[tuple[int, str, frozenset[int]], RowPlan]

    def areas(self, mask: int) -> frozenset[int]:
        return frozenset(key for key, bit in self.area_bits.items() if mask & bit)

    def plan(self, wave_id: int, department: str | None, mask: int) -> RowPlan:
        return self.plans[(wave_id, department or NOT_RECORDED, self.areas(mask))]


def row_planner(scope: Scope) -> RowPlanner:
    """Group the scope's responses by wave, department and areas answered, in SQL, and plan their rows."""
    area_ids = db.session.scalars(
        select(Answer.service_area_id).where(Answer.wave_id.in_(scope.wave_ids), Answer.service_area_id.is_not(None))
        .distinct()
    ).all()
    bits = {RELATIONSHIP: 1, **{area_id: 1 << (index + 1) for index, area_id in enumerate(sorted(area_ids))}}
    if len(bits) > 62:
        raise InvalidInput("Too many service areas for a row-level export; export the summary instead.")
    bit = case(*[(Answer.service_area_id == area_id, literal(value, BigInteger)) for area_id, value in bits.items()
                 if area_id != RELATIONSHIP], else_=literal(1, BigInteger)) if len(bits) > 1 else literal(1, BigInteger)
    masks = (
        select(Answer.response_id.label("response_id"), func.sum(distinct(bit)).label("mask"))
        .where(Answer.wave_id.in_(scope.wave_ids))
        .group_by(Answer.response_id)
        .subquery("response_areas")
    )
    groups = db.session.execute(
        select(Response.wave_id, Response.department, masks.c.mask, func.count())
        .join(masks, masks.c.response_id == Response.id)
        .group_by(Response.wave_id, Response.department, masks.c.mask)
    ).all()
    planner = RowPlanner(bits, masks, {})
    counts: Counter[tuple[int, str, frozenset[int]]] = Counter()
    for wave_id, department, mask, n in groups:
        counts[(wave_id, department or NOT_RECORDED, planner.areas(int(mask)))] += int(n)
    return RowPlanner(bits, masks, plan_rows(counts, _minimum(scope)))


def _minimum(scope: Scope) -> int:
    return scope.min_group_size


def _wanted(plan: RowPlan, department: str | None) -> bool:
    """Under a department filter a file holds exactly the rows the unfiltered file labels with it."""
    return department is None or plan.label == department


ANSWER_COLUMNS = [Column("wave"), Column("service_area"), Column("question_code"), Column("question_text"),
                  Column("value", "number", HOURS_DIGITS), Column("reasons"), Column("reasons_text"),
                  Column("comment"), Column("sentiment_polarity", "number", POLARITY_DIGITS),
                  Column("sentiment_label"), Column("label_corrected"), Column("department")]


def _question_text():
    """The question as the respondent read it, with its area's name in place of `{area}`."""
    return func.replace(Question.text, "{area}", func.coalesce(ServiceArea.name, literal("the service")))


def answers_query(scope: Scope, area_code: str | None = None, planner: RowPlanner | None = None) -> Select:
    """One row per answer in random order, with the response's department and areas for the row plan."""
    planner = planner or row_planner(scope)
    corrected = case((Answer.label_override.is_not(None), literal("yes")),
                     (Answer.sentiment_label.is_not(None), literal("no")), else_=None)
    return (
        _answer_query(
            scope, area_code, Wave.label, ServiceArea.name, Question.code, _question_text(),
            Answer.score, Answer.reasons, Answer.text, Answer.sentiment_polarity,
            func.coalesce(Answer.label_override, Answer.sentiment_label), corrected,
            Answer.wave_id, Response.department, planner.masks.c.mask, func.coalesce(Answer.service_area_id, 0),
            Answer.hours,  # apart from the score: PostgreSQL would turn a coalesced score of 2 into 2.0
        )
        .join(planner.masks, planner.masks.c.response_id == Answer.response_id)
        .order_by(func.random())
    )


def answers_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """Tidy: one row per answer, in random order, without response ids or dates, so the answers of one
    person cannot be put back together; departments and areas as the row plan allows."""
    planner = row_planner(scope)
    query = answers_query(scope, area_code, planner)
    labels = reason_labels(scope)
    no_labels: dict[str, str] = {}

    def rows() -> Iterator[Sequence[Any]]:
        for row in _stream(query):
            plan = planner.plan(row[10], row[11], int(row[12]))
            if not _wanted(plan, scope.department) or (plan.split and row[13] not in plan.parts):
                continue
            yield (*row[:4], row[4] if row[4] is not None else row[14], _reasons(row[5]),
                   _reasons_text(labels.get(row[2], no_labels), row[5]), *row[6:10], plan.label)

    return ExportTable(ANSWER_COLUMNS, rows(), f"vendorpulse-answers-{range_label(scope)}.csv")


def _wide_columns(scope: Scope, area_code: str | None) -> list[tuple[str, str | None, str]]:
    """(column name, area code or None, question code), stable across waves and survey versions."""
    area_codes = db.session.execute(
        select(ServiceArea.code, ServiceArea.position).join(Answer, Answer.service_area_id == ServiceArea.id)
        .where(Answer.wave_id.in_(scope.wave_ids)).distinct().order_by(ServiceArea.position, ServiceArea.code)
    ).scalars().all()
    if area_code:
        area_codes = [code for code in area_codes if code == area_code]
    questions = db.session.execute(
        select(Question.code, Question.scope, func.min(Question.position))
        .join(Answer, Answer.question_id == Question.id).where(Answer.wave_id.in_(scope.wave_ids))
        .group_by(Question.code, Question.scope).order_by(func.min(Question.position), Question.code)
    ).all()
    wide = []
    for area in area_codes:
        wide.extend((f"{area}.{code}", area, code) for code, kind_scope, _ in questions if kind_scope == "area")
    if not area_code:
        wide.extend((code, None, code) for code, kind_scope, _ in questions if kind_scope == "relationship")
    return wide


def _pseudonym() -> str:
    """A row id that means nothing outside this file: not the response's id, not its order."""
    return secrets.token_hex(6)


def responses_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """Wide: one row per response, one column per area and question code, k-anonymous on wave,
    department and areas answered (see `disclosure.plan_rows`). Row ids are random per file; a response
    whose combination of areas is rare goes out as one row per area, after the others, shuffled."""
    wide = _wide_columns(scope, area_code)
    position = {(area, code): index for index, (_, area, code) in enumerate(wide)}
    columns = [Column("response"), Column("wave"), Column("department")]
    columns += [Column(name, "value", HOURS_DIGITS) for name, _, _ in wide]
    planner = row_planner(scope)
    query = (
        _answer_query(scope, area_code, Answer.response_id, Wave.label, Response.department, ServiceArea.code,
                      Question.code, Answer.score, Answer.hours, Answer.reasons, Answer.text, Answer.wave_id,
                      planner.masks.c.mask, func.coalesce(Answer.service_area_id, 0))
        .join(planner.masks, planner.masks.c.response_id == Answer.response_id)
        .order_by(Answer.response_id, Answer.id)
    )

    def value(row) -> Any:
        score, hours, reasons, text = row[5], row[6], row[7], row[8]
        return score if score is not None else hours if hours is not None else _reasons(reasons) if reasons else text

    def rows() -> Iterator[Sequence[Any]]:
        split_rows: list[Sequence[Any]] = []
        for _, answers in itertools.groupby(_stream(query), key=lambda row: row[0]):
            answers = list(answers)
            head = answers[0]
            plan = planner.plan(head[9], head[2], int(head[10]))
            if not _wanted(plan, scope.department):
                continue
            if not plan.split:
                values: list[Any] = [None] * len(wide)
                for row in answers:
                    slot = position.get((row[3], row[4]))
                    if slot is not None:
                        values[slot] = value(row)
                yield (_pseudonym(), head[1], plan.label, *values)
                continue
            parts: dict[int, list[Any]] = {}
            for row in answers:
                slot = position.get((row[3], row[4]))
                if slot is not None and row[11] in plan.parts:
                    parts.setdefault(row[11], [None] * len(wide))[slot] = value(row)
            split_rows.extend((_pseudonym(), head[1], plan.label, *values) for values in parts.values())
        secrets.SystemRandom().shuffle(split_rows)
        yield from split_rows

    return ExportTable(columns, rows(), f"vendorpulse-responses-{range_label(scope)}.csv")


def comments_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """Comments with their sentiment, drivers and one column per service aspect (the sentiment the comment
    expresses about it, empty when it does not talk about it), shuffled within each wave and area, without
    dates. Comments of a wave and area (or of the provider-wide questions)
    answered by fewer people than the minimum group size are left out, as on the dashboard; comments
    are never exported by department."""
    if scope.department:
        raise InvalidInput("Comments are not exported by department: with its department, a comment's wording "
                           "could point at the person who wrote it. Export them for all departments.",
                           errors={"department": ["not available for comments"]})
    columns = [Column("wave"), Column("service_area"), Column("question_code"), Column("question_text"),
               Column("comment"), Column("satisfaction_given", "number"),
               Column("sentiment_polarity", "number", POLARITY_DIGITS), Column("computed_label"),
               Column("label"), Column("label_corrected"), Column("drivers"),
               *[Column(f"aspect_{a}") for a in TAXONOMY.aspects], Column("aspects_corrected"),
               Column("shareable")]
    gate = count_departments(k=scope.min_group_size, wave_ids=scope.wave_ids, metric_codes={},
                             question_measures={}, respondents=True)
    base = _answer_query(
        scope, area_code, Answer.wave_id, func.coalesce(Answer.service_area_id, 0), Wave.label,
        ServiceArea.name, Question.code, Answer.text, Answer.sentiment_polarity, Answer.sentiment_label,
        func.coalesce(Answer.label_override, Answer.sentiment_label), Answer.label_override,
        Answer.sentiment_drivers, Answer.shareable, _question_text(), Answer.sentiment_aspects,
        Answer.aspects_override, _rating_given(scope),
    ).where(Answer.text.is_not(None), Answer.text != "").order_by(
        Answer.wave_id, func.coalesce(Answer.service_area_id, 0), func.random())

    def rows() -> Iterator[Sequence[Any]]:
        for (wave_id, area_key), group in itertools.groupby(_stream(base), key=lambda row: (row[0], row[1])):
            if not gate.allows(wave_id, area_key, "respondents", None):
                continue
            for (_, _, label, area, code, text, polarity, computed, effective, override, drivers, shareable,
                 question, computed_aspects, aspects_override, rating) in group:
                driver_text = "; ".join(f"{d['phrase']} ({d['contribution']:+.2f})" for d in (drivers or []))
                said = {m.get("aspect"): m.get("label") for m in (
                    aspects_override if aspects_override is not None else computed_aspects or [])}
                yield (label, area, code, question, text, rating, polarity, computed, effective,
                       "yes" if override else "no", driver_text, *[said.get(a) for a in TAXONOMY.aspects],
                       "yes" if aspects_override is not None else "no", "yes" if shareable else "no")

    return ExportTable(columns, rows(), f"vendorpulse-comments-{range_label(scope)}.csv")


def _rating_given(scope: Scope):
    """The satisfaction score the comment's writer gave the same area in the same response (None for the
    provider-wide comment, or when they skipped it): so "what did the people who gave 1-2 say" needs no
    join with another file. No response id links the files: each file's row ids are its own."""
    if scope.satisfaction is None:
        return literal(None)
    rating = aliased(Answer)
    return (select(rating.score).join(Question, Question.id == rating.question_id)
            .where(rating.response_id == Answer.response_id, rating.service_area_id == Answer.service_area_id,
                   Question.code == scope.satisfaction.code)
            .limit(1).scalar_subquery())


def summary_wide_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """The summary pivoted as a manager lays it out for a review: one row per service area and measure,
    one column per wave (the values as on screen; empty where the group is under the minimum), then the
    target. Built from the same rows as the long summary; hours lost over everyone invited and their cost
    follow each area's two metrics."""
    waves = [w.label for w in scope.waves]
    columns = [Column("service_area_code"), Column("service_area"), Column("metric"),
               *[Column(label, "number") for label in waves], Column("target", "number")]

    def rows() -> Iterator[Sequence[Any]]:
        table: dict[tuple[str, str, str], dict[str, Any]] = {}
        targets: dict[tuple[str, str, str], Any] = {}
        for row in summary_rows(scope):
            if area_code and row.area_code != area_code:
                continue
            key = (row.area_code, row.area_name, row.metric)
            digits = SCREEN_DIGITS[row.metric]
            table.setdefault(key, {})[row.wave] = None if row.suppressed else on_screen(row.value, digits)
            targets[key] = on_screen(row.target, max(digits, _decimals(row.target)))
        lost = lost_time_rows(scope)
        for key, values in table.items():
            yield (*key, *[values.get(label) for label in waves], targets[key])
            if key[2] != "happiness":
                continue
            by_wave = [lost.get((label, key[0])) for label in waves]
            if any(t is not None and t.total is not None for t in by_wave):
                yield (key[0], key[1], "hours_lost_total",
                       *[on_screen(t.total.hours, 0) if t is not None and t.total else None for t in by_wave], None)
            if any(t is not None and t.cost is not None and t.cost.total is not None for t in by_wave):
                yield (key[0], key[1], "lost_time_cost",
                       *[on_screen(t.cost.total, 0) if t is not None and t.cost and t.cost.total is not None
                         else None for t in by_wave], None)

    return ExportTable(columns, rows(), f"vendorpulse-summary-wide-{range_label(scope)}.csv")


def aspects_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """Per wave, service area and aspect: the comments that talk about it, their share and net sentiment,
    and the change since the wave before with its test; the figures of the area page's "What people talk
    about", for every wave in range. Groups under the minimum group size are left out."""
    if scope.department:
        raise InvalidInput("Aspects are read from comments, which are not reported by department. "
                           "Export them for all departments.", errors={"department": ["not available for aspects"]})
    columns = [Column("wave"), Column("service_area_code"), Column("service_area"), Column("aspect"),
               Column("aspect_name"), Column("comments_in_wave", "number"), Column("mentions", "number"),
               Column("share", "number", 3), Column("positive", "number"), Column("negative", "number"),
               Column("net_sentiment", "number", 0), Column("change_share_points", "number", 1),
               Column("change_net_sentiment", "number", 0), Column("p_value", "number", 4), Column("changed")]

    def rows() -> Iterator[Sequence[Any]]:
        for wave in scope.waves:
            for area in scope.areas:
                if area_code and area.code != area_code:
                    continue
                talk = area_aspects(scope, area.id, wave=wave, emerging=False)
                for row in talk.rows:
                    yield (wave.label, area.code, area.name, row.aspect, row.name, talk.comments, row.mentions,
                           row.share, row.positive, row.negative, row.net, row.share_change, row.net_change,
                           row.p_value, None if row.p_value is None else ("yes" if row.moved else "no"))

    return ExportTable(columns, rows(), f"vendorpulse-aspects-{range_label(scope)}.csv")


def summary_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """One row per wave, area and metric, from the dashboard's own statistics (suppression applied): the
    change against the previous wave, the same wave a year before and the campaign's baseline, each with
    its test; then the hours lost in that wave and area (the same on both metric rows) with their total over
    everyone invited and its cost. After each wave's areas, one row per rating of the provider as a whole
    (service area `provider`, the question's code as the metric), as the relationship page shows it."""
    columns = [Column("wave"), Column("service_area_code"), Column("service_area"), Column("metric"),
               Column("n", "number"), Column("value", "number"), Column("ci95_low", "number"),
               Column("ci95_high", "number"), Column("target", "number"), Column("target_status"),
               Column("change_vs_previous", "number"), Column("p_value", "number", 4), Column("significant"),
               Column("test"),
               Column("year_before_wave"), Column("change_vs_year_before", "number"),
               Column("p_value_vs_year_before", "number", 4), Column("significant_vs_year_before"),
               Column("baseline_wave"), Column("change_vs_baseline", "number"),
               Column("p_value_vs_baseline", "number", 4), Column("significant_vs_baseline"),
               Column("share_negative_comments", "number", 2),
               Column("hours_lost_respondents", "number"), Column("hours_lost_per_respondent", "number", 1),
               Column("hours_lost_reported", "number", 1), Column("invited", "number"),
               Column("hours_lost_total", "number", 0), Column("hours_lost_total_ci95_low", "number", 0),
               Column("hours_lost_total_ci95_high", "number", 0), Column("hourly_cost", "number", 2),
               Column("currency"), Column("lost_time_cost", "number", 0),
               Column("lost_time_cost_ci95_low", "number", 0), Column("lost_time_cost_ci95_high", "number", 0),
               Column("note")]
    note = suppression_note(scope.min_group_size)
    provider_code, provider_name = "provider", "Provider as a whole"

    def yes_no(flag: bool | None) -> str | None:
        return None if flag is None else ("yes" if flag else "no")

    def lost_cells(lost) -> tuple:
        if lost is None or lost.suppressed:
            return (None,) * 12
        total, cost = lost.total, lost.cost
        return (lost.n, lost.mean_hours, lost.reported_hours,
                total.invited if total else None, total.hours if total else None, total.ci_low if total else None,
                total.ci_high if total else None, cost.hourly_cost if cost else None,
                (cost.currency or None) if cost else None,
                cost.total if cost and cost.total is not None else (cost.reported if cost else None),
                cost.ci_low if cost else None, cost.ci_high if cost else None)

    def provider_rows(report, index: int) -> Iterator[Sequence[Any]]:
        # The ratings of the provider as a whole (relationship page's figures and gate), one row per question.
        for row in report.rows:
            wave, cell = row.cells[index]
            if cell.empty:
                continue
            digits = SCREEN_DIGITS[row.question.metric]
            if cell.estimate is None:
                yield (wave.label, provider_code, provider_name, row.question.code, None, None, None, None, None,
                       "unknown", None, None, None, None, *(None,) * 8, None, *(None,) * 12, note)
                continue
            change = cell.change
            yield (wave.label, provider_code, provider_name, row.question.code, cell.n,
                   on_screen(cell.value, digits), on_screen(cell.ci[0], digits), on_screen(cell.ci[1], digits),
                   None, "unknown", on_screen(change.delta, digits) if change else None,
                   change.p_value if change else None, yes_no(change.significant) if change else None,
                   change.test if change else None, *(None,) * 8, None, *(None,) * 12, None)

    def area_rows() -> Iterator[Sequence[Any]]:
        lost = lost_time_rows(scope)
        for row in summary_rows(scope):
            if area_code and row.area_code != area_code:
                continue
            digits = SCREEN_DIGITS[row.metric]
            # a target is agreed, not measured: never rounded away (3.75 stays 3.75, 4 is written 4.00)
            target = on_screen(row.target, max(digits, _decimals(row.target)))
            hours = lost_cells(lost.get((row.wave, row.area_code)))
            if row.suppressed:
                yield (row.wave, row.area_code, row.area_name, row.metric, None, None, None, None, target,
                       "unknown", None, None, None, None, *(None,) * 8, None, *hours, note)
                continue
            compared = []
            for kind in ("year", "baseline"):
                label, delta, p_value, significant = row.compared(kind)
                compared += [label, on_screen(delta, digits), p_value, yes_no(significant)]
            yield (row.wave, row.area_code, row.area_name, row.metric, row.n, on_screen(row.value, digits),
                   on_screen(row.ci_low, digits), on_screen(row.ci_high, digits), target, row.status,
                   on_screen(row.change, digits), row.p_value, yes_no(row.significant), row.test, *compared,
                   row.share_negative, *hours, None)

    def rows() -> Iterator[Sequence[Any]]:
        # Each wave's area rows, then its provider-wide rows (none in a file narrowed to one area).
        by_wave: dict[str, list[Sequence[Any]]] = {}
        for row in area_rows():
            by_wave.setdefault(row[0], []).append(row)
        report = None if area_code else relationship_report(scope)
        for index, wave in enumerate(scope.waves):
            yield from by_wave.get(wave.label, ())
            if report is not None:
                yield from provider_rows(report, index)

    return ExportTable(columns, rows(), f"vendorpulse-summary-{range_label(scope)}.csv")


def relationship_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """The questions about the provider as a whole, one row per wave and question: the relationship page's
    figures (its gate applied), as on screen. A file narrowed to one service area holds none: they belong to
    no area."""
    columns = [Column("wave"), Column("question_code"), Column("question_text"), Column("n", "number"),
               Column("value", "number"), Column("ci95_low", "number"), Column("ci95_high", "number"),
               Column("change_vs_previous", "number"), Column("p_value", "number", 4), Column("significant"),
               Column("test"), Column("note")]
    note = suppression_note(scope.min_group_size)

    def rows() -> Iterator[Sequence[Any]]:
        if area_code:
            return
        report = relationship_report(scope)
        for index, _ in enumerate(scope.waves):
            for row in report.rows:
                wave, cell = row.cells[index]
                digits = SCREEN_DIGITS[row.question.metric]
                if cell.empty:
                    continue
                if cell.estimate is None:
                    yield (wave.label, row.question.code, row.question.text, None, None, None, None, None, None,
                           None, None, note)
                    continue
                change = cell.change
                yield (wave.label, row.question.code, row.question.text, cell.n, on_screen(cell.value, digits),
                       on_screen(cell.ci[0], digits), on_screen(cell.ci[1], digits),
                       on_screen(change.delta, digits) if change else None, change.p_value if change else None,
                       None if change is None else ("yes" if change.significant else "no"),
                       change.test if change else None, None)

    return ExportTable(columns, rows(), f"vendorpulse-relationship-{range_label(scope)}.csv")


def _decimals(value: float | None) -> int:
    """Decimals a stored figure was entered with (4.0 -> 0, 3.75 -> 2), up to 4."""
    if value is None:
        return 0
    return min(4, max(0, -Decimal(repr(value)).normalize().as_tuple().exponent))


BUILDERS = {"answers": answers_table, "responses": responses_table, "comments": comments_table,
            "aspects": aspects_table,
            "summary": summary_table, "summary-wide": summary_wide_table, "relationship": relationship_table}


def build_table(kind: str, scope: Scope, area_code: str | None = None) -> ExportTable:
    if kind not in BUILDERS:
        raise InvalidInput(f"Unknown export {kind!r}; choose one of {', '.join(BUILDERS)}.",
                           errors={"kind": ["unknown"]})
    return BUILDERS[kind](scope, check_area(scope, area_code))
