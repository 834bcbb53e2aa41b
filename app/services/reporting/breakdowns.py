"""Breakdowns grouped in SQL over `answer` and `invitation`: response rates, comment sentiment, time lost
(with its total over the people invited and its cost), the most chosen reasons, each suppressed below the
minimum group size."""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import and_, case, func, literal, or_, select

from app.extensions import db, is_postgres
from app.models import Answer, Campaign, Invitation, Question, ScoreTally, Stakeholder
from app.services.reporting.answers import answers_in_scope
from app.services.reporting.cache import cached_by_wave
from app.services.reporting.departments import department_counts, department_gate
from app.services.reporting.scope import Scope, WaveRef
from app.services.sampling import invitations_per_area
from app.services.stats import is_reportable
from app.services.tallies import (COMMENTS_CODE, HOURS_PREFIX, INVITED_CODE, POLARITY_CODE, RATES_CODE,
                                  kept_closed_wave_counts)


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


def _closed(scope: Scope) -> set[int]:
    return {w.id for w in scope.all_waves if w.state == "closed"}


def response_rates(scope: Scope) -> dict[int, ResponseRate]:
    """Invitations sent and answered per wave (by department when filtered), counted in one grouped query
    for the waves whose counts are not kept: a closed wave's are kept under its own version."""
    if not scope.waves:
        return {}

    # A bounced invitation never reached anyone: it leaves the denominator, unless it was answered anyway.
    sent = and_(or_(Invitation.sent_at.is_not(None), Invitation.state == "sent"),
                or_(Invitation.bounced_at.is_(None), Invitation.responded_at.is_not(None)))

    def count_now(waves: list[int]) -> dict[int, tuple[int, int]]:
        query = (
            select(Invitation.wave_id, func.sum(case((sent, 1), else_=0)), func.count(Invitation.responded_at))
            .where(Invitation.wave_id.in_(waves))
            .group_by(Invitation.wave_id)
        )
        if scope.department:
            query = query.join(Stakeholder, Stakeholder.id == Invitation.stakeholder_id).where(
                Stakeholder.department == scope.department)
        return {wave_id: (int(invited or 0), int(responded or 0))
                for wave_id, invited, responded in db.session.execute(query)}

    def by_department(waves: list[int]) -> dict[int, dict[tuple[int, str, int], int]]:
        counted: dict[int, dict[tuple[int, str, int], int]] = {}
        for wave_id, department, invited, responded in db.session.execute(
                select(Invitation.wave_id, Stakeholder.department,
                       func.sum(case((sent, 1), else_=0)), func.count(Invitation.responded_at))
                .join(Stakeholder, Stakeholder.id == Invitation.stakeholder_id)
                .where(Invitation.wave_id.in_(waves))
                .group_by(Invitation.wave_id, Stakeholder.department)):
            counts = counted.setdefault(wave_id, {})
            for score, n in ((0, invited), (1, responded)):
                key = (0, department or "", score)
                counts[key] = counts.get(key, 0) + int(n or 0)  # no department and "" are one row
        return counted

    def count(missing: list[int]) -> dict[int, tuple[int, int]]:
        # A closed wave's are counted once per department and kept in the tallies.
        closed = _closed(scope)
        kept = kept_closed_wave_counts(RATES_CODE, [w for w in missing if w in closed], by_department)
        result = {}
        for wave_id, counts in kept.items():
            wanted = [(score, n) for (_, department, score), n in counts.items()
                      if scope.department is None or department == scope.department]
            result[wave_id] = (sum(n for score, n in wanted if score == 0), sum(n for score, n in wanted if score == 1))
        result.update(count_now([w for w in missing if w not in closed]))
        return result

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
    """(wave_id, area_id) -> SentimentMix for area comments, from the comment tallies: each label as shown
    (a manager's correction wins), and the mean polarity from each comment's to the hundredth."""
    if not wave_ids or not scope.comment_question_ids:
        return {}

    def count(missing: list[int]) -> dict[int, list[tuple]]:
        # From the comment tallies: comments per label as shown, and their polarity in hundredths.
        query = (
            select(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.question_code, ScoreTally.score,
                   func.sum(ScoreTally.answer_count))
            .where(ScoreTally.wave_id.in_(missing), ScoreTally.question_code.in_((COMMENTS_CODE, POLARITY_CODE)))
            .group_by(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.question_code, ScoreTally.score)
        )
        if area_id is not None:
            query = query.where(ScoreTally.area_key == area_id)
        if scope.department:
            query = query.where(ScoreTally.department == scope.department)
        groups: dict[tuple[int, int], list] = {}
        for wave_id, area, code, score, n in db.session.execute(query):
            group = groups.setdefault((wave_id, area), [0, 0, 0, 0, 0])  # negative, neutral, positive, sum, n
            n = int(n or 0)
            if code == COMMENTS_CODE:
                group[score + 1] += n  # the label's score: -1, 0, +1
            else:
                group[3] += score * n
                group[4] += n
        by_wave: dict[int, list[tuple]] = {}
        for (wave_id, area), (negative, neutral, positive, polarity_sum, scored) in groups.items():
            comments = negative + neutral + positive
            if comments:
                by_wave.setdefault(wave_id, []).append((area or None, comments, positive, neutral, negative,
                                                        polarity_sum / scored / 100 if scored else None))
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
class LostTimeTotal:
    """Hours lost by everyone invited to answer about an area in one wave, estimated from the respondents:
    N x the respondents' mean (the expansion estimator), with a 95% Student-t interval whose standard error
    N x s / sqrt(n) x sqrt(1 - n/N) carries the finite population correction. The low end never falls
    below the hours actually reported."""

    invited: int  # N: delivered invitations that asked about the area
    hours: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class LostTimeCost:
    """The lost hours priced at the campaign's hourly cost."""

    hourly_cost: float
    currency: str
    reported: float
    total: float | None
    ci_low: float | None
    ci_high: float | None


