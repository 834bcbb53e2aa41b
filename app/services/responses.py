"""Answering a survey: what a personal link may show, storing a submission, sealed drafts, opt-out."""
from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, time, timezone
from typing import Any, NoReturn

from sqlalchemy import bindparam, delete, insert, select, update
from werkzeug.datastructures import MultiDict

from app.caching import DEFINITIONS, LAYOUTS
from app.errors import Gone, InvalidTransition, NotFound, VendorPulseError
from app.extensions import db
from app.models import (
    Answer,
    Campaign,
    Invitation,
    InvitationToken,
    PooledResponse,
    Provider,
    Question,
    Response,
    ResponseDraft,
    ServiceArea,
    Stakeholder,
    SurveyDefinition,
    Wave,
)
from app.models.campaign import campaign_service_area, invitation_area
from app.models.org import stakeholder_service_area
from app.models.base import utcnow
from app.services import anonymous_pool
from app.services.comment_scores import Thresholds, sentiment_columns
from app.services.invitations import find_invitation, token_digest
from app.services.questions import (
    CleanedAnswer,
    QuestionSpec,
    SurveyLayout,
    draft_data,
    parse_submission,
    survey_layout,
)
from app.services.sealing import SealBroken, draft_key, seal, unseal
from app.services.tallies import TalliedComment, TallyKey, add_to_tallies, comment_tally_keys, tally_keys_for


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
class AreaView:
    """A service area as the survey page shows it."""

    id: int
    code: str
    name: str
    description: str | None


@dataclass(frozen=True)
class DefinitionView:
    """A survey definition with its questions. Definitions are versioned and never edited in place, so a
    process keeps one of these per (id, checksum, loaded_at) instead of reading them per page view."""

    id: int
    title: str
    description: str | None
    spec: Mapping[str, Any]
    questions: tuple[QuestionSpec, ...]


@dataclass(frozen=True)
class CampaignView:
    id: int
    anonymity: str
    segment_attributes: tuple[str, ...]
    min_group_size: int
    provider_name: str
    definition: DefinitionView

    @property
    def anonymous(self) -> bool:
        return self.anonymity == "anonymous"


@dataclass(frozen=True)
class WaveView:
    id: int
    label: str
    state: str
    opens_at: datetime
    closes_at: datetime
    closed_at: datetime | None


@dataclass(frozen=True)
class InvitationView:
    """What a personal link knows of its invitation and person, read in one query."""

    id: int
    responded_at: datetime | None
    opened_at: datetime | None
    has_draft: bool
    opted_out_at: datetime | None
    department: str | None
    location: str | None


@dataclass(frozen=True)
class SurveyContext:
    """Everything the survey page of one invitation needs, as plain values (no lazy loads, no ORM state)."""

    invitation: InvitationView
    wave: WaveView
    campaign: CampaignView
    areas: tuple[AreaView, ...]
    layout: SurveyLayout


def invitation_for_token(token: str) -> Invitation:
    """The invitation of a personal link, or InvitationNotFound (unknown and malformed alike)."""
    invitation = find_invitation(token)
    if invitation is None:
        raise _not_found()
    return invitation


def _not_found() -> InvitationNotFound:
    return InvitationNotFound("There is nothing at this address. Check the link, or ask whoever sent it "
                              "for a new one.")


# The survey page and its submission are the busiest requests: their statements are built once, read
# plain columns rather than ORM objects, and write to the tables rather than the mapped classes (which
# would route every write through the ORM's bulk-persistence layer).
_LINK_QUERY = (
    select(Invitation.id, Invitation.responded_at, Invitation.opened_at, ResponseDraft.invitation_id.label("draft"),
           Stakeholder.id.label("stakeholder_id"), Stakeholder.opted_out_at, Stakeholder.department,
           Stakeholder.location,
           Wave.id.label("wave_id"), Wave.label, Wave.state, Wave.opens_at, Wave.closes_at, Wave.closed_at,
           Campaign.id.label("campaign_id"), Campaign.anonymity, Campaign.segment_attributes, Campaign.min_group_size,
           Provider.name.label("provider_name"),
           SurveyDefinition.id.label("definition_id"), SurveyDefinition.checksum, SurveyDefinition.loaded_at)
    .select_from(InvitationToken)
    .join(Invitation, Invitation.id == InvitationToken.invitation_id)
    .join(Stakeholder, Stakeholder.id == Invitation.stakeholder_id)
    .join(Wave, Wave.id == Invitation.wave_id)
    .join(Campaign, Campaign.id == Wave.campaign_id)
    .join(Provider, Provider.id == Campaign.provider_id)
    .join(SurveyDefinition, SurveyDefinition.id == Campaign.definition_id)
    .outerjoin(ResponseDraft, ResponseDraft.invitation_id == Invitation.id)
    .where(InvitationToken.token_hash == bindparam("digest"))
)

