"""Seed data shared by the HTTP benchmarks (`submit.py`, `load.py`): one campaign, two areas, an open wave."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from app.extensions import db
from app.models import Campaign, Invitation, Provider, ServiceArea, Stakeholder, Wave
from app.services.catalog import latest_definition
from app.services.invitations import issue_token

DEPARTMENTS = ("Finance", "Sales", "IT")


def add_open_wave(name: str, count: int, *, anonymity: str, with_targets: bool = False) -> tuple[list[str], list[int]]:
    """Inside an app context, with the survey catalog loaded: a provider with two service areas, a
    campaign of the shipped quarterly survey, a wave open from yesterday for a week, and `count`
    people with one sent invitation each. Commits; returns the invitations' tokens and the area ids."""
    provider = Provider(name=f"{name} Provider")
    targets = {"target_satisfaction": 4.0, "target_happiness": 20} if with_targets else {}
    areas = [ServiceArea(provider=provider, code=f"{name.lower()}-{n}", name=f"{name} Area {n}", position=n, **targets)
             for n in (1, 2)]
    campaign = Campaign(name=name, provider=provider, definition=latest_definition("quarterly-provider-satisfaction"),
                        anchor_date=date(2026, 1, 1), service_areas=areas, anonymity=anonymity)
    now = datetime.now(timezone.utc)
    wave = Wave(campaign=campaign, label=name.upper(), opens_at=now - timedelta(days=1),
                closes_at=now + timedelta(days=7), state="open")
    db.session.add_all([provider, campaign, wave])
    tokens = []
    for n in range(count):
        person = Stakeholder(email=f"{name.lower()}{n}@example.com", department=DEPARTMENTS[n % len(DEPARTMENTS)],
                             service_areas=areas)
        invitation = Invitation(wave=wave, stakeholder=person, state="sent")
        db.session.add(invitation)
        tokens.append(issue_token(invitation))
    db.session.commit()
    return tokens, [area.id for area in areas]
