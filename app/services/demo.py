"""Believable demo data: one provider, six service areas, ~300 employees, eight quarterly pulse waves and three
half-yearly deep dives with the long survey.

The trends are deliberate so the dashboard has a story to tell: the Service Desk improves, the
Network degrades after an incident two quarters ago, Hosting & Cloud stays flat. The deep dives add known key
drivers (`DEEP_DIVE_DRIVERS`): the Service Desk's satisfaction follows resolution quality, its weakest rating.
"""
from __future__ import annotations

import math
import random
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import insert, select

from app.extensions import db
from app.models import (
    Answer,
    Campaign,
    Invitation,
    InvitationToken,
    Provider,
    Response,
    ServiceArea,
    Stakeholder,
    SurveyDefinition,
    Wave,
    hash_token,
)
from app.models.org import stakeholder_service_area
from app.services.transactions import unit_of_work
from app.services import sampling
from app.services.campaigns import WAVE_OPENING_TIME, add_months, wave_label
from app.services.catalog import latest_definition
from app.services.comment_scores import Thresholds, sentiment_columns
from app.services.demo_comments import demo_comment, provider_comment
from app.services.tallies import rebuild_wave_tallies

DEMO_PROVIDER = "Northwind Managed IT"
SURVEY_CODE = "pulse"
# The long survey stays as an optional deep dive: a second campaign, twice a year, switched off until an
# admin turns it on.
DEEP_DIVE_CODE = "quarterly-provider-satisfaction"
# The pulse asks each person about at most two of the areas they use.
AREAS_PER_PERSON = 2
WAVE_COUNT = 8
# The deep dive's past waves: the last three half-years whose wave closed before the pulse's latest closed wave,
# so a fresh demo's overview still opens on the pulse (the campaign with the most recent closed wave). Each opens
# two weeks into the half-year, a month before that quarter's pulse: the pulse's 30-day fatigue rule, counting
# the deep dive's invitations, still invites everyone.
DEEP_DIVE_WAVES = 3
DEEP_DIVE_OPENS_AFTER_DAYS = 14
DEEP_DIVE_WINDOW_DAYS = 21


@dataclass(frozen=True)
class AreaPlan:
    code: str
    name: str
    target_satisfaction: float
    target_happiness: float
    share_using: float
    means: tuple[float, ...]  # mean satisfaction per wave, oldest first


AREAS = (
    AreaPlan("service-desk", "Service Desk", 4.0, 30, 0.97, (3.1, 3.25, 3.4, 3.55, 3.75, 3.9, 4.1, 4.25)),
    AreaPlan("network", "Network & Connectivity", 4.0, 20, 0.75, (4.15, 4.2, 4.1, 4.2, 4.15, 4.2, 2.9, 3.1)),
    AreaPlan("hosting", "Hosting & Cloud", 3.8, 10, 0.45, (3.9, 3.85, 3.95, 3.9, 3.9, 3.85, 3.95, 3.9)),
    AreaPlan("app-support", "Application Support", 3.8, 10, 0.6, (3.4, 3.45, 3.5, 3.55, 3.6, 3.6, 3.7, 3.75)),
    AreaPlan("end-user-computing", "End-User Computing", 4.0, 20, 0.92, (3.7, 3.65, 3.75, 3.7, 3.8, 3.7, 3.75, 3.8)),
    AreaPlan("security", "Security Operations", 4.2, 30, 0.85, (4.3, 4.35, 4.3, 4.25, 4.3, 4.35, 4.3, 4.4)),
)
INCIDENT_AREA, INCIDENT_WAVE = "network", 6