_AREAS_QUERY = (
    select(ServiceArea.id, ServiceArea.code, ServiceArea.name, ServiceArea.description)
    .join(campaign_service_area, campaign_service_area.c.service_area_id == ServiceArea.id)
    .join(stakeholder_service_area, stakeholder_service_area.c.service_area_id == ServiceArea.id)
    .where(campaign_service_area.c.campaign_id == bindparam("campaign_id"),
           stakeholder_service_area.c.stakeholder_id == bindparam("stakeholder_id"),
           ServiceArea.active.is_(True))
    .order_by(ServiceArea.position, ServiceArea.id)
)

# The areas drawn for this invitation (area sampling), still active and still in the campaign. An
# invitation without a recorded draw asks about every area its person uses (`_AREAS_QUERY`).
_DRAWN_AREAS_QUERY = (
    select(ServiceArea.id, ServiceArea.code, ServiceArea.name, ServiceArea.description)
    .join(invitation_area, invitation_area.c.service_area_id == ServiceArea.id)
    .join(campaign_service_area, campaign_service_area.c.service_area_id == ServiceArea.id)
    .where(invitation_area.c.invitation_id == bindparam("invitation_id"),
           campaign_service_area.c.campaign_id == bindparam("campaign_id"),
           ServiceArea.active.is_(True))
    .order_by(ServiceArea.position, ServiceArea.id)
)

_CLAIM = (
    update(Invitation.__table__)
    .where(Invitation.__table__.c.id == bindparam("invitation_id"), Invitation.__table__.c.responded_at.is_(None))
    .values(responded_at=bindparam("responded_at"))
)
_MARK_OPENED = (
    update(Invitation.__table__)
    .where(Invitation.__table__.c.id == bindparam("invitation_id"), Invitation.__table__.c.opened_at.is_(None))
    .values(opened_at=bindparam("opened_at"))
)
# Sets nothing, but takes the invitation's write lock and proves it is still unanswered: a draft saved
# while the same survey is being submitted waits for that submission, then is refused.
_HOLD_UNANSWERED = (
    update(Invitation.__table__)
    .where(Invitation.__table__.c.id == bindparam("invitation_id"), Invitation.__table__.c.responded_at.is_(None))
    .values(responded_at=None)
)
_INSERT_RESPONSE = insert(Response.__table__)
_INSERT_POOLED = insert(PooledResponse.__table__)
_INSERT_ANSWERS = insert(Answer.__table__)
_DELETE_DRAFT = delete(ResponseDraft.__table__).where(
    ResponseDraft.__table__.c.invitation_id == bindparam("invitation_id"))


def definition_view(definition_id: int, checksum: str, loaded_at: datetime) -> DefinitionView:
    """A definition and its questions, loaded once per process and version (`app.caching.DEFINITIONS`)."""

    def load() -> DefinitionView:
        definition = db.session.get(SurveyDefinition, definition_id)
        questions = db.session.scalars(select(Question).where(Question.definition_id == definition_id)
                                       .order_by(Question.position))
        return DefinitionView(definition.id, definition.title, definition.description, dict(definition.spec or {}),
                              tuple(QuestionSpec.of(q) for q in questions))

    return DEFINITIONS.get_or_compute((definition_id, checksum, loaded_at), load)


def _layout(definition_key: tuple, definition: DefinitionView, areas: tuple[AreaView, ...]) -> SurveyLayout:
    return LAYOUTS.get_or_compute((definition_key, areas), lambda: survey_layout(definition.questions, areas))


