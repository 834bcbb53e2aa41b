"""Emerging issues: the words and phrases whose share of an area's comments this wave differs from earlier waves
by more than chance, with a keyness test (log-likelihood G2, Fisher's exact test at small counts) and
Benjamini-Hochberg control of the false-discovery rate. Plain data in, plain data out: no Flask, no database.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import numpy as np

# scipy and numpy import when emerging_terms runs, like stats.py, so app start-up and `flask` commands never
# load them.

MAX_NGRAM_WORDS = 3

# Cochran's rule for a 2x2 table: the chi-square approximation to G2 is used only when every expected cell count
# is at least 5. Below that it is too liberal for the counts this module sees: a term in 5 of 300 comments now
# and in none of 900 before gets p = 0.0002 from G2 but p = 0.001 from Fisher's exact test, and false alarms on
# rare words would follow. Such tables get Fisher's exact test instead.
MIN_EXPECTED_FOR_G2 = 5.0

# A shorter n-gram is left out when a longer significant n-gram containing it (same direction) occurs in at
# least this share of the shorter one's comments: "vpn" and "vpn keeps" then say nothing "vpn keeps dropping"
# does not. Below this share it is still left out when its other comments show no change of their own.
SUBSUMED_SHARE = 0.9

# Log ratios are smoothed by half a comment so a term absent from one side has a finite effect size.
_SMOOTHING = 0.5

_APOSTROPHES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u2032": "'", "`": "'"})
# N-grams never reach across a sentence or clause: "slow. vpn" is not a phrase anyone wrote.
_CLAUSE_BREAK = re.compile(r"[.!?;:,()\[\]{}\"\u2026\u2013\u2014\r\n]+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)*(?:-[^\W_]+)*")


@dataclass(frozen=True)
class EmergingTerm:
    """A word or phrase whose share of comments changed between the previous waves and this one.

    Counts are comments (a comment that repeats a phrase counts once). ``g2`` is the log-likelihood statistic of
    the 2x2 table (contains the term or not, this wave or before); ``p_value`` comes from it, or from Fisher's
    exact test when an expected count is below ``MIN_EXPECTED_FOR_G2``; ``q_value`` is the Benjamini-Hochberg
    adjusted p-value over every term tested. ``last_wave`` is the count in the single wave before this one, or
    None when that wave had no comments.
    """

    term: str
    comments_now: int
    total_now: int
    comments_before: int
    total_before: int
    g2: float
    p_value: float
    q_value: float
    rising: bool
    last_wave: int | None

    @property
    def log2_ratio(self) -> float:
        """Effect size: log2 of (share now / share before), smoothed so zero counts stay finite."""
        now = (self.comments_now + _SMOOTHING) / (self.total_now + 2 * _SMOOTHING)
        before = (self.comments_before + _SMOOTHING) / (self.total_before + 2 * _SMOOTHING)
        return math.log2(now / before)


def comment_terms(text: str) -> set[str]:
    """The distinct words, word pairs and word triples of one comment, lower-cased with straight apostrophes."""
    terms: set[str] = set()
    for clause in _CLAUSE_BREAK.split(text.lower().translate(_APOSTROPHES)):
        words = _WORD.findall(clause)
        terms.update(words)
        terms.update(map(" ".join, zip(words, words[1:])))
        terms.update(map(" ".join, zip(words, words[1:], words[2:])))
    return terms


def _count_into(comments: Iterable[str], *counters: Counter[str]) -> None:
    # Counter.update on a set counts in C; each comment is tokenised once however many counters it feeds.
    for comment in comments:
        terms = comment_terms(comment)
        for counter in counters:
            counter.update(terms)


def _g2(now: Sequence[int], before: Sequence[int], total_now: int,
        total_before: int) -> tuple[np.ndarray, np.ndarray]:
    """G2 = 2 * sum(observed * ln(observed / expected)) of each term's 2x2 table, and its smallest expected count."""
    import numpy as np
    from scipy.special import xlogy

    a = np.asarray(now, dtype=float)
    c = np.asarray(before, dtype=float)
    total = total_now + total_before
    with_term = a + c
    observed = (a, total_now - a, c, total_before - c)
    expected = (with_term * total_now / total, (total - with_term) * total_now / total,
                with_term * total_before / total, (total - with_term) * total_before / total)
    g2 = 2.0 * sum(xlogy(o, o) - xlogy(o, e) for o, e in zip(observed, expected))
    return np.maximum(g2, 0.0), np.minimum.reduce(expected)


