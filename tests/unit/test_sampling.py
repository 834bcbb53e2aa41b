"""Area sampling: the draw (random, balanced, rotating), what it records, what the survey and emails then
ask, the coverage of the dashboard's intervals under it, and the time estimate rule of the README."""
from __future__ import annotations

import importlib.util
import random
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from app.extensions import db as _db
from app.models.campaign import invitation_area
from app.services import campaigns, sampling
from app.services.catalog import latest_definition, load_directory
from app.services.questions.estimate import (
    SECONDS_INTRO,
    SECONDS_PER_INPUT,
    SECONDS_PER_STEP,
    SECONDS_REVIEW,
    SECONDS_SKIP_BOX,
)
from app.services.sampling import Person, draw_areas, invitations_needed
from tests.factories import extract_csrf, make_area, make_campaign, make_provider, make_stakeholder, make_wave

ROOT = Path(__file__).resolve().parents[2]


def test_people_who_use_few_areas_are_asked_about_all_and_others_about_exactly_k():
    people = [Person(1, (10,)), Person(2, (10, 11)), Person(3, (10, 11, 12, 13))]
    drawn = draw_areas(people, per_person=2, targets={}, rng=random.Random(1))
    assert drawn[1] == (10,) and drawn[2] == (10, 11)
    assert len(drawn[3]) == 2 and set(drawn[3]) <= {10, 11, 12, 13}
    assert draw_areas(people, per_person=None, targets={}, rng=random.Random(1))[3] == (10, 11, 12, 13)


def test_the_draw_is_balanced_and_a_rare_area_gets_every_user_it_needs():
    # 300 people use five common areas; only 12 also use area 5, which needs 12 invitations.
    people = [Person(i, (0, 1, 2, 3, 4, 5) if i < 12 else (0, 1, 2, 3, 4)) for i in range(300)]
    drawn = draw_areas(people, per_person=2, targets={a: 12 for a in range(6)}, rng=random.Random(7))
    per_area = Counter(a for areas in drawn.values() for a in areas)
    assert per_area[5] == 12
    assert max(per_area[a] for a in range(5)) - min(per_area[a] for a in range(5)) <= 30


def test_the_draw_rotates_areas_not_asked_last_wave_first():
    people = [Person(i, (0, 1, 2), asked_last_wave=frozenset({0, 1})) for i in range(50)]
    drawn = draw_areas(people, per_person=1, targets={}, rng=random.Random(3))
    assert all(areas == (2,) for areas in drawn.values())


def test_invitations_needed_reaches_the_minimum_group_with_95_percent_chance():
    assert invitations_needed(5, 1.0) == 5
    assert invitations_needed(5, 0.6) > 5 / 0.6
    assert invitations_needed(5, 0.3) > invitations_needed(5, 0.6)


