"""Submitted answers: a Response per answered invitation (per part of one, when anonymous), an Answer per question."""
from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import db
from app.models.base import UTCDateTime, one_of, utcnow

SENTIMENT_LABELS = ("positive", "neutral", "negative")


class Response(db.Model):
    """One person's submitted survey for one wave (confidential mode), or one part of it (anonymous mode).

    In anonymous campaigns a submission is split into parts, the answers about one service area or about
    the provider as a whole, and each part becomes a response of its own, so no row says which areas one
    person answered together. A part first waits, sealed, in the pool (`PooledResponse`), then is written
    with at least the campaign's minimum group size of parts of its wave, department and area (fewer
    only for an area that fewer answered about) as one shuffled batch (`services/anonymous_pool.py`):
    `invitation_id` is NULL, `submitted_at` is the batch's day, the random UUID key carries no order,
    and neither its transaction nor its place in the table follows the order invitations were answered
    in. `department` and `location` are also NULL for parts whose group was too small to be named when
    the wave closed. So count people through answers or invitations, never through anonymous responses.
    At most one submission per invitation is enforced by the unique key (confidential mode) and by the
    conditional update of `Invitation.responded_at` in the transaction that stores the response
    (confidential) or its pool rows (anonymous).
    """

    __tablename__ = "response"
    __table_args__ = (Index("ix_response_wave_id_department", "wave_id", "department"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitation.id", ondelete="SET NULL"), unique=True)
    submitted_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    department: Mapped[str | None] = mapped_column(String(120))
    location: Mapped[str | None] = mapped_column(String(120))

    wave = relationship("Wave")
    invitation = relationship("Invitation")
    answers: Mapped[list[Answer]] = relationship(back_populates="response", cascade="all, delete-orphan")


class Answer(db.Model):
    """One answer: a score, a number of hours, chosen reasons and/or a comment with its sentiment.

    `wave_id` repeats the response's wave so aggregates group answers without a join.
    """

    __tablename__ = "answer"
    __table_args__ = (
        UniqueConstraint("response_id", "question_id", "service_area_id"),
        CheckConstraint("score IS NULL OR (score >= 0 AND score <= 10)", name="score_range"),
        CheckConstraint("hours IS NULL OR (hours >= 0 AND hours <= 1000)", name="hours_range"),
        CheckConstraint(
            "sentiment_polarity IS NULL OR (sentiment_polarity >= -1 AND sentiment_polarity <= 1)",
            name="polarity_range",
        ),
        CheckConstraint(
            "sentiment_subjectivity IS NULL OR (sentiment_subjectivity >= 0 AND sentiment_subjectivity <= 1)",
            name="subjectivity_range",
        ),
        CheckConstraint(f"sentiment_label IS NULL OR {one_of('sentiment_label', SENTIMENT_LABELS)}",
                        name="label_known"),
        CheckConstraint(f"label_override IS NULL OR {one_of('label_override', SENTIMENT_LABELS)}",
                        name="override_known"),
        Index("ix_answer_wave_id_question_id_service_area_id", "wave_id", "question_id", "service_area_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # No index of its own: the unique (response_id, question_id, service_area_id) index starts with it.
    response_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("response.id", ondelete="CASCADE"))
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    question_id: Mapped[int] = mapped_column(ForeignKey("question.id", ondelete="RESTRICT"))
    service_area_id: Mapped[int | None] = mapped_column(ForeignKey("service_area.id", ondelete="RESTRICT"))
    score: Mapped[int | None] = mapped_column(SmallInteger)
    hours: Mapped[float | None] = mapped_column(Float)
    reasons: Mapped[list[str] | None] = mapped_column(JSON)
    text: Mapped[str | None] = mapped_column(Text)
    sentiment_polarity: Mapped[float | None] = mapped_column(Float)
    sentiment_subjectivity: Mapped[float | None] = mapped_column(Float)
    sentiment_label: Mapped[str | None] = mapped_column(String(10))
    sentiment_drivers: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    analyzer_version: Mapped[str | None] = mapped_column(String(80))
    # A manager's correction sits beside the computed score and wins wherever a label is shown.
    label_override: Mapped[str | None] = mapped_column(String(10))
    label_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    label_override_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Service aspects the comment talks about, each with its own sentiment and the clause that says it
    # (`app/services/aspects.py`): [{"aspect", "label", "polarity", "start", "end"}], offsets into `text`.
    sentiment_aspects: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    # A manager's correction of the aspects, [{"aspect", "label"}], kept across re-scoring like the label's.
    aspects_override: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    aspects_override_by_id: Mapped[int | None] = mapped_column(ForeignKey("user.id", ondelete="SET NULL"))
    aspects_override_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    shareable: Mapped[bool] = mapped_column(Boolean, default=False)

    response: Mapped[Response] = relationship(back_populates="answers")
    question = relationship("Question")

    @property
    def effective_label(self) -> str | None:
        return self.label_override or self.sentiment_label

    @property
    def effective_aspects(self) -> list[dict[str, Any]]:
        """The manager's aspects where they corrected them, otherwise the analyzer's."""
        return list(self.aspects_override if self.aspects_override is not None else self.sentiment_aspects or [])


class ResponseDraft(db.Model):
    """A partial answer saved to come back to from the same link; deleted when the survey is submitted.

    `sealed` is the draft encrypted with a key derived from the link's token, which the server never
    keeps: only whoever holds the link can read it back.
    """

    __tablename__ = "response_draft"

    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id", ondelete="CASCADE"), primary_key=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class PooledResponse(db.Model):
    """One part of an anonymous submission (the answers about one service area, or about the provider as a
    whole) waiting to be written, with others of its segment, as a shuffled batch.

    Its answers, ready to write, and its segment (department and location as the campaign copies them,
    area) are sealed (encrypted, and padded to a size bucket) under a key derived from the app's
    SECRET_KEY, so the row says nothing to someone holding only the database. It carries no time and no
    link to an invitation. Once twice the campaign's minimum group size (k) of parts of one wave and
    segment wait, a random choice of all but k of them is written in random order and those rows
    deleted; whatever still waits when the wave closes is written then.
    """

    __tablename__ = "response_pool"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"), index=True)
    sealed: Mapped[bytes] = mapped_column(LargeBinary)


class ScoreTally(db.Model):
    """How many answers gave each score, per wave, question, area and department.

    Kept up to date as responses arrive, so dashboards and exports read a few hundred rows
    instead of scanning every answer. `area_key` is 0 for relationship questions (no area) so the
    unique key works the same on SQLite and PostgreSQL.
    """

    __tablename__ = "score_tally"
    __table_args__ = (
        UniqueConstraint("wave_id", "question_code", "area_key", "department", "score"),
        CheckConstraint("answer_count >= 0", name="count_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    question_code: Mapped[str] = mapped_column(String(80))
    area_key: Mapped[int] = mapped_column(Integer)
    department: Mapped[str] = mapped_column(String(120), default="")
    score: Mapped[int] = mapped_column(Integer)  # a score; hundredths of an hour; a pair of scores
    answer_count: Mapped[int] = mapped_column(Integer, default=0)