def _p_values(now: Sequence[int], before: Sequence[int], total_now: int,
              total_before: int) -> tuple[np.ndarray, np.ndarray]:
    """(G2, p-value) per table: chi-square with 1 df where that approximation holds, Fisher's exact test elsewhere."""
    from scipy.stats import chi2, fisher_exact

    g2, smallest_expected = _g2(now, before, total_now, total_before)
    p = chi2.sf(g2, 1)
    # The margins are the same for every term, so a small table is fixed by its two counts: each distinct one is
    # tested once (a few hundred calls at most) however many terms share it.
    exact: dict[tuple[int, int], float] = {}
    for i in (smallest_expected < MIN_EXPECTED_FOR_G2).nonzero()[0]:
        key = (now[i], before[i])
        if key not in exact:
            table = [[now[i], total_now - now[i]], [before[i], total_before - before[i]]]
            exact[key] = float(fisher_exact(table).pvalue)
        p[i] = exact[key]
    return g2, p


def _testable(pooled: Sequence[int], total_now: int, total_before: int, fdr: float) -> tuple[np.ndarray, int]:
    """Which terms can be significant at all, by Tarone's method for discrete tests (Tarone 1990; Gilbert 2005 for
    the false-discovery rate), and the number K of tests to correct for.

    A term in k comments cannot get a smaller p-value than the one of its most lopsided table (all k comments
    now, or all before). K is the smallest number such that at most K terms reach fdr / K that way; the others
    could never be reported even by Bonferroni at K tests, so they are left out of the correction instead of
    diluting it. Like the minimum count, this looks only at the pooled count k, never at the split being tested.
    In a simulated wave of 300 comments against 900 it leaves 753 of 1,185 terms (those seen in 5 to 7 comments
    go), which lowers every q-value by a third.
    """
    import numpy as np

    distinct = sorted(set(pooled))
    all_now = [min(k, total_now) for k in distinct]
    all_before = [max(0, k - total_before) for k in distinct]
    _, p_all_now = _p_values(all_now, [k - a for k, a in zip(distinct, all_now)], total_now, total_before)
    _, p_all_before = _p_values(all_before, [k - a for k, a in zip(distinct, all_before)], total_now, total_before)
    floor_by_count = dict(zip(distinct, np.minimum(p_all_now, p_all_before).tolist()))
    floor = np.array([floor_by_count[k] for k in pooled])
    sizes = np.arange(1, len(floor) + 1)
    reachable = np.searchsorted(np.sort(floor), fdr / sizes, side="right")
    tests = int(sizes[reachable <= sizes][0])
    return floor <= fdr / tests, tests


def _keyness(now: Sequence[int], before: Sequence[int], total_now: int, total_before: int,
             tests: int) -> tuple[list[float], list[float], list[float]]:
    """(G2, p-value, q-value) per term; the q-value is Benjamini-Hochberg for ``tests`` tests, which is at least
    the number of terms given (see ``_testable``), so it errs on the safe side."""
    from scipy.stats import false_discovery_control

    g2, p = _p_values(now, before, total_now, total_before)
    q = false_discovery_control(p, method="bh") * (tests / len(p))
    return g2.tolist(), p.tolist(), q.clip(max=1.0).tolist()


def _explained_by(shorter: EmergingTerm, longer: EmergingTerm, fdr: float) -> bool:
    """Whether a longer term containing ``shorter`` accounts for its change: it occurs in (nearly) all of the
    shorter term's comments, or the shorter term's other comments do not differ between the waves (p > fdr).
    A common word such as "keeps" rises with "vpn keeps dropping" without a story of its own."""
    if (longer.comments_now + longer.comments_before
            >= SUBSUMED_SHARE * (shorter.comments_now + shorter.comments_before)):
        return True
    # The longer term's comments all contain the shorter one, so the differences are the shorter one's own.
    _, p = _p_values([shorter.comments_now - longer.comments_now], [shorter.comments_before - longer.comments_before],
                     shorter.total_now, shorter.total_before)
    return float(p[0]) > fdr


def _without_subsumed(found: list[EmergingTerm], fdr: float) -> list[EmergingTerm]:
    """Drops a shorter term whose change a longer significant term containing it, same direction, explains."""
    by_term = {t.term: t for t in found}
    subsumed: set[str] = set()
    for longer in found:
        words = longer.term.split()
        for size in range(1, len(words)):
            for start in range(len(words) - size + 1):
                shorter = by_term.get(" ".join(words[start:start + size]))
                if shorter is not None and shorter.rising == longer.rising and _explained_by(shorter, longer, fdr):
                    subsumed.add(shorter.term)
    return [t for t in found if t.term not in subsumed]