def test_intervals_cover_the_true_mean_in_93_to_97_percent_of_1000_simulated_waves():
    spec = importlib.util.spec_from_file_location("sampling_benchmark", ROOT / "benchmarks" / "sampling.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.simulate_coverage(1000, seed=16)
    assert 0.93 <= result["coverage"] <= 0.97, result
    assert result["smallest_area_n"] >= 5


@pytest.fixture
def pulse(db):
    load_directory(ROOT / "surveys")
    return latest_definition("pulse")


def sampled_campaign(pulse, k=2, people=40):
    provider = make_provider()
    areas = [make_area(provider, name=f"Area {n}") for n in range(6)]
    campaign = make_campaign(pulse, provider=provider, areas=areas, areas_per_person=k)
    wave = make_wave(campaign, state="scheduled")
    stakeholders = [make_stakeholder(areas=areas if n % 4 else areas[:1]) for n in range(people)]
    _db.session.commit()
    return campaign, wave, areas, stakeholders


def test_opening_a_wave_records_at_most_k_areas_per_invitation_and_the_survey_asks_those(
        db, client, pulse):
    from app.services.invitations import issue_token
    from app.models import Invitation

    campaign, wave, areas, _ = sampled_campaign(pulse)
    campaigns.open_wave_now(wave, wave.opens_at)
    rows = db.session.execute(select(invitation_area.c.invitation_id, invitation_area.c.service_area_id)).all()
    per_invitation = Counter(invitation for invitation, _ in rows)
    assert len(per_invitation) == 40 and max(per_invitation.values()) == 2 and min(per_invitation.values()) == 1
    assert set(Counter(area for _, area in rows)) == {a.id for a in areas}  # every area is asked of someone

    invitation = db.session.scalar(select(Invitation).where(Invitation.wave_id == wave.id)
                                   .order_by(Invitation.id.desc()))
    drawn = {area for inv, area in rows if inv == invitation.id}
    token = issue_token(invitation)
    db.session.commit()
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert "Step 1 of 2" in html
    shown = {a.id for a in areas if f"area{a.id}__satisfaction" in html}
    assert shown <= drawn and len(shown) == 1  # the first step: the first drawn area

    counts = sampling.invitations_per_area([wave.id])
    assert sum(total for total, _ in counts.values()) == 0  # nothing delivered yet


def test_response_rates_per_area_count_the_invitations_that_asked_it(db, pulse):
    from app.models import Invitation

    campaign, wave, areas, _ = sampled_campaign(pulse, k=1, people=12)
    campaigns.open_wave_now(wave, wave.opens_at)
    invitations = db.session.scalars(select(Invitation).where(Invitation.wave_id == wave.id)).all()
    for n, invitation in enumerate(invitations):
        invitation.state = "sent"
        if n % 2 == 0:
            invitation.responded_at = wave.opens_at
    db.session.commit()
    counts = sampling.invitations_per_area([wave.id])
    assert sum(total for total, _ in counts.values()) == 12  # K = 1: each invitation counts once
    assert sum(answered for _, answered in counts.values()) == 6


def test_each_invitation_carries_a_copy_of_its_draw_and_the_counts_are_the_same_without_it(db, pulse):
    """The counts per area read each invitation's `drawn_areas`; an invitation without the copy (a draw
    written some other way) or without any draw (before sampling: every area its person uses) is counted
    from the draws themselves, with the same result."""
    from sqlalchemy import delete, update

    from app.models import Invitation

    campaign, wave, areas, _ = sampled_campaign(pulse, k=2, people=20)
    campaigns.open_wave_now(wave, wave.opens_at)
    invitations = db.session.scalars(select(Invitation).where(Invitation.wave_id == wave.id)
                                     .order_by(Invitation.id)).all()
    draws = db.session.execute(select(invitation_area.c.invitation_id, invitation_area.c.service_area_id)).all()
    for invitation in invitations:
        assert set(map(int, invitation.drawn_areas.split(","))) == {a for i, a in draws if i == invitation.id}
    for n, invitation in enumerate(invitations):
        invitation.state = "sent" if n % 5 else "pending"
        invitation.responded_at = wave.opens_at if n % 3 == 0 else None
    invitations[1].bounced_at = wave.opens_at  # bounced, unanswered: not delivered
    db.session.commit()
    copied = sampling.invitations_per_area([wave.id])
    assert sum(total for total, _ in copied.values()) == sum(
        len(i.drawn_areas.split(",")) for n, i in enumerate(invitations) if n % 5 and n != 1)
    # Half the copies gone, and one invitation with no draw at all (its person uses every area).
    db.session.execute(update(Invitation).where(Invitation.id.in_([i.id for i in invitations[::2]]))
                       .values(drawn_areas=None))
    db.session.execute(delete(invitation_area).where(invitation_area.c.invitation_id == invitations[2].id))
    db.session.commit()
    used = sampling.used_areas(campaign.id, [invitations[2].stakeholder_id])[invitations[2].stakeholder_id]
    drawn_before = {a for i, a in draws if i == invitations[2].id}
    assert len(used) > len(drawn_before) and invitations[2].responded_at is None
    expected = dict(copied)
    for area in set(used) - drawn_before:  # sent, unanswered: now counted for every area its person uses
        total, answered = expected.get((wave.id, area), (0, 0))
        expected[(wave.id, area)] = (total + 1, answered)
    assert sampling.invitations_per_area([wave.id]) == expected


# --- the time estimate: what a person is shown equals the README's rule -----------------------------

def rule(area_kinds, relationship_kinds, areas):
    """The README's rule, written out again independently of the code."""
    steps = areas + (1 if relationship_kinds else 0)
    seconds = (SECONDS_INTRO + SECONDS_REVIEW + SECONDS_PER_STEP * steps
               + areas * (SECONDS_SKIP_BOX + sum(SECONDS_PER_INPUT[k] for k in area_kinds))
               + sum(SECONDS_PER_INPUT[k] for k in relationship_kinds))
    minutes = max(1, int(seconds / 60 + 0.5))  # to the nearest minute, halves up
    return "about 1 minute" if minutes == 1 else f"about {minutes} minutes"


def test_the_figures_are_the_readme_s():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for kind, seconds in SECONDS_PER_INPUT.items():
        assert f"| {kind} | {seconds} s |" in readme


@pytest.mark.parametrize("definition_code,uses,k", [
    ("pulse", 1, 2),                            # one area: one step
    ("pulse", 4, 2),                            # four areas, asked about two
    ("quarterly-provider-satisfaction", 2, None),  # the long survey, both areas, plus the provider step
])
def test_the_estimate_on_the_first_screen_and_in_the_email_equals_the_rule(db, client, definition_code, uses, k):
    from app.models import Invitation
    from app.services.campaigns import invitation_outline
    from app.services.invitations import issue_token

    load_directory(ROOT / "surveys")
    definition = latest_definition(definition_code)
    provider = make_provider()
    areas = [make_area(provider) for _ in range(4)]
    campaign = make_campaign(definition, provider=provider, areas=areas, areas_per_person=k)
    wave = make_wave(campaign, state="scheduled")
    make_stakeholder(areas=areas[:uses])
    _db.session.commit()
    campaigns.open_wave_now(wave, wave.opens_at)
    invitation = db.session.scalar(select(Invitation).where(Invitation.wave_id == wave.id))
    token = issue_token(invitation)
    db.session.commit()

    questions = definition.questions
    asked = min(uses, k or uses)
    expected = rule([q.kind for q in questions if q.scope == "area"],
                    [q.kind for q in questions if q.scope == "relationship"], asked)
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert f"It takes <strong>{expected}</strong>" in html
    assert invitation_outline(invitation).estimate.wording == expected
    assert extract_csrf(html)


def test_cli_creates_a_pulse_campaign_with_k(runner, db, pulse):
    from app.models import Campaign

    provider = make_provider("Sigma IT")
    make_area(provider)
    _db.session.commit()
    result = runner.invoke(args=["campaigns", "create", "--name", "Sigma pulse", "--provider", "Sigma IT",
                                 "--survey", "pulse", "--start", "2030-01-15", "--areas-per-person", "2"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(Campaign.areas_per_person).where(Campaign.name == "Sigma pulse")) == 2
    zero = runner.invoke(args=["campaigns", "create", "--name", "Sigma zero", "--provider", "Sigma IT",
                               "--start", "2030-01-15", "--areas-per-person", "0"])
    assert zero.exit_code != 0
