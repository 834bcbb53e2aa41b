"""What people talk about: per service aspect, how many of an area's comments mention it this wave, with
what net sentiment, how that changed since the previous wave (and whether by more than chance), a few
example clauses; and the words and phrases that emerged in the area's comments this wave.

Only comments of wave and area groups large enough to show comments are counted, none under a department
filter (as for the comment list), and for the provider's copy only comments marked shareable, masked.
Aspect counts come from the tallies (`app.services.tallies`: every comment's stored aspects, or a manager's
correction, counted when it is stored), so they cover every comment of the wave at the cost of a few rows;
the example clauses and the emerging terms read the newest comments (`EXAMPLE_POOL`, `EMERGING_SAMPLE`).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import func, or_, select

from app.extensions import db
from app.models import Answer, ScoreTally
from app.services import emerging
from app.services.aspects import TAXONOMY
from app.services.disclosure import mask_personal_details
from app.services.tallies import ASPECT_PREFIX, COMMENTS_CODE, SHARED_ASPECT_PREFIX, SHARED_COMMENTS_CODE
from app.services.reporting.answers import in_groups, reportable_groups
from app.services.reporting.cache import cached, cached_by_wave, data_version
from app.services.reporting.scope import AreaRef, Scope, WaveRef

EXAMPLE_POOL = 500  # newest comments per wave and area the example clauses are chosen from (the overview)
EMERGING_WAVES = 4  # earlier waves the emerging terms are compared with
EMERGING_SAMPLE = 2000  # newest comments per wave the emerging terms read (tokenising is the cost)
EXAMPLES = 3
LARGE_EXPECTED = 1000  # every expected count of a share's 2x2 table at least this: chi-square, not Fisher
ALPHA = 0.05  # false-discovery rate for "moved" across the aspects of one area (Benjamini-Hochberg)
SCORE = {"positive": 1, "neutral": 0, "negative": -1}


@dataclass(frozen=True)
class AspectExample:
    text: str
    label: str


@dataclass(frozen=True)
class AspectRow:
    aspect: str
    name: str
    description: str
    mentions: int            # comments this wave that mention the aspect
    share: float             # of the wave's comments
    positive: int
    negative: int
    previous_mentions: int | None
    previous_share: float | None
    previous_net: float | None
    p_value: float | None    # the smaller of the share test and the sentiment test, Bonferroni-doubled
    moved: bool              # significant after the false-discovery correction over the area's aspects
    examples: tuple[AspectExample, ...]

    @property
    def net(self) -> float:
        """Net sentiment, -100 (all negative) to +100 (all positive), of the comments mentioning it."""
        return 100 * (self.positive - self.negative) / self.mentions if self.mentions else 0.0

    @property
    def share_change(self) -> float | None:
        """Change of the share of comments mentioning it, in percentage points."""
        return None if self.previous_share is None else 100 * (self.share - self.previous_share)

    @property
    def net_change(self) -> float | None:
        return None if self.previous_net is None or not self.mentions else self.net - self.previous_net


@dataclass(frozen=True)
class EmergingItem:
    term: str
    description: str
    rising: bool
    comments_now: int
    q_value: float


@dataclass(frozen=True)
class AspectSummary:
    area: AreaRef
    wave: WaveRef | None
    previous: WaveRef | None
    comments: int
    previous_comments: int | None
    rows: tuple[AspectRow, ...]
    emerging: tuple[EmergingItem, ...]
    withheld: bool          # too few comments this wave to say anything
    by_department: bool     # a department filter was asked for: never by department
    min_group_size: int

    @property
    def moved(self) -> tuple[AspectRow, ...]:
        return tuple(r for r in self.rows if r.moved)


@dataclass(frozen=True)
class _Comment:
    text: str
    aspects: tuple[tuple[str, str, int | None, int | None], ...]  # (aspect, label, start, end)


def _comments(scope: Scope, area_id: int, wave_id: int, shareable_only: bool,
              limit: int = EXAMPLE_POOL, *, aspects: bool = True) -> list[_Comment]:
    """The newest `limit` comments of a group large enough to show comments, with their aspects (or, with
    `aspects=False`, their text alone: what the emerging terms read)."""
    groups = reportable_groups(scope, area_id, wave_id)
    if not groups:
        return []
    columns = (Answer.text, Answer.sentiment_aspects, Answer.aspects_override) if aspects else (Answer.text,)
    query = (
        select(*columns)
        .where(in_groups(groups), Answer.question_id.in_(scope.comment_question_ids or (-1,)),
               Answer.text.is_not(None), Answer.text != "")
        .order_by(Answer.id.desc()).limit(limit)
    )
    if shareable_only:
        query = query.where(Answer.shareable.is_(True))
    if not aspects:
        return [_Comment(text, ()) for text, in db.session.execute(query)]
    found = []
    for text, computed, override in db.session.execute(query):
        chosen = override if override is not None else computed or []
        found.append(_Comment(text, tuple(
            (a.get("aspect", ""), a.get("label", "neutral"), a.get("start"), a.get("end"))
            for a in chosen if a.get("aspect") in TAXONOMY.aspects)))
    return found


def _newest_comments(scope: Scope, area_id: int, wave_id: int, shareable_only: bool, limit: int) -> list[_Comment]:
    """`_comments`, kept per wave like the invitations delivered: one more response does not change what
    the newest comments say, so they are read again when the wave's data is edited (a correction, a
    comment shared) or within `REPORT_SECONDS`, not after every response. The counts beside them come
    from the tallies and follow every response."""
    kept = cached_by_wave(_wave_key(scope, "newest-comments", area_id, shareable_only) + (limit,), [wave_id],
                          lambda missing: {w: _comments(scope, area_id, w, shareable_only, limit) for w in missing},
                          follows_responses=False)
    return kept[wave_id] or []


def _wave_key(scope: Scope, kind: str, area_id: int, shareable_only: bool) -> tuple:
    """What a wave's comment reading depends on besides the wave's own version: which comments (questions,
    area, shareable only) and which groups may be read (the satisfaction question and the minimum group)."""
    return (kind, area_id, shareable_only, scope.comment_question_ids,
            scope.satisfaction.code if scope.satisfaction else None, scope.min_group_size)


def _tallied(scope: Scope, area_id: int, wave_ids: Sequence[int],
             shareable_only: bool) -> dict[int, tuple[int, dict[str, list[int]]]]:
    """wave -> (comments, aspect -> [mentions, positive, negative]) over every comment of the area in the
    wave, from the tallies (`app.services.tallies`); (0, {}) for a wave whose group is too small to show
    comments. Each wave's counts are kept under its own version."""
    comments_code = SHARED_COMMENTS_CODE if shareable_only else COMMENTS_CODE
    prefix = SHARED_ASPECT_PREFIX if shareable_only else ASPECT_PREFIX

    def count(missing: list[int]) -> dict[int, tuple[int, dict[str, list[int]]]]:
        totals = dict.fromkeys(missing, 0)
        counts: dict[int, dict[str, list[int]]] = {wave_id: {} for wave_id in missing}
        rows = db.session.execute(
            select(ScoreTally.wave_id, ScoreTally.question_code, ScoreTally.score, func.sum(ScoreTally.answer_count))
            .where(ScoreTally.wave_id.in_(missing), ScoreTally.area_key == area_id,
                   or_(ScoreTally.question_code == comments_code, ScoreTally.question_code.startswith(prefix)))
            .group_by(ScoreTally.wave_id, ScoreTally.question_code, ScoreTally.score))
        for wave_id, code, score, n in rows:
            n = int(n or 0)
            if code == comments_code:
                totals[wave_id] += n
            elif code[len(prefix):] in TAXONOMY.aspects:
                row = counts[wave_id].setdefault(code[len(prefix):], [0, 0, 0])
                row[0] += n
                row[1] += n if score > 0 else 0
                row[2] += n if score < 0 else 0
        return {wave_id: (totals[wave_id], counts[wave_id]) for wave_id in missing}

    kept = cached_by_wave(("aspect-tallies", area_id, shareable_only), list(wave_ids), count)
    shown = {wave_id for wave_id in wave_ids if reportable_groups(scope, area_id, wave_id)}
    return {wave_id: (kept[wave_id] or (0, {})) if wave_id in shown else (0, {}) for wave_id in wave_ids}


