"""Comments in a report's scope: the dashboard's comment list and the provider's shared copy, and the
two things a manager writes on a comment (a corrected sentiment label, whether the provider may read it).

Only comments of wave and area groups large enough to report are listed (for the comments about the provider
as a whole, waves where enough people answered that part), and none under a department filter: a comment's
wording with its department can point at its writer.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import Text, cast, func, select
from sqlalchemy.orm import aliased

from app.errors import InvalidInput, NotFound
from app.extensions import db
from app.models import Answer, Question, Response, User
from app.models.base import utcnow
from app.models.response import SENTIMENT_LABELS
from app.services.aspects import TAXONOMY
from app.services.disclosure import mask_personal_details
from app.services.reporting.answers import answers_in_scope, effective_label, in_groups, reportable_groups
from app.services.reporting.relationship import provider_comment_question_ids, reportable_provider_waves
from app.services.reporting.scope import Scope
from app.services.tallies import TalliedComment, add_to_tallies, comment_tally_keys
from app.services.transactions import unit_of_work


@dataclass(frozen=True)
class CommentFilter:
    wave_id: int | None = None
    area_id: int | None = None
    label: str | None = None
    search: str | None = None
    shareable_only: bool = False
    aspect: str | None = None        # only comments that talk about this aspect ...
    aspect_label: str | None = None  # ... with this sentiment about it
    rating: str | None = None        # only comments of people who rated the area low, middle or high
    level: str = "area"              # "provider": the comments about the provider as a whole instead


LEVELS = ("area", "provider")
PROVIDER_AS_A_WHOLE = "The provider as a whole"


RATINGS = ("low", "middle", "high")


def rating_band(scale: tuple[int, int], band: str) -> tuple[int, int]:
    """The scores a band covers on a scale: the bottom two, the top two, or what lies between (1-2, 3, 4-5)."""
    low, high = scale
    return {"low": (low, low + 1), "high": (high - 1, high), "middle": (low + 2, high - 2)}[band]


@dataclass(frozen=True)
class CommentItem:
    id: int
    text: str
    wave: str
    area: str
    label: str | None  # the effective label
    computed_label: str | None
    corrected: bool
    corrected_by: str | None
    corrected_at: datetime | None
    polarity: float | None
    drivers: tuple[tuple[str, float], ...]
    shareable: bool
    aspects: tuple[tuple[str, str, str], ...] = ()  # (aspect id, plain name, label) as shown
    aspects_corrected: bool = False
    aspects_corrected_by: str | None = None
    aspects_corrected_at: datetime | None = None


@dataclass(frozen=True)
class CommentPage:
    items: tuple[CommentItem, ...]
    page: int
    pages: int
    total: int
    per_page: int
    hidden_groups: int  # wave x area groups left out because they are under the minimum
    by_department: bool = False  # a department filter was asked for: comments are never listed by department

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def comment_query(scope: Scope, filters: CommentFilter):
    """The select behind the comment list: only comments from groups that are large enough, and none under a
    department filter (a comment's wording with its department can point at its writer, and the rows
    of a department in the exports are coarsened where it is small)."""
    if filters.level == "provider":
        # Provider-wide comments have no area: a wave's are listed once k people answered that part.
        groups = [] if scope.department else [(w, None) for w in reportable_provider_waves(scope, filters.wave_id)]
        shown = Answer.wave_id.in_([w for w, _ in groups] or [-1]) & Answer.service_area_id.is_(None)
        question_ids = provider_comment_question_ids(scope)
    else:
        groups = [] if scope.department else reportable_groups(scope, filters.area_id, filters.wave_id)
        shown, question_ids = in_groups(groups), scope.comment_question_ids
    query = (
        select(Answer)
        .where(shown, Answer.question_id.in_(question_ids or (-1,)),
               Answer.text.is_not(None), Answer.text != "")
        .order_by(Answer.wave_id.desc(), Answer.id.desc())
    )
    if filters.label in SENTIMENT_LABELS:
        query = query.where(effective_label() == filters.label)
    if filters.search:
        query = query.where(Answer.text.ilike(f"%{_escape_like(filters.search.strip())}%", escape="\\"))
    if filters.shareable_only:
        query = query.where(Answer.shareable.is_(True))
    if filters.aspect in TAXONOMY.aspects:
        query = query.where(aspect_condition(filters.aspect, filters.aspect_label))
    if filters.rating in RATINGS and scope.satisfaction is not None and filters.level != "provider":
        # The satisfaction answer of the same response and area (in anonymous mode a pooled part holds
        # one area's answers together, so the pair is kept there too).
        lowest, highest = rating_band(scope.satisfaction.scale, filters.rating)
        rating = aliased(Answer)
        query = query.where(
            select(rating.id).join(Question, Question.id == rating.question_id)
            .where(rating.response_id == Answer.response_id, rating.service_area_id == Answer.service_area_id,
                   Question.code == scope.satisfaction.code, rating.score.between(lowest, highest))
            .exists())
    return answers_in_scope(query, scope), groups


def aspect_condition(aspect: str, label: str | None = None):
    """Comments whose aspects as shown (a manager's correction, else the analyzer's) include `aspect`, with
    `label` when given. Both are stored as JSON text written by the same serializer ({"aspect": ..., "label":
    ...} first), so a LIKE on the text finds them on SQLite and PostgreSQL alike; the values come from the
    taxonomy and the label list only, never from the request."""
    shown = cast(func.coalesce(Answer.aspects_override, Answer.sentiment_aspects), Text)
    needle = f'"aspect": "{aspect}"' + (f', "label": "{label}"' if label in SENTIMENT_LABELS else "")
    return shown.like(f"%{_escape_like(needle)}%", escape="\\")


def list_comments(scope: Scope, filters: CommentFilter, *, page: int = 1, per_page: int = 25,
                  count: bool = True, for_provider: bool = False) -> CommentPage:
    """One page of comments, newest wave first, each with its label, drivers and correction.

    `count=False` skips the total (a COUNT over every matching comment) for previews. The provider's
    copy (`for_provider`) holds only shareable comments, with email addresses and phone numbers masked.
    """
    if for_provider:
        filters = replace(filters, shareable_only=True)
    query, groups = comment_query(scope, filters)
    pagination = db.paginate(query, page=max(page, 1), per_page=per_page, error_out=False, count=count)
    waves = {w.id: w.label for w in scope.all_waves}
    areas = {a.id: a.name for a in scope.areas}
    correctors = {}
    ids = {a.label_override_by_id for a in pagination.items if a.label_override_by_id}
    ids |= {a.aspects_override_by_id for a in pagination.items if a.aspects_override_by_id}
    if ids:
        correctors = dict(db.session.execute(select(User.id, func.coalesce(func.nullif(User.name, ""), User.email))
                                             .where(User.id.in_(ids))).all())
    items = tuple(
        CommentItem(
            id=a.id, text=mask_personal_details(a.text or "") if for_provider else a.text or "",
            wave=waves.get(a.wave_id, ""),
            area=areas.get(a.service_area_id, "") if a.service_area_id is not None else PROVIDER_AS_A_WHOLE,
            label=a.effective_label, computed_label=a.sentiment_label, corrected=a.label_override is not None,
            corrected_by=correctors.get(a.label_override_by_id), corrected_at=a.label_override_at,
            polarity=a.sentiment_polarity,
            drivers=tuple((d.get("phrase", ""), float(d.get("contribution", 0)))
                          for d in (a.sentiment_drivers or [])[:4]),
            shareable=bool(a.shareable),
            aspects=tuple((m["aspect"], TAXONOMY.name(m["aspect"]), m.get("label", "neutral"))
                          for m in a.effective_aspects if m.get("aspect") in TAXONOMY.aspects),
            aspects_corrected=a.aspects_override is not None,
            aspects_corrected_by=correctors.get(a.aspects_override_by_id), aspects_corrected_at=a.aspects_override_at,
        )
        for a in pagination.items
    )
    in_range = [filters.wave_id] if filters.wave_id else scope.wave_ids
    wanted = len(in_range) if filters.level == "provider" else len(
        {(w, a.id) for w in in_range for a in scope.areas if filters.area_id in (None, a.id)})
    total = pagination.total if count else len(items)
    if scope.department:
        return CommentPage((), 1, 1, 0, per_page, 0, by_department=True)
    return CommentPage(items, pagination.page, pagination.pages or 1 if count else 1, total or 0, per_page,
                       max(0, wanted - len(groups)))


def _comment_answer(answer_id: int) -> Answer:
    answer = db.session.get(Answer, answer_id)
    if answer is None or answer.text is None:
        raise NotFound("That comment does not exist.")
    return answer


def _tallied(answer: Answer) -> TalliedComment:
    """What the comment counts for in the tallies now: its label and aspects as shown, and its sharing."""
    return TalliedComment.of(label=answer.sentiment_label, label_override=answer.label_override,
                             polarity=answer.sentiment_polarity, aspects=answer.sentiment_aspects,
                             aspects_override=answer.aspects_override, shareable=answer.shareable)


def _move_tallies(answer: Answer, before: TalliedComment) -> None:
    """Take the comment's old contribution out of the tallies and put its new one in, in this transaction."""
    after = _tallied(answer)
    if after == before:
        return
    department = db.session.scalar(select(Response.department).where(Response.id == answer.response_id))
    delta = comment_tally_keys(answer.wave_id, answer.service_area_id, department, before, sign=-1)
    delta.update(comment_tally_keys(answer.wave_id, answer.service_area_id, department, after))
    add_to_tallies(delta)