@dataclass(frozen=True)
class TimeLost:
    """Working hours lost in one area and wave by the respondents who answered the question: their mean,
    their sum and, where the invited population is known, the total over it and its cost. Every figure is
    None when suppressed."""

    wave: WaveRef
    n: int
    mean_hours: float | None
    min_group_size: int
    withheld: bool = False
    reported_hours: float | None = None  # summed over the respondents
    total: LostTimeTotal | None = None  # extrapolated to the invited population
    cost: LostTimeCost | None = None

    @property
    def suppressed(self) -> bool:
        return self.withheld or not is_reportable(self.n, self.min_group_size)


def estimate_total(n: int, total: float, sum_of_squares: float, invited: int,
                   confidence: float = 0.95) -> LostTimeTotal | None:
    """The population total of hours lost from `n` respondents' sum and sum of squares, `invited` people in
    all: the expansion estimate N x mean with a Student-t interval (n - 1 degrees of freedom) and the
    finite population correction, treating respondents as a simple random sample of the people invited."""
    if n < 2 or invited < 1:
        return None
    from scipy import stats as sp  # loaded when first needed, as app.services.stats does

    population = max(invited, n)
    mean = total / n
    variance = max(0.0, (sum_of_squares - n * mean * mean) / (n - 1))
    standard_error = population * math.sqrt(variance / n * (1 - n / population))
    margin = float(sp.t.ppf(0.5 + confidence / 2, n - 1)) * standard_error
    estimate = population * mean
    return LostTimeTotal(population, estimate, max(total, estimate - margin), estimate + margin)


@dataclass(frozen=True)
class HourlyCost:
    """A campaign's price of an hour of lost work, as set on its admin page."""

    amount: float
    currency: str


def hourly_cost(scope: Scope) -> HourlyCost | None:
    """The campaign's hourly cost, or None when none is set."""
    row = db.session.execute(select(Campaign.hourly_cost, Campaign.currency)
                             .where(Campaign.id == scope.campaign_id)).first()
    if row is None or row[0] is None:
        return None
    return HourlyCost(float(row[0]), (row[1] or "").strip())


def _price(reported: float, total: LostTimeTotal | None, price: HourlyCost | None) -> LostTimeCost | None:
    if price is None:
        return None
    return LostTimeCost(price.amount, price.currency, reported * price.amount,
                        None if total is None else total.hours * price.amount,
                        None if total is None else total.ci_low * price.amount,
                        None if total is None else total.ci_high * price.amount)