DEPARTMENTS = (
    ("Finance", 0.13), ("Human Resources", 0.07), ("Sales", 0.16), ("Operations", 0.18), ("Engineering", 0.2),
    ("Legal", 0.05), ("Marketing", 0.08), ("Customer Support", 0.13),
)
LOCATIONS = ("London", "Manchester", "Lisbon", "Kraków", "Remote")
FIRST = ("Amira", "Ben", "Chloe", "Daniel", "Elif", "Femi", "Grace", "Hugo", "Ines", "Jonas", "Kasia", "Liam",
         "Maya", "Noah", "Olga", "Priya", "Quentin", "Rosa", "Sam", "Tomasz", "Uma", "Victor", "Wen", "Yusuf", "Zoe")
LAST = ("Adeyemi", "Brown", "Costa", "Dubois", "Evans", "Fischer", "García", "Hughes", "Ivanova", "Jones", "Khan",
        "Lopes", "Murphy", "Nowak", "O'Brien", "Patel", "Quinn", "Rossi", "Silva", "Taylor", "Umar", "Varga",
        "Walsh", "Xu", "Young", "Zielińska")

GOOD_REASONS = ("fast_response", "fixed_first_time", "friendly_staff", "kept_informed", "knowledgeable",
                "proactive", "easy_to_reach")
BAD_REASONS = ("slow_response", "not_fixed", "bounced_around", "no_updates", "closed_unresolved", "outages",
               "lacked_expertise", "hard_to_reach")


@dataclass(frozen=True)
class Driver:
    """How one sub-rating of the long survey relates to an area's overall satisfaction in the deep dive.

    `weight` is the correlation of the person's underlying opinion on it with their underlying satisfaction
    (before both are rounded to the 1-5 scale, which pulls the measured Spearman rho down by about 0.1);
    `offset` is where it sits against that wave's mean satisfaction, in scale points."""

    weight: float
    offset: float


SUB_RATINGS = ("responsiveness", "resolution_quality", "communication", "expertise")
# The deep dive's key drivers, known by construction (tests/functional/test_demo_drivers.py reads them back):
# - Service Desk: resolution quality drives satisfaction (Spearman rho about 0.7) and scores about a point below
#   it, well under the desk's other ratings: "fix first". The others move with satisfaction far less (0.1-0.35).
# - Network & Connectivity: communication leads (about 0.6: people heard nothing during outages) and scores
#   lowest: "fix first". Resolution quality follows far behind.
# - Application Support: expertise leads (about 0.6) and scores above the area's other ratings: a strength, not
#   "fix first". Every other area: the same with responsiveness leading.
# The weaker ratings sit between about -0.2 and 0.35: now and then one of them passes its area's average by chance
# and is flagged, as the method would flag it with real data.
SERVICE_DESK_DRIVERS = {"resolution_quality": Driver(0.8, -0.9), "responsiveness": Driver(0.35, 0.3),
                        "communication": Driver(0.25, 0.2), "expertise": Driver(0.15, 0.4)}
DEEP_DIVE_DRIVERS: dict[str, dict[str, Driver]] = {
    "service-desk": SERVICE_DESK_DRIVERS,
    "network": {"communication": Driver(0.75, -0.8), "resolution_quality": Driver(0.35, 0.1),
                "responsiveness": Driver(0.25, 0.2), "expertise": Driver(0.15, 0.3)},
    "app-support": {"expertise": Driver(0.7, 0.3), "responsiveness": Driver(0.15, 0.0),
                    "resolution_quality": Driver(0.1, 0.1), "communication": Driver(0.1, 0.0)},
}
DEFAULT_DRIVERS = {"responsiveness": Driver(0.7, 0.3), "resolution_quality": Driver(0.15, 0.0),
                   "communication": Driver(0.1, 0.1), "expertise": Driver(0.1, 0.1)}


@dataclass(frozen=True)
class DemoSummary:
    created: bool
    stakeholders: int
    waves: int
    responses: int
    sample_link: str | None
    deep_dive_waves: int = 0
    deep_dive_responses: int = 0


def demo_exists() -> bool:
    return db.session.scalar(select(Provider.id).where(Provider.name == DEMO_PROVIDER)) is not None


def quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def previous_quarter(start: date) -> date:
    return date(start.year - 1, 10, 1) if start.month == 1 else date(start.year, start.month - 3, 1)


def quarter_label(start: date) -> str:
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"


@unit_of_work
def seed_demo(*, now: datetime, timezone: str, base_url: str, seed: int = 2026, stakeholder_count: int = 300,
              thresholds: Thresholds = Thresholds()) -> DemoSummary:
    """Create the demo data set in one transaction. Does nothing when it already exists."""
    if demo_exists():
        return DemoSummary(False, 0, 0, 0, None)
    definition = latest_definition(SURVEY_CODE)
    if definition is None:
        raise LookupError(f"Survey {SURVEY_CODE!r} is not loaded; run `flask surveys load` first.")
    rng = random.Random(seed)
    provider = Provider(name=DEMO_PROVIDER, contract_reference="NW-2024-017")
    areas = [
        ServiceArea(provider=provider, code=plan.code, name=plan.name, position=i,
                    target_satisfaction=plan.target_satisfaction, target_happiness=plan.target_happiness)
        for i, plan in enumerate(AREAS)
    ]
    db.session.add_all([provider, *areas])
    db.session.flush()
    stakeholders = _seed_stakeholders(rng, areas, stakeholder_count)
    tz = ZoneInfo(timezone)
    campaign, waves = _seed_campaign(provider, definition, areas, now, tz)
    responses = 0
    for index, wave in enumerate(waves):
        responses += _seed_wave(rng, wave, index, definition, stakeholders, areas, now, thresholds)
    sample_link = _sample_link(waves, base_url)
    for wave in waves:
        rebuild_wave_tallies(wave.id)
    deep_dive_waves = deep_dive_responses = 0
    deep_dive = latest_definition(DEEP_DIVE_CODE)
    if deep_dive is not None:
        # A random stream of its own: the pulse waves above stay exactly as they were before the deep dive had data.
        deep_dive_waves, deep_dive_responses = _seed_deep_dive(
            random.Random(f"{seed}:deep dive"), provider, deep_dive, areas, stakeholders, waves, now, tz, thresholds)
    return DemoSummary(True, len(stakeholders), len(waves), responses, sample_link, deep_dive_waves,
                       deep_dive_responses)


def _seed_stakeholders(rng: random.Random, areas: list[ServiceArea], count: int) -> list[dict]:
    departments = [d for d, _ in DEPARTMENTS]
    weights = [w for _, w in DEPARTMENTS]
    rows, links, seen = [], [], set()
    for i in range(count):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        local = f"{first}.{last}".lower().replace("'", "").replace("í", "i").replace("ń", "n").replace("ó", "o")
        email = f"{local}@example.com"
        suffix = 2
        while email in seen:
            email = f"{local}{suffix}@example.com"
            suffix += 1
        seen.add(email)
        department = rng.choices(departments, weights)[0]
        rows.append({"email": email, "name": f"{first} {last}", "department": department,
                     "location": rng.choice(LOCATIONS), "active": i % 60 != 59})
    db.session.execute(insert(Stakeholder), rows)
    stored = db.session.execute(select(Stakeholder.id, Stakeholder.email, Stakeholder.department, Stakeholder.active)
                                .order_by(Stakeholder.id)).all()
    people = []
    for row in stored:
        used = []
        for area, plan in zip(areas, AREAS):
            share = plan.share_using + (0.4 if plan.code == "hosting" and row.department == "Engineering" else 0)
            if rng.random() < share:
                used.append(area.id)
                links.append({"stakeholder_id": row.id, "service_area_id": area.id})
        people.append({"id": row.id, "department": row.department, "active": row.active, "areas": used})
    db.session.execute(insert(stakeholder_service_area), links)
    return people


