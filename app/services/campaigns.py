"""Campaigns and their waves: creation with validation, the wave calendar, audiences and wave counts."""
from __future__ import annotations

import calendar
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Iterable, Sequence
from zoneinfo import ZoneInfo

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import and_, case, exists, func, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import joinedload

from app.errors import InvalidInput, InvalidTransition
from app.extensions import db
from app.models import Campaign, Invitation, Provider, ServiceArea, Stakeholder, SurveyDefinition, Wave
from app.models.campaign import ANONYMITY_MODES, CADENCES
from app.models.org import stakeholder_service_area
from app.services import sampling
from app.services.questions.estimate import TimeEstimate, estimate_for_questions
from app.services.transactions import unit_of_work

# Waves open at 09:00 local time: an invitation that lands at the start of the working day gets read.
WAVE_OPENING_TIME = time(9, 0)
# Rough length of one period, to refuse answer windows that would make consecutive waves overlap.
PERIOD_DAYS = {"monthly": 28, "quarterly": 89, "weekly": 7}
NOT_DELIVERED_AT_CLOSE = "Not delivered before the wave closed."


# --- the wave calendar ------------------------------------------------------------------------------

def add_months(day: date, months: int, anchor_day: int | None = None) -> date:
    """`day` moved by `months`, keeping `anchor_day` (default: day.day) or the month's last day."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    wanted = anchor_day or day.day
    return date(year, month + 1, min(wanted, calendar.monthrange(year, month + 1)[1]))


def period_start(campaign: Campaign, index: int) -> date:
    """The first day of the campaign's `index`-th period (0 = the anchor date)."""
    step = campaign.interval_count
    if campaign.cadence == "weekly":
        return campaign.anchor_date + timedelta(weeks=step * index)
    months = step * index * (3 if campaign.cadence == "quarterly" else 1)
    return add_months(campaign.anchor_date, months, campaign.anchor_date.day)


def wave_label(cadence: str, start: date) -> str:
    """Human period names: 2026-Q4, 2026-11, 2026-W47 (ISO week)."""
    if cadence == "quarterly":
        return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
    if cadence == "monthly":
        return f"{start.year}-{start.month:02d}"
    iso = start.isocalendar()
    return f"{iso.year}-W{iso.week:02d}"


_QUARTER_LABEL = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH_LABEL = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_WEEK_LABEL = re.compile(r"^(\d{4})-W(\d{2})$")


def human_wave_label(label: str, cadence: str | None = None) -> str:
    """What a person calls the period `wave_label` names: "November 2026", "Q4 2026 (October–December
    2026)", "16–22 November 2026" (the ISO week). A label of another shape (typed by hand) comes back as is."""
    if cadence in (None, "quarterly") and (match := _QUARTER_LABEL.match(label)):
        year, quarter = int(match[1]), int(match[2])
        first, last = calendar.month_name[quarter * 3 - 2], calendar.month_name[quarter * 3]
        return f"Q{quarter} {year} ({first}\u2013{last} {year})"
    if cadence in (None, "monthly") and (match := _MONTH_LABEL.match(label)):
        return f"{calendar.month_name[int(match[2])]} {match[1]}"
    if cadence in (None, "weekly") and (match := _WEEK_LABEL.match(label)):
        try:
            monday = date.fromisocalendar(int(match[1]), int(match[2]), 1)
        except ValueError:
            return label
        return _day_range(monday, monday + timedelta(days=6))
    return label


def _day_range(first: date, last: date) -> str:
    if first.year != last.year:
        return f"{first.day} {first:%B %Y} \u2013 {last.day} {last:%B %Y}"
    if first.month != last.month:
        return f"{first.day} {first:%B} \u2013 {last.day} {last:%B %Y}"
    return f"{first.day}\u2013{last.day} {last:%B %Y}"


@dataclass(frozen=True)
class PlannedWave:
    label: str
    opens_at: datetime
    closes_at: datetime


def planned_wave(campaign: Campaign, index: int, timezone: str) -> PlannedWave:
    start = period_start(campaign, index)
    opens_at = datetime.combine(start, WAVE_OPENING_TIME, ZoneInfo(timezone))
    return PlannedWave(wave_label(campaign.cadence, start), opens_at, opens_at + timedelta(days=campaign.window_days))


