"""Reporting: per wave and service area figures for the dashboard, the scorecard and the exports.

Scores come from `ScoreTally` (a few hundred rows whatever the number of responses); comments,
sentiment, reasons and time lost are grouped in SQL over `answer`. The minimum group size is applied
here, through `stats.is_reportable`, so a suppressed figure never reaches a template, chart or file.
Nothing here knows about HTTP: callers pass plain arguments and get frozen dataclasses back.
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal, TypeVar

from sqlalchemy import and_, case, event, false, func, literal, or_, select
from sqlalchemy.orm import Session

from app.errors import NotFound
from app.extensions import db
from app.models import (
    Answer,
    Campaign,
    Invitation,
    Provider,
    Question,
    Response,
    ScoreTally,
    Stakeholder,
    SurveyDefinition,
    Wave,
)
from app.models.response import SENTIMENT_LABELS
from app.services import sentiment as sentiment_service
from app.services.disclosure import OTHER_DEPARTMENTS, DepartmentCounts, count_departments, mask_personal_details
from app.services.stats import (
    Change,
    HappinessEstimate,
    MeanEstimate,
    compare_happiness,
    compare_means,
    distance_to_target,
    distribution_shares,
    happiness_estimate,
    happiness_groups,
    is_reportable,
    mean_estimate,
    suppression_label,
    suppression_note,
    target_status,
)

Metric = Literal["satisfaction", "happiness"]
METRICS: tuple[Metric, ...] = ("satisfaction", "happiness")
DEFAULT_WAVE_COUNT = 8
THEME_SAMPLE = 1000  # themes read the most recent comments only, so their cost does not grow with the data

T = TypeVar("T")


# --------------------------------------------------------------------------------------------
# Scope: which campaign, waves, areas and department a report covers
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class WaveRef:
    id: int
    label: str
    state: str


@dataclass(frozen=True)
class AreaRef:
    id: int
    code: str
    name: str
    target_satisfaction: float | None
    target_happiness: float | None

    def target(self, metric: Metric) -> float | None:
        return self.target_satisfaction if metric == "satisfaction" else self.target_happiness


@dataclass(frozen=True)
class MetricQuestion:
    """The question a metric is read from; its code is stable across survey versions."""

    metric: Metric
    code: str
    scale: tuple[int, int]
    scale_labels: tuple[str, ...]


@dataclass(frozen=True)
class CampaignOption:
    id: int
    name: str
    provider_id: int
    provider_name: str


@dataclass(frozen=True)
class Scope:
    """What a report covers. Hashable, so results can be cached by scope and data version."""

    campaign_id: int
    campaign_name: str
    provider_id: int
    provider_name: str
    min_group_size: int
    anonymous: bool
    waves: tuple[WaveRef, ...]  # the selected range, oldest first
    previous_wave: WaveRef | None  # the wave before the range, for the first change
    all_waves: tuple[WaveRef, ...]
    areas: tuple[AreaRef, ...]
    department: str | None
    satisfaction: MetricQuestion | None
    happiness: MetricQuestion | None
    comment_question_ids: tuple[int, ...]
    hours_question_ids: tuple[int, ...]
    reasons_question_ids: tuple[int, ...]
    reason_labels: tuple[tuple[str, str, str], ...]  # (code, label, "good" | "bad")

    @property
    def wave_ids(self) -> tuple[int, ...]:
        return tuple(w.id for w in self.waves)

    @property
    def current_wave(self) -> WaveRef | None:
        return self.waves[-1] if self.waves else None

    @property
    def suppression_note(self) -> str:
        return suppression_note(self.min_group_size)

    @property
    def suppression_label(self) -> str:
        return suppression_label(self.min_group_size)

    def area(self, area_id: int) -> AreaRef:
        for area in self.areas:
            if area.id == area_id:
                return area
        raise NotFound("That service area is not part of this campaign.")

    def metric_question(self, metric: Metric) -> MetricQuestion | None:
        return self.satisfaction if metric == "satisfaction" else self.happiness

    def reportable(self, n: int) -> bool:
        return is_reportable(n, self.min_group_size)


def campaign_options(provider_id: int | None = None) -> list[CampaignOption]:
    """Campaigns a report can be built for, newest provider name first; limited to one provider if given."""
    query = (
        select(Campaign.id, Campaign.name, Provider.id, Provider.name)
        .join(Provider, Provider.id == Campaign.provider_id)
        .order_by(Provider.name, Campaign.name)
    )
    if provider_id is not None:
        query = query.where(Campaign.provider_id == provider_id)
    return [CampaignOption(*row) for row in db.session.execute(query)]


def departments(scope: Scope) -> list[str]:
    """Departments the filter form may offer: those shown by the disclosure rule in at least one wave and
    area of the scope. A department too small to report is not listed, so the list itself does not say
    that it answered."""
    if not scope.waves:
        return []
    return department_counts(scope).listable(scope.wave_ids)


def department_counts(scope: Scope) -> DepartmentCounts:
    """Contributors per wave, area, measure and department in the scope's waves (and the one before),
    whatever department the scope is filtered to: the disclosure gate's input."""
    waves = _version_waves(scope)
    metric_codes = {q.metric: q.code for q in (scope.satisfaction, scope.happiness) if q is not None}
    measures = {**{i: "comments" for i in scope.comment_question_ids},
                **{i: "hours" for i in scope.hours_question_ids},
                **{i: "reasons" for i in scope.reasons_question_ids}}

    def compute() -> DepartmentCounts:
        return count_departments(k=scope.min_group_size, wave_ids=waves, metric_codes=metric_codes,
                                 question_measures=measures)

    return _cached(("department-counts", scope.campaign_id, tuple(waves), scope.min_group_size,
                    data_version(waves)), compute)


