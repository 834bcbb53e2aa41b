"""Which answers a report may read, as SQL pieces shared by the breakdowns and the comment list: the
scope's department, the wave and area groups large enough to show comments, a comment's label as shown."""
from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import and_, false, func, or_, select

from app.extensions import db
from app.models import Answer, Response, ScoreTally
from app.services.reporting.scope import Scope


def effective_label():
    """A comment's label as shown: a manager's correction wins over the computed one."""
    return func.coalesce(Answer.label_override, Answer.sentiment_label)


def answers_in_scope(query, scope: Scope):
    """Restrict an answer query to the scope's department (answers carry no department themselves)."""
    if scope.department:
        query = query.join(Response, Response.id == Answer.response_id).where(
            Response.department == scope.department)
    return query


def reportable_groups(scope: Scope, area_id: int | None = None,
                      wave_id: int | None = None) -> list[tuple[int, int]]:
    """(wave_id, area_id) pairs with enough responses (satisfaction answers) to show their comments."""
    if scope.satisfaction is None or not scope.waves:
        return []
    waves = [wave_id] if wave_id is not None else list(scope.wave_ids)
    query = (
        select(ScoreTally.wave_id, ScoreTally.area_key, func.sum(ScoreTally.answer_count))
        .where(ScoreTally.wave_id.in_(waves), ScoreTally.question_code == scope.satisfaction.code,
               ScoreTally.area_key.in_([a.id for a in scope.areas]))
        .group_by(ScoreTally.wave_id, ScoreTally.area_key)
    )
    if scope.department:
        query = query.where(ScoreTally.department == scope.department)
    if area_id is not None:
        query = query.where(ScoreTally.area_key == area_id)
    return [(w, a) for w, a, n in db.session.execute(query) if scope.reportable(int(n or 0))]


def in_groups(groups: Sequence[tuple[int, int]]):
    """A condition on `answer` that holds for the given (wave_id, area_id) groups only (none when empty)."""
    if not groups:
        return false()
    by_wave: dict[int, list[int]] = {}
    for wave_id, area_id in groups:
        by_wave.setdefault(wave_id, []).append(area_id)
    return or_(*[and_(Answer.wave_id == w, Answer.service_area_id.in_(areas)) for w, areas in by_wave.items()])
