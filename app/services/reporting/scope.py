"""Which campaign, waves, service areas and department a report covers: `resolve_scope` turns the
dashboard's filters into a hashable `Scope`, choosing the default campaign and wave range."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import case, exists, func, select

from app.errors import NotFound
from app.extensions import db
from app.models import Campaign, Provider, Question, ScoreTally, SurveyDefinition, Wave
from app.services.stats import is_reportable, suppression_label, suppression_note
from app.services.tallies import NO_ANSWER_CODES

Metric = Literal["satisfaction", "happiness"]
METRICS: tuple[Metric, ...] = ("satisfaction", "happiness")
DEFAULT_WAVE_COUNT = 8


@dataclass(frozen=True)
class WaveRef:
    id: int
    label: str
    state: str
    closes_at: datetime | None = None

    @property
    def provisional_note(self) -> str | None:
        """What every page showing this wave says while it is open: its figures still move."""
        if self.state != "open":
            return None
        until = f" until {self.closes_at:%d %B %Y}" if self.closes_at else ""
        return f"Provisional: {self.label} is open{until}; figures will move"


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
    def wave_ids_with_previous(self) -> tuple[int, ...]:
        """The range's waves and the one before it, which the first wave's change is measured from."""
        return ((self.previous_wave.id,) if self.previous_wave else ()) + self.wave_ids

    @property
    def metric_codes(self) -> tuple[str, ...]:
        """Codes of the questions the metrics are read from (a campaign's survey may lack one)."""
        return tuple(q.code for q in (self.satisfaction, self.happiness) if q is not None)

    @property
    def provisional(self) -> str | None:
        """The provisional note of the open wave in the range, for pages and the pack; None when all are closed."""
        return next((w.provisional_note for w in reversed(self.waves) if w.provisional_note), None)

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
    preferred_campaign_id: int | None = None,
) -> Scope | None:
    """The report scope for these filters, or None when there is no campaign to report on.

    `provider_id` restricts everything to one provider (a provider user's own account); a
    `campaign_id` of another provider is then ignored rather than shown. Without a wave range the
    last `wave_count` waves that have opened are used. Without a `campaign_id`, `preferred_campaign_id`
    (the campaign the user last looked at) is shown if allowed and not empty; see `default_campaign`.
    """
    options = campaign_options(provider_id)
    if not options:
        return None
    chosen = next((o for o in options if o.id == campaign_id), None)
    campaign = db.session.get(Campaign, chosen.id if chosen else default_campaign([o.id for o in options],
                                                                                     preferred_campaign_id))
    wave_rows = db.session.execute(
        select(Wave.id, Wave.label, Wave.state, Wave.closes_at)
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


def default_campaign(campaign_ids: list[int], preferred_campaign_id: int | None = None) -> int:
    """The campaign a report opens on when none is asked for, among `campaign_ids` (those the user may see).

    The preferred one (last viewed) if it is among them and has data; else the one whose latest closed
    wave with data closed last (finished figures beat provisional ones); else the one whose latest wave
    with data opened last. A campaign with no answers at all is only chosen when no campaign has any,
    so a newly created campaign never hides the ones with results.
    """
    has_data = exists().where(ScoreTally.wave_id == Wave.id, ScoreTally.answer_count > 0,
                              ScoreTally.question_code.not_in(NO_ANSWER_CODES))
    rows = db.session.execute(
        select(Wave.campaign_id,
               func.max(case((Wave.state == "closed", Wave.closes_at))),
               func.max(Wave.opens_at))
        .where(Wave.campaign_id.in_(campaign_ids), Wave.state != "scheduled", has_data)
        .group_by(Wave.campaign_id)
    ).all()
    with_data = {campaign_id: (last_closed, last_opened) for campaign_id, last_closed, last_opened in rows}
    if preferred_campaign_id in with_data or (not with_data and preferred_campaign_id in campaign_ids):
        return preferred_campaign_id
    closed = [(last_closed, campaign_id) for campaign_id, (last_closed, _) in with_data.items() if last_closed]
    if closed:
        return max(closed)[1]
    if with_data:
        return max((last_opened, campaign_id) for campaign_id, (_, last_opened) in with_data.items())[1]
    return _latest_opened_campaign(campaign_ids)


def _latest_opened_campaign(campaign_ids: list[int]) -> int:
    """Among campaigns without answers: the one whose latest wave opened last (active work beats old history)."""
    latest = db.session.execute(
        select(Wave.campaign_id, func.max(Wave.opens_at))
        .where(Wave.campaign_id.in_(campaign_ids), Wave.state != "scheduled")
        .group_by(Wave.campaign_id)
        .order_by(func.max(Wave.opens_at).desc())
        .limit(1)
    ).first()
    return latest[0] if latest else campaign_ids[0]
