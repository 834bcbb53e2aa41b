"""The question kind answered in words: a comment, with a visible length limit."""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wtforms import Field, TextAreaField

from app.services.questions.base import AnswerRejected, QuestionType


class CommentType(QuestionType):
    """Free text with a visible length limit."""

    kind = "comment"

    @property
    def max_length(self) -> int:
        return int(self.options.get("max_length") or 2000)

    def build_field(self, label: str) -> Field:
        return TextAreaField(label, render_kw={"maxlength": str(self.max_length), "rows": "4"})

    def clean(self, raw: Sequence[str]) -> str | None:
        values = [value for value in raw if value is not None]
        if len(values) > 1:
            raise AnswerRejected("Give one answer only.")
        if not values:
            return None
        # Browsers send line breaks as CRLF; count them as one character, as the page does. NUL is
        # never typed and PostgreSQL cannot store it in text.
        text = values[0].replace("\r\n", "\n").replace("\x00", "").strip()
        if not text:
            return None
        if len(text) > self.max_length:
            raise AnswerRejected(f"Shorten this to {self.max_length} characters or fewer (it has {len(text)}).")
        return text

    def to_columns(self, value: str) -> dict[str, Any]:
        return {"text": value}