def _allowed(scope: Scope, wave_id: int, area_key: int, measure: str) -> bool:
    """The disclosure gate for a department-filtered cell (unfiltered cells only need their own n)."""
    if not scope.department:
        return True
    return department_counts(scope).allows(wave_id, area_key, measure, scope.department)


def _metric_question(questions: Sequence[Question], metric: Metric) -> MetricQuestion | None:
    for question in questions:
        if (question.options or {}).get("metric") == metric:
            low = question.min_value if question.min_value is not None else (0 if metric == "happiness" else 1)
            high = question.max_value if question.max_value is not None else (10 if metric == "happiness" else 5)
            options = question.options or {}
            labels = [str(v) for v in range(low, high + 1)]
            if options.get("min_label"):
                labels[0] = f"{low} {options['min_label']}"
            if options.get("max_label"):
                labels[-1] = f"{high} {options['max_label']}"
            return MetricQuestion(metric, question.code, (low, high), tuple(labels))
    return None


def resolve_scope(
    *,
    provider_id: int | None = None,
    campaign_id: int | None = None,
    first_wave_id: int | None = None,
    last_wave_id: int | None = None,
    department: str | None = None,
    wave_count: int = DEFAULT_WAVE_COUNT,
) -> Scope | None:
    """The report scope for these filters, or None when there is no campaign to report on.

    `provider_id` restricts everything to one provider (a provider user's own account); a
    `campaign_id` of another provider is then ignored rather than shown. Without a wave range the
    last `wave_count` waves that have opened are used.
    """
    options = campaign_options(provider_id)
    if not options:
        return None
    chosen = next((o for o in options if o.id == campaign_id), None)
    campaign = db.session.get(Campaign, chosen.id if chosen else _busiest_campaign([o.id for o in options]))
    wave_rows = db.session.execute(
        select(Wave.id, Wave.label, Wave.state)
        .where(Wave.campaign_id == campaign.id, Wave.state != "scheduled")
        .order_by(Wave.opens_at, Wave.id)
    ).all()
    all_waves = tuple(WaveRef(*row) for row in wave_rows)
    ids = [w.id for w in all_waves]
    last = ids.index(last_wave_id) if last_wave_id in ids else len(ids) - 1
    first = ids.index(first_wave_id) if first_wave_id in ids else max(0, last - wave_count + 1)
    if first > last:
        first, last = last, first
    selected = all_waves[first:last + 1] if all_waves else ()
    previous = all_waves[first - 1] if all_waves and first > 0 else None

    questions = list(db.session.scalars(
        select(Question)
        .join(SurveyDefinition, SurveyDefinition.id == Question.definition_id)
        .where(SurveyDefinition.code == campaign.definition.code)
        .order_by(SurveyDefinition.version.desc(), Question.position)
    ))
    current = [q for q in questions if q.definition_id == campaign.definition_id]
    reason_labels: dict[str, tuple[str, str, str]] = {}
    for question in questions:
        if question.kind == "reasons" and question.scope == "area":
            for polarity in ("good", "bad"):
                for reason in (question.options or {}).get(polarity, []):
                    reason_labels.setdefault(reason["code"], (reason["code"], reason["label"], polarity))

    def ids_of(kind: str) -> tuple[int, ...]:
        return tuple(sorted(q.id for q in questions if q.kind == kind and q.scope == "area"))

    areas = tuple(
        AreaRef(a.id, a.code, a.name, a.target_satisfaction, a.target_happiness) for a in campaign.service_areas
    )
    return Scope(
        campaign_id=campaign.id,
        campaign_name=campaign.name,
        provider_id=campaign.provider_id,
        provider_name=campaign.provider.name,
        min_group_size=campaign.min_group_size or 5,
        anonymous=campaign.anonymous,
        waves=tuple(selected),
        previous_wave=previous,
        all_waves=all_waves,
        areas=areas,
        department=department or None,
        satisfaction=_metric_question(current, "satisfaction"),
        happiness=_metric_question(current, "happiness"),
        comment_question_ids=ids_of("comment"),
        hours_question_ids=ids_of("hours"),
        reasons_question_ids=ids_of("reasons"),
        reason_labels=tuple(reason_labels.values()),
    )


