"""CSV exports for the quarterly review: what rows each kind holds, streamed from the database.

No export ever holds a name or an email address. Departments come from the responses, which carry one
only when the campaign copies it; a department with fewer responses in a wave than the campaign's
minimum group size is reported as "Other" (computed in SQL, `_department_in_sql`).
"""
from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, String, case, func, literal, select

from app.errors import InvalidInput
from app.extensions import db
from app.models import Answer, Campaign, Question, Response, ScoreTally, ServiceArea, Wave
from app.services import reporting, sentiment
from app.services.reporting import Scope
from app.services.csv_stream import Column
from app.services.stats import is_reportable, suppression_note

KINDS = ("answers", "responses", "comments", "summary")
OTHER_DEPARTMENT = "Other"
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
    everything = reporting.resolve_scope(provider_id=provider_id, campaign_id=campaign_id, wave_count=10**6)
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
    return reporting.resolve_scope(provider_id=provider_id, campaign_id=everything.campaign_id,
                                   first_wave_id=first_id, last_wave_id=last_id, department=department,
                                   wave_count=10**6)


def check_area(scope: Scope, area_code: str | None) -> str | None:
    if area_code is not None and area_code not in {a.code for a in scope.areas}:
        raise InvalidInput(f"No service area {area_code!r} in {scope.campaign_name}.", errors={"area": ["unknown"]})
    return area_code


def _min_group_sizes(scope: Scope) -> dict[int, int]:
    """wave -> its campaign's minimum group size."""
    return dict(db.session.execute(
        select(Wave.id, Campaign.min_group_size).join(Campaign, Campaign.id == Wave.campaign_id)
        .where(Wave.id.in_(scope.wave_ids))
    ).all())


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


def _submitted_day():
    """The submission date as 'YYYY-MM-DD' computed by the database: parsing a datetime per row in
    Python would cost more than the rest of the row."""
    return func.date(Response.submitted_at, type_=String)


def _reasons(value: list[str] | None) -> str | None:
    return ";".join(value) if value else None


def _department_in_sql(scope: Scope):
    """The department as exports show it, computed by the database: the name when the department
    has at least the minimum number of responses in that wave, else "Other"."""
    named = (
        select(Response.wave_id.label("wave_id"), Response.department.label("department"))
        .join(Wave, Wave.id == Response.wave_id).join(Campaign, Campaign.id == Wave.campaign_id)
        .where(Response.wave_id.in_(scope.wave_ids), Response.department.is_not(None))
        .group_by(Response.wave_id, Response.department, Campaign.min_group_size)
        .having(func.count() >= Campaign.min_group_size)
        .subquery("named_department")
    )
    label = case((Response.department.is_(None), None), (named.c.department.is_not(None), Response.department),
                 else_=literal(OTHER_DEPARTMENT))
    on = (named.c.wave_id == Response.wave_id) & (named.c.department == Response.department)
    return label, named, on


ANSWER_COLUMNS = [Column("wave"), Column("submitted"), Column("service_area"), Column("question_code"),
                  Column("question_text"), Column("value", "number"), Column("reasons", "list"), Column("comment"),
                  Column("sentiment_polarity", "number"), Column("sentiment_label"), Column("label_corrected"),
                  Column("department")]


def answers_query(scope: Scope, area_code: str | None = None) -> Select:
    """One row per answer with every cell but the reasons list computed by the database."""
    department, named, on = _department_in_sql(scope)
    corrected = case((Answer.label_override.is_not(None), literal("yes")),
                     (Answer.sentiment_label.is_not(None), literal("no")), else_=None)
    question_text = func.replace(Question.text, "{area}", func.coalesce(ServiceArea.name, literal("the service")))
    return (
        _answer_query(
            scope, area_code, Wave.label, _submitted_day(), ServiceArea.name, Question.code, question_text,
            func.coalesce(Answer.score, Answer.hours), Answer.reasons, Answer.text, Answer.sentiment_polarity,
            func.coalesce(Answer.label_override, Answer.sentiment_label), corrected, department,
        )
        .outerjoin(named, on)
        .order_by(Answer.id)
    )


def answers_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """Tidy: one row per answer; the rows go to the CSV writer as the database returns them."""
    return ExportTable(ANSWER_COLUMNS, _stream(answers_query(scope, area_code)),
                       f"vendorpulse-answers-{range_label(scope)}.csv")


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


def responses_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """Wide: one row per response, one column per area and question code."""
    wide = _wide_columns(scope, area_code)
    position = {(area, code): index for index, (_, area, code) in enumerate(wide)}
    columns = [Column("response"), Column("wave"), Column("submitted"), Column("department")]
    columns += [Column(name, "text") for name, _, _ in wide]
    department, named, on = _department_in_sql(scope)
    query = (
        _answer_query(scope, area_code, Answer.response_id, Wave.label, _submitted_day(), department,
                      ServiceArea.code, Question.code, Answer.score, Answer.hours, Answer.reasons, Answer.text)
        .outerjoin(named, on)
        .order_by(Answer.response_id, Answer.id)
    )

    def rows() -> Iterator[Sequence[Any]]:
        for response_id, answers in itertools.groupby(_stream(query), key=lambda row: row[0]):
            values: list[Any] = [None] * len(wide)
            head = None
            for row in answers:
                head = head or row
                slot = position.get((row[4], row[5]))
                if slot is None:
                    continue
                score, hours, reasons, text = row[6], row[7], row[8], row[9]
                values[slot] = score if score is not None else hours if hours is not None else \
                    _reasons(reasons) if reasons else text
            yield (str(response_id), head[1], head[2], head[3], *values)

    return ExportTable(columns, rows(), f"vendorpulse-responses-{range_label(scope)}.csv")


