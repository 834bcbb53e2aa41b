"""Question kinds answered with a number: a rating on a scale, likelihood to recommend (nps), hours."""
from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from wtforms import Field, RadioField, StringField
from wtforms.fields.choices import SelectChoice

from app.services.questions.base import AnswerRejected, QuestionType


class RatingType(QuestionType):
    """A score on a scale, shown as a radio group whose ends carry labels."""

    kind = "rating"

    @property
    def minimum(self) -> int:
        return self.question.min_value if self.question.min_value is not None else 1

    @property
    def maximum(self) -> int:
        return self.question.max_value if self.question.max_value is not None else 5

    @property
    def min_label(self) -> str | None:
        return self.options.get("min_label")

    @property
    def max_label(self) -> str | None:
        return self.options.get("max_label")

    def choices(self) -> list[SelectChoice]:
        return [SelectChoice(str(n), str(n)) for n in range(self.minimum, self.maximum + 1)]

    def build_field(self, label: str) -> Field:
        # Choices are strings and no coercion happens, so any submitted value is redisplayed as sent.
        return RadioField(label, choices=self.choices(), validate_choice=False)

    def clean(self, raw: Sequence[str]) -> int | None:
        value = self._single(raw)
        if value is None:
            return None
        range_text = f"a number from {self.minimum} to {self.maximum}"
        try:
            score = int(value)
        except ValueError:
            raise AnswerRejected(f"Choose {range_text}.") from None
        if not self.minimum <= score <= self.maximum:
            raise AnswerRejected(f"Choose {range_text}.")
        return score

    def to_columns(self, value: int) -> dict[str, Any]:
        return {"score": value}


class NpsType(RatingType):
    """Likelihood to recommend, always 0 to 10 whatever the definition says."""

    kind = "nps"

    @property
    def minimum(self) -> int:
        return 0

    @property
    def maximum(self) -> int:
        return 10


class HoursType(QuestionType):
    """A number of hours, 0 up to the question's maximum; a decimal comma is accepted."""

    kind = "hours"

    @property
    def maximum(self) -> int:
        return self.question.max_value if self.question.max_value is not None else 1000

    def build_field(self, label: str) -> Field:
        # A text box (not type=number) keeps whatever was typed, so a mistake is shown back as entered.
        return StringField(label, render_kw={"inputmode": "decimal", "autocomplete": "off", "size": "6"})

    def clean(self, raw: Sequence[str]) -> float | None:
        value = self._single(raw)
        if value is None:
            return None
        message = f"Enter a number of hours from 0 to {self.maximum}, such as 2 or 1.5."
        try:
            hours = float(value.replace(",", ".", 1))
        except ValueError:
            raise AnswerRejected(message) from None
        if not math.isfinite(hours) or not 0 <= hours <= self.maximum:
            raise AnswerRejected(message)
        return round(hours, 2)

    def to_columns(self, value: float) -> dict[str, Any]:
        return {"hours": value}