def _change_p(now: list[int], total_now: int, before: list[int] | None, total_before: int) -> float | None:
    """The smaller p of two tests, doubled (Bonferroni): did the share mentioning it change
    (`share_change_p`), did the sentiment of those mentions change (Mann-Whitney on -1/0/+1)?"""
    if before is None or not total_before or not total_now:
        return None
    mentions, before_mentions = now[0], before[0]
    table = [[mentions, total_now - mentions], [before_mentions, total_before - before_mentions]]
    p_values = [share_change_p(table)]
    if mentions >= 2 and before_mentions >= 2:
        sentiment = mann_whitney_p(_levels(now), _levels(before))
        if sentiment is not None:
            p_values.append(sentiment)
    p = min(p_values) * len(p_values)
    return min(1.0, p) if not math.isnan(p) else None


def share_change_p(table: list[list[int]]) -> float:
    """Two-sided p of a 2x2 table (mentioned or not, this wave or the one before): Fisher's exact test, or,
    when every expected count is at least LARGE_EXPECTED, the chi-square test with Yates' correction, which
    agrees closely there (within a fifth of the p-value) and costs a fraction of the exact test on a large
    wave's hundreds of thousands of comments."""
    from scipy import stats

    (a, b), (c, d) = table
    n = a + b + c + d
    smallest = min(a + b, c + d) * min(a + c, b + d) / n if n else 0
    if smallest >= LARGE_EXPECTED:
        return float(stats.chi2_contingency(table, correction=True).pvalue)
    return float(stats.fisher_exact(table).pvalue)