def upcoming_waves(campaign: Campaign, now: datetime, timezone: str) -> list[PlannedWave]:
    """The wave whose window contains `now` (if any) and the next one to open.

    Past periods are never planned, so a campaign created with an old anchor date starts now
    instead of sending a backlog of surveys.
    """
    index = 0
    while planned_wave(campaign, index + 1, timezone).opens_at <= now:
        index += 1
        if index > 10_000:  # an anchor centuries back; refuse rather than spin
            break
    current = planned_wave(campaign, index, timezone)
    if current.opens_at > now:
        return [current]
    following = planned_wave(campaign, index + 1, timezone)
    return [current, following] if current.closes_at > now else [following]


def schedule_waves(campaign: Campaign, now: datetime, timezone: str) -> int:
    """Create the campaign's current and next waves unless they exist. Safe to run from several
    processes at once: the (campaign, label) unique key and ON CONFLICT DO NOTHING make it idempotent.
    Returns how many waves were created; a step of the caller's unit of work (flushes only)."""
    dialect = db.session.get_bind().dialect.name
    insert_ = postgresql.insert if dialect == "postgresql" else sqlite.insert
    created = 0
    for plan in upcoming_waves(campaign, now, timezone):
        created += len(db.session.execute(
            insert_(Wave.__table__).values(campaign_id=campaign.id, label=plan.label, opens_at=plan.opens_at,
                                           closes_at=plan.closes_at, state="scheduled")
            .on_conflict_do_nothing(index_elements=["campaign_id", "label"]).returning(Wave.__table__.c.id)
        ).all())
    return created


# --- creating campaigns -----------------------------------------------------------------------------

def parse_day_list(raw: str | Iterable[int] | None) -> list[int]:
    """"5, 10" -> [5, 10]. Raises InvalidInput naming the reminder field on anything else."""
    if raw is None:
        return []
    if isinstance(raw, str):
        parts = [p for p in raw.replace(";", ",").replace(" ", ",").split(",") if p]
        try:
            return [int(p) for p in parts]
        except ValueError as exc:
            message = "Use whole numbers separated by commas, for example 5, 10."
            raise InvalidInput(message, errors={"reminder_days": [message]}) from exc
    return [int(d) for d in raw]