def _seed_campaign(provider: Provider, definition: SurveyDefinition, areas: list[ServiceArea], now: datetime,
                   tz: ZoneInfo) -> tuple[Campaign, list[Wave]]:
    starts = [quarter_start(now.astimezone(tz).date())]
    while len(starts) < WAVE_COUNT:
        starts.insert(0, previous_quarter(starts[0]))
    campaign = Campaign(
        name=f"Quarterly provider satisfaction – {provider.name}", provider=provider, definition=definition,
        cadence="quarterly", interval_count=1, anchor_date=starts[0] + timedelta(days=45), window_days=21,
        reminder_days=[7, 14], anonymity="confidential", segment_attributes=["department"], min_group_size=5,
        fatigue_days=30, service_areas=areas, areas_per_person=AREAS_PER_PERSON,
    )
    db.session.add(campaign)
    waves = []
    for start in starts:
        opens = datetime.combine(start + timedelta(days=45), time(9, 0), tz)
        closes = opens + timedelta(days=21)
        wave = Wave(campaign=campaign, label=quarter_label(start), opens_at=opens, closes_at=closes)
        if opens <= now:
            wave.open(now=opens)
        if closes <= now:
            wave.close(now=closes)
        waves.append(wave)
    db.session.add_all(waves)
    db.session.flush()
    return campaign, waves


def _clip(value: float, low: int, high: int) -> int:
    return max(low, min(high, int(round(value))))


def _comment(rng: random.Random, satisfaction: int, area_code: str, wave_index: int) -> str:
    return demo_comment(rng, area_code, wave_index, len(AREAS[0].means), satisfaction, INCIDENT_AREA, INCIDENT_WAVE)


def _seed_wave(rng: random.Random, wave: Wave, index: int, definition: SurveyDefinition, people: list[dict],
               areas: list[ServiceArea], now: datetime, thresholds: Thresholds) -> int:
    if wave.state == "scheduled":
        return 0
    questions = {q.code: q for q in definition.questions}
    invited = [p for p in people if p["active"] and p["areas"]]
    # An open wave is partway through: fewer people have answered so far.
    rate = rng.uniform(0.55, 0.68) * (0.6 if wave.state == "open" else 1.0)
    answered = _seed_invitations(rng, wave, index, invited, rate, now)
    # The same draw the dispatcher makes when it opens a wave, seeded so the demo is the same every time.
    drawn = sampling.record_area_draw(wave, rng=random.Random(rng.random()))
    plans = {a.id: (a, plan) for a, plan in zip(areas, AREAS)}
    return _seed_responses(rng, wave, answered, drawn, questions, thresholds, lambda response_id, area_id: (
        _area_answers(rng, response_id, wave, index, *plans[area_id], questions, thresholds)))


def _seed_responses(rng: random.Random, wave: Wave, answered: list[Respondent], drawn: dict[int, tuple[int, ...]],
                    questions, thresholds: Thresholds, area_answers: Callable[[uuid.UUID, int], list[dict]]) -> int:
    """One response per respondent with `area_answers` for each area drawn for their invitation, then the
    questions about the provider as a whole. Returns how many responses."""
    responses, answers = [], []
    for person in answered:
        response_id = uuid.uuid4()
        responses.append({"id": response_id, "wave_id": wave.id, "invitation_id": person.invitation_id,
                          "submitted_at": person.answered_at, "department": person.department})
        for area_id in drawn[person.invitation_id]:
            answers.extend(area_answers(response_id, area_id))
        answers.extend(_relationship_answers(rng, response_id, wave, questions, thresholds))
    db.session.execute(insert(Response), responses)
    db.session.execute(insert(Answer).execution_options(render_nulls=True), answers)
    return len(responses)


@dataclass(frozen=True)
class Respondent:
    invitation_id: int
    answered_at: datetime
    department: str