def _busiest_campaign(campaign_ids: list[int]) -> int:
    """Default campaign: the one whose latest wave opened last (active work beats old history)."""
    latest = db.session.execute(
        select(Wave.campaign_id, func.max(Wave.opens_at))
        .where(Wave.campaign_id.in_(campaign_ids), Wave.state != "scheduled")
        .group_by(Wave.campaign_id)
        .order_by(func.max(Wave.opens_at).desc())
        .limit(1)
    ).first()
    return latest[0] if latest else campaign_ids[0]


# --------------------------------------------------------------------------------------------
# A small cache keyed by scope and data version
# --------------------------------------------------------------------------------------------

CACHE_SECONDS = 60.0
_CACHE_SIZE = 256
_cache: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached report (any write through this process's session does this too)."""
    with _cache_lock:
        _cache.clear()


def data_version(wave_ids: Iterable[int]) -> tuple[int, int]:
    """Changes whenever a response is stored in one of these waves: (tally rows, answers tallied)."""
    ids = list(wave_ids)
    if not ids:
        return (0, 0)
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(ScoreTally.answer_count), 0)).where(ScoreTally.wave_id.in_(ids))
    ).one()
    return (int(row[0]), int(row[1]))


def _cached(key: tuple, compute: Callable[[], T]) -> T:
    """`compute()` once per key for CACHE_SECONDS. Keys carry the data version, so new responses
    show at once in every process; label corrections and edits show at once in the process that
    made them and within CACHE_SECONDS elsewhere."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            _cache.move_to_end(key)
            return hit[1]  # type: ignore[return-value]
    value = compute()
    with _cache_lock:
        _cache[key] = (now + CACHE_SECONDS, value)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


@event.listens_for(Session, "after_flush")
def _forget_on_flush(session, _context) -> None:
    if session.new or session.dirty or session.deleted:
        clear_cache()


@event.listens_for(Session, "do_orm_execute")
def _forget_on_write(state) -> None:
    if not state.is_select:
        clear_cache()


# --------------------------------------------------------------------------------------------
# Scores from the tallies
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class MetricCell:
    """One metric for one group. `estimate` and `change` are None whenever the group is too small."""

    metric: Metric
    n: int
    min_group_size: int
    estimate: MeanEstimate | HappinessEstimate | None
    change: Change | None
    target: float | None
    withheld: bool = False  # by complementary suppression: the department's figure would give others away

    @property
    def suppressed(self) -> bool:
        return self.withheld or not is_reportable(self.n, self.min_group_size)

    @property
    def empty(self) -> bool:
        return self.n == 0

    @property
    def value(self) -> float | None:
        if self.estimate is None:
            return None
        return self.estimate.mean if isinstance(self.estimate, MeanEstimate) else self.estimate.score

    @property
    def ci(self) -> tuple[float, float] | None:
        return None if self.estimate is None else (self.estimate.ci_low, self.estimate.ci_high)

    @property
    def status(self) -> str:
        return target_status(self.value, self.target)

    def distance(self, scale: tuple[int, int]) -> float | None:
        return distance_to_target(self.value, self.target, scale[1] - scale[0])


@dataclass(frozen=True)
class AreaWave:
    """Scores of one service area in one wave; distributions are None when suppressed."""

    area_id: int
    wave: WaveRef
    satisfaction: MetricCell
    happiness: MetricCell
    satisfaction_shares: tuple[float, ...] | None
    happiness_group_shares: tuple[float, float, float] | None

    @property
    def responses(self) -> int:
        return self.satisfaction.n

    def metric(self, metric: Metric) -> MetricCell:
        return self.satisfaction if metric == "satisfaction" else self.happiness


Histograms = dict[tuple[int, int, str], dict[int, int]]  # (wave_id, area_key, question_code) -> score -> count


def _histograms(wave_ids: Sequence[int], codes: Sequence[str], department: str | None,
                area_key: int | None = None) -> Histograms:
    if not wave_ids or not codes:
        return {}
    query = (
        select(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.question_code, ScoreTally.score,
               func.sum(ScoreTally.answer_count))
        .where(ScoreTally.wave_id.in_(list(wave_ids)), ScoreTally.question_code.in_(list(codes)))
        .group_by(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.question_code, ScoreTally.score)
    )
    if department:
        query = query.where(ScoreTally.department == department)
    if area_key is not None:
        query = query.where(ScoreTally.area_key == area_key)
    hists: Histograms = {}
    for wave_id, key, code, score, count in db.session.execute(query):
        if count:
            hists.setdefault((wave_id, key, code), {})[int(score)] = int(count)
    return hists


def _estimate(metric: Metric, hist: dict[int, int], scale: tuple[int, int]):
    if metric == "satisfaction":
        return mean_estimate(hist, scale=scale)
    return happiness_estimate(hist)


def _cell(metric: Metric, question: MetricQuestion | None, hist: dict[int, int], previous: dict[int, int] | None,
          target: float | None, min_group_size: int, *, withheld: bool = False) -> MetricCell:
    n = sum(hist.values())
    if withheld:
        return MetricCell(metric, n, min_group_size, None, None, target, withheld=True)
    if question is None or not is_reportable(n, min_group_size):
        return MetricCell(metric, n, min_group_size, None, None, target)
    estimate = _estimate(metric, hist, question.scale)
    change = None
    if previous is not None and is_reportable(sum(previous.values()), min_group_size):
        before = _estimate(metric, previous, question.scale)
        change = compare_means(before, estimate) if metric == "satisfaction" else compare_happiness(before, estimate)
    return MetricCell(metric, n, min_group_size, estimate, change, target)


def _area_waves(scope: Scope, hists: Histograms, area: AreaRef, waves: Sequence[WaveRef],
                previous: WaveRef | None) -> list[AreaWave]:
    result = []
    sat_code = scope.satisfaction.code if scope.satisfaction else ""
    hap_code = scope.happiness.code if scope.happiness else ""
    before = previous
    for wave in waves:
        sat = hists.get((wave.id, area.id, sat_code), {})
        hap = hists.get((wave.id, area.id, hap_code), {})
        sat_prev = hists.get((before.id, area.id, sat_code), {}) \
            if before and _allowed(scope, before.id, area.id, "satisfaction") else None
        hap_prev = hists.get((before.id, area.id, hap_code), {}) \
            if before and _allowed(scope, before.id, area.id, "happiness") else None
        sat_cell = _cell("satisfaction", scope.satisfaction, sat, sat_prev, area.target_satisfaction,
                         scope.min_group_size, withheld=not _allowed(scope, wave.id, area.id, "satisfaction"))
        hap_cell = _cell("happiness", scope.happiness, hap, hap_prev, area.target_happiness, scope.min_group_size,
                         withheld=not _allowed(scope, wave.id, area.id, "happiness"))
        shares = None
        if sat_cell.estimate is not None and scope.satisfaction is not None:
            low, high = scope.satisfaction.scale
            shares = tuple(distribution_shares(sat, range(low, high + 1)))
        groups = tuple(count / hap_cell.n for count in happiness_groups(hap)) if hap_cell.estimate is not None \
            else None
        result.append(AreaWave(area.id, wave, sat_cell, hap_cell, shares, groups))
        before = wave
    return result


def _metric_codes(scope: Scope) -> list[str]:
    return [q.code for q in (scope.satisfaction, scope.happiness) if q is not None]


def area_wave_table(scope: Scope) -> dict[int, list[AreaWave]]:
    """For each service area, its scores in every wave of the scope (oldest first), from one query."""
    waves = ([scope.previous_wave] if scope.previous_wave else []) + list(scope.waves)
    hists = _histograms([w.id for w in waves], _metric_codes(scope), scope.department)
    return {area.id: _area_waves(scope, hists, area, scope.waves, scope.previous_wave) for area in scope.areas}


# --------------------------------------------------------------------------------------------
# Response rates, sentiment, time lost, reasons, themes: grouped over answers in SQL
# --------------------------------------------------------------------------------------------

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
    """Invitations sent and answered per wave, in one grouped query (by department when filtered)."""
    if not scope.waves:
        return {}
    sent = or_(Invitation.sent_at.is_not(None), Invitation.state == "sent")
    query = (
        select(Invitation.wave_id,
               func.sum(case((sent, 1), else_=0)),
               func.count(Invitation.responded_at))
        .where(Invitation.wave_id.in_(scope.wave_ids))
        .group_by(Invitation.wave_id)
    )
    if scope.department:
        query = query.join(Stakeholder, Stakeholder.id == Invitation.stakeholder_id).where(
            Stakeholder.department == scope.department)
    counts = {wave_id: (int(invited or 0), int(responded or 0)) for wave_id, invited, responded in db.session.execute(query)}
    gate = department_counts(scope) if scope.department else None

    def withheld(wave_id: int) -> bool:
        # A department's participation shows only in waves where its figures do.
        return gate is not None and scope.department not in gate.listable([wave_id])

    return {
        w.id: ResponseRate(w, *counts.get(w.id, (0, 0)), scope.min_group_size, withheld=withheld(w.id))
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


def effective_label():
    return func.coalesce(Answer.label_override, Answer.sentiment_label)


def answers_in_scope(query, scope: Scope):
    """Restrict an answer query to the scope's department (answers carry no department themselves)."""
    if scope.department:
        query = query.join(Response, Response.id == Answer.response_id).where(Response.department == scope.department)
    return query