@unit_of_work
def create_campaign(*, name: str, provider_id: int, definition_id: int, anchor_date: date, now: datetime,
                    timezone: str, cadence: str = "quarterly", interval_count: int = 1, window_days: int = 14,
                    reminder_days: Sequence[int] = (), anonymity: str = "confidential", min_group_size: int = 5,
                    fatigue_days: int = 0, audience_departments: Sequence[str] = (),
                    audience_area_codes: Sequence[str] = (), area_codes: Sequence[str] | None = None,
                    areas_per_person: int | None = None, sender_name: str | None = None,
                    reply_to: str | None = None) -> Campaign:
    """Validate and create a campaign with its first scheduled wave(s). A unit of work.

    `area_codes` are the service areas the survey asks about (default: the provider's active areas);
    `audience_area_codes` narrow who is invited to people who use those areas; `areas_per_person` (K)
    asks each person about at most K of the areas they use (`app.services.sampling`); `sender_name` and
    `reply_to` are checked and stored as `save_sender_settings` does.
    """
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Give the campaign a name."]
    elif db.session.scalar(select(Campaign.id).where(func.lower(Campaign.name) == name.lower())) is not None:
        errors["name"] = [f"A campaign called {name!r} already exists."]
    provider = db.session.get(Provider, provider_id) if provider_id else None
    if provider is None:
        errors["provider_id"] = ["Choose a provider."]
    if (db.session.get(SurveyDefinition, definition_id) if definition_id else None) is None:
        errors["definition_id"] = ["Choose a survey."]
    if cadence not in CADENCES:
        errors["cadence"] = [f"Choose one of {', '.join(CADENCES)}."]
    if interval_count is None or interval_count < 1:
        errors["interval_count"] = ["Use 1 or more."]
    if window_days is None or window_days < 1:
        errors["window_days"] = ["The survey must stay open at least one day."]
    elif cadence in PERIOD_DAYS and interval_count and window_days > PERIOD_DAYS[cadence] * interval_count:
        errors["window_days"] = ["The window is longer than the time between waves, so waves would overlap."]
    reminders = sorted(set(reminder_days))
    if window_days and any(d < 1 or d >= window_days for d in reminders):
        errors["reminder_days"] = [f"Reminder days must fall inside the window: between 1 and {window_days - 1}."]
    if anonymity not in ANONYMITY_MODES:
        errors["anonymity"] = ["Choose anonymous or confidential."]
    if min_group_size is None or min_group_size < 2:
        errors["min_group_size"] = ["Reports need groups of at least 2 people."]
    if fatigue_days is None or fatigue_days < 0:
        errors["fatigue_days"] = ["Use 0 (no limit) or more days."]
    if areas_per_person is not None and areas_per_person < 1:
        errors["areas_per_person"] = ["Ask about at least one area, or leave it empty to ask about all."]
    sender_name, reply_to = _checked_sender(sender_name, reply_to, errors)
    audience_codes = sorted({c.strip() for c in audience_area_codes if c.strip()})
    known = set(db.session.scalars(select(ServiceArea.code).where(ServiceArea.code.in_(audience_codes))))
    if set(audience_codes) - known:
        errors["audience_area_codes"] = [f"Unknown service area: {', '.join(sorted(set(audience_codes) - known))}."]
    areas: list[ServiceArea] = []
    if provider is not None:
        query = select(ServiceArea).where(ServiceArea.provider_id == provider.id).order_by(ServiceArea.position)
        if area_codes is None:
            areas = list(db.session.scalars(query.where(ServiceArea.active.is_(True))))
        else:
            areas = list(db.session.scalars(query.where(ServiceArea.code.in_(list(area_codes)))))
            if len(areas) != len(set(area_codes)):
                errors["area_codes"] = ["Some service areas do not belong to this provider."]
        if not areas and "area_codes" not in errors:
            errors["provider_id"] = ["This provider has no active service area to ask about."]
    if errors:
        raise InvalidInput("Please correct the highlighted fields.", errors=errors)

    campaign = Campaign(
        name=name, provider=provider, definition_id=definition_id, cadence=cadence, interval_count=interval_count,
        anchor_date=anchor_date, window_days=window_days, reminder_days=reminders, anonymity=anonymity,
        min_group_size=min_group_size, fatigue_days=fatigue_days, areas_per_person=areas_per_person,
        audience_departments=sorted({d.strip() for d in audience_departments if d.strip()}),
        audience_area_codes=audience_codes, service_areas=areas, sender_name=sender_name, reply_to=reply_to,
    )
    db.session.add(campaign)
    db.session.flush()
    schedule_waves(campaign, now, timezone)
    return campaign


@unit_of_work
def save_report_settings(campaign: Campaign, *, baseline_wave_id: int | None, hourly_cost: Decimal | str | None,
                         currency: str | None) -> Campaign:
    """Set what the campaign's reports compare every wave with (a baseline wave of its own that has opened;
    None for none) and what one lost working hour costs, in a currency written as plain text. A unit of work."""
    errors: dict[str, list[str]] = {}
    if baseline_wave_id:
        wave = db.session.get(Wave, baseline_wave_id)
        if wave is None or wave.campaign_id != campaign.id:
            errors["baseline_wave_id"] = ["Choose one of this campaign's waves."]
        elif wave.state == "scheduled":
            errors["baseline_wave_id"] = ["Choose a wave that has opened: a scheduled wave has no answers yet."]
    cost = None
    if hourly_cost not in (None, ""):
        try:
            cost = Decimal(str(hourly_cost)).quantize(Decimal("0.01"))
        except InvalidOperation:
            errors["hourly_cost"] = ["Give the cost as a number, e.g. 65.50."]
        else:
            if cost < 0 or cost >= Decimal("100000"):
                errors["hourly_cost"] = ["Give a cost from 0 to 99,999.99 per hour."]
    currency = (currency or "").strip()
    if len(currency) > 12:
        errors["currency"] = ["Write the currency in 12 characters or fewer (EUR, £, CHF)."]
    if errors:
        raise InvalidInput("Please correct the highlighted fields.", errors=errors)
    campaign.baseline_wave_id = baseline_wave_id or None
    campaign.hourly_cost = cost
    campaign.currency = currency or None
    return campaign


SENDER_NAME_MAX = 120