def _seed_invitations(rng: random.Random, wave: Wave, index: int, invited: list[dict], rate: float,
                      now: datetime) -> list[Respondent]:
    """Invite `invited` to the wave, a share `rate` of them answering at random moments of its window.
    Returns those who answered, in the order of `invited`."""
    answering = {p["id"] for p in rng.sample(invited, int(len(invited) * rate))}
    sent_at = wave.opens_at + timedelta(minutes=5)
    last_moment = min(wave.closes_at, now) - timedelta(minutes=1)  # nobody answers in the future
    span = max(60, int((last_moment - sent_at).total_seconds()))
    invitations = []
    answered_at: dict[int, datetime] = {}
    for person in invited:
        responded_at = sent_at + timedelta(seconds=rng.randrange(span)) if person["id"] in answering else None
        if responded_at is not None:
            answered_at[person["id"]] = responded_at
        invitations.append({"wave_id": wave.id, "stakeholder_id": person["id"], "state": "sent", "attempts": 1,
                            "sent_at": sent_at, "opened_at": responded_at, "responded_at": responded_at,
                            "reminders_sent": 0 if responded_at else min(2, index % 3), "created_at": sent_at})
    # NULLs written out, so every row has the same columns and goes in one batch: an omitted None splits the batch
    # wherever the next row differs, which on PostgreSQL meant one statement per row.
    db.session.execute(insert(Invitation).execution_options(render_nulls=True), invitations)
    invitation_ids = dict(db.session.execute(
        select(Invitation.stakeholder_id, Invitation.id).where(Invitation.wave_id == wave.id)).all())
    return [Respondent(invitation_ids[p["id"]], answered_at[p["id"]], p["department"])
            for p in invited if p["id"] in answering]


def _relationship_answers(rng: random.Random, response_id, wave: Wave, questions, thresholds: Thresholds) -> list[dict]:
    """The questions about the provider as a whole (none in the pulse): one mood behind the three ratings."""
    rows = []
    mood = rng.gauss(3.6, 0.8)
    for code in ("partnership", "proactivity", "account_management"):
        if code not in questions:
            continue
        rows.append(_row(response_id, wave.id, questions[code].id, None,
                         score=_clip(mood + rng.gauss(0, 0.5) - (0.4 if code == "proactivity" else 0), 1, 5)))
    if "relationship_comment" in questions and rng.random() < 0.25:
        text = provider_comment(rng, _clip(mood, 1, 5))
        rows.append(_row(response_id, wave.id, questions["relationship_comment"].id, None, text=text,
                         shareable=rng.random() < 0.5, **sentiment_columns(text, thresholds)))
    return rows


def _row(response_id, wave_id, question_id, area_id, **values) -> dict:
    row = {"response_id": response_id, "wave_id": wave_id, "question_id": question_id, "service_area_id": area_id,
           "score": None, "hours": None, "reasons": None, "text": None, "sentiment_polarity": None,
           "sentiment_subjectivity": None, "sentiment_label": None, "sentiment_drivers": None,
           "analyzer_version": None, "sentiment_aspects": None, "shareable": False}
    row.update(values)
    return row


def _area_answers(rng, response_id, wave: Wave, index: int, area: ServiceArea, plan: AreaPlan, questions,
                  thresholds: Thresholds) -> list[dict]:
    satisfaction = _clip(rng.gauss(plan.means[index], 0.85), 1, 5)
    rows = [_row(response_id, wave.id, questions["satisfaction"].id, area.id, score=satisfaction)]
    return rows + _outcome_answers(rng, response_id, wave, index, area, satisfaction, questions, thresholds)