def emerging_terms(current: Sequence[str], previous: Sequence[Sequence[str]], *, fdr: float = 0.05,
                   min_comments: int = 5, max_terms: int = 8) -> list[EmergingTerm]:
    """Words and phrases (1 to 3 words) whose share of comments this wave differs from the previous waves.

    ``current`` is this wave's comments; ``previous`` the earlier waves' comments, most recent last, pooled as
    "before". Each term's 2x2 table (comments containing it or not, now or before) is tested with G2, or with
    Fisher's exact test when an expected count is small, and a term is reported when its Benjamini-Hochberg
    q-value over all terms tested is at most ``fdr``. No stop-word list decides: "the" is reported only if its
    share really moved.

    A term is tested only when at least ``min_comments`` comments, this wave and before together, contain it.
    That pooled count says nothing, under the null hypothesis, about which wave the comments fall in, so leaving
    rare terms out does not bias the tests; it keeps tens of thousands of once-seen word triples, which could
    never reach significance, from diluting the correction for the terms that can (Bourgon, Gentleman & Huber
    2010, "independent filtering"). Terms whose count is too small to ever reach significance are then left out
    of the correction as well (Tarone's method, ``_testable``).

    Rising terms come first, then falling ones, each by q-value and then by effect size (log2 ratio of shares);
    at most ``max_terms``. Empty when either side has no comments.
    """
    return emerging_from_counts(term_counts(current), [term_counts(wave) for wave in previous], fdr=fdr,
                                min_comments=min_comments, max_terms=max_terms)


@dataclass(frozen=True)
class TermCounts:
    """How many of a set of comments contain each term (`comment_terms`), and how many comments there were:
    all the test needs of a wave, so a closed wave's can be kept instead of its comments."""

    comments: int
    terms: Counter[str]


def term_counts(comments: Sequence[str]) -> TermCounts:
    counter: Counter[str] = Counter()
    _count_into(comments, counter)
    return TermCounts(len(comments), counter)


def emerging_from_counts(current: TermCounts, previous: Sequence[TermCounts], *, fdr: float = 0.05,
                         min_comments: int = 5, max_terms: int = 8) -> list[EmergingTerm]:
    """`emerging_terms` from each wave's term counts (the earlier waves' most recent last)."""
    if not 0 < fdr < 1:
        raise ValueError(f"fdr must be between 0 and 1, got {fdr}")
    total_now = current.comments
    total_before = sum(wave.comments for wave in previous)
    if total_now == 0 or total_before == 0:
        return []

    now = current.terms
    before: Counter[str] = Counter()
    for wave in previous:
        before.update(wave.terms)
    last = previous[-1].terms

    tested = [t for t, k in now.items() if k + before.get(t, 0) >= min_comments]
    tested += [t for t, k in before.items() if k >= min_comments and t not in now]
    if not tested:
        return []
    testable, tests = _testable([now.get(t, 0) + before.get(t, 0) for t in tested], total_now, total_before, fdr)
    tested = [t for t, keep in zip(tested, testable.tolist()) if keep]
    if not tested:
        return []
    counts_now = [now.get(t, 0) for t in tested]
    counts_before = [before[t] for t in tested]
    g2, p, q = _keyness(counts_now, counts_before, total_now, total_before, tests)

    last_wave_known = previous[-1].comments > 0
    found = [
        EmergingTerm(term=t, comments_now=counts_now[i], total_now=total_now, comments_before=counts_before[i],
                     total_before=total_before, g2=g2[i], p_value=p[i], q_value=q[i],
                     rising=counts_now[i] * total_before > counts_before[i] * total_now,
                     last_wave=last.get(t, 0) if last_wave_known else None)
        for i, t in enumerate(tested) if q[i] <= fdr
    ]
    found = _without_subsumed(found, fdr)
    found.sort(key=lambda t: (not t.rising, t.q_value, -abs(t.log2_ratio), t.term))
    return found[:max_terms]


def _share(count: int, total: int) -> str:
    percent = 100 * count / total
    return f"{percent:.1f}%" if percent < 10 else f"{percent:.0f}%"


def describe(term: EmergingTerm) -> str:
    """One plain sentence for a vendor manager, e.g. "new this wave: 'vpn drops' in 14 comments (5% of 300);
    no comment mentioned it in the 900 before"."""
    now = "no comment" if term.comments_now == 0 else (
        f"{term.comments_now} comment{'s' if term.comments_now != 1 else ''}"
        f" ({_share(term.comments_now, term.total_now)} of {term.total_now})")
    last = "" if term.last_wave is None else f"; {term.last_wave} last wave"
    if term.rising and term.comments_before == 0:
        return (f"new this wave: '{term.term}' in {now}; "
                f"no comment mentioned it in the {term.total_before} before")
    before = (f"{_share(term.comments_before, term.total_before)} before "
              f"({term.comments_before} of {term.total_before}{last})")
    wording = "more often this wave" if term.rising else "less often this wave"
    return f"{wording}: '{term.term}' in {now}, against {before}"