def sentiment_mix(scope: Scope, wave_ids: Sequence[int], area_id: int | None = None) -> dict[tuple[int, int], SentimentMix]:
    """(wave_id, area_id) -> SentimentMix for area comments, grouped in SQL."""
    if not wave_ids or not scope.comment_question_ids:
        return {}
    label = effective_label()
    query = (
        select(Answer.wave_id, Answer.service_area_id, func.count(),
               *[func.sum(case((label == value, 1), else_=0)) for value in SENTIMENT_LABELS],
               func.avg(Answer.sentiment_polarity))
        .where(Answer.wave_id.in_(list(wave_ids)), Answer.question_id.in_(scope.comment_question_ids),
               Answer.text.is_not(None), Answer.text != "")
        .group_by(Answer.wave_id, Answer.service_area_id)
    )
    if area_id is not None:
        query = query.where(Answer.service_area_id == area_id)
    result = {}
    for wave_id, area, count, positive, neutral, negative, polarity in db.session.execute(answers_in_scope(query, scope)):
        if not _allowed(scope, wave_id, area, "comments"):
            mix = SentimentMix(int(count), 0, 0, 0, None, scope.min_group_size, withheld=True)
        elif scope.reportable(count):
            mix = SentimentMix(int(count), int(positive or 0), int(neutral or 0), int(negative or 0),
                               None if polarity is None else float(polarity), scope.min_group_size)
        else:
            mix = SentimentMix(int(count), 0, 0, 0, None, scope.min_group_size)
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
    if not scope.waves:
        return []
    by_wave: dict[int, tuple[int, float | None]] = {}
    if scope.hours_question_ids:
        query = (
            select(Answer.wave_id, func.count(Answer.hours), func.avg(Answer.hours))
            .where(Answer.wave_id.in_(scope.wave_ids), Answer.question_id.in_(scope.hours_question_ids),
                   Answer.service_area_id == area_id, Answer.hours.is_not(None))
            .group_by(Answer.wave_id)
        )
        by_wave = {w: (int(n), avg) for w, n, avg in db.session.execute(answers_in_scope(query, scope))}
    result = []
    for wave in scope.waves:
        n, avg = by_wave.get(wave.id, (0, None))
        allowed = _allowed(scope, wave.id, area_id, "hours")
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
    if db.session.get_bind().dialect.name == "postgresql":
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
    if not _allowed(scope, wave.id, area_id, "reasons"):
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