def check_answerable(invitation: InvitationView, wave: WaveView, now: datetime) -> None:
    """Raise the domain error that explains why this invitation cannot be answered now, if any."""
    if invitation.responded_at is not None:
        raise AlreadyAnswered(invitation.responded_at)
    if invitation.opted_out_at is not None:
        raise OptedOut(invitation.opted_out_at)
    if wave.state == "closed" or now >= wave.closes_at:
        raise WaveClosed(min(wave.closes_at, wave.closed_at or wave.closes_at))
    if wave.state != "open" or now < wave.opens_at:
        raise WaveNotOpen(wave.opens_at)


def load_survey_context(token: str, *, now: datetime | None = None) -> SurveyContext:
    """The survey behind a personal link, if it can be answered now; otherwise the domain error saying why.

    Two queries: the invitation with its person, wave, campaign and definition version, then the
    areas drawn for this invitation (a third, for invitations without a draw: the areas the person
    uses). Unknown and malformed tokens cost the same hash and query.
    """
    connection = db.session.connection()
    row = connection.execute(_LINK_QUERY, {"digest": token_digest(token)}).one_or_none()
    if row is None:
        raise _not_found()
    invitation = InvitationView(row.id, row.responded_at, row.opened_at, row.draft is not None, row.opted_out_at,
                                row.department, row.location)
    wave = WaveView(row.wave_id, row.label, row.state, row.opens_at, row.closes_at, row.closed_at)
    check_answerable(invitation, wave, now or utcnow())
    definition_key = (row.definition_id, row.checksum, row.loaded_at)
    definition = definition_view(*definition_key)
    campaign = CampaignView(row.campaign_id, row.anonymity, tuple(row.segment_attributes or ()), row.min_group_size,
                            row.provider_name, definition)
    areas = tuple(AreaView(*area) for area in connection.execute(
        _DRAWN_AREAS_QUERY, {"invitation_id": row.id, "campaign_id": row.campaign_id}))
    if not areas:
        areas = tuple(AreaView(*area) for area in connection.execute(
            _AREAS_QUERY, {"campaign_id": row.campaign_id, "stakeholder_id": row.stakeholder_id}))
    return SurveyContext(invitation, wave, campaign, areas, _layout(definition_key, definition, areas))


def mark_opened(context: SurveyContext, now: datetime) -> None:
    """Record the first visit; later visits change nothing. Commits.

    In anonymous mode only the day is kept, like the day of the answer: the order in which
    invitations were opened, to the second, would line up with the order responses were stored in.
    """
    if context.invitation.opened_at is not None:
        return
    opened_at = start_of_day(now) if context.campaign.anonymous else now
    db.session.connection().execute(_MARK_OPENED, {"invitation_id": context.invitation.id, "opened_at": opened_at})
    db.session.commit()


def start_of_day(moment: datetime) -> datetime:
    return datetime.combine(moment.astimezone(timezone.utc).date(), time(0), tzinfo=timezone.utc)


def segment_values(campaign: CampaignView | Campaign, person: InvitationView | Stakeholder) -> dict[str, str | None]:
    """Only the person's attributes the campaign allows reports to segment by."""
    allowed = set(campaign.segment_attributes or [])
    return {attribute: getattr(person, attribute) if attribute in allowed else None
            for attribute in ("department", "location")}


@dataclass(frozen=True)
class _TallyAnswer:
    """What `tally_keys_for` reads of an answer, for answers written with one bulk INSERT."""

    score: int | None
    service_area_id: int | None
    question: QuestionSpec
    hours: float | None = None


@dataclass(frozen=True)
class _TallyView:
    wave_id: int
    department: str | None
    answers: list[_TallyAnswer]


_EMPTY_ANSWER = {"score": None, "hours": None, "reasons": None, "text": None, "sentiment_polarity": None,
                 "sentiment_subjectivity": None, "sentiment_label": None, "sentiment_drivers": None,
                 "analyzer_version": None, "label_override": None, "label_override_by_id": None,
                 "label_override_at": None, "sentiment_aspects": None, "aspects_override": None,
                 "aspects_override_by_id": None, "aspects_override_at": None, "shareable": False}


