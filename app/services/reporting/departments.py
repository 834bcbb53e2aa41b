"""The disclosure gate wired to a report's scope: which departments the filter may offer, and whether a
department-filtered figure may be shown. The rule itself is `app.services.disclosure`'s."""
from __future__ import annotations

from collections.abc import Callable

from app.services.disclosure import DepartmentCounts, count_departments
from app.services.reporting.cache import cached_by_wave
from app.services.reporting.scope import Scope


def departments(scope: Scope) -> list[str]:
    """Departments the filter form may offer: those shown by the disclosure rule in at least one wave and
    area of the scope. A department too small to report is not listed, so the list itself does not say
    that it answered."""
    if not scope.waves:
        return []
    return department_counts(scope, answers=False).listable(scope.wave_ids)


def department_counts(scope: Scope, *, answers: bool = True) -> DepartmentCounts:
    """Contributors per wave, area, measure and department in the scope's waves (and the one before),
    whatever department the scope is filtered to: the disclosure gate's input. Without `answers` only
    the satisfaction and happiness cells (read from the tallies) are counted: all that the filter list,
    the department breakdown and a department's response rate look at; comments, hours and reasons
    (counted over every answer) are for the gate of a department-filtered report.

    Counts are kept per wave under that wave's own version, so a closed wave is counted once."""
    waves = scope.wave_ids_with_previous
    metric_codes = {q.metric: q.code for q in (scope.satisfaction, scope.happiness) if q is not None}
    measures = {**{i: "comments" for i in scope.comment_question_ids},
                **{i: "hours" for i in scope.hours_question_ids},
                **{i: "reasons" for i in scope.reasons_question_ids}} if answers else {}

    def compute(missing: list[int]) -> dict[int, dict]:
        counted = count_departments(k=scope.min_group_size, wave_ids=missing, metric_codes=metric_codes,
                                    question_measures=measures)
        by_wave: dict[int, dict] = {wave_id: {} for wave_id in missing}
        for cell, departments_counted in counted.cells.items():
            by_wave[cell[0]][cell] = departments_counted
        return by_wave

    key = ("department-cells", tuple(sorted(metric_codes.items())), tuple(sorted(measures.items())))
    cells: dict = {}
    for wave_cells in cached_by_wave(key, waves, compute).values():
        cells.update(wave_cells or {})
    return DepartmentCounts(scope.min_group_size, cells)


Gate = Callable[[int, int, str], bool]  # (wave id, area key, measure) -> may the cell be shown


def department_gate(scope: Scope) -> Gate:
    """The disclosure gate for the cells of a department-filtered report (unfiltered cells only need their
    own n). Take it once per report: its counts are read, or checked against the data version, once."""
    if not scope.department:
        return lambda _wave_id, _area_key, _measure: True
    counts, department = department_counts(scope), scope.department
    return lambda wave_id, area_key, measure: counts.allows(wave_id, area_key, measure, department)
