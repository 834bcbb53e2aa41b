"""The organisation side: providers, the service areas they deliver, and the employees surveyed."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, Float, ForeignKey, Integer, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from app.extensions import db
from app.models.base import UTCDateTime, utcnow

stakeholder_service_area = Table(
    "stakeholder_service_area",
    db.metadata,
    Column("stakeholder_id", ForeignKey("stakeholder.id", ondelete="CASCADE"), primary_key=True),
    Column("service_area_id", ForeignKey("service_area.id", ondelete="CASCADE"), primary_key=True),
)


class Provider(db.Model):
    """An outsourcing vendor under contract; several can exist side by side (multi-sourcing)."""

    __tablename__ = "provider"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    contract_reference: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    service_areas: Mapped[list[ServiceArea]] = relationship(
        back_populates="provider", order_by="ServiceArea.position"
    )

    def __repr__(self) -> str:
        return f"<Provider {self.name}>"


class ServiceArea(db.Model):
    """A service a provider delivers, with the experience targets agreed in the contract."""

    __tablename__ = "service_area"
    __table_args__ = (
        CheckConstraint(
            "target_satisfaction IS NULL OR (target_satisfaction >= 1 AND target_satisfaction <= 5)",
            name="target_satisfaction_range",
        ),
        CheckConstraint(
            "target_happiness IS NULL OR (target_happiness >= -100 AND target_happiness <= 100)",
            name="target_happiness_range",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id", ondelete="RESTRICT"), index=True)
    code: Mapped[str] = mapped_column(String(60), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str | None] = mapped_column(Text)
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    target_satisfaction: Mapped[float | None] = mapped_column(Float)
    target_happiness: Mapped[float | None] = mapped_column(Float)

    provider: Mapped[Provider] = relationship(back_populates="service_areas")

    def __repr__(self) -> str:
        return f"<ServiceArea {self.code}>"


class Stakeholder(db.Model):
    """An employee who may be surveyed. Emails are stored lower-case, so uniqueness ignores case."""

    __tablename__ = "stakeholder"
    __table_args__ = (CheckConstraint("email = lower(email)", name="email_lowercase"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    department: Mapped[str | None] = mapped_column(String(120), index=True)
    location: Mapped[str | None] = mapped_column(String(120))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set after a hard bounce: no invitation goes out until an import or an admin clears it.
    undeliverable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    undeliverable_reason: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    service_areas: Mapped[list[ServiceArea]] = relationship(
        secondary=stakeholder_service_area, order_by="ServiceArea.position"
    )

    @validates("email")
    def _normalise_email(self, _key: str, value: str) -> str:
        return value.strip().lower()

    @property
    def opted_out(self) -> bool:
        return self.opted_out_at is not None

    def opt_out(self) -> None:
        if self.opted_out_at is None:
            self.opted_out_at = utcnow()

    def opt_in(self) -> None:
        self.opted_out_at = None

    def mark_undeliverable(self, reason: str, now: datetime) -> None:
        """After a hard bounce: no invitation goes out until `mark_deliverable` (an admin, or an import)."""
        if self.undeliverable_at is None:
            self.undeliverable_at = now
            self.undeliverable_reason = reason

    def mark_deliverable(self) -> None:
        self.undeliverable_at = None
        self.undeliverable_reason = None

    def __repr__(self) -> str:
        return f"<Stakeholder {self.email}>"