def _answer_row(response: dict[str, Any], item: CleanedAnswer, thresholds: Thresholds) -> dict[str, Any]:
    """Column values of one Answer, with the sentiment of its comment when it has one."""
    row = {**_EMPTY_ANSWER, "response_id": response["id"], "wave_id": response["wave_id"],
           "question_id": item.question.id, "service_area_id": item.area.id if item.area else None, **item.columns}
    if row["text"]:
        row.update(sentiment_columns(row["text"], thresholds, item.area.code if item.area else None))
    return row


def submit_response(context: SurveyContext, form_data: Mapping[str, Any], *, now: datetime,
                    thresholds: Thresholds, secret_key: str) -> uuid.UUID | None:
    """Validate and store one survey submission; return the response's id (None in anonymous mode).

    Confidential mode: the response, its answers with the sentiment of each comment, the tallies, the end
    of the draft and the invitation's `responded_at` are committed together, in one transaction.

    Anonymous mode: one transaction sets `responded_at` (the day only), ends the draft and adds the
    prepared answers to the wave's pool as parts, one per service area answered and one for the
    provider-wide questions, each sealed under a key derived from `secret_key`; it writes nothing else.
    Each part is written later as a response of its own, in another transaction, in a shuffled batch of
    parts of the same department and area (`anonymous_pool`): who answered and what was answered never
    share a transaction, an id order or a time, and no stored row says which areas one person answered
    together. A submission that brings a segment of the pool to twice the minimum group size writes
    that segment, after its own commit.

    In both modes `responded_at` is set by a conditional UPDATE: when another request got there first it
    changes no row, everything rolls back and AlreadyAnswered is raised, so two simultaneous submissions
    store one response. Raises InvalidInput (nothing stored) when an answer is missing or wrong, and the
    errors of `check_answerable`.
    """
    invitation, wave, campaign = context.invitation, context.wave, context.campaign
    check_answerable(invitation, wave, now)
    cleaned = parse_submission(context.layout, form_data)
    anonymous = campaign.anonymous

    # Everything slower than a row insert (sentiment, sealing) happens before the invitation row is
    # claimed, so the write lock is held briefly.
    response = {
        "id": None if anonymous else uuid.uuid4(),
        "wave_id": wave.id,
        "invitation_id": None if anonymous else invitation.id,
        "submitted_at": now,
        **segment_values(campaign, invitation),
    }
    rows = [_answer_row(response, item, thresholds) for item in cleaned]
    tallies = tally_keys_for(_TallyView(wave.id, response["department"], [
        _TallyAnswer(row["score"], row["service_area_id"], item.question, row["hours"])
        for row, item in zip(rows, cleaned)]))
    for row, item in zip(rows, cleaned):
        if item.question.kind == "comment" and row["text"]:
            tallies.update(comment_tally_keys(wave.id, row["service_area_id"], response["department"],
                                              TalliedComment(row["sentiment_label"], row["sentiment_polarity"],
                                                             row["sentiment_aspects"] or (), bool(row["shareable"]))))
    if anonymous:
        # Even the invitation only learns the day: its time of day could be lined up with the pool.
        day = start_of_day(now)
        parts = anonymous_pool.split_submission(day=day.date(), segments=response, answer_rows=rows, tallies=tallies)
        pooled = anonymous_pool.pool_rows(wave.id, parts, secret_key=secret_key)
        _store(invitation.id, day, [(_INSERT_POOLED, pooled)] if pooled else [])
        anonymous_pool.flush_if_full(wave.id, minimum=campaign.min_group_size, secret_key=secret_key)
        return None

    writes = [(_INSERT_RESPONSE, response)] + ([(_INSERT_ANSWERS, rows)] if rows else [])
    _store(invitation.id, now, writes, tallies)
    return response["id"]


