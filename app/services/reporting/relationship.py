"""The questions about the provider as a whole (partnership, proactivity, account management): per wave, each
rating's mean with its 95% interval and change since the wave before, read from the tallies (area key 0),
with the minimum group size and, under a department filter, the disclosure gate applied to each question."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select

from app.extensions import db
from app.models import Answer, Campaign, Question, SurveyDefinition
from app.services.disclosure import RELATIONSHIP, count_departments
from app.services.reporting.cache import cached, data_version
from app.services.reporting.scope import Scope, WaveRef
from app.services.reporting.scores import MetricCell, histograms
from app.services.stats import compare_happiness, compare_means, happiness_estimate, is_reportable, mean_estimate


@dataclass(frozen=True)
class ProviderQuestion:
    """A question asked once per survey about the provider as a whole; its code is stable across versions."""

    code: str
    kind: str  # "rating" (a mean) or "nps" (a happiness score); "comment" for the free text
    text: str
    scale: tuple[int, int]

    @property
    def title(self) -> str:
        return self.code.replace("_", " ").capitalize()

    @property
    def metric(self) -> str:
        # How the dashboard's cell macros format it: a mean, or a promoters-minus-detractors score.
        return "happiness" if self.kind == "nps" else "satisfaction"


@dataclass(frozen=True)
class ProviderRow:
    """One rating question in every wave of the scope (oldest first). Cells use the dashboard's `MetricCell`
    so a withheld or too-small figure looks the same as everywhere else; they carry no target."""

    question: ProviderQuestion
    cells: tuple[tuple[WaveRef, MetricCell], ...]

    @property
    def current(self) -> MetricCell | None:
        return self.cells[-1][1] if self.cells else None


@dataclass(frozen=True)
class RelationshipReport:
    scope: Scope
    rows: tuple[ProviderRow, ...]
    comment_questions: tuple[ProviderQuestion, ...]
    respondents: tuple[tuple[WaveRef, int], ...]  # who answered the provider-wide questions, per wave

    @property
    def has_questions(self) -> bool:
        return bool(self.rows or self.comment_questions)


def provider_questions(scope: Scope) -> tuple[ProviderQuestion, ...]:
    """The provider-wide questions of the campaign's survey, in the order asked (none for the pulse)."""
    rows = db.session.execute(
        select(Question.code, Question.kind, Question.text, Question.min_value, Question.max_value)
        .join(Campaign, Campaign.definition_id == Question.definition_id)
        .where(Campaign.id == scope.campaign_id, Question.scope == "relationship")
        .order_by(Question.position)
    ).all()
    return tuple(ProviderQuestion(code, kind, text, (low if low is not None else (0 if kind == "nps" else 1),
                                                     high if high is not None else (10 if kind == "nps" else 5)))
                 for code, kind, text, low, high in rows)


def has_provider_questions(scope: Scope) -> bool:
    """Does the campaign's survey ask anything about the provider as a whole (the overview links the page)?"""
    return bool(provider_questions(scope))


def provider_comment_question_ids(scope: Scope) -> tuple[int, ...]:
    """Ids of the provider-wide comment questions in every version of the campaign's survey."""
    code = select(SurveyDefinition.code).join(Campaign, Campaign.definition_id == SurveyDefinition.id) \
        .where(Campaign.id == scope.campaign_id).scalar_subquery()
    return tuple(db.session.scalars(
        select(Question.id).join(SurveyDefinition, SurveyDefinition.id == Question.definition_id)
        .where(SurveyDefinition.code == code, Question.scope == "relationship", Question.kind == "comment")
        .order_by(Question.id)))


def provider_respondents(wave_ids: list[int] | tuple[int, ...]) -> dict[int, int]:
    """Responses that answered anything about the provider as a whole, per wave (in anonymous campaigns that
    part is a response of its own, so this counts people either way)."""
    if not wave_ids:
        return {}
    rows = db.session.execute(
        select(Answer.wave_id, func.count(func.distinct(Answer.response_id)))
        .where(Answer.wave_id.in_(list(wave_ids)), Answer.service_area_id.is_(None))
        .group_by(Answer.wave_id))
    return {wave_id: int(n) for wave_id, n in rows}


def reportable_provider_waves(scope: Scope, wave_id: int | None = None) -> list[int]:
    """Waves of the scope whose provider-wide comments may be listed: at least k people answered that part."""
    waves = [wave_id] if wave_id is not None else list(scope.wave_ids)
    counts = provider_respondents(waves)
    return [w for w in waves if scope.reportable(counts.get(w, 0))]


def _estimate(question: ProviderQuestion, hist: dict[int, int]):
    return happiness_estimate(hist) if question.kind == "nps" else mean_estimate(hist, scale=question.scale)


def _cell(question: ProviderQuestion, hist: dict[int, int], previous: dict[int, int] | None, k: int,
          withheld: bool) -> MetricCell:
    n = sum(hist.values())
    metric = question.metric
    if withheld:
        return MetricCell(metric, n, k, None, None, None, withheld=True)
    if not is_reportable(n, k):
        return MetricCell(metric, n, k, None, None, None)
    estimate = _estimate(question, hist)
    change = None
    if previous is not None and is_reportable(sum(previous.values()), k):
        before = _estimate(question, previous)
        change = compare_happiness(before, estimate) if question.kind == "nps" else compare_means(before, estimate)
    return MetricCell(metric, n, k, estimate, change, None)


def relationship_report(scope: Scope) -> RelationshipReport:
    """Each provider-wide rating in every wave of the scope, compared with the wave before (the one before the
    range for the first). Under a department filter a cell is shown only where the disclosure gate shows
    that department for that question in that wave (complementary suppression, as for the areas)."""
    def compute() -> RelationshipReport:
        questions = provider_questions(scope)
        ratings = [q for q in questions if q.kind in ("rating", "nps")]
        comments = tuple(q for q in questions if q.kind == "comment")
        waves = scope.wave_ids_with_previous
        codes = [q.code for q in ratings]
        hists = histograms(waves, codes, scope.department, area_key=RELATIONSHIP)
        if scope.department and codes:
            gate = count_departments(k=scope.min_group_size, wave_ids=waves,
                                     metric_codes={code: code for code in codes}, question_measures={})

            def may_show(wave_id: int, code: str) -> bool:
                return gate.allows(wave_id, RELATIONSHIP, code, scope.department)
        else:
            def may_show(wave_id: int, code: str) -> bool:
                return True
        rows = []
        for question in ratings:
            cells, before = [], scope.previous_wave
            for wave in scope.waves:
                hist = hists.get((wave.id, RELATIONSHIP, question.code), {})
                previous = (hists.get((before.id, RELATIONSHIP, question.code), {})
                            if before is not None and may_show(before.id, question.code) else None)
                cells.append((wave, _cell(question, hist, previous, scope.min_group_size,
                                          withheld=not may_show(wave.id, question.code))))
                before = wave
            rows.append(ProviderRow(question, tuple(cells)))
        counts = provider_respondents(scope.wave_ids)
        return RelationshipReport(scope, tuple(rows), comments, tuple((w, counts.get(w.id, 0)) for w in scope.waves))

    return cached(("relationship", scope, data_version(scope.wave_ids_with_previous)), compute)
