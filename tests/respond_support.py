"""Shared set-up for the respondent tests: a campaign with two areas, a person who uses one, a live link;
or a crowd of people, of given departments and areas, invited to one wave."""
from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.extensions import db
from app.models import Campaign, Invitation, ServiceArea, Stakeholder, Wave
from app.services.invitations import issue_token
from tests.factories import make_area, make_campaign, make_invitation, make_provider, make_stakeholder, make_wave


@dataclass
class Survey:
    campaign: Campaign
    wave: Wave
    used: ServiceArea
    unused: ServiceArea
    stakeholder: Stakeholder
    invitation: Invitation
    token: str

    @property
    def url(self) -> str:
        return f"/s/{self.token}"


def make_survey(definition, *, anonymity: str = "confidential", wave_state: str = "open", **wave_fields) -> Survey:
    provider = make_provider("Acme Outsourcing")
    used = make_area(provider, code="service-desk", name="Service Desk")
    unused = make_area(provider, code="network", name="Network Operations")
    campaign = make_campaign(definition, provider=provider, areas=[used, unused], anonymity=anonymity,
                             segment_attributes=["department"], min_group_size=5)
    wave = make_wave(campaign, label="2026-Q4", state=wave_state, **wave_fields)
    stakeholder = make_stakeholder(areas=[used], department="Finance", location="Berlin", name="Dana Example")
    invitation, token = make_invitation(wave, stakeholder)
    return Survey(campaign, wave, used, unused, stakeholder, invitation, token)


def answers(area: ServiceArea, **overrides) -> dict[str, object]:
    """A complete, valid submission for a person who uses `area`."""
    prefix = f"area{area.id}__"
    data: dict[str, object] = {
        prefix + "satisfaction": "4",
        prefix + "responsiveness": "5",
        prefix + "resolution_quality": "4",
        prefix + "communication": "3",
        prefix + "expertise": "4",
        prefix + "recommend": "9",
        prefix + "time_lost": "1.5",
        prefix + "reasons": ["fast_response", "friendly_staff"],
        prefix + "comment": "The service desk was fast and very helpful.",
        "rel__partnership": "4",
        "rel__proactivity": "3",
        "rel__account_management": "4",
        "rel__relationship_comment": "Slow to respond to change requests, which is frustrating.",
        "action": "submit",
    }
    for key, value in overrides.items():
        own_name = key.startswith(("rel__", "skip_area", "area")) or key in ("action", "csrf_token")
        name = key if own_name else prefix + key
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return data


_crowds = itertools.count(1)


@dataclass
class Crowd:
    campaign: Campaign
    wave: Wave
    areas: list[ServiceArea]
    invitations: list[Invitation]
    tokens: list[str]  # tokens[n] is the link of invitations[n]
    departments: list[str]  # departments[n] is person n's
    uses: list[tuple[ServiceArea, ...]]  # uses[n]: the areas person n uses, in the crowd's order

    @property
    def area(self) -> ServiceArea:
        return self.areas[0]


def make_crowd(definition, count: int, *, anonymity: str = "anonymous", min_group_size: int = 5,
               departments: Sequence[str] = ("Finance",), area_count: int = 1,
               uses: Callable[[int], Sequence[int]] = lambda n: (0,)) -> Crowd:
    """`count` people, each invited to one open wave: person n is in `departments[n % len(departments)]`
    (departments taken in turn, or one each) and uses the areas `uses(n)` (indexes into the crowd's
    `area_count` areas; by default the first)."""
    crowd = next(_crowds)
    provider = make_provider()
    areas = [make_area(provider, code=f"service-desk-{crowd}" if n == 0 else f"area-{crowd}-{n}",
                       name="Service Desk" if n == 0 else f"Area {n}") for n in range(area_count)]
    campaign = make_campaign(definition, provider=provider, areas=areas, anonymity=anonymity,
                             segment_attributes=["department"], min_group_size=min_group_size)
    wave = make_wave(campaign, label="2026-Q4")
    people_departments = [departments[n % len(departments)] for n in range(count)]
    people_uses = [tuple(areas[index] for index in uses(n)) for n in range(count)]
    invitations, tokens = [], []
    for n in range(count):
        person = Stakeholder(email=f"crowd{crowd}-{n}@example.com", name=f"Person {n}",
                             department=people_departments[n], service_areas=list(people_uses[n]))
        invitation = Invitation(wave=wave, stakeholder=person, state="sent")
        db.session.add(invitation)
        invitations.append(invitation)
        tokens.append(issue_token(invitation))
    db.session.commit()
    return Crowd(campaign, wave, areas, invitations, tokens, people_departments, people_uses)
