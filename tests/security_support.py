"""Shared set-up for the security tests: one small world with a row behind every URL argument, and a
client signed in as any role."""
from __future__ import annotations

import secrets
from dataclasses import dataclass

from sqlalchemy import select

from app.extensions import db
from app.models import Answer, Campaign, Invitation, ServiceArea, Stakeholder, User, Wave
from tests.factories import extract_csrf, login, make_invitation, make_stakeholder, make_user, make_wave
from tests.reporting_seed import NEGATIVE, AreaAnswers, add_wave, make_reporting_campaign

ROLES = ("anonymous", "respondent", "provider", "manager", "admin")
STAFF_ROLES = ("provider", "manager", "admin")


@dataclass
class World:
    """Every row a route of the app takes an id or a token of."""

    campaign: Campaign
    area: ServiceArea
    closed_wave: Wave  # five answers, one of them a negative comment
    open_wave: Wave
    invitation: Invitation  # in the open wave, not answered yet
    closed_invitation: Invitation  # answered, in the closed wave
    token: str
    unknown_token: str  # the right shape, matching no invitation
    stakeholder: Stakeholder
    comment: Answer
    provider_user: User
    other_user: User  # a second account the admin pages can act on

    @property
    def provider(self):
        return self.campaign.provider


def build_world(survey) -> World:
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    closed_wave = add_wave(campaign, survey, "2025-Q1", {
        area: AreaAnswers([2, 4, 5, 4, 3], comments=[NEGATIVE], hours=[2.0]),
    })
    open_wave = make_wave(campaign, label="2026-Q1", state="open")
    stakeholder = make_stakeholder(areas=[area], department="Finance")
    invitation, token = make_invitation(open_wave, stakeholder)
    comment = _first_comment(closed_wave)
    closed_invitation = db.session.scalars(select(Invitation).where(Invitation.wave_id == closed_wave.id)
                                           .order_by(Invitation.id)).first()
    provider_user = make_user(role="provider", provider=campaign.provider)
    other_user = make_user(role="manager")
    return World(campaign=campaign, area=area, closed_wave=closed_wave, open_wave=open_wave, invitation=invitation,
                 closed_invitation=closed_invitation, token=token,
                 unknown_token=secrets.token_urlsafe(24),  # the shape of a real link's 192-bit token
                 stakeholder=stakeholder, comment=comment, provider_user=provider_user, other_user=other_user)


def _first_comment(wave: Wave) -> Answer:
    return db.session.scalars(select(Answer).where(Answer.wave_id == wave.id, Answer.text.is_not(None))
                              .order_by(Answer.id)).first()


def client_for(app, role: str, world: World):
    """A fresh test client, signed in as `role` (anonymous and respondent are not signed in)."""
    client = app.test_client()
    if role in STAFF_ROLES:
        user = world.provider_user if role == "provider" else make_user(role=role)
        response = login(client, user)
        assert response.status_code == 302, f"could not sign in as {role}: {response.status_code}"
    return client


def csrf_token(client, role: str) -> str:
    """A valid CSRF token for this client's session, read from a page the role can open."""
    page = client.get("/auth/password" if role in STAFF_ROLES else "/auth/login")
    assert page.status_code == 200, f"no form page for {role}: {page.status_code}"
    return extract_csrf(page.get_data(as_text=True))
