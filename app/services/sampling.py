"""Area sampling: which of the service areas a person uses one invitation asks about.

A campaign may ask each person about at most K of the areas they use (`Campaign.areas_per_person`). The
draw happens once, when a wave's invitations are created, and is recorded in `invitation_area` (with a
copy on each invitation, `drawn_areas`, for counting); the respondent never chooses. It uses only what is
known before anyone answers (the areas each person uses, which areas their previous invitation asked, the
campaign's past response rate) and chance, never an answer, which is what keeps the dashboard's plain
per-area means unbiased (README, "Area sampling").
"""
from __future__ import annotations

import math
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import and_, bindparam, case, func, insert, or_, select, update

from app.extensions import db
from app.models import Campaign, Invitation, ServiceArea, Wave
from app.models.campaign import campaign_service_area, invitation_area
from app.models.org import stakeholder_service_area

# Response rate assumed while a campaign has no closed wave to learn it from: below the usual 50-65% of
# internal IT surveys, so a first wave errs towards asking an area of more people.
DEFAULT_RESPONSE_RATE = 0.4
# How sure the draw wants to be that an area's invitations bring in its minimum group size.
TARGET_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Person:
    """One invitee as the draw sees them: the areas they use (in the campaign) and those asked last wave."""

    key: int
    areas: tuple[int, ...]
    asked_last_wave: frozenset[int] = field(default_factory=frozenset)


def invitations_needed(min_group_size: int, response_rate: float, confidence: float = TARGET_CONFIDENCE) -> int:
    """The fewest invitations n for which Binomial(n, response_rate) reaches `min_group_size` with
    probability `confidence`: what an area needs to be reported on."""
    rate = min(max(response_rate, 0.01), 1.0)
    n = min_group_size
    while n < 100_000:
        # P(X >= k) = 1 - sum_{j<k} C(n, j) p^j (1-p)^(n-j)
        below = sum(math.comb(n, j) * rate ** j * (1 - rate) ** (n - j) for j in range(min_group_size))
        if 1 - below >= confidence:
            return n
        n += 1
    return n


def draw_areas(people: Sequence[Person], *, per_person: int | None, targets: Mapping[int, int],
               rng: random.Random) -> dict[int, tuple[int, ...]]:
    """Which areas to ask each person about: all of them when they use at most `per_person`, else
    exactly `per_person` of them.

    People are taken in random order. For each, areas are ranked by (1) how short the area still is of
    its target, relative to the people left who could still be asked about it (an area that few people
    use comes first until it has enough invitations), (2) not asked of this person last wave (rotation),
    (3) chance. The result maps each person's key to their areas in the order given.
    """
    if not per_person:
        return {person.key: person.areas for person in people}
    assigned: Counter[int] = Counter()
    supply: Counter[int] = Counter()
    drawn: dict[int, tuple[int, ...]] = {}
    sampled = []
    for person in people:
        if len(person.areas) <= per_person:
            drawn[person.key] = person.areas
            assigned.update(person.areas)
        else:
            sampled.append(person)
            supply.update(person.areas)
    order = list(sampled)
    rng.shuffle(order)
    for person in order:
        ranked = sorted(person.areas, key=lambda area: (
            -max(0, targets.get(area, 0) - assigned[area]) / supply[area],
            area in person.asked_last_wave,
            rng.random(),
        ))
        chosen = set(ranked[:per_person])
        drawn[person.key] = tuple(area for area in person.areas if area in chosen)
        assigned.update(chosen)
        supply.subtract(person.areas)
    return drawn


# --- the draw for a wave, on the database ----------------------------------------------------------

def past_response_rate(campaign_id: int, before_wave: Wave | None = None) -> float | None:
    """Answers per delivered invitation over the campaign's closed waves (None without any)."""
    query = (select(func.count(Invitation.responded_at),
                    func.sum(case((and_(Invitation.state == "sent", Invitation.bounced_at.is_(None)), 1), else_=0)))
             .join(Wave, Wave.id == Invitation.wave_id)
             .where(Wave.campaign_id == campaign_id, Wave.state == "closed"))
    if before_wave is not None:
        query = query.where(Wave.opens_at < before_wave.opens_at)
    responded, delivered = db.session.execute(query).one()
    if not delivered:
        return None
    return min(1.0, (responded or 0) / delivered)


