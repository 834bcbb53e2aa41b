"""Answering a survey: what a personal link may show, storing a response in one transaction, drafts, opt-out."""
from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm.attributes import set_committed_value

from app.errors import Gone, InvalidTransition, NotFound, VendorPulseError
from app.extensions import db
from app.models import (
    Answer,
    Campaign,
    Invitation,
    Provider,
    Question,
    Response,
    ResponseDraft,
    ServiceArea,
    Stakeholder,
    SurveyDefinition,
    Wave,
)
from app.models.campaign import campaign_service_area
from app.models.org import stakeholder_service_area
from app.models.base import utcnow
from app.services.comment_scores import Thresholds, sentiment_columns
from app.services.invitations import find_invitation
from app.services.questions import (
    CleanedAnswer,
    QuestionSpec,
    SurveyLayout,
    draft_data,
    parse_submission,
    survey_layout,
)
from app.services.tallies import add_to_tallies, tally_keys_for


class InvitationNotFound(NotFound):
    """No invitation for this token. Deliberately says nothing about whether the token ever existed."""

    title = "Page not found"


class AlreadyAnswered(InvalidTransition):
    title = "You have already answered this survey"

    def __init__(self, responded_at: datetime | None) -> None:
        super().__init__("This survey was already answered from your link.", responded_at=responded_at)
        self.responded_at = responded_at


class WaveNotOpen(Gone):
    title = "This survey is not open yet"

    def __init__(self, opens_at: datetime) -> None:
        super().__init__("This survey has not opened yet.", opens_at=opens_at)
        self.opens_at = opens_at


class WaveClosed(Gone):
    title = "This survey has closed"

    def __init__(self, closed_at: datetime) -> None:
        super().__init__("This survey is closed.", closed_at=closed_at)
        self.closed_at = closed_at


class OptedOut(VendorPulseError):
    status_code = 409
    title = "You have unsubscribed from these surveys"

    def __init__(self, opted_out_at: datetime) -> None:
        super().__init__("You asked not to receive these surveys.", opted_out_at=opted_out_at)
        self.opted_out_at = opted_out_at


@dataclass(frozen=True)
class SurveyContext:
    """Everything the survey page of one invitation needs."""

    invitation: Invitation
    wave: Wave
    campaign: Campaign
    stakeholder: Stakeholder
    areas: list[ServiceArea]
    layout: SurveyLayout


def invitation_for_token(token: str) -> Invitation:
    """The invitation of a personal link, or InvitationNotFound (unknown and malformed alike)."""
    invitation = find_invitation(token)
    if invitation is None:
        raise InvitationNotFound("There is nothing at this address. Check the link, or ask whoever sent it "
                                 "for a new one.")
    return invitation


def areas_for(campaign: Campaign, stakeholder: Stakeholder) -> list[ServiceArea]:
    """The campaign's active areas this stakeholder uses, in the campaign's order (one query)."""
    return list(db.session.scalars(
        select(ServiceArea)
        .join(campaign_service_area, campaign_service_area.c.service_area_id == ServiceArea.id)
        .join(stakeholder_service_area, stakeholder_service_area.c.service_area_id == ServiceArea.id)
        .where(campaign_service_area.c.campaign_id == campaign.id,
               stakeholder_service_area.c.stakeholder_id == stakeholder.id,
               ServiceArea.active.is_(True))
        .order_by(ServiceArea.position, ServiceArea.id)
    ))


# Per process: definition (id, checksum, loaded_at) -> its questions. Definitions are versioned, never edited.
_QUESTIONS: dict[tuple, tuple[QuestionSpec, ...]] = {}
_QUESTIONS_LIMIT = 64


def definition_questions(definition: SurveyDefinition) -> tuple[QuestionSpec, ...]:
    """The questions of a definition, loaded once per process."""
    key = (definition.id, definition.checksum, definition.loaded_at)
    questions = _QUESTIONS.get(key)
    if questions is None:
        rows = db.session.scalars(select(Question).where(Question.definition_id == definition.id)
                                  .order_by(Question.position))
        if len(_QUESTIONS) >= _QUESTIONS_LIMIT:
            _QUESTIONS.clear()
        questions = _QUESTIONS[key] = tuple(QuestionSpec.of(q) for q in rows)
    return questions