def _reportable_area_waves(scope: Scope) -> set[tuple[int, int]]:
    """(wave, area) pairs with at least the minimum number of satisfaction answers."""
    minimum = _min_group_sizes(scope)
    rows = db.session.execute(
        select(ScoreTally.wave_id, ScoreTally.area_key, func.sum(ScoreTally.answer_count))
        .where(ScoreTally.wave_id.in_(scope.wave_ids), ScoreTally.question_code == "satisfaction")
        .group_by(ScoreTally.wave_id, ScoreTally.area_key)
    ).all()
    return {(wave_id, area) for wave_id, area, count in rows if is_reportable(int(count), minimum[wave_id])}


def comments_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """Comments with their sentiment, drivers and the themes of their wave, area and label.

    Comments of a wave and area with fewer responses than the minimum group size are left out,
    as on the dashboard.
    """
    columns = [Column("wave"), Column("submitted", "date"), Column("service_area"), Column("question_code"),
               Column("comment"), Column("sentiment_polarity", "number"), Column("computed_label"),
               Column("label"), Column("label_corrected"), Column("drivers"), Column("themes"),
               Column("shareable")]
    allowed = _reportable_area_waves(scope)
    base = _answer_query(
        scope, area_code, Answer.wave_id, func.coalesce(Answer.service_area_id, 0), Wave.label, Response.submitted_at,
        ServiceArea.name, Question.code, Answer.text, Answer.sentiment_polarity, Answer.sentiment_label,
        func.coalesce(Answer.label_override, Answer.sentiment_label), Answer.label_override,
        Answer.sentiment_drivers, Answer.shareable,
    ).where(Answer.text.is_not(None)).order_by(Answer.wave_id, Answer.service_area_id, Answer.id)

    def rows() -> Iterator[Sequence[Any]]:
        for (wave_id, area_key), group in itertools.groupby(_stream(base), key=lambda row: (row[0], row[1])):
            if area_key and (wave_id, area_key) not in allowed:
                continue
            group = list(group)  # one wave and area: a few hundred comments at most
            top = {label: [phrase for phrase, _ in sentiment.themes([r[6] for r in group if r[9] == label], top_n=10)]
                   for label in sentiment.LABELS}
            for (_, _, label, submitted, area, code, text, polarity, computed, effective, override, drivers,
                 shareable) in group:
                lowered = text.lower()
                present = [phrase for phrase in top.get(effective or "neutral", []) if phrase in lowered]
                driver_text = "; ".join(f"{d['phrase']} ({d['contribution']:+.2f})" for d in (drivers or []))
                yield (label, submitted, area, code, text, polarity, computed, effective,
                       "yes" if override else "no", driver_text, "; ".join(present), "yes" if shareable else "no")

    return ExportTable(columns, rows(), f"vendorpulse-comments-{range_label(scope)}.csv")


def summary_table(scope: Scope, area_code: str | None = None) -> ExportTable:
    """One row per wave, area and metric, from the dashboard's own statistics (suppression applied)."""
    columns = [Column("wave"), Column("service_area_code"), Column("service_area"), Column("metric"),
               Column("n", "number"), Column("value", "number"), Column("ci95_low", "number"),
               Column("ci95_high", "number"), Column("target", "number"), Column("target_status"),
               Column("change_vs_previous", "number"), Column("p_value", "number"), Column("significant"),
               Column("test"), Column("share_negative_comments", "number"), Column("note")]
    note = suppression_note(scope.min_group_size)

    def rounded(value: float | None, digits: int = 3) -> float | None:
        return None if value is None else round(value, digits)

    def rows() -> Iterator[Sequence[Any]]:
        for row in reporting.summary_rows(scope):
            if area_code and row.area_code != area_code:
                continue
            if row.suppressed:
                yield (row.wave, row.area_code, row.area_name, row.metric, None, None, None, None, row.target,
                       "unknown", None, None, None, None, None, note)
                continue
            significant = None if row.significant is None else ("yes" if row.significant else "no")
            yield (row.wave, row.area_code, row.area_name, row.metric, row.n, rounded(row.value),
                   rounded(row.ci_low), rounded(row.ci_high), row.target, row.status, rounded(row.change),
                   rounded(row.p_value, 4), significant, row.test, rounded(row.share_negative), None)

    return ExportTable(columns, rows(), f"vendorpulse-summary-{range_label(scope)}.csv")


BUILDERS = {"answers": answers_table, "responses": responses_table, "comments": comments_table,
            "summary": summary_table}


def build_table(kind: str, scope: Scope, area_code: str | None = None) -> ExportTable:
    if kind not in BUILDERS:
        raise InvalidInput(f"Unknown export {kind!r}; choose one of {', '.join(BUILDERS)}.",
                           errors={"kind": ["unknown"]})
    return BUILDERS[kind](scope, check_area(scope, area_code))
