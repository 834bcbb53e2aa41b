"""Small model factories for tests: each returns a committed row with sensible defaults."""
from __future__ import annotations

import itertools
from datetime import date, datetime, timedelta, timezone

from app.extensions import db
from app.models import (
    Campaign,
    Invitation,
    Provider,
    ServiceArea,
    Stakeholder,
    SurveyDefinition,
    User,
    Wave,
)

_sequence = itertools.count(1)
PASSWORD = "correct horse battery staple"


def _n() -> int:
    return next(_sequence)


def make_provider(name: str | None = None) -> Provider:
    provider = Provider(name=name or f"Provider {_n()}")
    db.session.add(provider)
    db.session.commit()
    return provider


def make_area(provider: Provider | None = None, *, code: str | None = None, name: str | None = None,
              target_satisfaction: float | None = 4.0, target_happiness: float | None = 30) -> ServiceArea:
    n = _n()
    area = ServiceArea(provider=provider or make_provider(), code=code or f"area-{n}", name=name or f"Area {n}",
                       position=n, target_satisfaction=target_satisfaction, target_happiness=target_happiness)
    db.session.add(area)
    db.session.commit()
    return area


def make_stakeholder(*, email: str | None = None, areas: list[ServiceArea] | None = None,
                     department: str | None = "Finance", **fields) -> Stakeholder:
    stakeholder = Stakeholder(email=email or f"person{_n()}@example.com", name=fields.pop("name", "Test Person"),
                              department=department, service_areas=areas or [], **fields)
    db.session.add(stakeholder)
    db.session.commit()
    return stakeholder


def make_user(*, role: str = "manager", email: str | None = None, password: str = PASSWORD,
              provider: Provider | None = None) -> User:
    user = User(email=email or f"{role}{_n()}@example.com", name=role.title(), role=role,
                provider=provider or (make_provider() if role == "provider" else None))
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def make_campaign(definition: SurveyDefinition, *, provider: Provider | None = None,
                  areas: list[ServiceArea] | None = None, **fields) -> Campaign:
    provider = provider or make_provider()
    areas = areas if areas is not None else [make_area(provider)]
    campaign = Campaign(name=fields.pop("name", f"Campaign {_n()}"), provider=provider, definition=definition,
                        anchor_date=fields.pop("anchor_date", date(2026, 1, 1)), service_areas=areas, **fields)
    db.session.add(campaign)
    db.session.commit()
    return campaign


def make_wave(campaign: Campaign, *, label: str | None = None, state: str = "open",
              opens_at: datetime | None = None, days: int = 14) -> Wave:
    now = datetime.now(timezone.utc)
    opens_at = opens_at or now - timedelta(days=1)
    wave = Wave(campaign=campaign, label=label or f"W{_n()}", opens_at=opens_at,
                closes_at=opens_at + timedelta(days=days), state=state)
    db.session.add(wave)
    db.session.commit()
    return wave


def make_invitation(wave: Wave, stakeholder: Stakeholder | None = None, **fields) -> tuple[Invitation, str]:
    """An invitation and a working raw token for its link."""
    from app.services.invitations import issue_token

    invitation = Invitation(wave=wave, stakeholder=stakeholder or make_stakeholder(), **fields)
    db.session.add(invitation)
    token = issue_token(invitation)
    db.session.commit()
    return invitation, token


def login(client, user: User, password: str = PASSWORD):
    """Sign in through the real form (CSRF included) and return the response."""
    page = client.get("/auth/login")
    token = extract_csrf(page.get_data(as_text=True))
    return client.post("/auth/login", data={"email": user.email, "password": password, "csrf_token": token})


def extract_csrf(html: str) -> str:
    marker = 'name="csrf_token" type="hidden" value="'
    start = html.find(marker)
    if start < 0:
        marker = 'name="csrf_token" value="'
        start = html.find(marker)
    assert start >= 0, "page has no CSRF token field"
    start += len(marker)
    return html[start:html.index('"', start)]


def share_comments(condition, shareable: bool = True) -> None:
    """Mark the comments matching `condition` as shared with the provider (or not), in bulk, and count them
    again in their waves' tallies, as `comments.set_shareable` does one comment at a time. Commits."""
    from sqlalchemy import select, update

    from app.models import Answer
    from app.services.tallies import rebuild_wave_tallies

    waves = db.session.scalars(select(Answer.wave_id).where(condition).distinct()).all()
    db.session.execute(update(Answer).where(condition).values(shareable=shareable))
    for wave_id in waves:
        rebuild_wave_tallies(wave_id)
    db.session.commit()