def _load_invitation_graph(invitation: Invitation) -> None:
    """Load the wave, campaign, provider, definition and stakeholder of an invitation in one query; the
    relationships then read them from the session instead of one query each."""
    wave, campaign, provider, definition, stakeholder = db.session.execute(
        select(Wave, Campaign, Provider, SurveyDefinition, Stakeholder)
        .join(Campaign, Campaign.id == Wave.campaign_id)
        .join(Provider, Provider.id == Campaign.provider_id)
        .join(SurveyDefinition, SurveyDefinition.id == Campaign.definition_id)
        .join(Stakeholder, Stakeholder.id == invitation.stakeholder_id)
        .where(Wave.id == invitation.wave_id)
    ).one()
    # The session only holds objects weakly: attach them, unchanged, so they stay loaded.
    set_committed_value(invitation, "wave", wave)
    set_committed_value(invitation, "stakeholder", stakeholder)
    set_committed_value(wave, "campaign", campaign)
    set_committed_value(campaign, "provider", provider)
    set_committed_value(campaign, "definition", definition)


def layout_for(invitation: Invitation) -> tuple[list[ServiceArea], SurveyLayout]:
    campaign = invitation.wave.campaign
    areas = areas_for(campaign, invitation.stakeholder)
    return areas, survey_layout(definition_questions(campaign.definition), areas)


def check_answerable(invitation: Invitation, now: datetime) -> None:
    """Raise the domain error that explains why this invitation cannot be answered now, if any."""
    if invitation.responded_at is not None:
        raise AlreadyAnswered(invitation.responded_at)
    if invitation.stakeholder.opted_out_at is not None:
        raise OptedOut(invitation.stakeholder.opted_out_at)
    wave = invitation.wave
    if wave.state == "closed" or now >= wave.closes_at:
        raise WaveClosed(min(wave.closes_at, wave.closed_at or wave.closes_at))
    if wave.state != "open" or now < wave.opens_at:
        raise WaveNotOpen(wave.opens_at)


def load_survey_context(token: str, *, now: datetime | None = None) -> SurveyContext:
    """The survey behind a personal link, if it can be answered now; otherwise the domain error saying why."""
    invitation = invitation_for_token(token)
    _load_invitation_graph(invitation)
    check_answerable(invitation, now or utcnow())
    areas, layout = layout_for(invitation)
    return SurveyContext(invitation, invitation.wave, invitation.wave.campaign, invitation.stakeholder, areas, layout)


def mark_opened(invitation: Invitation, now: datetime) -> None:
    """Record the first visit; later visits change nothing. Commits."""
    if invitation.opened_at is not None:
        return
    db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id, Invitation.opened_at.is_(None))
        .values(opened_at=now).execution_options(synchronize_session=False)
    )
    db.session.commit()


def start_of_day(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(timezone.utc).date(), time(0), tzinfo=timezone.utc)


def segment_values(campaign: Campaign, stakeholder: Stakeholder) -> dict[str, str | None]:
    """Only the stakeholder attributes the campaign allows reports to segment by."""
    allowed = set(campaign.segment_attributes or [])
    return {attribute: getattr(stakeholder, attribute) if attribute in allowed else None
            for attribute in ("department", "location")}


@dataclass(frozen=True)
class _TallyAnswer:
    """What `tally_keys_for` reads of an answer, for answers written with one bulk INSERT."""

    score: int | None
    service_area_id: int | None
    question: QuestionSpec


@dataclass(frozen=True)
class _TallyView:
    wave_id: int
    department: str | None
    answers: list[_TallyAnswer]


_EMPTY_ANSWER = {"score": None, "hours": None, "reasons": None, "text": None, "sentiment_polarity": None,
                 "sentiment_subjectivity": None, "sentiment_label": None, "sentiment_drivers": None,
                 "analyzer_version": None}


def _answer_row(response: Response, item: CleanedAnswer, thresholds: Thresholds) -> dict[str, Any]:
    """Column values of one Answer, with the sentiment of its comment when it has one."""
    row = {**_EMPTY_ANSWER, "response_id": response.id, "wave_id": response.wave_id,
           "question_id": item.question.id, "service_area_id": item.area.id if item.area else None, **item.columns}
    if row["text"]:
        row.update(sentiment_columns(row["text"], thresholds))
    return row


