"""Score tallies: per wave, question, area and department, how many answers gave each score.

Dashboards and exports read these few rows instead of scanning every answer. They are updated in
the transaction that stores a response, and can be rebuilt from the answers at any time.
"""
from __future__ import annotations

from collections import Counter

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.extensions import db
from app.models import Answer, Question, Response, ScoreTally

TallyKey = tuple[int, str, int, str, int]  # wave_id, question_code, area_key, department, score


def _upsert(dialect: str):
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = make_insert(ScoreTally.__table__)
    return statement.on_conflict_do_update(
        index_elements=["wave_id", "question_code", "area_key", "department", "score"],
        set_={"answer_count": ScoreTally.__table__.c.answer_count + statement.excluded.answer_count},
    )


# Built once per dialect: it runs with every submission.
_UPSERTS = {dialect: _upsert(dialect) for dialect in ("postgresql", "sqlite")}


def add_to_tallies(counts: Counter[TallyKey]) -> None:
    """Add counts atomically (INSERT ... ON CONFLICT DO UPDATE), safe under concurrent submissions."""
    if not counts:
        return
    connection = db.session.connection()
    rows = [
        {"wave_id": w, "question_code": q, "area_key": a, "department": d, "score": s, "answer_count": n}
        for (w, q, a, d, s), n in sorted(counts.items())  # a fixed order avoids deadlocks between writers
    ]
    connection.execute(_UPSERTS[connection.dialect.name], rows)


def tally_keys_for(response: Response) -> Counter[TallyKey]:
    """The tally increments one stored response contributes (its rating and nps answers)."""
    counts: Counter[TallyKey] = Counter()
    for answer in response.answers:
        if answer.score is None:
            continue
        counts[(response.wave_id, answer.question.code, answer.service_area_id or 0,
                response.department or "", answer.score)] += 1
    return counts


def rebuild_wave_tallies(wave_id: int) -> None:
    """Recompute one wave's tallies from its answers, in SQL. The caller commits."""
    db.session.execute(delete(ScoreTally).where(ScoreTally.wave_id == wave_id))
    area_key = func.coalesce(Answer.service_area_id, literal(0))
    department = func.coalesce(Response.department, literal(""))
    source = (
        select(Answer.wave_id, Question.code, area_key, department, Answer.score, func.count())
        .join(Question, Question.id == Answer.question_id)
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.wave_id == wave_id, Answer.score.is_not(None))
        .group_by(Answer.wave_id, Question.code, area_key, department, Answer.score)
    )
    db.session.execute(
        insert(ScoreTally).from_select(
            ["wave_id", "question_code", "area_key", "department", "score", "answer_count"], source
        )
    )