def _outcome_answers(rng, response_id, wave: Wave, index: int, area: ServiceArea, satisfaction: int, questions,
                     thresholds: Thresholds) -> list[dict]:
    """What follows from an area's satisfaction: the recommendation (long survey only), hours lost, reasons and
    a comment. `index` is the pulse wave of the period, whose stories (the incident, the desk's speed) apply."""
    rows = []
    if "recommend" in questions:
        rows.append(_row(response_id, wave.id, questions["recommend"].id, area.id,
                         score=_clip(satisfaction * 2.1 - 0.3 + rng.gauss(0, 1.3), 0, 10)))
    hours = round(rng.expovariate(1 / max(0.2, (5 - satisfaction) * 1.6)), 1)
    rows.append(_row(response_id, wave.id, questions["time_lost"].id, area.id, hours=min(hours, 200.0)))
    if rng.random() < 0.7:
        pool = GOOD_REASONS if satisfaction >= 4 else BAD_REASONS
        if area.code == INCIDENT_AREA and index >= INCIDENT_WAVE and satisfaction < 4:
            picked = ["outages", *rng.sample([r for r in pool if r != "outages"], rng.randint(0, 2))]
        else:
            picked = rng.sample(pool, rng.randint(1, 3))
        rows.append(_row(response_id, wave.id, questions["reasons"].id, area.id, reasons=picked))
    if rng.random() < 0.3:
        text = _comment(rng, satisfaction, area.code, index)
        rows.append(_row(response_id, wave.id, questions["comment"].id, area.id, text=text,
                         shareable=rng.random() < 0.5, **sentiment_columns(text, thresholds, area.code)))
    return rows


# --- the deep dive: the long survey twice a year, with known key drivers ----------------------------------------

def _deep_dive_day(now: datetime, tz: ZoneInfo) -> date:
    """The day the deep dive of the half-year containing `now` opens."""
    day = now.astimezone(tz).date()
    return date(day.year, 1 if day.month <= 6 else 7, 1) + timedelta(days=DEEP_DIVE_OPENS_AFTER_DAYS)


