"""The one gate for what may be shown: minimum group size with complementary suppression, and k-anonymous rows.

Every figure, row and comment that leaves the app (dashboard pages, charts, CSV files, the PDF pack, the
provider's scorecard, the department filter list) is decided here, the way every route passes one
authorization check:

- A figure for a group is shown only when at least `k` people contributed to it.
- A department's figure is shown only when the departments left out of a cell add up to none or to at
  least `k` people (complementary suppression), so "all departments" minus the departments shown never
  isolates fewer than `k` people, whatever filters and exports a manager combines.
- Row-level exports label a row with its department only where that department is shown by the same
  rule, and otherwise "Other departments"; `anonymous_rows` then coarsens or drops rows until every
  combination of quasi-identifiers (wave, department, set of areas answered) has at least `k` rows.

Nothing here knows about HTTP or templates; the counting queries take plain ids.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import func, select

from app.extensions import db
from app.models import Answer, Response, ScoreTally

NOT_RECORDED = ""  # the department of responses whose campaign does not record one
OTHER_DEPARTMENTS = "Other departments"
RELATIONSHIP = 0  # area key of questions about the provider as a whole

G = TypeVar("G", bound=Hashable)

EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"(?<![\w])(\+?\d[\d\s().-]{6,}\d)(?![\w])")


def mask_personal_details(text: str) -> str:
    """Email addresses and phone numbers never reach the provider's copy (scorecard, PDF pack, what people talk about)."""
    return PHONE.sub("[phone]", EMAIL.sub("[email]", text))


def publishable(counts: Mapping[G, int], k: int) -> frozenset[G]:
    """The groups whose own figures may be shown beside the total of all of them.

    Groups under `k` are withheld. While the withheld groups together hold between 1 and k-1 people,
    the total minus the groups shown would give them away, so the smallest shown group is withheld
    too. When the total itself is under `k`, nothing is shown.
    """
    sizes = {group: int(n) for group, n in counts.items() if n and n > 0}
    if sum(sizes.values()) < k:
        return frozenset()
    shown = sorted((g for g, n in sizes.items() if n >= k), key=lambda g: (sizes[g], str(g)))
    withheld = sum(n for n in sizes.values() if n < k)
    while 0 < withheld < k and shown:
        withheld += sizes[shown.pop(0)]
    return frozenset(shown)


CellKey = tuple[int, int, str]  # (wave_id, area_key, measure)


@dataclass(frozen=True)
class DepartmentCounts:
    """How many people contributed to each measure, per wave, area and department, and what may be shown."""

    k: int
    cells: Mapping[CellKey, Mapping[str, int]]
    _shown: dict[CellKey, frozenset[str]] = field(default_factory=dict, compare=False, repr=False)

    def total(self, wave_id: int, area_key: int, measure: str) -> int:
        return sum(self.cells.get((wave_id, area_key, measure), {}).values())

    def count(self, wave_id: int, area_key: int, measure: str, department: str) -> int:
        return int(self.cells.get((wave_id, area_key, measure), {}).get(department, 0))

    def shown(self, wave_id: int, area_key: int, measure: str) -> frozenset[str]:
        key = (wave_id, area_key, measure)
        if key not in self._shown:
            self._shown[key] = publishable(self.cells.get(key, {}), self.k)
        return self._shown[key]

    def allows(self, wave_id: int, area_key: int, measure: str, department: str | None) -> bool:
        """May the figure of this cell be shown for this department (None: every department)?"""
        if department is None:
            return self.total(wave_id, area_key, measure) >= self.k
        return department in self.shown(wave_id, area_key, measure)

    def label(self, wave_id: int, area_key: int, measure: str, department: str | None) -> str | None:
        """The department as a row may carry it: its name when shown by the rule, else "Other departments"."""
        department = department or NOT_RECORDED
        if department in self.shown(wave_id, area_key, measure):
            return department or None
        return OTHER_DEPARTMENTS

    def listable(self, wave_ids: Iterable[int], measure: str = "satisfaction") -> list[str]:
        """Departments shown in at least one cell of these waves: the only ones a filter list may offer."""
        wanted = set(wave_ids)
        names: set[str] = set()
        for (wave_id, area_key, cell_measure) in self.cells:
            if wave_id in wanted and cell_measure == measure:
                names |= self.shown(wave_id, area_key, measure)
        names.discard(NOT_RECORDED)
        return sorted(names)


