"""The demo's pulse campaign on a 390 px phone: few steps, few inputs, short screens, keyboard and axe-core.

The demo is seeded into the test database (pulse survey, K = 2 areas per person, the draw recorded on
every invitation); its newest wave is kept open around the real clock so the live server accepts answers.
"""
from __future__ import annotations

import statistics
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.models import Campaign, Invitation, Response, Wave
from app.models.base import utcnow
from app.models.org import stakeholder_service_area
from app.services import demo
from app.services.campaigns import invitation_outline
from app.services.invitations import issue_token
from tests.browser.test_respond_browser import axe_source, focused, serious_violations

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}
COUNT_INPUTS = """() => new Set(Array.from(document.querySelectorAll('#survey-form input, #survey-form textarea'))
    .filter(e => e.type !== 'hidden').map(e => e.name)).size"""
HEIGHTS = "() => [document.documentElement.scrollHeight, window.innerHeight]"


@pytest.fixture
def pulse_demo(db, survey):
    now = utcnow()
    demo.seed_demo(now=now, timezone="UTC", base_url="http://127.0.0.1")
    campaign = db.session.scalar(select(Campaign).where(Campaign.areas_per_person.is_not(None)))
    wave = db.session.scalar(select(Wave).where(Wave.campaign_id == campaign.id, Wave.state != "scheduled")
                             .order_by(Wave.opens_at.desc()))
    wave.state, wave.closed_at = "open", None
    wave.opens_at, wave.closes_at = now - timedelta(days=1), now + timedelta(days=7)
    uses = (select(stakeholder_service_area.c.stakeholder_id)
            .group_by(stakeholder_service_area.c.stakeholder_id).having(func.count() == 6))
    everything = db.session.scalar(select(Invitation).where(Invitation.wave_id == wave.id,
                                                            Invitation.responded_at.is_(None),
                                                            Invitation.stakeholder_id.in_(uses)))
    assert everything is not None, "the demo has people who use all six areas"
    token = issue_token(everything)
    db.session.commit()
    return campaign, wave, everything, token


def test_the_median_person_faces_at_most_12_inputs_in_at_most_k_steps(db, pulse_demo):
    campaign, wave, _, _ = pulse_demo
    outlines = [invitation_outline(i) for i in db.session.scalars(select(Invitation)
                                                                  .where(Invitation.wave_id == wave.id))]
    assert statistics.median(o.estimate.inputs for o in outlines) <= 12
    assert max(o.estimate.steps for o in outlines) <= campaign.areas_per_person


def test_someone_using_six_areas_answers_k_short_steps_with_the_keyboard_on_a_phone(
        browser, live_server, db, pulse_demo, screenshot):
    campaign, _, invitation, token = pulse_demo
    context = browser.new_context(**PHONE)
    try:
        tab = context.new_page()
        tab.goto(f"{live_server}/s/{token}")
        estimate = invitation_outline(invitation).estimate
        assert estimate.wording in tab.inner_text(".estimate")
        inputs = steps = 0
        for _ in range(10):
            if "step=review" in tab.url:
                break
            steps += 1
            assert f"Step {steps} of" in tab.inner_text("#progress")
            inputs += tab.evaluate(COUNT_INPUTS)
            screenshot(tab, f"step-{steps}")
            height, screen = tab.evaluate(HEIGHTS)
            assert height <= 2 * screen, f"step {steps} is {height} px tall on a {screen} px screen"
            answer_step_with_keyboard(tab)
        assert steps <= campaign.areas_per_person
        assert inputs == estimate.inputs <= 12
        screenshot(tab, "review")
        tab.keyboard.press("Tab")
        for _ in range(80):
            if focused(tab)["value"] == "submit":
                break
            tab.keyboard.press("Tab")
        with tab.expect_navigation():
            tab.keyboard.press("Enter")
        assert tab.url.endswith("/thanks")
    finally:
        context.close()
    db.session.expire_all()
    assert db.session.scalar(select(func.count()).select_from(Response)
                             .where(Response.invitation_id == invitation.id)) == 1


def answer_step_with_keyboard(tab) -> None:
    """Rate 4, tick the first reason that fits, type hours and a comment, then press Next: keys only."""
    for _ in range(120):
        tab.keyboard.press("Tab")
        element = focused(tab)
        code = element["name"].split("__")[-1]
        if element["type"] == "radio" and code == "satisfaction":
            tab.keyboard.press("Space")
            for _ in range(4 - int(element["value"])):
                tab.keyboard.press("ArrowRight")
        elif element["type"] == "checkbox" and code == "reasons" and element["value"] == "fast_response":
            tab.keyboard.press("Space")
        elif element["type"] == "text" and code == "time_lost":
            tab.keyboard.type("1")
        elif element["tag"] == "TEXTAREA":
            tab.keyboard.type("Fine.")
        elif element["tag"] == "BUTTON" and element["value"] == "next":
            with tab.expect_navigation():
                tab.keyboard.press("Enter")
            return
    raise AssertionError("never reached Next with Tab")


def test_each_step_fits_two_screens_without_javascript_too(browser, live_server, db, pulse_demo):
    _, _, _, token = pulse_demo
    context = browser.new_context(java_script_enabled=False, **PHONE)
    try:
        tab = context.new_page()
        tab.goto(f"{live_server}/s/{token}")
        height, screen = tab.evaluate(HEIGHTS)
        assert height <= 2 * screen, f"{height} px tall on a {screen} px screen without scripts"
    finally:
        context.close()


def test_pulse_steps_and_review_have_no_serious_accessibility_violations(browser, live_server, db, pulse_demo):
    source = axe_source()
    _, _, _, token = pulse_demo
    context = browser.new_context(bypass_csp=True, **PHONE)
    try:
        tab = context.new_page()
        tab.goto(f"{live_server}/s/{token}")
        assert serious_violations(tab, source) == []
        tab.click('button[value="next"]')  # nothing answered: the step's error state
        assert "Please check" in tab.inner_text(".error-summary")
        assert serious_violations(tab, source) == []
        tab.goto(f"{live_server}/s/{token}?step=review")
        assert serious_violations(tab, source) == []
    finally:
        context.close()