def _store(invitation_id: int, responded_at: datetime, writes: list[tuple[Any, Any]],
           tallies: Counter[TallyKey] | None = None) -> None:
    """One transaction: claim the invitation, run `writes`, add `tallies`, end the draft. Commits."""
    connection = db.session.connection()
    try:
        claimed = connection.execute(_CLAIM, {"invitation_id": invitation_id, "responded_at": responded_at})
        if claimed.rowcount != 1:
            raise AlreadyAnswered(None)
        for statement, values in writes:
            connection.execute(statement, values)
        if tallies:
            add_to_tallies(tallies)
        connection.execute(_DELETE_DRAFT, {"invitation_id": invitation_id})
        db.session.commit()
    except AlreadyAnswered:
        _refuse_as_answered(invitation_id)
    except Exception:
        db.session.rollback()
        raise


def _refuse_as_answered(invitation_id: int) -> NoReturn:
    """Roll back, and say when the survey was answered (by the request that got there first)."""
    db.session.rollback()
    responded_at = db.session.scalar(select(Invitation.responded_at).where(Invitation.id == invitation_id))
    raise AlreadyAnswered(responded_at) from None


@dataclass(frozen=True)
class SavedDraft:
    """A draft as its link reads it back: the values entered (field name -> values) and when they were saved."""

    data: dict[str, list[str]]
    updated_at: datetime


def _draft_context(invitation_id: int) -> str:
    return f"response_draft:{invitation_id}"


def save_draft(context: SurveyContext, form_data: Mapping[str, Any], *, token: str,
               now: datetime) -> dict[str, list[str]]:
    """Keep a partial answer (unchecked) to come back to from the same link before the wave closes. Commits.

    The draft is sealed with a key derived from the link's token (`sealing.draft_key`), which the server
    does not keep: the database holds only ciphertext, which opens again only from that link.
    """
    check_answerable(context.invitation, context.wave, now)
    data = draft_data(context.layout, form_data)
    sealed = seal(draft_key(token), data, context=_draft_context(context.invitation.id))
    held = db.session.connection().execute(_HOLD_UNANSWERED, {"invitation_id": context.invitation.id})
    if held.rowcount != 1:
        _refuse_as_answered(context.invitation.id)
    draft = db.session.get(ResponseDraft, context.invitation.id)
    if draft is None:
        db.session.add(ResponseDraft(invitation_id=context.invitation.id, sealed=sealed, updated_at=now))
    else:
        draft.sealed = sealed
        draft.updated_at = now
    db.session.commit()
    return data


def save_step(context: SurveyContext, form_data: Mapping[str, Any], *, step: int, token: str, now: datetime,
              draft: SavedDraft | None) -> dict[str, list[str]]:
    """Keep one step's answers in the sealed draft, beside the other steps' (unchecked, like any draft), so
    moving Back, Next or leaving keeps everything entered. Commits. Returns the whole draft's values."""
    names = context.layout.step(step).answer_names()
    merged = {name: values for name, values in (draft.data if draft else {}).items() if name not in names}
    step_values = draft_data(context.layout.step(step), form_data)
    merged.update(step_values)
    return save_draft(context, MultiDict([(k, v) for k, values in merged.items() for v in values]),
                      token=token, now=now)


def check_step(context: SurveyContext, form_data: Mapping[str, Any], *, step: int) -> None:
    """Raise InvalidInput with every problem of one step's answers (nothing is stored here)."""
    parse_submission(context.layout.step(step), form_data)


def draft_form_data(draft: SavedDraft | None) -> MultiDict:
    """A draft's values as the form data a submission or a page is filled from."""
    return MultiDict([(k, v) for k, values in (draft.data if draft else {}).items() for v in values])


def load_draft(invitation: InvitationView, token: str) -> SavedDraft | None:
    """The draft saved from this link, or None: none was saved, or it was saved from another of the
    person's links (each email carries its own), or it was altered. Either way the form starts empty."""
    if not invitation.has_draft:
        return None
    row = db.session.execute(select(ResponseDraft.sealed, ResponseDraft.updated_at)
                             .where(ResponseDraft.invitation_id == invitation.id)).one_or_none()
    if row is None:
        return None
    try:
        data = unseal(draft_key(token), row.sealed, context=_draft_context(invitation.id))
    except SealBroken:
        return None
    values = {str(name): [str(value) for value in entered] for name, entered in data.items()
              if isinstance(entered, list)}
    return SavedDraft(values, row.updated_at)


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
