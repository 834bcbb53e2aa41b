"""Score tallies: per wave, question, area and department, how many answers gave each score.

Dashboards and exports read these few rows instead of scanning every answer. They are updated in
the transaction that stores a response, and can be rebuilt from the answers at any time.

Comments are tallied the same way, under codes no survey question can have (question codes start with a
letter): `@comments` counts an area's comments by their label as shown (the score: -1, 0, +1),
`@polarity` their polarity (the score: hundredths, -100 to 100), `@aspect:<aspect>` each aspect a comment
mentions with its sentiment as the score (-1, 0, +1), and the `-shared` twins count those a respondent let
the provider read. A manager's correction of a comment's label or aspects, a change to its sharing and
re-scoring move these rows in the same transaction (`comment_tally_keys` with `sign=-1` for what the
comment counted before). Hours lost are tallied as `@hours:<question>` (how many answered each number of
hours, in hundredths), and the key drivers' pairs as `@joint:<sub-rating>` (100 x its score + the same
area's satisfaction score). A closed wave's delivered invitations per area (`@invited`) and its response
rate per department (`@rates`) are counted the first time a report needs them (`kept_closed_wave_counts`)
and forgotten when a bounce for that wave arrives. `@version` rows count the changes to each wave's
tallies: the wave's data version.
"""
from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from sqlalchemy import Integer, bindparam, cast, delete, func, insert, literal, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Answer, Question, Response, ScoreTally, Wave

TallyKey = tuple[int, str, int, str, int]  # wave_id, question_code, area_key, department, score

COMMENTS_CODE = "@comments"
SHARED_COMMENTS_CODE = "@comments-shared"
ASPECT_PREFIX = "@aspect:"
SHARED_ASPECT_PREFIX = "@aspect-shared:"
POLARITY_CODE = "@polarity"  # score: the comment's polarity in hundredths
LABEL_SCORES = {"negative": -1, "neutral": 0, "positive": 1}
HOURS_PREFIX = "@hours:"  # score: the hours in hundredths (answers keep two decimals)
INVITED_CODE = "@invited"  # a closed wave's delivered invitations per area (score 0)
RATES_CODE = "@rates"  # a closed wave's invitations per department: delivered (score 0), answered (score 1)
KEPT_INVITATION_CODES = (INVITED_CODE, RATES_CODE)  # counted from the invitations, not from answers
VERSION_CODE = "@version"  # per wave, area and department: how many times its tallies changed
NO_ANSWER_CODES = (*KEPT_INVITATION_CODES, VERSION_CODE)  # rows that count no answer
JOINT_PREFIX = "@joint:"  # score: 100 x the sub-rating's score + the same area's satisfaction score


def effective_aspects(computed: list[dict] | None, override: list[dict] | None) -> list[dict]:
    """A comment's aspects as reported: a manager's correction wins over the analyzer's."""
    return list(override if override is not None else computed or [])


def polarity_hundredths(polarity: float) -> int:
    """A polarity in hundredths, halves rounded up: the same on every platform (Python's round() takes
    halves to even, and the databases differ)."""
    return math.floor(polarity * 100 + 0.5)


@dataclass(frozen=True)
class TalliedComment:
    """What one comment counts for in the tallies: its label as shown (a manager's correction wins), its
    polarity, its aspects as reported, and whether the provider may read it."""

    label: str | None
    polarity: float | None
    aspects: Sequence[dict]
    shareable: bool

    @classmethod
    def of(cls, *, label: str | None, label_override: str | None, polarity: float | None,
           aspects: list[dict] | None, aspects_override: list[dict] | None, shareable: bool | None
           ) -> TalliedComment:
        """From an answer's stored columns, a manager's corrections winning."""
        return cls(label_override or label, polarity, tuple(effective_aspects(aspects, aspects_override)),
                   bool(shareable))