def _levels(counts: list[int]) -> tuple[int, int, int]:
    """[mentions, positive, negative] as how many mentions were negative, neutral, positive."""
    mentions, positive, negative = counts
    return (negative, mentions - positive - negative, positive)


def mann_whitney_p(a: Sequence[int], b: Sequence[int]) -> float | None:
    """Two-sided Mann-Whitney U test of two samples on ordered levels, given as counts per level: the
    normal approximation with the tie correction and continuity correction, as `scipy.stats.mannwhitneyu`
    computes it for tied data, from the counts alone (a wave's mentions can number thousands). None when
    every answer is on one level."""
    from scipy.stats import norm

    n1, n2 = sum(a), sum(b)
    n = n1 + n2
    ties = [x + y for x, y in zip(a, b)]
    if not n1 or not n2 or max(ties) == n:
        return None
    below, rank_sum = 0, 0.0
    for in_a, together in zip(a, ties):
        rank_sum += in_a * (below + (together + 1) / 2)  # every answer on a level has the level's mid-rank
        below += together
    u1 = rank_sum - n1 * (n1 + 1) / 2
    u = max(u1, n1 * n2 - u1)
    tie_term = sum(t ** 3 - t for t in ties)
    spread = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term / (n * (n - 1))))
    return min(1.0, float(2 * norm.sf((u - n1 * n2 / 2 - 0.5) / spread)))


def _benjamini_hochberg(p_values: list[float | None]) -> list[bool]:
    tested = sorted((p, i) for i, p in enumerate(p_values) if p is not None)
    passed = [False] * len(p_values)
    cutoff = 0
    for rank, (p, _) in enumerate(tested, start=1):
        if p <= ALPHA * rank / len(tested):
            cutoff = rank
    for _, index in tested[:cutoff]:
        passed[index] = True
    return passed


def _examples(comments: Sequence[_Comment], aspect: str, mask: bool, used: set[str]) -> tuple[AspectExample, ...]:
    """Up to EXAMPLES clauses saying something about the aspect, opinions before plain mentions, each
    comment's own words (a manager's correction has no clause: the whole comment, shortened). A clause
    already shown for another aspect of the area (`used`, updated here) is not shown again."""
    picked: list[AspectExample] = []
    seen: set[str] = used
    for wanted in (("negative", "positive"), ("neutral",)):
        for comment in comments:
            for name, label, start, end in comment.aspects:
                if name != aspect or label not in wanted:
                    continue
                text = comment.text[start:end] if isinstance(start, int) and isinstance(end, int) else comment.text
                text = " ".join(text.split())
                if len(text) > 220:
                    text = text[:219].rstrip() + "…"
                key = text.casefold()
                if key in seen or len(text) < 3:
                    continue
                seen.add(key)
                picked.append(AspectExample(mask_personal_details(text) if mask else text, label))
                if len(picked) == EXAMPLES:
                    return tuple(picked)
    return tuple(picked)


def _previous_wave(scope: Scope, wave: WaveRef) -> WaveRef | None:
    ids = [w.id for w in scope.all_waves]
    return scope.all_waves[ids.index(wave.id) - 1] if wave.id in ids and ids.index(wave.id) > 0 else None


