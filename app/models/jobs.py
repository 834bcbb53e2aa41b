"""Background jobs the dispatcher's worker runs: the PDF review pack, prepared outside the web request."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, deferred, mapped_column

from app.extensions import db
from app.models.base import UTCDateTime, one_of, utcnow

PACK_JOB_STATES = ("queued", "running", "ready", "failed")


class ReviewPackJob(db.Model):
    """One review pack for one scope at one data version: queued by a manager's request, claimed and built
    by a worker, then kept (its PDF in `pdf`) until the data behind it changes.

    `scope_key` and `data_version` are hashes (`app.services.pack_jobs`): a second request for the same
    scope and data finds this row instead of building again. The ids beside them let the worker rebuild
    the scope; a pack is never broken down by department, so there is none to keep.
    """

    __tablename__ = "review_pack_job"
    __table_args__ = (
        UniqueConstraint("scope_key", "data_version"),
        CheckConstraint(one_of("state", PACK_JOB_STATES), name="state_known"),
        Index("ix_review_pack_job_state_available_at", "state", "available_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    scope_key: Mapped[str] = mapped_column(String(64))
    data_version: Mapped[str] = mapped_column(String(64))
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id", ondelete="CASCADE"))
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"))
    first_wave_id: Mapped[int | None] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    last_wave_id: Mapped[int | None] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    prepared_by: Mapped[str] = mapped_column(String(255))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # A queued job is claimed once `available_at` has passed: at once, or after a failed attempt's delay.
    available_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error: Mapped[str | None] = mapped_column(Text)
    size: Mapped[int | None] = mapped_column(Integer)
    # Loaded only when the file is served: status checks read the row many times while it is prepared.
    pdf: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))

    @property
    def ready(self) -> bool:
        return self.state == "ready"
