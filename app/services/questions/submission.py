"""A submitted survey form checked against its layout: the answers to store, or every problem by field."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from app.errors import InvalidInput
from app.models import Question, ServiceArea
from app.services.questions.base import AnswerRejected
from app.services.questions.choices import ReasonsType
from app.services.questions.layout import SurveyLayout
from app.services.questions.numeric import RatingType

# Form fields that are not answers: the CSRF token, the button that was pressed and the step it was on.
CONTROL_FIELDS = frozenset({"csrf_token", "action", "step"})
TRUE_VALUES = frozenset({"y", "on", "1", "true", "yes"})


@dataclass
class CleanedAnswer:
    """One answer ready to store: its question, its area (None for the relationship) and column values."""

    question: Question
    area: ServiceArea | None
    columns: dict[str, Any] = field(default_factory=dict)


def _values(form_data: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(form_data, "getlist", None)
    if getlist is not None:
        return list(getlist(name))
    value = form_data.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _flag(form_data: Mapping[str, Any], name: str) -> bool:
    values = _values(form_data, name)
    if len(values) > 1 or (values and str(values[0]).strip().lower() not in TRUE_VALUES):
        raise AnswerRejected("Tick the box or leave it empty.")
    return bool(values)


def parse_submission(layout: SurveyLayout, form_data: Mapping[str, Any]) -> list[CleanedAnswer]:
    """Check a submitted form against the layout and return the answers to store.

    Raises InvalidInput with `errors` keyed by field name ("_form" for problems of the whole form):
    unknown field names, wrong types, values out of range, missing required answers, reasons that do
    not match the rating. An area marked "did not use" is not asked: its answers are ignored.
    """
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(form_data.keys()) - layout.answer_names() - CONTROL_FIELDS)
    if unknown:
        errors["_form"] = ["The form contained answers to questions that are not part of this survey. "
                           "Please reload the page and answer again."]

    cleaned: list[CleanedAnswer] = []
    for section in layout.sections:
        try:
            skipped = _flag(form_data, section.skip_name) if section.skip_name else False
        except AnswerRejected as rejected:
            errors.setdefault(section.skip_name, []).append(str(rejected))
            continue
        if skipped:
            continue
        values: dict[str, Any] = {}
        for item in section.items:
            try:
                value = item.type.clean(_values(form_data, item.name))
            except AnswerRejected as rejected:
                errors.setdefault(item.name, []).append(str(rejected))
                continue
            if value is None and item.question.required:
                hint = f", or tick “I did not use {section.area.name}”" if section.area is not None else ""
                errors.setdefault(item.name, []).append(f"Please answer this question{hint}.")
                continue
            values[item.question.code] = value
        for item in section.items:
            if isinstance(item.type, ReasonsType) and values.get(item.question.code):
                followed_item = next((i for i in section.items if i.question.code == item.type.follows), None)
                if followed_item is None or not isinstance(followed_item.type, RatingType):
                    continue
                if followed_item.name in errors:
                    continue  # the rating itself is wrong; that message is enough
                try:
                    item.type.check_against_rating(values[item.question.code],
                                                   values.get(followed_item.question.code), followed_item.type)
                except AnswerRejected as rejected:
                    errors.setdefault(item.name, []).append(str(rejected))
        cleaned.extend(
            CleanedAnswer(item.question, item.area, item.type.to_columns(values[item.question.code]))
            for item in section.items if values.get(item.question.code) is not None
        )
    if errors:
        raise InvalidInput("Some answers need another look.", errors=errors)
    return cleaned


def draft_data(layout: SurveyLayout, form_data: Mapping[str, Any], *,
               max_value_length: int = 10000) -> dict[str, list[str]]:
    """What a partial answer keeps: the values of this survey's fields only, unchecked, each capped in length."""
    data: dict[str, list[str]] = {}
    for name in sorted(layout.answer_names()):
        values = [str(v)[:max_value_length] for v in _values(form_data, name)][:50]
        if values and any(v.strip() for v in values):
            data[name] = values
    return data
