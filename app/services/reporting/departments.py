"""The disclosure gate wired to a report's scope: which departments the filter may offer, and whether a
department-filtered figure may be shown. The rule itself is `app.services.disclosure`'s."""
from __future__ import annotations

from app.services.disclosure import DepartmentCounts, count_departments
from app.services.reporting.cache import cached, data_version
from app.services.reporting.scope import Scope


def departments(scope: Scope) -> list[str]:
    """Departments the filter form may offer: those shown by the disclosure rule in at least one wave and
    area of the scope. A department too small to report is not listed, so the list itself does not say
    that it answered."""
    if not scope.waves:
        return []
    return department_counts(scope).listable(scope.wave_ids)


def department_counts(scope: Scope) -> DepartmentCounts:
    """Contributors per wave, area, measure and department in the scope's waves (and the one before),
    whatever department the scope is filtered to: the disclosure gate's input."""
    waves = scope.wave_ids_with_previous
    metric_codes = {q.metric: q.code for q in (scope.satisfaction, scope.happiness) if q is not None}
    measures = {**{i: "comments" for i in scope.comment_question_ids},
                **{i: "hours" for i in scope.hours_question_ids},
                **{i: "reasons" for i in scope.reasons_question_ids}}

    def compute() -> DepartmentCounts:
        return count_departments(k=scope.min_group_size, wave_ids=waves, metric_codes=metric_codes,
                                 question_measures=measures)

    return cached(("department-counts", scope.campaign_id, waves, scope.min_group_size,
                   data_version(waves)), compute)


def may_show(scope: Scope, wave_id: int, area_key: int, measure: str) -> bool:
    """The disclosure gate for a department-filtered cell (unfiltered cells only need their own n)."""
    if not scope.department:
        return True
    return department_counts(scope).allows(wave_id, area_key, measure, scope.department)