def comment_tally_keys(wave_id: int, area_id: int | None, department: str | None, comment: TalliedComment,
                       sign: int = 1) -> Counter[TallyKey]:
    """What one comment adds to the tallies (or, with `sign=-1`, takes away): its area's comment count under
    its label, its polarity, and one row per aspect mention, the counts again under the shared codes when
    the provider may read it. A comment without a label counts as neutral."""
    counts: Counter[TallyKey] = Counter()
    area, dept = area_id or 0, department or ""
    label = LABEL_SCORES.get(comment.label or "neutral", 0)
    counts[(wave_id, COMMENTS_CODE, area, dept, label)] += sign
    if comment.shareable:
        counts[(wave_id, SHARED_COMMENTS_CODE, area, dept, label)] += sign
    if comment.polarity is not None:
        counts[(wave_id, POLARITY_CODE, area, dept, polarity_hundredths(comment.polarity))] += sign
    for mention in comment.aspects:
        name = mention.get("aspect")
        if not name:
            continue
        score = LABEL_SCORES.get(mention.get("label"), 0)
        counts[(wave_id, ASPECT_PREFIX + name, area, dept, score)] += sign
        if comment.shareable:
            counts[(wave_id, SHARED_ASPECT_PREFIX + name, area, dept, score)] += sign
    return counts


def _upsert(dialect: str):
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    statement = make_insert(ScoreTally.__table__)
    return statement.on_conflict_do_update(
        index_elements=["wave_id", "question_code", "area_key", "department", "score"],
        set_={"answer_count": ScoreTally.__table__.c.answer_count + statement.excluded.answer_count},
    )


# Built once per dialect: it runs with every submission.
_UPSERTS = {dialect: _upsert(dialect) for dialect in ("postgresql", "sqlite")}


_TALLY = ScoreTally.__table__
_SUBTRACT = (
    update(_TALLY)
    .where(_TALLY.c.wave_id == bindparam("w"), _TALLY.c.question_code == bindparam("q"),
           _TALLY.c.area_key == bindparam("a"), _TALLY.c.department == bindparam("d"), _TALLY.c.score == bindparam("s"),
           _TALLY.c.answer_count >= bindparam("n"))
    .values(answer_count=_TALLY.c.answer_count - bindparam("n"))
)


def add_to_tallies(counts: Counter[TallyKey]) -> None:
    """Add counts atomically (INSERT ... ON CONFLICT DO UPDATE), safe under concurrent submissions; a
    negative count (a comment's old aspects, after a correction) is taken from its row with an UPDATE.
    Each (wave, area, department) touched has its `@version` row moved on by one, in the same statement:
    what reports read as the wave's data version (one row per part, so concurrent submissions about
    different areas and departments do not wait for one row)."""
    if not counts:
        return
    connection = db.session.connection()
    counts = Counter(counts)  # the caller's, with the versions of the parts it touches
    counts.update({(w, VERSION_CODE, a, d, 0): 1 for (w, _, a, d, _), n in list(counts.items()) if n})
    ordered = sorted(counts.items())  # a fixed order avoids deadlocks between writers
    rows = [{"wave_id": w, "question_code": q, "area_key": a, "department": d, "score": s, "answer_count": n}
            for (w, q, a, d, s), n in ordered if n > 0]
    taken = [{"w": w, "q": q, "a": a, "d": d, "s": s, "n": -n} for (w, q, a, d, s), n in ordered if n < 0]
    if taken:
        connection.execute(_SUBTRACT, taken)
    if rows:
        connection.execute(_UPSERTS[connection.dialect.name], rows)


def tally_versions(wave_ids: list[int]) -> dict[int, int]:
    """Each wave's data version: how many times its tallies changed (0 for a wave with none), from its few
    `@version` rows. It only grows: a submission, a correction, a flush of the anonymous pool and a
    rebuild each move it on; a migration that rewrites tallies must move it too."""
    found = dict.fromkeys(wave_ids, 0)
    if wave_ids:
        found.update({wave_id: int(n) for wave_id, n in db.session.execute(
            select(ScoreTally.wave_id, func.sum(ScoreTally.answer_count))
            .where(ScoreTally.wave_id.in_(wave_ids), ScoreTally.question_code == VERSION_CODE)
            .group_by(ScoreTally.wave_id))})
    return found