def reportable_groups(scope: Scope, area_id: int | None = None, wave_id: int | None = None) -> list[tuple[int, int]]:
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
    if not groups:
        return false()
    by_wave: dict[int, list[int]] = {}
    for wave_id, area_id in groups:
        by_wave.setdefault(wave_id, []).append(area_id)
    return or_(*[and_(Answer.wave_id == w, Answer.service_area_id.in_(areas)) for w, areas in by_wave.items()])


def themes(scope: Scope, area_id: int, wave: WaveRef | None = None, top_n: int = 10, *,
           shared_only: bool = False) -> list[tuple[str, int]]:
    """Recurring words and phrases in the area's comments of one wave (most recent THEME_SAMPLE).

    None under a department filter: like the comments themselves, wording tied to a department could
    point at its writer. `shared_only` (the provider's copy) reads only the comments a manager marked
    shareable, with email addresses and phone numbers masked.
    """
    wave = wave or scope.current_wave
    if wave is None or not scope.comment_question_ids or scope.department:
        return []
    groups = reportable_groups(scope, area_id, wave.id)
    query = (
        select(Answer.text)
        .where(in_groups(groups), Answer.question_id.in_(scope.comment_question_ids), Answer.text.is_not(None))
        .order_by(Answer.id.desc())
        .limit(THEME_SAMPLE)
    )
    if shared_only:
        query = query.where(Answer.shareable.is_(True))
    texts = list(db.session.scalars(query))
    if shared_only:
        texts = [mask_personal_details(text) for text in texts]
    elif not scope.reportable(len(texts)):
        return []
    return sentiment_service.themes(texts, top_n=top_n)


