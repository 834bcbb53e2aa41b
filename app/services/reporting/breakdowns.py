"""Breakdowns grouped in SQL over `answer` and `invitation`: response rates, comment sentiment, time lost,
the most chosen reasons, each suppressed below the minimum group size."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, func, literal, or_, select

from app.extensions import db, is_postgres
from app.models import Answer, Invitation, Stakeholder
from app.models.response import SENTIMENT_LABELS
from app.services.reporting.answers import answers_in_scope, effective_label
from app.services.reporting.cache import cached_by_wave
from app.services.reporting.departments import department_counts, department_gate
from app.services.reporting.scope import Scope, WaveRef
from app.services.stats import is_reportable


@dataclass(frozen=True)
class ResponseRate:
    wave: WaveRef
    invited: int
    responded: int
    min_group_size: int
    withheld: bool = False

    @property
    def suppressed(self) -> bool:
        return self.withheld or not is_reportable(self.responded, self.min_group_size)

    @property
    def rate(self) -> float | None:
        if self.suppressed or not self.invited:
            return None
        return self.responded / self.invited


def response_rates(scope: Scope) -> dict[int, ResponseRate]:
    """Invitations sent and answered per wave (by department when filtered), counted in one grouped query
    for the waves whose counts are not kept: a closed wave's are kept under its own version."""
    if not scope.waves:
        return {}

    def count(missing: list[int]) -> dict[int, tuple[int, int]]:
        # A bounced invitation never reached anyone: it leaves the denominator, unless it was answered anyway.
        sent = and_(or_(Invitation.sent_at.is_not(None), Invitation.state == "sent"),
                    or_(Invitation.bounced_at.is_(None), Invitation.responded_at.is_not(None)))
        query = (
            select(Invitation.wave_id,
                   func.sum(case((sent, 1), else_=0)),
                   func.count(Invitation.responded_at))
            .where(Invitation.wave_id.in_(missing))
            .group_by(Invitation.wave_id)
        )
        if scope.department:
            query = query.join(Stakeholder, Stakeholder.id == Invitation.stakeholder_id).where(
                Stakeholder.department == scope.department)
        return {wave_id: (int(invited or 0), int(responded or 0))
                for wave_id, invited, responded in db.session.execute(query)}

    counts = cached_by_wave(("response-rates", scope.department), scope.wave_ids, count)
    gate = department_counts(scope, answers=False) if scope.department else None

    def withheld(wave_id: int) -> bool:
        # A department's participation shows only in waves where its figures do.
        return gate is not None and scope.department not in gate.listable([wave_id])

    return {
        w.id: ResponseRate(w, *(counts.get(w.id) or (0, 0)), scope.min_group_size, withheld=withheld(w.id))
        for w in scope.waves
    }


@dataclass(frozen=True)
class SentimentMix:
    """Comment labels as shown (a manager's correction wins). Counts are zero when suppressed."""

    comments: int
    positive: int
    neutral: int
    negative: int
    mean_polarity: float | None
    min_group_size: int
    withheld: bool = False

    @property
    def suppressed(self) -> bool:
        return self.withheld or not is_reportable(self.comments, self.min_group_size)

    def share(self, label: str) -> float | None:
        if self.suppressed:
            return None
        return getattr(self, label) / self.comments

    @property
    def share_negative(self) -> float | None:
        return self.share("negative")


def sentiment_mix(scope: Scope, wave_ids: Sequence[int],
                  area_id: int | None = None) -> dict[tuple[int, int], SentimentMix]:
    """(wave_id, area_id) -> SentimentMix for area comments, grouped in SQL."""
    if not wave_ids or not scope.comment_question_ids:
        return {}

    def count(missing: list[int]) -> dict[int, list[tuple]]:
        label = effective_label()
        query = (
            select(Answer.wave_id, Answer.service_area_id, func.count(),
                   *[func.sum(case((label == value, 1), else_=0)) for value in SENTIMENT_LABELS],
                   func.avg(Answer.sentiment_polarity))
            .where(Answer.wave_id.in_(missing), Answer.question_id.in_(scope.comment_question_ids),
                   Answer.text.is_not(None), Answer.text != "")
            .group_by(Answer.wave_id, Answer.service_area_id)
        )
        if area_id is not None:
            query = query.where(Answer.service_area_id == area_id)
        by_wave: dict[int, list[tuple]] = {}
        for wave_id, *row in db.session.execute(answers_in_scope(query, scope)):
            by_wave.setdefault(wave_id, []).append(tuple(row))
        return by_wave

    rows = cached_by_wave(("sentiment-mix", scope.comment_question_ids, scope.department, area_id),
                          list(wave_ids), count)
    result = {}
    may_show = department_gate(scope)
    for wave_id in wave_ids:
        for area, comments, positive, neutral, negative, polarity in rows.get(wave_id) or ():
            if not may_show(wave_id, area, "comments"):
                mix = SentimentMix(int(comments), 0, 0, 0, None, scope.min_group_size, withheld=True)
            elif scope.reportable(comments):
                mix = SentimentMix(int(comments), int(positive or 0), int(neutral or 0), int(negative or 0),
                                   None if polarity is None else float(polarity), scope.min_group_size)
            else:
                mix = SentimentMix(int(comments), 0, 0, 0, None, scope.min_group_size)
            result[(wave_id, area)] = mix
    return result