def is_sub_rating(question) -> bool:
    """A per-area rating other than a headline metric: a key driver's candidate."""
    return question.kind == "rating" and question.scope == "area" and not (question.options or {}).get("metric")


def is_satisfaction(question) -> bool:
    return (question.options or {}).get("metric") == "satisfaction"


def tally_keys_for(response: Response) -> Counter[TallyKey]:
    """The tally increments one stored response contributes: its rating and nps answers, its hours (as a
    histogram in hundredths) and, per area, each sub-rating paired with that area's satisfaction (the
    key drivers' joint histograms)."""
    counts: Counter[TallyKey] = Counter()
    department = response.department or ""
    satisfaction: dict[int, int] = {}
    sub: list[tuple[int, str, int]] = []
    for answer in response.answers:
        area, question = answer.service_area_id or 0, answer.question
        hours = getattr(answer, "hours", None)
        if hours is not None:
            counts[(response.wave_id, HOURS_PREFIX + question.code, area, department, round(hours * 100))] += 1
        if answer.score is None:
            continue
        counts[(response.wave_id, question.code, area, department, answer.score)] += 1
        if is_satisfaction(question):
            satisfaction[area] = answer.score
        elif is_sub_rating(question):
            sub.append((area, question.code, answer.score))
    for area, code, score in sub:
        if area in satisfaction:
            counts[(response.wave_id, JOINT_PREFIX + code, area, department, 100 * score + satisfaction[area])] += 1
    return counts


def rebuild_wave_tallies(wave_id: int) -> None:
    """Recompute one wave's tallies from its answers: scores, hours and the drivers' pairs in SQL, the
    comments' aspects from their stored lists; the wave's version moves on. The caller commits."""
    db.session.execute(delete(ScoreTally).where(ScoreTally.wave_id == wave_id,
                                                ScoreTally.question_code != VERSION_CODE))
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
    for source in (_hours_source(wave_id), _joint_source(wave_id)):
        db.session.execute(insert(ScoreTally).from_select(
            ["wave_id", "question_code", "area_key", "department", "score", "answer_count"], source))
    comments: Counter[TallyKey] = Counter()
    rows = db.session.execute(
        select(Answer.service_area_id, Response.department, Answer.sentiment_label, Answer.label_override,
               Answer.sentiment_polarity, Answer.sentiment_aspects, Answer.aspects_override, Answer.shareable)
        .join(Question, Question.id == Answer.question_id)
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.wave_id == wave_id, Question.kind == "comment", Answer.text.is_not(None), Answer.text != "")
        .execution_options(yield_per=5000)
    )
    for area_id, department, label, label_override, polarity, computed, override, shareable in rows:
        comments.update(comment_tally_keys(wave_id, area_id, department, TalliedComment.of(
            label=label, label_override=label_override, polarity=polarity, aspects=computed,
            aspects_override=override, shareable=shareable)))
    comments[(wave_id, VERSION_CODE, 0, "", 0)] += 1  # rebuilt: the wave's reports are out of date
    add_to_tallies(comments)


def _hours_source(wave_id: int):
    area_key = func.coalesce(Answer.service_area_id, literal(0))
    department = func.coalesce(Response.department, literal(""))
    hundredths = cast(func.round(Answer.hours * 100), Integer)
    code = literal(HOURS_PREFIX) + Question.code
    return (
        select(Answer.wave_id, code, area_key, department, hundredths, func.count())
        .join(Question, Question.id == Answer.question_id)
        .join(Response, Response.id == Answer.response_id)
        .where(Answer.wave_id == wave_id, Answer.hours.is_not(None))
        .group_by(Answer.wave_id, code, area_key, department, hundredths)
    )