def _previous_wave_id(wave: Wave) -> int | None:
    return db.session.scalar(select(Wave.id).where(Wave.campaign_id == wave.campaign_id, Wave.id != wave.id,
                                                   Wave.opens_at < wave.opens_at)
                             .order_by(Wave.opens_at.desc()).limit(1))


def asked_areas_by_stakeholder(wave_id: int) -> dict[int, frozenset[int]]:
    """The areas each invitation of a wave asked, by stakeholder (only invitations that recorded a draw)."""
    rows = db.session.execute(
        select(Invitation.stakeholder_id, invitation_area.c.service_area_id)
        .join(invitation_area, invitation_area.c.invitation_id == Invitation.id)
        .where(Invitation.wave_id == wave_id))
    asked: dict[int, set[int]] = defaultdict(set)
    for stakeholder_id, area_id in rows:
        asked[stakeholder_id].add(area_id)
    return {key: frozenset(value) for key, value in asked.items()}


def used_areas(campaign_id: int, stakeholder_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """The campaign's active areas each person uses, in the campaign's order."""
    ids = list(stakeholder_ids)
    used: dict[int, list[int]] = defaultdict(list)
    for start in range(0, len(ids), 1000):
        rows = db.session.execute(
            select(stakeholder_service_area.c.stakeholder_id, ServiceArea.id)
            .join(ServiceArea, ServiceArea.id == stakeholder_service_area.c.service_area_id)
            .join(campaign_service_area, campaign_service_area.c.service_area_id == ServiceArea.id)
            .where(campaign_service_area.c.campaign_id == campaign_id, ServiceArea.active.is_(True),
                   stakeholder_service_area.c.stakeholder_id.in_(ids[start:start + 1000]))
            .order_by(stakeholder_service_area.c.stakeholder_id, ServiceArea.position, ServiceArea.id))
        for stakeholder_id, area_id in rows:
            used[stakeholder_id].append(area_id)
    return {sid: tuple(used.get(sid, ())) for sid in ids}


def record_area_draw(wave: Wave, rng: random.Random | None = None) -> dict[int, tuple[int, ...]]:
    """Draw and record the areas each of the wave's invitations asks about. A step: flushes only.

    Only invitations without a recorded draw are drawn (the dispatcher may open a wave in several
    passes). Without a limit on the campaign, every invitation records all the areas its person uses,
    so response rates per area always come from the invitations that asked that area.
    """
    campaign: Campaign = wave.campaign
    already = select(invitation_area.c.invitation_id).where(invitation_area.c.invitation_id == Invitation.id)
    invitations = db.session.execute(select(Invitation.id, Invitation.stakeholder_id)
                                     .where(Invitation.wave_id == wave.id, ~already.exists())
                                     .order_by(Invitation.id)).all()
    if not invitations:
        return {}
    stakeholder_of = {invitation_id: stakeholder_id for invitation_id, stakeholder_id in invitations}
    used = used_areas(campaign.id, stakeholder_of.values())
    previous = _previous_wave_id(wave)
    last_asked = asked_areas_by_stakeholder(previous) if previous is not None else {}
    people = [Person(invitation_id, used[stakeholder_id], last_asked.get(stakeholder_id, frozenset()))
              for invitation_id, stakeholder_id in stakeholder_of.items()]
    rate = past_response_rate(campaign.id, before_wave=wave) or DEFAULT_RESPONSE_RATE
    needed = invitations_needed(campaign.min_group_size, rate)
    targets = {area.id: needed for area in campaign.service_areas}
    drawn = draw_areas(people, per_person=campaign.areas_per_person, targets=targets,
                       rng=rng or random.SystemRandom())
    record_draws(drawn)
    return drawn


_SET_DRAWN = (update(Invitation.__table__).where(Invitation.__table__.c.id == bindparam("b_id"))
              .values(drawn_areas=bindparam("b_areas")))


def record_draws(drawn: Mapping[int, Sequence[int]]) -> None:
    """Write invitation -> areas draws: the `invitation_area` rows and each invitation's `drawn_areas` copy
    (what the counts per area read). A step: flushes only."""
    rows = [{"invitation_id": invitation_id, "service_area_id": area_id}
            for invitation_id, areas in drawn.items() for area_id in areas]
    for start in range(0, len(rows), 1000):
        db.session.execute(insert(invitation_area), rows[start:start + 1000])
    copies = [{"b_id": invitation_id, "b_areas": ",".join(str(a) for a in sorted(areas))}
              for invitation_id, areas in drawn.items() if areas]
    connection = db.session.connection()
    for start in range(0, len(copies), 1000):
        connection.execute(_SET_DRAWN, copies[start:start + 1000])


def invitations_per_area(wave_ids: Sequence[int]) -> dict[tuple[int, int], tuple[int, int]]:
    """(wave, area) -> (delivered invitations that asked the area, of which answered), in one grouped query.

    An invitation with a recorded draw counts for the areas it asked; one without (created before
    sampling existed) for every area its person uses in the campaign. Bounced and undelivered
    invitations are not counted, as in the campaign's overall response rate. Raw counts: whatever shows
    them passes them through the disclosure gate first, like every other figure.
    """
    if not wave_ids:
        return {}
    # The same denominator as the dashboard's response rates: sent, and not bounced unless answered anyway.
    delivered = and_(or_(Invitation.sent_at.is_not(None), Invitation.state == "sent"),
                     or_(Invitation.bounced_at.is_(None), Invitation.responded_at.is_not(None)))
    counted = and_(Invitation.wave_id.in_(list(wave_ids)), delivered)
    found: Counter[tuple[int, int]] = Counter()
    answered: Counter[tuple[int, int]] = Counter()
    uncopied: set[int] = set()
    # Each invitation's copy of its draw, grouped: a few dozen distinct draws per wave, from the index alone.
    for wave_id, areas, total, responded in db.session.execute(
            select(Invitation.wave_id, Invitation.drawn_areas, func.count(), func.count(Invitation.responded_at))
            .where(counted).group_by(Invitation.wave_id, Invitation.drawn_areas)):
        if areas is None:
            uncopied.add(wave_id)
            continue
        for area_id in areas.split(","):
            found[(wave_id, int(area_id))] += int(total)
            answered[(wave_id, int(area_id))] += int(responded)
    if uncopied:
        # Invitations without the copy: from their recorded draw, or, with none (created before sampling
        # existed), every area their person uses in the campaign.
        counted = and_(Invitation.wave_id.in_(sorted(uncopied)), delivered, Invitation.drawn_areas.is_(None))
        drawn = (select(Invitation.wave_id, invitation_area.c.service_area_id.label("area_id"),
                        Invitation.responded_at)
                 .join(invitation_area, invitation_area.c.invitation_id == Invitation.id).where(counted))
        no_draw = ~select(invitation_area.c.invitation_id).where(
            invitation_area.c.invitation_id == Invitation.id).exists()
        undrawn = (select(Invitation.wave_id, stakeholder_service_area.c.service_area_id.label("area_id"),
                          Invitation.responded_at)
                   .join(Wave, Wave.id == Invitation.wave_id)
                   .join(stakeholder_service_area,
                         stakeholder_service_area.c.stakeholder_id == Invitation.stakeholder_id)
                   .join(campaign_service_area, and_(campaign_service_area.c.campaign_id == Wave.campaign_id,
                                                     campaign_service_area.c.service_area_id
                                                     == stakeholder_service_area.c.service_area_id))
                   .where(counted, no_draw))
        both = drawn.union_all(undrawn).subquery()
        for wave_id, area_id, total, responded in db.session.execute(
                select(both.c.wave_id, both.c.area_id, func.count(), func.count(both.c.responded_at))
                .group_by(both.c.wave_id, both.c.area_id)):
            found[(wave_id, area_id)] += int(total)
            answered[(wave_id, area_id)] += int(responded)
    return {key: (total, answered[key]) for key, total in found.items()}