@dataclass(frozen=True)
class TimeLost:
    """Mean working hours lost per respondent who answered the question; None when suppressed."""

    wave: WaveRef
    n: int
    mean_hours: float | None
    min_group_size: int
    withheld: bool = False

    @property
    def suppressed(self) -> bool:
        return self.withheld or not is_reportable(self.n, self.min_group_size)


def time_lost(scope: Scope, area_id: int) -> list[TimeLost]:
    """Mean hours lost in the area, per wave of the scope, from the hours questions."""
    if not scope.waves:
        return []
    by_wave: dict[int, tuple[int, float | None] | None] = {}
    if scope.hours_question_ids:
        def count(missing: list[int]) -> dict[int, tuple[int, float | None]]:
            query = (
                select(Answer.wave_id, func.count(Answer.hours), func.avg(Answer.hours))
                .where(Answer.wave_id.in_(missing), Answer.question_id.in_(scope.hours_question_ids),
                       Answer.service_area_id == area_id, Answer.hours.is_not(None))
                .group_by(Answer.wave_id)
            )
            return {w: (int(n), avg) for w, n, avg in db.session.execute(answers_in_scope(query, scope))}

        by_wave = cached_by_wave(("time-lost", scope.hours_question_ids, scope.department, area_id),
                                 scope.wave_ids, count)
    result = []
    may_show = department_gate(scope)
    for wave in scope.waves:
        n, avg = by_wave.get(wave.id) or (0, None)
        allowed = may_show(wave.id, area_id, "hours")
        result.append(TimeLost(wave, n, float(avg) if avg is not None and allowed and scope.reportable(n) else None,
                               scope.min_group_size, withheld=not allowed))
    return result


@dataclass(frozen=True)
class ReasonCount:
    code: str
    label: str
    polarity: str  # "good" or "bad"
    count: int
    share: float  # of the people who picked at least one reason


@dataclass(frozen=True)
class Reasons:
    wave: WaveRef | None
    respondents: int
    items: tuple[ReasonCount, ...]
    min_group_size: int
    withheld: bool = False

    @property
    def suppressed(self) -> bool:
        return self.withheld or not is_reportable(self.respondents, self.min_group_size)


def _reason_elements():
    """A table-valued function over the JSON array in `answer.reasons`, per dialect."""
    if is_postgres():
        return func.json_array_elements_text(Answer.reasons).table_valued("value").alias("reason")
    return func.json_each(Answer.reasons).table_valued("value").alias("reason")


def top_reasons(scope: Scope, area_id: int, wave: WaveRef | None = None, limit: int = 8) -> Reasons:
    """The most chosen reasons in one wave (the scope's current wave by default), counted in SQL."""
    wave = wave or scope.current_wave
    if wave is None or not scope.reasons_question_ids:
        return Reasons(wave, 0, (), scope.min_group_size)
    base = (Answer.wave_id == wave.id, Answer.question_id.in_(scope.reasons_question_ids),
            Answer.service_area_id == area_id, Answer.reasons.is_not(None))
    respondents = db.session.scalar(answers_in_scope(select(func.count()).select_from(Answer).where(*base), scope))
    respondents = int(respondents or 0)
    if not department_gate(scope)(wave.id, area_id, "reasons"):
        return Reasons(wave, respondents, (), scope.min_group_size, withheld=True)
    if not scope.reportable(respondents):
        return Reasons(wave, respondents, (), scope.min_group_size)
    element = _reason_elements()
    query = (
        select(element.c.value, func.count())
        .select_from(Answer)
        .join(element, literal(True))
        .where(*base)
        .group_by(element.c.value)
        .order_by(func.count().desc(), element.c.value)
        .limit(limit)
    )
    labels = {code: (label, polarity) for code, label, polarity in scope.reason_labels}
    items = []
    for code, count in db.session.execute(answers_in_scope(query, scope)):
        label, polarity = labels.get(code, (str(code).replace("_", " ").capitalize(), "bad"))
        items.append(ReasonCount(str(code), label, polarity, int(count), int(count) / respondents))
    return Reasons(wave, respondents, tuple(items), scope.min_group_size)