def count_departments(
    *,
    k: int,
    wave_ids: Sequence[int],
    metric_codes: Mapping[str, str],
    question_measures: Mapping[int, str],
    respondents: bool = False,
) -> DepartmentCounts:
    """Count contributors per (wave, area, measure, department) in SQL.

    `metric_codes` maps a measure ("satisfaction", "happiness") to its question code (read from the
    tallies); `question_measures` maps the ids of comment, hours and reasons questions to their
    measure (read from the answers). With `respondents`, also counts the responses that answered
    anything about each area (measure "respondents"), the basis of row-level exports.
    """
    cells: dict[CellKey, Counter[str]] = {}
    waves = list(wave_ids)
    if not waves:
        return DepartmentCounts(k, {})

    def add(wave_id: int, area_key: int, measure: str, department: str | None, n) -> None:
        if n:
            cells.setdefault((wave_id, int(area_key or 0), measure), Counter())[department or NOT_RECORDED] += int(n)

    by_code = {code: measure for measure, code in metric_codes.items()}
    if by_code:
        rows = db.session.execute(
            select(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.question_code, ScoreTally.department,
                   func.sum(ScoreTally.answer_count))
            .where(ScoreTally.wave_id.in_(waves), ScoreTally.question_code.in_(list(by_code)))
            .group_by(ScoreTally.wave_id, ScoreTally.area_key, ScoreTally.question_code, ScoreTally.department)
        )
        for wave_id, area_key, code, department, n in rows:
            add(wave_id, area_key, by_code[code], department, n)

    if question_measures:
        given = (Answer.text.is_not(None) & (Answer.text != "")) | Answer.hours.is_not(None) | \
            Answer.reasons.is_not(None)
        rows = db.session.execute(
            select(Answer.wave_id, Answer.service_area_id, Answer.question_id, Response.department, func.count())
            .join(Response, Response.id == Answer.response_id)
            .where(Answer.wave_id.in_(waves), Answer.question_id.in_(list(question_measures)), given)
            .group_by(Answer.wave_id, Answer.service_area_id, Answer.question_id, Response.department)
        )
        for wave_id, area_id, question_id, department, n in rows:
            add(wave_id, area_id, question_measures[question_id], department, n)

    if respondents:
        rows = db.session.execute(
            select(Answer.wave_id, Answer.service_area_id, Response.department,
                   func.count(func.distinct(Answer.response_id)))
            .join(Response, Response.id == Answer.response_id)
            .where(Answer.wave_id.in_(waves))
            .group_by(Answer.wave_id, Answer.service_area_id, Response.department)
        )
        for wave_id, area_id, department, n in rows:
            add(wave_id, area_id, "respondents", department, n)

    return DepartmentCounts(k, {key: dict(counter) for key, counter in cells.items()})


# --------------------------------------------------------------------------------------------
# Row-level exports: k-anonymity on (wave, department, areas answered)
# --------------------------------------------------------------------------------------------

Areas = frozenset[int]  # the area keys a response answered (RELATIONSHIP for the provider-wide questions)


@dataclass(frozen=True)
class RowPlan:
    """How the rows of one response are written in a row-level export.

    `label` is the department written on them. `split` means the response's combination of areas is
    too rare to be written as one row: each area (and the provider-wide questions) goes out as its
    own row, unlinkable to the others, and only the `parts` whose single-area combination is common
    enough are written at all.
    """

    label: str | None
    split: bool
    parts: Areas


def plan_rows(groups: Mapping[tuple[int, str, Areas], int], k: int) -> dict[tuple[int, str, Areas], RowPlan]:
    """Decide, per (wave, department, areas answered) group of responses, how its rows are written so that
    every combination of the quasi-identifiers (wave, department written, areas answered) in a file has
    at least `k` rows. Coarsen first, leave out last:

    1. Per wave and combination of areas, departments get their name by the same rule as dashboard
       figures (`publishable`); the others are written as "Other departments", a group that is then
       empty or holds at least `k` rows.
    2. A combination of areas answered by fewer than `k` people in the wave is split into one row per area.
    3. A split part whose (wave, area) combination still has fewer than `k` rows is left out.
    """
    by_combination: dict[tuple[int, Areas], dict[str, int]] = {}
    for (wave_id, department, areas), n in groups.items():
        by_combination.setdefault((wave_id, areas), {})[department] = n

    labels: dict[tuple[int, str, Areas], str | None] = {}
    small: set[tuple[int, Areas]] = set()
    part_rows: Counter[tuple[int, int]] = Counter()  # (wave, area) -> rows written with only that area, as Other
    for (wave_id, areas), counts in by_combination.items():
        shown = publishable(counts, k)
        for department in counts:
            labels[(wave_id, department, areas)] = (department or None) if department in shown else OTHER_DEPARTMENTS
        if sum(counts.values()) < k:
            small.add((wave_id, areas))
            for area in areas:
                part_rows[(wave_id, area)] += sum(counts.values())
        elif len(areas) == 1:
            part_rows[(wave_id, next(iter(areas)))] += sum(n for d, n in counts.items() if d not in shown)

    plans = {}
    for (wave_id, department, areas), label in labels.items():
        if (wave_id, areas) in small:
            keep = frozenset(area for area in areas if part_rows[(wave_id, area)] >= k)
            plans[(wave_id, department, areas)] = RowPlan(OTHER_DEPARTMENTS, True, keep)
        else:
            plans[(wave_id, department, areas)] = RowPlan(label, False, areas)
    return plans