@unit_of_work
def correct_label(answer_id: int, label: str | None, user: User) -> Answer:
    """Store a manager's label beside the computed one (None removes the correction). A unit of work."""
    if label is not None and label not in SENTIMENT_LABELS:
        raise InvalidInput(f"Unknown label {label!r}.", errors={"label": ["unknown"]})
    answer = _comment_answer(answer_id)
    before = _tallied(answer)
    if label is None or label == answer.sentiment_label:
        answer.label_override = None
        answer.label_override_by_id = None
        answer.label_override_at = None
    else:
        answer.label_override = label
        answer.label_override_by_id = user.id
        answer.label_override_at = utcnow()
    _move_tallies(answer, before)
    return answer


@unit_of_work
def correct_aspects(answer_id: int, chosen: dict[str, str] | None, user: User) -> Answer:
    """Store a manager's aspects for a comment ({aspect: label}; None goes back to the analyzer's), kept
    across re-scoring like a corrected label, with who and when. A unit of work."""
    if chosen is not None:
        unknown = sorted(set(chosen) - set(TAXONOMY.aspects)) + sorted(
            label for label in chosen.values() if label not in SENTIMENT_LABELS)
        if unknown:
            raise InvalidInput(f"Unknown aspect or label: {', '.join(unknown)}.", errors={"aspects": ["unknown"]})
    answer = _comment_answer(answer_id)
    before = _tallied(answer)
    computed = {m.get("aspect"): m.get("label") for m in answer.sentiment_aspects or []}
    if chosen is None or chosen == computed:
        answer.aspects_override = None
        answer.aspects_override_by_id = None
        answer.aspects_override_at = None
    else:
        # In the taxonomy's order, each {"aspect", "label"} like the analyzer's (the comment filter reads both).
        answer.aspects_override = [{"aspect": a, "label": chosen[a]} for a in TAXONOMY.aspects if a in chosen]
        answer.aspects_override_by_id = user.id
        answer.aspects_override_at = utcnow()
    _move_tallies(answer, before)
    return answer


@unit_of_work
def set_shareable(answer_id: int, shareable: bool) -> Answer:
    """Mark a comment as one the provider may read on its scorecard (or withdraw it). A unit of work."""
    answer = _comment_answer(answer_id)
    before = _tallied(answer)
    answer.shareable = shareable
    _move_tallies(answer, before)
    return answer
