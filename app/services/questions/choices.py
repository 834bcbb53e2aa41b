"""Question kinds answered from a list: reasons (checkboxes that follow a rating) and a single choice.

Reasons rule: a reasons question follows a rating in the same area. With that rating at or above
`good_from` only the "good" reasons are accepted, below it only the "bad" ones; with no rating given
no reason is accepted (we could not tell praise from complaint). Without `good_from` in the
definition the good side starts three quarters up the scale (4 on 1-5, 8 on 0-10).
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from wtforms import Field, RadioField, SelectMultipleField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from app.services.questions.base import AnswerRejected, QuestionType
from app.services.questions.numeric import RatingType


class ReasonsType(QuestionType):
    """Checkboxes: good reasons for a high rating, bad reasons for a low one (see the module docstring)."""

    kind = "reasons"

    @property
    def follows(self) -> str:
        return self.options["follows"]

    @property
    def good(self) -> list[dict[str, str]]:
        return list(self.options.get("good") or [])

    @property
    def bad(self) -> list[dict[str, str]]:
        return list(self.options.get("bad") or [])

    def good_from(self, followed: RatingType) -> int:
        configured = self.options.get("good_from")
        if configured is not None:
            return int(configured)
        return followed.minimum + math.ceil(0.75 * (followed.maximum - followed.minimum))

    def build_field(self, label: str) -> Field:
        choices = [SelectChoice(r["code"], r["label"]) for r in self.good + self.bad]
        return SelectMultipleField(label, choices=choices, validate_choice=False,
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def clean(self, raw: Sequence[str]) -> list[str] | None:
        known = {r["code"] for r in self.good + self.bad}
        chosen: list[str] = []
        for value in raw:
            value = (value or "").strip()
            if value not in known:
                raise AnswerRejected("Choose reasons from the list.")
            if value not in chosen:
                chosen.append(value)
        return chosen or None

    def check_against_rating(self, reasons: list[str], rating: int | None, followed: RatingType) -> None:
        """Refuse reasons from the wrong list for the rating given (or any reason without a rating)."""
        if rating is None:
            raise AnswerRejected("Give a rating above before choosing reasons.")
        is_good = rating >= self.good_from(followed)
        allowed = self.good if is_good else self.bad
        if not set(reasons) <= {r["code"] for r in allowed}:
            side = "went well" if is_good else "went wrong"
            raise AnswerRejected(f"For a rating of {rating}, choose reasons from the list of what {side}.")

    def to_columns(self, value: list[str]) -> dict[str, Any]:
        return {"reasons": value}


class ChoiceType(QuestionType):
    """One option from a list; stored as a one-element `reasons` list of the option's code."""

    kind = "choice"

    @property
    def choice_list(self) -> list[dict[str, str]]:
        return list(self.options.get("choices") or [])

    def build_field(self, label: str) -> Field:
        choices = [SelectChoice(c["code"], c["label"]) for c in self.choice_list]
        return RadioField(label, choices=choices, validate_choice=False)

    def clean(self, raw: Sequence[str]) -> str | None:
        value = self._single(raw)
        if value is None:
            return None
        if value not in {c["code"] for c in self.choice_list}:
            raise AnswerRejected("Choose one of the options.")
        return value

    def to_columns(self, value: str) -> dict[str, Any]:
        return {"reasons": [value]}