def _joint_source(wave_id: int):
    sub, sat = aliased(Answer), aliased(Answer)
    sub_question, sat_question = aliased(Question), aliased(Question)
    department = func.coalesce(Response.department, literal(""))
    pair = sub.score * 100 + sat.score
    code = literal(JOINT_PREFIX) + sub_question.code
    return (
        select(sub.wave_id, code, sub.service_area_id, department, pair, func.count())
        .join(sub_question, sub_question.id == sub.question_id)
        .join(sat, (sat.response_id == sub.response_id) & (sat.service_area_id == sub.service_area_id))
        .join(sat_question, sat_question.id == sat.question_id)
        .join(Response, Response.id == sub.response_id)
        .where(sub.wave_id == wave_id, sub.score.is_not(None), sat.score.is_not(None),
               sub_question.kind == "rating", sub_question.scope == "area", sub.service_area_id.is_not(None),
               _metric(sub_question).is_(None), _metric(sat_question) == "satisfaction")
        .group_by(sub.wave_id, code, sub.service_area_id, department, pair)
    )


def _metric(question):
    """The question's `metric` option (satisfaction, happiness) in SQL, on both databases."""
    return question.options["metric"].as_string()


def _insert_ignoring_duplicates(dialect: str):
    make_insert = pg_insert if dialect == "postgresql" else sqlite_insert
    return make_insert(ScoreTally.__table__).on_conflict_do_nothing(
        index_elements=["wave_id", "question_code", "area_key", "department", "score"])


_INSERTS_ONCE = {dialect: _insert_ignoring_duplicates(dialect) for dialect in ("postgresql", "sqlite")}


def kept_closed_wave_counts(code: str, wave_ids: list[int],
                            count: Callable[[list[int]], dict[int, dict[tuple[int, str, int], int]]]
                            ) -> dict[int, dict[tuple[int, str, int], int]]:
    """wave -> (area_key, department, score) -> n, for closed waves: read from the tally rows under `code`,
    or counted with `count` and kept there for the next time (in a transaction of its own, so a page that
    reads them keeps them; two workers counting at once keep one copy; a row with area_key -1 marks a
    wave counted). Only a bounce changes a closed wave's invitations, and `forget_closed_wave_invitations`
    drops its rows then."""
    if not wave_ids:
        return {}
    kept: dict[int, dict[tuple[int, str, int], int]] = {}
    for wave_id, area, department, score, n in db.session.execute(
            select(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.department, ScoreTally.score,
                   ScoreTally.answer_count)
            .where(ScoreTally.wave_id.in_(wave_ids), ScoreTally.question_code == code)):
        counts = kept.setdefault(wave_id, {})
        if area != -1:
            counts[(area, department, score)] = int(n)
    missing = [w for w in wave_ids if w not in kept]
    if missing:
        counted = count(missing)
        rows = [{"wave_id": w, "question_code": code, "area_key": area, "department": department, "score": score,
                 "answer_count": n} for w in missing for (area, department, score), n in counted.get(w, {}).items()]
        rows += [{"wave_id": w, "question_code": code, "area_key": -1, "department": "", "score": 0,
                  "answer_count": 0} for w in missing]
        with db.engine.begin() as connection:
            connection.execute(_INSERTS_ONCE[connection.dialect.name], rows)
        kept.update({w: dict(counted.get(w, {})) for w in missing})
    return kept


def forget_closed_wave_invitations(wave_id: int) -> None:
    """A closed wave's invitations changed (a bounce): its kept counts are counted again when next read."""
    db.session.execute(delete(ScoreTally).where(ScoreTally.wave_id == wave_id,
                                                ScoreTally.question_code.in_(KEPT_INVITATION_CODES)))


def rebuild_tallies(wave_labels: Sequence[str] = ()) -> Iterator[str]:
    """Count the tallies of every wave (or of the waves with these labels) again from their answers, one
    wave per transaction; yields each wave's label once it is committed. Reports show the result at once
    (each wave's version moves on). Parts still waiting in an anonymous wave's pool are not answers yet:
    they are counted when they are written."""
    query = select(Wave.id, Wave.label).order_by(Wave.id)
    if wave_labels:
        query = query.where(Wave.label.in_(list(wave_labels)))
    for wave_id, label in db.session.execute(query).all():
        rebuild_wave_tallies(wave_id)
        db.session.commit()
        yield label
