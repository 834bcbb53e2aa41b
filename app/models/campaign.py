"""Campaigns (a recurring survey of one provider), their waves (one period each) and invitations."""
from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.errors import InvalidTransition
from app.extensions import db
from app.models.base import UTCDateTime, one_of, utcnow

CADENCES = ("monthly", "quarterly", "weekly")
ANONYMITY_MODES = ("anonymous", "confidential")
WAVE_STATES = ("scheduled", "open", "closed")
DELIVERY_STATES = ("pending", "sending", "sent", "failed")

campaign_service_area = Table(
    "campaign_service_area",
    db.metadata,
    Column("campaign_id", ForeignKey("campaign.id", ondelete="CASCADE"), primary_key=True),
    Column("service_area_id", ForeignKey("service_area.id", ondelete="CASCADE"), primary_key=True),
)

# The service areas one invitation asks about, drawn when the invitation is created
# (`app.services.sampling`). An invitation without rows asks about every area its person uses.
invitation_area = Table(
    "invitation_area",
    db.metadata,
    Column("invitation_id", ForeignKey("invitation.id", ondelete="CASCADE"), primary_key=True),
    Column("service_area_id", ForeignKey("service_area.id", ondelete="CASCADE"), primary_key=True, index=True),
)


def hash_token(token: str) -> str:
    """Only this digest is stored: a database leak must not hand out working survey links."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Campaign(db.Model):
    """A recurring survey of one provider's service areas, on a cadence anchored on a start date."""

    __tablename__ = "campaign"
    __table_args__ = (
        CheckConstraint(one_of("cadence", CADENCES), name="cadence_known"),
        CheckConstraint(one_of("anonymity", ANONYMITY_MODES), name="anonymity_known"),
        CheckConstraint("interval_count >= 1", name="interval_positive"),
        CheckConstraint("window_days >= 1", name="window_positive"),
        CheckConstraint("min_group_size >= 2", name="min_group_size_at_least_two"),
        CheckConstraint("fatigue_days >= 0", name="fatigue_not_negative"),
        CheckConstraint("areas_per_person IS NULL OR areas_per_person >= 1", name="areas_per_person_positive"),
        CheckConstraint("hourly_cost IS NULL OR hourly_cost >= 0", name="hourly_cost_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    provider_id: Mapped[int] = mapped_column(ForeignKey("provider.id", ondelete="RESTRICT"), index=True)
    definition_id: Mapped[int] = mapped_column(ForeignKey("survey_definition.id", ondelete="RESTRICT"))
    # Audience: all active stakeholders, narrowed by departments and/or service areas used when set.
    audience_departments: Mapped[list[str]] = mapped_column(JSON, default=list)
    audience_area_codes: Mapped[list[str]] = mapped_column(JSON, default=list)
    cadence: Mapped[str] = mapped_column(String(20), default="quarterly")
    # "every N weeks" uses cadence weekly with interval_count N; monthly/quarterly normally keep 1.
    interval_count: Mapped[int] = mapped_column(Integer, default=1)
    anchor_date: Mapped[date] = mapped_column(Date)
    window_days: Mapped[int] = mapped_column(Integer, default=14)
    reminder_days: Mapped[list[int]] = mapped_column(JSON, default=list)
    anonymity: Mapped[str] = mapped_column(String(20), default="confidential")
    # Stakeholder attributes copied onto responses so reports can segment without knowing who.
    segment_attributes: Mapped[list[str]] = mapped_column(JSON, default=lambda: ["department"])
    min_group_size: Mapped[int] = mapped_column(Integer, default=5)
    fatigue_days: Mapped[int] = mapped_column(Integer, default=0)
    # Area sampling: ask each person about at most this many of the areas they use (None: all of them).
    areas_per_person: Mapped[int | None] = mapped_column(Integer)
    # The wave reports compare every other one with (None: no baseline). Deliberately no foreign key: a
    # second path between campaign and wave would make every plain `join(Campaign)` ambiguous, and reports
    # only ever use it when it names one of this campaign's waves (`reporting.scores.baseline_wave`).
    baseline_wave_id: Mapped[int | None] = mapped_column(Integer)
    # What an hour of an employee's lost working time costs, to price the hours lost (None: not priced);
    # the currency is plain text as people write it ("EUR", "£").
    hourly_cost: Mapped[Decimal | None] = mapped_column(Numeric(10, 2))
    currency: Mapped[str | None] = mapped_column(String(12))
    # Who the campaign's emails come from as people read it (the From display name; the address stays
    # MAIL_FROM's, which the mail server lets this app send as) and where replies go (None: MAIL_FROM's).
    sender_name: Mapped[str | None] = mapped_column(String(120))
    reply_to: Mapped[str | None] = mapped_column(String(254))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    provider = relationship("Provider")
    definition = relationship("SurveyDefinition")
    service_areas = relationship("ServiceArea", secondary=campaign_service_area, order_by="ServiceArea.position")
    waves: Mapped[list[Wave]] = relationship(back_populates="campaign", order_by="Wave.opens_at")

    @property
    def anonymous(self) -> bool:
        return self.anonymity == "anonymous"

    def __repr__(self) -> str:
        return f"<Campaign {self.name}>"


class Wave(db.Model):
    """One period of a campaign (2026-Q4). Moves scheduled -> open -> closed, never backwards."""

    __tablename__ = "wave"
    __table_args__ = (
        UniqueConstraint("campaign_id", "label"),
        CheckConstraint(one_of("state", WAVE_STATES), name="state_known"),
        CheckConstraint("closes_at > opens_at", name="closes_after_opening"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("campaign.id", ondelete="CASCADE"), index=True)
    label: Mapped[str] = mapped_column(String(40))
    opens_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[str] = mapped_column(String(20), default="scheduled")
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    campaign: Mapped[Campaign] = relationship(back_populates="waves")

    def __init__(self, **fields) -> None:
        # Column defaults only apply at INSERT; state transitions need the state before that.
        fields.setdefault("state", "scheduled")
        super().__init__(**fields)

    @property
    def is_open(self) -> bool:
        return self.state == "open"

    def open(self, now: datetime | None = None) -> None:
        if self.state != "scheduled":
            raise InvalidTransition(f"Wave {self.label} is {self.state}; only a scheduled wave can open.")
        self.state = "open"
        self.opened_at = now or utcnow()

    def close(self, now: datetime | None = None) -> None:
        if self.state == "closed":
            raise InvalidTransition(f"Wave {self.label} is already closed.")
        now = now or utcnow()
        self.state = "closed"
        self.closed_at = now
        if self.closes_at > now:
            self.closes_at = now

    def __repr__(self) -> str:
        return f"<Wave {self.label}>"


class Invitation(db.Model):
    """A stakeholder invited to a wave, and the delivery state of their email.

    Delivery moves pending -> sending (claimed by one dispatcher) -> sent | failed. Answering is
    recorded separately in `responded_at`, so an answered invitation keeps its delivery history.
    """

    __tablename__ = "invitation"
    __table_args__ = (
        UniqueConstraint("wave_id", "stakeholder_id"),
        CheckConstraint(one_of("state", DELIVERY_STATES), name="state_known"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("reminders_sent >= 0", name="reminders_not_negative"),
        Index("ix_invitation_state_next_attempt_at", "state", "next_attempt_at"),
        # Every column the response rates and the invitations per area count, after the wave: the open
        # wave's invitations are counted on dashboard loads while it takes responses, and this lets the
        # database read the index alone, grouped by draw in the index's own order.
        Index("ix_invitation_wave_counts", "wave_id", "drawn_areas", "responded_at", "sent_at", "state",
              "bounced_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    wave_id: Mapped[int] = mapped_column(ForeignKey("wave.id", ondelete="CASCADE"))
    stakeholder_id: Mapped[int] = mapped_column(ForeignKey("stakeholder.id", ondelete="CASCADE"), index=True)
    state: Mapped[str] = mapped_column(String(20), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    opened_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminders_sent: Mapped[int] = mapped_column(Integer, default=0)
    last_reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reminder_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # A delivery status notification read back from the bounce mailbox: the invitation leaves the
    # response-rate denominator. `bounce_kind` is "hard" (5.x.x) or "soft" (4.x.x).
    bounced_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    bounce_kind: Mapped[str | None] = mapped_column(String(10))
    bounce_reason: Mapped[str | None] = mapped_column(Text)
    # The areas of its draw as "3,5,8" (their ids): a copy of its `invitation_area` rows written with
    # them, so a wave's invitations per area are counted from this index without joining the draws.
    # None: no draw recorded (or written without this copy): counted from `invitation_area` then.
    drawn_areas: Mapped[str | None] = mapped_column(Text)

    wave: Mapped[Wave] = relationship()
    stakeholder = relationship("Stakeholder")
    tokens: Mapped[list[InvitationToken]] = relationship(back_populates="invitation", cascade="all, delete-orphan")
    asked_areas = relationship("ServiceArea", secondary=invitation_area, order_by="ServiceArea.position",
                               viewonly=True)

    def __init__(self, **fields) -> None:
        fields.setdefault("state", "pending")
        fields.setdefault("attempts", 0)
        fields.setdefault("reminders_sent", 0)
        super().__init__(**fields)

    @property
    def responded(self) -> bool:
        return self.responded_at is not None

    def record_bounce(self, kind: str, reason: str, now: datetime) -> bool:
        """A delivery status notification read back: returns whether it changed anything. Reading the same
        bounce again changes nothing, and a soft (4.x.x) bounce never overrides a hard (5.x.x) one."""
        if self.bounced_at is not None and (self.bounce_kind == "hard" or kind == "soft"):
            return False
        self.bounced_at = self.bounced_at or now
        self.bounce_kind = kind
        self.bounce_reason = reason
        return True

    def mark_failed(self, error: str) -> None:
        if self.state == "sent":
            raise InvalidTransition(f"Invitation {self.id} was already sent.")
        self.state = "failed"
        self.last_error = error[:2000]
        self.claimed_at = None
        self.claimed_by = None

    def requeue(self, error: str | None, retry_at: datetime) -> None:
        """A transient failure: back to pending, to be retried no earlier than `retry_at`."""
        self.state = "pending"
        self.last_error = error[:2000] if error else None
        self.next_attempt_at = retry_at
        self.claimed_at = None
        self.claimed_by = None

    def __repr__(self) -> str:
        return f"<Invitation {self.id} {self.state}>"


class InvitationToken(db.Model):
    """The SHA-256 of one personal link sent to an invitee.

    Each email (first send, reminder, resend) carries a fresh random token, because the raw token is
    never stored and so cannot be put in a second email. Every token of an invitation stays valid.
    """

    __tablename__ = "invitation_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    invitation_id: Mapped[int] = mapped_column(ForeignKey("invitation.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(20), default="invite")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    invitation: Mapped[Invitation] = relationship(back_populates="tokens")


class MailSend(db.Model):
    """One message handed to the mail server (or reserved for it), so send-rate limits hold across every
    dispatcher: a dispatcher counts the rows of the last minute and day before it sends."""

    __tablename__ = "mail_send"

    id: Mapped[int] = mapped_column(primary_key=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(20))  # invitation, reminder, test


class DispatcherState(db.Model):
    """The one row every dispatcher shares: a pause the mail server asked for, and the last pass."""

    __tablename__ = "dispatcher_state"

    id: Mapped[int] = mapped_column(primary_key=True)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pause_reason: Mapped[str | None] = mapped_column(Text)
    last_pass_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_pass_by: Mapped[str | None] = mapped_column(String(120))
    last_pass_summary: Mapped[str | None] = mapped_column(Text)