def submit_response(invitation: Invitation, form_data: Mapping[str, Any], *, now: datetime,
                    thresholds: Thresholds, layout: SurveyLayout | None = None) -> Response:
    """Validate and store one survey submission, all in one transaction.

    The response, its answers with the sentiment of each comment, the tallies, the end of the draft and
    the invitation's `responded_at` are committed together. `responded_at` is set by a conditional
    UPDATE: when another request got there first it changes no row, everything rolls back and
    AlreadyAnswered is raised, so two simultaneous submissions store one response. Raises InvalidInput
    (nothing stored) when an answer is missing or wrong, and the errors of `check_answerable`.
    `layout` saves loading it again when the caller has the invitation's `SurveyContext`.
    """
    check_answerable(invitation, now)
    wave = invitation.wave
    campaign = wave.campaign
    stakeholder = invitation.stakeholder
    if layout is None:
        _, layout = layout_for(invitation)
    cleaned = parse_submission(layout, form_data)
    anonymous = campaign.anonymous
    invitation_id = invitation.id

    # Everything slower than a row insert (sentiment) happens before the invitation row is claimed,
    # so the write lock is held briefly.
    response = Response(
        id=uuid.uuid4(),
        wave_id=wave.id,
        invitation_id=None if anonymous else invitation_id,
        submitted_at=start_of_day(now) if anonymous else now,
        **segment_values(campaign, stakeholder),
    )
    rows = [_answer_row(response, item, thresholds) for item in cleaned]
    tallies = tally_keys_for(_TallyView(response.wave_id, response.department, [
        _TallyAnswer(row["score"], row["service_area_id"], item.question) for row, item in zip(rows, cleaned)]))

    try:
        # In anonymous mode even the invitation only learns the day, so its time cannot be matched
        # with the order in which answers were stored.
        claimed = db.session.execute(
            update(Invitation)
            .where(Invitation.id == invitation_id, Invitation.responded_at.is_(None))
            .values(responded_at=start_of_day(now) if anonymous else now)
            .execution_options(synchronize_session=False)
        )
        if claimed.rowcount != 1:
            raise AlreadyAnswered(None)
        db.session.add(response)
        db.session.flush()
        if rows:
            # One executemany; rendering NULLs keeps every row in the same batch.
            db.session.execute(insert(Answer).execution_options(render_nulls=True), rows)
        add_to_tallies(tallies)
        db.session.execute(delete(ResponseDraft).where(ResponseDraft.invitation_id == invitation_id))
        db.session.commit()
    except AlreadyAnswered:
        db.session.rollback()
        db.session.refresh(invitation)
        raise AlreadyAnswered(invitation.responded_at) from None
    except Exception:
        db.session.rollback()
        raise
    return response


def save_draft(invitation: Invitation, form_data: Mapping[str, Any], *, now: datetime) -> dict[str, list[str]]:
    """Keep a partial answer (unchecked) to come back to from the same link before the wave closes. Commits."""
    check_answerable(invitation, now)
    _, layout = layout_for(invitation)
    data = draft_data(layout, form_data)
    draft = db.session.get(ResponseDraft, invitation.id)
    if draft is None:
        draft = ResponseDraft(invitation_id=invitation.id, data=data, updated_at=now)
        db.session.add(draft)
    else:
        draft.data = data
        draft.updated_at = now
    db.session.commit()
    return data


def load_draft(invitation: Invitation) -> ResponseDraft | None:
    return db.session.scalar(select(ResponseDraft).where(ResponseDraft.invitation_id == invitation.id))


def opt_out(invitation: Invitation) -> Stakeholder:
    """Stop all future surveys to this person (every campaign). Idempotent. Commits."""
    stakeholder = invitation.stakeholder
    stakeholder.opt_out()
    db.session.commit()
    return stakeholder


def opt_in(invitation: Invitation) -> Stakeholder:
    """Undo an opt-out made by mistake. Commits."""
    stakeholder = invitation.stakeholder
    stakeholder.opt_in()
    db.session.commit()
    return stakeholder