def _checked_sender(sender_name: str | None, reply_to: str | None,
                   errors: dict[str, list[str]]) -> tuple[str | None, str | None]:
    """A campaign's sender name (whitespace folded) and reply-to address (normalised) as stored, None for empty;
    what is wrong with either goes into `errors` under its field name."""
    name = re.sub(r"\s+", " ", sender_name or "").strip()
    if any(unicodedata.category(c) in ("Cc", "Cf") for c in name):
        errors["sender_name"] = ["Write the name without control characters."]
    elif len(name) > SENDER_NAME_MAX:
        errors["sender_name"] = [f"Write the name in {SENDER_NAME_MAX} characters or fewer."]
    address = (reply_to or "").strip()
    if address:
        try:
            checked = validate_email(address, check_deliverability=False)
        except EmailNotValidError as error:
            errors["reply_to"] = [f"Give one email address, e.g. vendor-team@example.org ({error})."]
        else:
            if checked.ascii_email is None:
                errors["reply_to"] = ["Give an address with only ASCII characters before the @: these "
                                      "emails are not sent with SMTPUTF8."]
            else:
                address = checked.ascii_email
    return name or None, address or None


@unit_of_work
def save_sender_settings(campaign: Campaign, *, sender_name: str | None, reply_to: str | None) -> Campaign:
    """Set who the campaign's invitations and reminders come from as people read it (a person or team
    name shown in From, on the configured sending address) and where replies go (a Reply-To address);
    empty values fall back to MAIL_FROM. A unit of work."""
    errors: dict[str, list[str]] = {}
    name, address = _checked_sender(sender_name, reply_to, errors)
    if errors:
        raise InvalidInput("Please correct the highlighted fields.", errors=errors)
    campaign.sender_name = name
    campaign.reply_to = address
    return campaign


# --- audiences and invitations ----------------------------------------------------------------------

@dataclass(frozen=True)
class AudienceResult:
    invited: int
    skipped_for_fatigue: int


def audience_query(campaign: Campaign):
    """Stakeholders a campaign's wave invites: active, not opted out, not undeliverable (a hard bounce
    until an import or an admin clears it), matching the audience filters."""
    query = select(Stakeholder.id).where(Stakeholder.active.is_(True), Stakeholder.opted_out_at.is_(None),
                                         Stakeholder.undeliverable_at.is_(None))
    if campaign.audience_departments:
        wanted = [d.lower() for d in campaign.audience_departments]
        query = query.where(func.lower(Stakeholder.department).in_(wanted))
    if campaign.audience_area_codes:
        query = query.where(exists().where(
            stakeholder_service_area.c.stakeholder_id == Stakeholder.id,
            stakeholder_service_area.c.service_area_id == ServiceArea.id,
            ServiceArea.code.in_(campaign.audience_area_codes),
        ))
    return query


def invite_audience(wave: Wave, now: datetime) -> AudienceResult:
    """Create a pending invitation for everyone in the campaign's audience, with the areas each asks
    about (`sampling.record_area_draw`). A step: flushes only.

    Fatigue rule: someone invited to any campaign's wave in the last `fatigue_days` days (invitations
    that were never delivered do not count) is left out of this wave. Nothing is stored for them: they
    are simply not invited to this period, and the count is returned for the dispatcher's report.
    """
    campaign = wave.campaign
    candidates = audience_query(campaign).where(
        ~exists().where(Invitation.wave_id == wave.id, Invitation.stakeholder_id == Stakeholder.id))
    skipped = 0
    if campaign.fatigue_days > 0:
        recently = exists().where(
            Invitation.stakeholder_id == Stakeholder.id,
            Invitation.wave_id != wave.id,
            Invitation.created_at > now - timedelta(days=campaign.fatigue_days),
            Invitation.state != "failed",
        )
        skipped = db.session.scalar(select(func.count()).select_from(candidates.where(recently).subquery())) or 0
        candidates = candidates.where(~recently)
    ids = list(db.session.scalars(candidates.order_by(Stakeholder.id)))
    for start in range(0, len(ids), 1000):
        db.session.execute(insert(Invitation), [
            {"wave_id": wave.id, "stakeholder_id": sid, "state": "pending", "attempts": 0, "reminders_sent": 0,
             "created_at": now} for sid in ids[start:start + 1000]
        ])
    sampling.record_area_draw(wave)
    return AudienceResult(invited=len(ids), skipped_for_fatigue=skipped)


