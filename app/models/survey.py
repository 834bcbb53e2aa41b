"""Survey definitions loaded from `surveys/`, versioned, and their questions with stable codes."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, one_of, utcnow

QUESTION_KINDS = ("rating", "nps", "hours", "reasons", "comment", "choice")
QUESTION_SCOPES = ("area", "relationship")


class SurveyDefinition(db.Model):
    """One version of a survey. A changed file becomes a new version; old versions stay for old waves."""

    __tablename__ = "survey_definition"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        UniqueConstraint("code", "checksum"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(80), index=True)
    version: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    checksum: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(255))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    questions: Mapped[list[Question]] = relationship(
        back_populates="definition", order_by="Question.position", cascade="all, delete-orphan"
    )

    def question(self, code: str) -> Question | None:
        return next((q for q in self.questions if q.code == code), None)

    def __repr__(self) -> str:
        return f"<SurveyDefinition {self.code} v{self.version}>"


class Question(db.Model):
    """A question of one definition version. `code` is stable across versions so trends line up."""

    __tablename__ = "question"
    __table_args__ = (
        UniqueConstraint("definition_id", "code"),
        CheckConstraint(one_of("kind", QUESTION_KINDS), name="kind_known"),
        CheckConstraint(one_of("scope", QUESTION_SCOPES), name="scope_known"),
        CheckConstraint("min_value IS NULL OR max_value IS NULL OR min_value <= max_value", name="range_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("survey_definition.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(20))
    scope: Mapped[str] = mapped_column(String(20))
    text: Mapped[str] = mapped_column(Text)
    help_text: Mapped[str | None] = mapped_column(Text)
    required: Mapped[bool] = mapped_column(Boolean, default=False)
    min_value: Mapped[int | None] = mapped_column(Integer)
    max_value: Mapped[int | None] = mapped_column(Integer)
    # Kind-specific settings from the YAML: scale labels, reason lists, maximum comment length...
    options: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    definition: Mapped[SurveyDefinition] = relationship(back_populates="questions")

    def __repr__(self) -> str:
        return f"<Question {self.code}>"