# --------------------------------------------------------------------------------------------
# Department breakdown
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class DepartmentRow:
    department: str
    satisfaction: MetricCell
    happiness: MetricCell
    merged: int = 0  # how many withheld departments this row combines


def department_breakdown(scope: Scope, area_id: int, wave: WaveRef | None = None) -> list[DepartmentRow]:
    """Scores by department in one wave, as the disclosure gate allows: a department has its own row only
    when it is shown for both metrics; every other department is combined into one row, itself
    suppressed while it holds fewer than the minimum."""
    wave = wave or scope.current_wave
    codes = _metric_codes(scope)
    if wave is None or not codes:
        return []
    area = scope.area(area_id)
    query = (
        select(ScoreTally.department, ScoreTally.question_code, ScoreTally.score, func.sum(ScoreTally.answer_count))
        .where(ScoreTally.wave_id == wave.id, ScoreTally.area_key == area_id, ScoreTally.question_code.in_(codes))
        .group_by(ScoreTally.department, ScoreTally.question_code, ScoreTally.score)
    )
    hists: dict[str, dict[str, dict[int, int]]] = {}
    for department, code, score, count in db.session.execute(query):
        if count:
            hists.setdefault(department or "", {}).setdefault(code, {})[int(score)] = int(count)
    sat_code = scope.satisfaction.code if scope.satisfaction else ""
    hap_code = scope.happiness.code if scope.happiness else ""
    gate = department_counts(scope)
    shown = set(hists)
    for metric, question in (("satisfaction", scope.satisfaction), ("happiness", scope.happiness)):
        if question is not None:
            shown &= gate.shown(wave.id, area_id, metric)

    def row(name: str, by_code: dict[str, dict[int, int]], merged: int = 0) -> DepartmentRow:
        return DepartmentRow(
            name,
            _cell("satisfaction", scope.satisfaction, by_code.get(sat_code, {}), None, area.target_satisfaction,
                  scope.min_group_size),
            _cell("happiness", scope.happiness, by_code.get(hap_code, {}), None, area.target_happiness,
                  scope.min_group_size),
            merged,
        )

    rows = [row(name or "(not recorded)", hists[name]) for name in sorted(shown)]
    withheld = [name for name in hists if name not in shown]
    if withheld:
        combined: dict[str, dict[int, int]] = {}
        for name in withheld:
            for code, hist in hists[name].items():
                for score, count in hist.items():
                    combined.setdefault(code, {})[score] = combined.setdefault(code, {}).get(score, 0) + count
        rows.append(row(OTHER_DEPARTMENTS, combined, merged=len(withheld)))
    return rows


