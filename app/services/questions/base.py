"""What every question type shares: the registry of kinds, the rejection a person sees, and QuestionSpec."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from wtforms import Field

from app.models import Question


class AnswerRejected(ValueError):
    """A raw value a question cannot accept; the message is shown next to the question."""


class QuestionType:
    """A kind of question: builds its form field, checks a raw value, maps it to answer columns.

    Subclasses register themselves under `kind`; `question_type` picks the class for a question.
    """

    kind: ClassVar[str]
    registry: ClassVar[dict[str, type[QuestionType]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "kind", None):
            QuestionType.registry[cls.kind] = cls

    def __init__(self, question: Question | QuestionSpec) -> None:
        self.question = question
        self.options: dict[str, Any] = question.options or {}

    def build_field(self, label: str) -> Field:
        raise NotImplementedError

    def clean(self, raw: Sequence[str]) -> Any:
        """The value to store, or None when unanswered. Raises AnswerRejected with a message for a person."""
        raise NotImplementedError

    def to_columns(self, value: Any) -> dict[str, Any]:
        """Answer column values (score / hours / reasons / text) for a cleaned value."""
        raise NotImplementedError

    def _single(self, raw: Sequence[str]) -> str | None:
        values = [value for value in raw if value is not None]
        if len(values) > 1:
            raise AnswerRejected("Give one answer only.")
        if not values or values[0].strip() == "":
            return None
        return values[0].strip()


@dataclass(frozen=True)
class QuestionSpec:
    """A question's settings detached from the database: definitions never change once loaded, so a
    process keeps these for each definition instead of loading thirteen rows per page view."""

    id: int
    definition_id: int
    code: str
    position: int
    kind: str
    scope: str
    text: str
    help_text: str | None
    required: bool
    min_value: int | None
    max_value: int | None
    options: dict[str, Any]

    @classmethod
    def of(cls, question: Question) -> QuestionSpec:
        return cls(question.id, question.definition_id, question.code, question.position, question.kind,
                   question.scope, question.text, question.help_text, bool(question.required), question.min_value,
                   question.max_value, dict(question.options or {}))


def question_type(question: Question | QuestionSpec) -> QuestionType:
    try:
        return QuestionType.registry[question.kind](question)
    except KeyError:
        raise ValueError(f"no question type for kind {question.kind!r}") from None