def area_aspects(scope: Scope, area_id: int, *, wave: WaveRef | None = None, for_provider: bool = False,
                 emerging: bool = True) -> AspectSummary:
    """What the area's comments talk about in one wave (the scope's current one unless given), against
    the wave before it; with the emerging terms unless `emerging` is False (the overview and the CSV do
    without them: they read every area, and the terms cost most)."""
    area = scope.area(area_id)
    wave = wave or scope.current_wave
    previous = _previous_wave(scope, wave) if wave else None
    if wave is None or scope.department or not scope.comment_question_ids:
        return AspectSummary(area, wave, previous, 0, None, (), (), withheld=wave is not None,
                             by_department=bool(scope.department), min_group_size=scope.min_group_size)
    ids = [w.id for w in scope.all_waves]  # oldest first
    earlier = list(scope.all_waves[max(0, ids.index(wave.id) - EMERGING_WAVES):ids.index(wave.id)]) \
        if wave.id in ids else []
    wave_ids = sorted({wave.id} | ({previous.id} if previous else set()) | {w.id for w in earlier})

    def compute() -> AspectSummary:
        tallied = _tallied(scope, area.id, [wave.id] + ([previous.id] if previous else []), for_provider)
        total, counts = tallied[wave.id]
        if not scope.reportable(total):
            return AspectSummary(area, wave, previous, total, None, (), (), withheld=True, by_department=False,
                                 min_group_size=scope.min_group_size)
        read_before, counted_before = tallied[previous.id] if previous else (0, {})
        before_ok = previous is not None and scope.reportable(read_before)
        before_counts = counted_before if before_ok else {}
        # The newest comments give the example clauses (more of them on the area page).
        now = _newest_comments(scope, area.id, wave.id, for_provider, EMERGING_SAMPLE if emerging else EXAMPLE_POOL)
        aspects = sorted(counts, key=lambda a: (-counts[a][0], TAXONOMY.name(a)))
        p_values = [_change_p(counts[a], total, before_counts.get(a, [0, 0, 0]) if before_ok else None,
                              read_before) for a in aspects]
        moved = _benjamini_hochberg(p_values)
        rows = []
        shown: set[str] = set()  # example clauses already given to an aspect of this area
        for aspect, p, significant in zip(aspects, p_values, moved):
            mentions, positive, negative = counts[aspect]
            prior = before_counts.get(aspect, [0, 0, 0]) if before_ok else None
            rows.append(AspectRow(
                aspect=aspect, name=TAXONOMY.name(aspect), description=TAXONOMY.aspects[aspect].description,
                mentions=mentions, share=mentions / total, positive=positive, negative=negative,
                previous_mentions=prior[0] if prior else None,
                previous_share=prior[0] / read_before if prior else None,
                previous_net=100 * (prior[1] - prior[2]) / prior[0] if prior and prior[0] else None,
                p_value=p, moved=significant, examples=_examples(now, aspect, for_provider, shown)))
        terms = _emerging(scope, area.id, earlier, wave.id, for_provider) if emerging else ()
        return AspectSummary(area, wave, previous, total, read_before if before_ok else None, tuple(rows),
                             terms, withheld=False, by_department=False, min_group_size=scope.min_group_size)

    return cached(("aspects", scope, area.id, wave.id, for_provider, emerging, data_version(wave_ids)), compute)


def _emerging(scope: Scope, area_id: int, earlier: Sequence[WaveRef], wave_id: int,
              for_provider: bool) -> tuple[EmergingItem, ...]:
    """Terms whose share of the area's comments in `wave_id` differs from the earlier waves by more than
    chance (`app.services.emerging`). Earlier waves under the minimum group size are left out. Each wave's
    term counts are kept: an earlier wave's under its version, this wave's like its newest comments (read
    again when the wave is edited or within `REPORT_SECONDS`), so no page load tokenises comments again."""
    def count(missing: list[int]) -> dict[int, emerging.TermCounts]:
        result = {}
        for wave in missing:
            texts = [c.text for c in _comments(scope, area_id, wave, for_provider, EMERGING_SAMPLE, aspects=False)]
            result[wave] = emerging.term_counts([mask_personal_details(t) for t in texts] if for_provider
                                                else texts)
        return result

    key = _wave_key(scope, "term-counts", area_id, for_provider)
    kept = cached_by_wave(key, [w.id for w in earlier], count)
    previous = [kept[w.id] for w in earlier if kept.get(w.id) is not None and scope.reportable(kept[w.id].comments)]
    if not previous:
        return ()
    now = cached_by_wave(key, [wave_id], count, follows_responses=False)[wave_id]
    found = emerging.emerging_from_counts(now, previous)
    return tuple(EmergingItem(t.term, emerging.describe(t), t.rising, t.comments_now, t.q_value) for t in found)


@dataclass(frozen=True)
class Mover:
    area: AreaRef
    row: AspectRow


def aspect_movers(scope: Scope, limit: int = 6) -> tuple[Mover, ...]:
    """The aspects that moved most this wave across every area (significant changes only), largest change
    of net sentiment or share first; for the overview."""
    movers = []
    for area in scope.areas:
        summary = area_aspects(scope, area.id, emerging=False)
        movers += [Mover(area, row) for row in summary.moved]
    movers.sort(key=lambda m: -max(abs(m.row.net_change or 0), abs(m.row.share_change or 0) * 2))
    return tuple(movers[:limit])