# --------------------------------------------------------------------------------------------
# Page-level reports
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OverviewRow:
    area: AreaRef
    series: tuple[AreaWave, ...]  # every wave of the scope, oldest first
    sentiment: SentimentMix | None

    @property
    def current(self) -> AreaWave:
        return self.series[-1]

    def sparkline_values(self, metric: Metric = "satisfaction") -> tuple[float | None, ...]:
        return tuple(aw.metric(metric).value for aw in self.series[-DEFAULT_WAVE_COUNT:])


@dataclass(frozen=True)
class Overview:
    scope: Scope
    rows: tuple[OverviewRow, ...]
    response_rate: ResponseRate | None
    response_rates: tuple[ResponseRate, ...]

    @property
    def below_target(self) -> list[OverviewRow]:
        return [r for r in self.rows if r.current.satisfaction.status == "below" or r.current.happiness.status == "below"]

    @property
    def significant_changes(self) -> list[OverviewRow]:
        return [r for r in self.rows if any(c.change is not None and c.change.significant
                                            for c in (r.current.satisfaction, r.current.happiness))]


def overview(scope: Scope) -> Overview:
    """One row per service area for the scope's current wave, with its series for sparklines."""
    def compute() -> Overview:
        if not scope.waves:
            return Overview(scope, (), None, ())
        table = area_wave_table(scope)
        mix = sentiment_mix(scope, [scope.current_wave.id])
        rates = response_rates(scope)
        rows = tuple(
            OverviewRow(area, tuple(table[area.id]), mix.get((scope.current_wave.id, area.id)))
            for area in scope.areas
        )
        return Overview(scope, rows, rates.get(scope.current_wave.id), tuple(rates[w.id] for w in scope.waves))

    return _cached(("overview", scope, data_version(_version_waves(scope))), compute)