def _invited_per_area(scope: Scope) -> dict[tuple[int, int], int]:
    """(wave, area) -> delivered invitations that asked about the area, kept per wave like response rates."""
    def count_now(waves: list[int]) -> dict[int, dict[int, int]]:
        by_wave: dict[int, dict[int, int]] = {}
        for (wave_id, area), (delivered, _) in invitations_per_area(waves).items():
            by_wave.setdefault(wave_id, {})[area] = delivered
        return by_wave

    def keyed(waves: list[int]) -> dict[int, dict[tuple[int, str, int], int]]:
        return {w: {(area, "", 0): n for area, n in areas.items()} for w, areas in count_now(waves).items()}

    def count(missing: list[int]) -> dict[int, dict[int, int]]:
        # A closed wave's are counted once and kept in the tallies (a scan of every invitation otherwise).
        closed = _closed(scope)
        kept = kept_closed_wave_counts(INVITED_CODE, [w for w in missing if w in closed], keyed)
        by_wave = {w: {area: n for (area, _, _), n in counts.items()} for w, counts in kept.items()}
        by_wave.update(count_now([w for w in missing if w not in closed]))
        return by_wave

    # Only sending and bouncing change these counts, not answering (but for a bounced invitation answered
    # anyway): kept while the open wave takes responses.
    counted = cached_by_wave(("invited-per-area",), scope.wave_ids, count, follows_responses=False)
    return {(wave_id, area): n for wave_id, areas in counted.items() for area, n in (areas or {}).items()}


def _hours_sums(scope: Scope) -> dict[int, dict[int, tuple[int, float | None, float, float]] | None]:
    """wave -> area -> (respondents, mean, sum, sum of squares) of the hours lost, from the hours tallies
    (how many answered each number of hours, in hundredths): every area of a wave from one query, kept per
    wave."""
    if not scope.hours_question_ids:
        return {}

    def count(missing: list[int]) -> dict[int, dict[int, tuple[int, float | None, float, float]]]:
        codes = [HOURS_PREFIX + code for code in db.session.scalars(
            select(Question.code).where(Question.id.in_(scope.hours_question_ids)))]
        query = (
            select(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.score, func.sum(ScoreTally.answer_count))
            .where(ScoreTally.wave_id.in_(missing), ScoreTally.question_code.in_(codes))
            .group_by(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.score)
        )
        if scope.department:
            query = query.where(ScoreTally.department == scope.department)
        sums: dict[int, dict[int, list[float]]] = {}
        for wave_id, area, hundredths, n in db.session.execute(query):
            hours, n = hundredths / 100, int(n or 0)
            row = sums.setdefault(wave_id, {}).setdefault(area, [0, 0.0, 0.0])
            row[0] += n
            row[1] += n * hours
            row[2] += n * hours * hours
        return {w: {area: (n, total / n if n else None, total, squares)
                    for area, (n, total, squares) in areas.items() if n} for w, areas in sums.items()}

    return cached_by_wave(("time-lost-sums", scope.hours_question_ids, scope.department), scope.wave_ids, count)


def time_lost(scope: Scope, area_id: int) -> list[TimeLost]:
    """Hours lost in the area per wave of the scope, from the hours questions: the mean per respondent,
    the sum over respondents and, for all departments, the total over the people invited to answer about
    the area with its cost. With a department filter the invited population of that department is not
    counted, so only the respondents' figures are given."""
    if not scope.waves:
        return []
    by_wave = {wave_id: (areas or {}).get(area_id) for wave_id, areas in _hours_sums(scope).items()}
    invited = {} if scope.department else _invited_per_area(scope)
    price = hourly_cost(scope)
    result = []
    may_show = department_gate(scope)
    for wave in scope.waves:
        n, avg, total, squares = by_wave.get(wave.id) or (0, None, 0.0, 0.0)
        allowed = may_show(wave.id, area_id, "hours")
        if avg is None or not allowed or not scope.reportable(n):
            result.append(TimeLost(wave, n, None, scope.min_group_size, withheld=not allowed))
            continue
        population = invited.get((wave.id, area_id), 0)
        estimate = estimate_total(n, total, squares, population) if population else None
        result.append(TimeLost(wave, n, float(avg), scope.min_group_size, reported_hours=total, total=estimate,
                               cost=_price(total, estimate, price)))
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