def fail_undelivered(wave: Wave, now: datetime, lease: timedelta) -> int:
    """At close, invitations still pending (or stuck in an abandoned claim) will never go out."""
    result = db.session.execute(
        update(Invitation).where(
            Invitation.wave_id == wave.id,
            or_(Invitation.state == "pending",
                and_(Invitation.state == "sending", Invitation.claimed_at < now - lease)),
        ).values(state="failed", last_error=NOT_DELIVERED_AT_CLOSE, claimed_at=None, claimed_by=None)
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0


@unit_of_work
def open_wave_now(wave: Wave, now: datetime) -> AudienceResult:
    """Open a scheduled wave ahead of its date and invite its audience; the next dispatcher pass sends.
    A unit of work."""
    wave.open(now)
    if wave.opens_at > now:
        wave.opens_at = now  # reminders count their days from the real opening
    db.session.flush()
    return invite_audience(wave, now)


@unit_of_work
def close_wave_early(wave: Wave, now: datetime, lease: timedelta = timedelta(minutes=10)) -> int:
    """Close a wave now; returns how many undelivered invitations were given up. A unit of work."""
    wave.close(now)
    db.session.flush()
    return fail_undelivered(wave, now, lease)


@unit_of_work
def resend_invitation(invitation: Invitation, now: datetime) -> None:
    """Put a failed invitation back in the queue; the next pass sends it with a fresh link. A unit of work."""
    if invitation.state != "failed":
        raise InvalidTransition(f"Only a failed invitation can be resent; this one is {invitation.state}.")
    if not invitation.wave.is_open:
        raise InvalidTransition(f"Wave {invitation.wave.label} is {invitation.wave.state}; nothing can be sent.")
    if invitation.stakeholder.opted_out or not invitation.stakeholder.active:
        raise InvalidTransition(f"{invitation.stakeholder.email} has opted out or is inactive.")
    invitation.requeue(None, retry_at=now)
    invitation.attempts = 0


# --- how long the survey takes ---------------------------------------------------------------------

# The admin's table of estimates goes up to this many areas per person.
ESTIMATE_MAX_AREAS = 6


def time_estimates(definitions: Sequence[SurveyDefinition],
                   max_areas: int = ESTIMATE_MAX_AREAS) -> list[tuple[SurveyDefinition, list[TimeEstimate]]]:
    """For choosing a survey and K: each definition's estimate for someone asked about 1..max_areas areas."""
    return [(definition, [estimate_for_questions(definition.questions, n) for n in range(1, max_areas + 1)])
            for definition in definitions]


def campaign_time_estimate(campaign: Campaign) -> TimeEstimate:
    """The longest survey this campaign asks of anyone: all its areas, or K of them with area sampling."""
    areas = len(campaign.service_areas)
    if campaign.areas_per_person:
        areas = min(areas, campaign.areas_per_person)
    return estimate_for_questions(campaign.definition.questions, areas)


@dataclass(frozen=True)
class InvitationOutline:
    """What one invitation's survey covers, for its emails: the areas it asks about and how long it takes."""

    area_names: list[str]
    estimate: TimeEstimate


def invitation_outline(invitation: Invitation) -> InvitationOutline:
    """The areas drawn for this invitation (or, without a draw, those its person uses in the campaign) and
    the time estimate for exactly that survey, so the email says what the first screen will say."""
    campaign = invitation.wave.campaign
    areas = [area for area in invitation.asked_areas if area.active]
    if not areas:
        used = {area.id for area in invitation.stakeholder.service_areas}
        areas = [area for area in campaign.service_areas if area.id in used and area.active]
    return InvitationOutline([area.name for area in areas],
                             estimate_for_questions(campaign.definition.questions, len(areas)))


@dataclass(frozen=True)
class AreaResponseRates:
    wave: Wave
    rows: list[tuple[ServiceArea, int, int]]  # area, delivered invitations that asked it, answered


def area_response_rates(campaign: Campaign, waves_newest_first: Sequence[Wave]) -> AreaResponseRates | None:
    """Per area, for the newest wave that has opened: the invitations that asked it, and the answered ones."""
    wave = next((w for w in waves_newest_first if w.state != "scheduled"), None)
    if wave is None:
        return None
    counts = sampling.invitations_per_area([wave.id])
    return AreaResponseRates(wave, [(area, *counts.get((wave.id, area.id), (0, 0)))
                                    for area in campaign.service_areas])


# --- counts for the admin pages ---------------------------------------------------------------------

def waves_newest_first(campaign_id: int) -> list[Wave]:
    return list(db.session.scalars(select(Wave).where(Wave.campaign_id == campaign_id).order_by(Wave.opens_at.desc())))


@dataclass(frozen=True)
class WaveCounts:
    invited: int = 0
    sent: int = 0
    failed: int = 0
    opened: int = 0
    responded: int = 0
    bounced: int = 0  # sent, then bounced back (and never answered): not counted in `sent`

    @property
    def response_rate(self) -> float | None:
        """Answers per delivered invitation."""
        return self.responded / self.sent if self.sent else None


def wave_counts(campaign_id: int) -> dict[int, WaveCounts]:
    """Counts per wave of one campaign, in one grouped query. A bounced invitation counts as delivered
    only if it was answered anyway (a delay warning followed by delivery)."""
    bounced = and_(Invitation.bounced_at.is_not(None), Invitation.responded_at.is_(None))
    rows = db.session.execute(
        select(
            Wave.id,
            func.count(Invitation.id),
            func.sum(case((and_(Invitation.state == "sent", ~bounced), 1), else_=0)),
            func.sum(case((Invitation.state == "failed", 1), else_=0)),
            func.count(Invitation.opened_at),
            func.count(Invitation.responded_at),
            func.sum(case((bounced, 1), else_=0)),
        ).select_from(Wave).outerjoin(Invitation, Invitation.wave_id == Wave.id)
        .where(Wave.campaign_id == campaign_id).group_by(Wave.id)
    )
    return {wave_id: WaveCounts(int(invited), int(sent or 0), int(failed or 0), int(opened), int(responded),
                                int(bounced_count or 0))
            for wave_id, invited, sent, failed, opened, responded, bounced_count in rows}


@dataclass(frozen=True)
class CampaignSummary:
    campaign: Campaign
    waves: int
    open_waves: int
    next_opens_at: datetime | None


def campaign_summaries() -> list[CampaignSummary]:
    """Every campaign with its wave numbers, for the campaign list (one grouped query)."""
    counts = select(
        Wave.campaign_id,
        func.count(Wave.id).label("waves"),
        func.sum(case((Wave.state == "open", 1), else_=0)).label("open_waves"),
        func.min(case((Wave.state == "scheduled", Wave.opens_at))).label("next_opens_at"),
    ).group_by(Wave.campaign_id).subquery()
    rows = db.session.execute(
        select(Campaign, counts.c.waves, counts.c.open_waves, counts.c.next_opens_at)
        .outerjoin(counts, counts.c.campaign_id == Campaign.id).order_by(Campaign.name)
    )
    summaries = []
    for campaign, waves, open_waves, next_opens_at in rows:
        summaries.append(CampaignSummary(campaign, int(waves or 0), int(open_waves or 0), next_opens_at))
    return summaries


def latest_definitions() -> list[SurveyDefinition]:
    """The newest version of each survey definition, for choosing what a new campaign asks."""
    newest = select(SurveyDefinition.code, func.max(SurveyDefinition.version).label("version")) \
        .group_by(SurveyDefinition.code).subquery()
    return list(db.session.scalars(
        select(SurveyDefinition).join(newest, and_(newest.c.code == SurveyDefinition.code,
                                                   newest.c.version == SurveyDefinition.version))
        .order_by(SurveyDefinition.title)
    ))


def failed_invitations(campaign_id: int, limit: int = 200) -> list[Invitation]:
    """Failed invitations of the campaign's open waves: the ones an admin can resend."""
    return list(db.session.scalars(
        select(Invitation).join(Wave, Wave.id == Invitation.wave_id)
        .where(Wave.campaign_id == campaign_id, Wave.state == "open", Invitation.state == "failed")
        .options(joinedload(Invitation.stakeholder), joinedload(Invitation.wave))
        .order_by(Wave.opens_at.desc(), Invitation.id).limit(limit)
    ))


def bounced_invitations(campaign_id: int, limit: int = 200) -> list[Invitation]:
    """The campaign's bounced invitations, newest bounce first, for the admin's list."""
    return list(db.session.scalars(
        select(Invitation).join(Wave, Wave.id == Invitation.wave_id)
        .where(Wave.campaign_id == campaign_id, Invitation.bounced_at.is_not(None))
        .options(joinedload(Invitation.stakeholder), joinedload(Invitation.wave))
        .order_by(Invitation.bounced_at.desc(), Invitation.id).limit(limit)
    ))