def _deep_dive_window(start: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    opens = datetime.combine(start, WAVE_OPENING_TIME, tz)
    return opens, opens + timedelta(days=DEEP_DIVE_WINDOW_DAYS)


def _deep_dive_starts(pulse_waves: list[Wave], now: datetime, tz: ZoneInfo) -> list[date]:
    """The opening days of the deep dive's past waves, oldest first: the last `DEEP_DIVE_WAVES` half-years whose
    wave closed before the pulse's latest closed wave did. They lie on the campaign's own calendar (anchor date
    plus six months at a time), so waves the dispatcher plans once an admin switches it on follow them."""
    closed = [w.closes_at for w in pulse_waves if w.state == "closed"]
    if not closed:
        return []
    start = _deep_dive_day(now, tz)
    starts: list[date] = []
    while len(starts) < DEEP_DIVE_WAVES:
        if _deep_dive_window(start, tz)[1] < max(closed):
            starts.insert(0, start)
        start = add_months(start, -6)
    return starts


def _seed_deep_dive(rng: random.Random, provider: Provider, definition: SurveyDefinition, areas: list[ServiceArea],
                    people: list[dict], pulse_waves: list[Wave], now: datetime, tz: ZoneInfo,
                    thresholds: Thresholds) -> tuple[int, int]:
    """The long survey's campaign, switched off until an admin turns it on, with its past waves answered.
    Returns how many waves and responses it has."""
    starts = _deep_dive_starts(pulse_waves, now, tz)
    campaign = Campaign(
        name=f"Deep dive (twice a year) – {provider.name}", provider=provider, definition=definition,
        cadence="quarterly", interval_count=2,
        anchor_date=starts[0] if starts else _deep_dive_day(now, tz),
        window_days=DEEP_DIVE_WINDOW_DAYS, reminder_days=[7, 14], anonymity="confidential",
        segment_attributes=["department"], min_group_size=5, fatigue_days=0, service_areas=areas, active=False)
    db.session.add(campaign)
    waves = []
    for start in starts:
        opens, closes = _deep_dive_window(start, tz)
        wave = Wave(campaign=campaign, label=wave_label(campaign.cadence, start), opens_at=opens, closes_at=closes)
        wave.open(now=opens)
        wave.close(now=closes)
        waves.append(wave)
    db.session.add_all(waves)
    db.session.flush()
    # Each deep dive's satisfaction follows the pulse's story for its quarter (`AreaPlan.means`).
    pulse_quarters = [quarter_start(w.opens_at.astimezone(tz).date()) for w in pulse_waves]
    responses = 0
    for index, (wave, start) in enumerate(zip(waves, starts)):
        quarter = quarter_start(start)
        pulse_index = pulse_quarters.index(quarter) if quarter in pulse_quarters else 0
        responses += _seed_deep_dive_wave(rng, wave, index, pulse_index, definition, people, areas, now, thresholds)
        rebuild_wave_tallies(wave.id)
    return len(waves), responses


def _seed_deep_dive_wave(rng: random.Random, wave: Wave, index: int, pulse_index: int, definition: SurveyDefinition,
                         people: list[dict], areas: list[ServiceArea], now: datetime, thresholds: Thresholds) -> int:
    questions = {q.code: q for q in definition.questions}
    invited = [p for p in people if p["active"] and p["areas"]]
    # The long survey asks far more than the pulse: fewer people answer it.
    answered = _seed_invitations(rng, wave, index, invited, rng.uniform(0.42, 0.5), now)
    # No area sampling on this campaign: every invitation asks about all the areas its person uses.
    drawn = sampling.record_area_draw(wave, rng=random.Random(rng.random()))
    plans = {a.id: (a, plan) for a, plan in zip(areas, AREAS)}
    return _seed_responses(rng, wave, answered, drawn, questions, thresholds, lambda response_id, area_id: (
        _deep_dive_area_answers(rng, response_id, wave, pulse_index, *plans[area_id], questions, thresholds)))


def _deep_dive_area_answers(rng, response_id, wave: Wave, pulse_index: int, area: ServiceArea, plan: AreaPlan,
                            questions, thresholds: Thresholds) -> list[dict]:
    """One person's answers about one area in the long survey. Each sub-rating reads an opinion of its own
    (standard normal); satisfaction is their mix weighted as `DEEP_DIVE_DRIVERS` says plus the rest unexplained,
    so each weight is that opinion's correlation with satisfaction before rounding to the scale."""
    drivers = DEEP_DIVE_DRIVERS.get(area.code, DEFAULT_DRIVERS)
    mean = plan.means[pulse_index]
    opinions = {code: rng.gauss(0, 1) for code in SUB_RATINGS}
    unexplained = math.sqrt(max(0.0, 1 - sum(d.weight ** 2 for d in drivers.values())))
    latent = sum(drivers[code].weight * opinions[code] for code in SUB_RATINGS) + unexplained * rng.gauss(0, 1)
    satisfaction = _clip(mean + 0.85 * latent, 1, 5)
    rows = [_row(response_id, wave.id, questions["satisfaction"].id, area.id, score=satisfaction)]
    for code in SUB_RATINGS:
        if code in questions and rng.random() < 0.9:  # optional questions: now and then one is skipped
            rows.append(_row(response_id, wave.id, questions[code].id, area.id,
                             score=_clip(mean + drivers[code].offset + 0.9 * opinions[code], 1, 5)))
    return rows + _outcome_answers(rng, response_id, wave, pulse_index, area, satisfaction, questions, thresholds)


def _sample_link(waves: list[Wave], base_url: str) -> str | None:
    """A working survey link for someone who has not answered the open wave, to try the form."""
    open_wave = next((w for w in reversed(waves) if w.state == "open"), None)
    if open_wave is None:
        return None
    invitation = db.session.scalar(select(Invitation).where(Invitation.wave_id == open_wave.id,
                                                            Invitation.responded_at.is_(None)).limit(1))
    if invitation is None:
        return None
    token = secrets.token_urlsafe(24)
    db.session.add(InvitationToken(invitation_id=invitation.id, token_hash=hash_token(token), purpose="demo"))
    return f"{base_url}/s/{token}"