@dataclass(frozen=True)
class AreaReport:
    scope: Scope
    area: AreaRef
    series: tuple[AreaWave, ...]
    sentiment: tuple[tuple[WaveRef, SentimentMix | None], ...]
    time_lost: tuple[TimeLost, ...]
    reasons: Reasons
    themes: tuple[tuple[str, int], ...]
    departments: tuple[DepartmentRow, ...]  # empty unless asked for

    @property
    def current(self) -> AreaWave | None:
        return self.series[-1] if self.series else None


def area_report(scope: Scope, area_id: int, *, for_provider: bool = False) -> AreaReport:
    """Everything the service area page shows. The provider's copy (`for_provider`: scorecard, PDF pack)
    has no department breakdown and themes only from comments marked shareable."""
    area = scope.area(area_id)

    def compute() -> AreaReport:
        if not scope.waves:
            return AreaReport(scope, area, (), (), (), Reasons(None, 0, (), scope.min_group_size), (), ())
        waves = ([scope.previous_wave] if scope.previous_wave else []) + list(scope.waves)
        hists = _histograms([w.id for w in waves], _metric_codes(scope), scope.department, area_key=area.id)
        series = _area_waves(scope, hists, area, scope.waves, scope.previous_wave)
        mix = sentiment_mix(scope, scope.wave_ids, area.id)
        return AreaReport(
            scope=scope,
            area=area,
            series=tuple(series),
            sentiment=tuple((w, mix.get((w.id, area.id))) for w in scope.waves),
            time_lost=tuple(time_lost(scope, area.id)),
            reasons=top_reasons(scope, area.id),
            themes=tuple(themes(scope, area.id, shared_only=for_provider)),
            departments=tuple(department_breakdown(scope, area.id)) if not for_provider and not scope.department
            else (),
        )

    return _cached(("area", scope, area_id, for_provider, data_version(_version_waves(scope))), compute)


def _version_waves(scope: Scope) -> list[int]:
    return ([scope.previous_wave.id] if scope.previous_wave else []) + list(scope.wave_ids)


# --------------------------------------------------------------------------------------------
# Summary rows (the exports' `summary` kind reads these)
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class SummaryRow:
    """One wave x service area x metric. Figures are None when the group is under the minimum."""

    wave: str
    area_code: str
    area_name: str
    metric: Metric
    n: int
    suppressed: bool
    value: float | None
    ci_low: float | None
    ci_high: float | None
    target: float | None
    status: str  # met / below / unknown
    change: float | None
    p_value: float | None
    significant: bool | None
    test: str | None
    share_negative: float | None


def summary_rows(scope: Scope) -> list[SummaryRow]:
    """Flat rows for CSV/PDF: one per wave, area and metric, suppression already applied."""
    table = area_wave_table(scope)
    mix = sentiment_mix(scope, scope.wave_ids)
    rows = []
    for wave_index, wave in enumerate(scope.waves):
        for area in scope.areas:
            area_wave = table[area.id][wave_index]
            negative = mix.get((wave.id, area.id))
            for metric in METRICS:
                cell = area_wave.metric(metric)
                ci = cell.ci
                rows.append(SummaryRow(
                    wave=wave.label, area_code=area.code, area_name=area.name, metric=metric, n=cell.n,
                    suppressed=cell.suppressed, value=cell.value, ci_low=ci[0] if ci else None,
                    ci_high=ci[1] if ci else None, target=cell.target,
                    status=cell.status if not cell.suppressed else "unknown",
                    change=cell.change.delta if cell.change else None,
                    p_value=cell.change.p_value if cell.change else None,
                    significant=cell.change.significant if cell.change else None,
                    test=cell.change.test if cell.change else None,
                    share_negative=negative.share_negative if negative else None,
                ))
    return rows
