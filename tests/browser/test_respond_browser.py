"""A respondent answers from their link in a real browser, with the keyboard only, on a desktop and a phone.

The keyboard test follows the link from an email the dispatcher really sent to an SMTP server on
loopback; the other tests issue links directly with `make_invitation`.
axe-core comes from npm (`npm install --no-save axe-core@4` in the repository root) and is injected into
the page; without it the accessibility test is skipped with the reason, except under CI, where it fails.
"""
from __future__ import annotations

import os
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import Response
from app.services.dispatch import run_dispatch_pass
from tests.respond_support import make_survey
from tests.smtp_server import smtp_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WANTED = {"satisfaction": "4", "responsiveness": "5", "resolution_quality": "4", "communication": "3",
          "expertise": "4", "recommend": "8", "partnership": "4", "proactivity": "3", "account_management": "4"}
TEXT = {"time_lost": "2", "comment": "Quick and friendly help.", "relationship_comment": "More proactive updates."}
REASONS = {"fast_response", "friendly_staff"}


def axe_source() -> str:
    if not AXE.exists():
        reason = f"{AXE} is missing: run `npm install --no-save axe-core@4` in the repository root"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(reason)
        pytest.skip(reason)
    return AXE.read_text(encoding="utf-8")


def serious_violations(tab, source: str) -> list[str]:
    tab.add_script_tag(content=source)
    violations = tab.evaluate("""async () => (await axe.run(document, {resultTypes: ['violations']})).violations
        .map(v => ({id: v.id, impact: v.impact, help: v.help, targets: v.nodes.map(n => n.target.join(' '))}))""")
    return [f"{v['id']} ({v['impact']}): {v['help']} at {v['targets'][:3]}"
            for v in violations if v["impact"] in ("serious", "critical")]


def focused(tab) -> dict:
    return tab.evaluate("""() => { const e = document.activeElement;
        return {tag: e.tagName, type: e.type || '', name: e.name || '', value: e.value || ''}; }""")


def answer_with_keyboard(tab) -> None:
    """Tab through each step and answer each control the way a keyboard user would, pressing Next on every
    step and "Submit my answers" on the review."""
    for _ in range(600):
        tab.keyboard.press("Tab")
        element = focused(tab)
        code = element["name"].split("__")[-1]
        if element["type"] == "radio" and code in WANTED:
            # Tabbing into an unanswered group focuses its first option: Space picks it, arrows move on.
            tab.keyboard.press("Space")
            for _ in range(int(WANTED[code]) - int(element["value"])):
                tab.keyboard.press("ArrowRight")
        elif element["type"] == "checkbox" and code == "reasons" and element["value"] in REASONS:
            tab.keyboard.press("Space")
        elif element["tag"] in ("INPUT", "TEXTAREA") and element["type"] in ("text", "textarea") and code in TEXT:
            tab.keyboard.type(TEXT[code])
        elif element["tag"] == "BUTTON" and element["value"] == "next":
            with tab.expect_navigation():
                tab.keyboard.press("Enter")
        elif element["tag"] == "BUTTON" and element["value"] == "submit":
            tab.keyboard.press("Enter")
            return
    raise AssertionError("never reached the submit button with Tab")


def test_respondent_answers_with_the_keyboard_and_sees_the_thank_you_page(page, live_server, survey, db, screenshot,
                                                                         smtp_server):  # noqa: F811
    s = make_survey(survey)
    report = run_dispatch_pass(datetime.now(timezone.utc), worker_id="browser-test",
                               settings=smtp_server.settings(base_url=live_server))
    assert report.sent == 1
    message = smtp_server.to(s.stakeholder.email)[0]
    link = re.search(rf"{re.escape(live_server)}/s/[A-Za-z0-9_-]+", message.get_body(("plain",)).get_content())[0]
    page.goto(link)
    assert "Quarterly provider satisfaction" in page.title()
    answer_with_keyboard(page)
    page.wait_for_url(f"{link}/thanks")
    assert "Thank you, your answers are in" in page.inner_text("h1")
    screenshot(page, "thanks")
    db.session.expire_all()
    stored = db.session.scalar(select(Response))
    assert stored is not None
    scores = {a.question.code: a.score for a in stored.answers if a.score is not None}
    assert scores == {code: int(value) for code, value in WANTED.items()}
    assert {a.question.code: a.reasons for a in stored.answers if a.reasons} == {"reasons": sorted(REASONS)}
    assert db.session.scalar(select(func.count()).select_from(Response)) == 1


def test_reasons_list_follows_the_rating_when_scripts_run(page, live_server, survey, db):
    s = make_survey(survey)
    page.goto(f"{live_server}/s/{s.token}")
    went_wrong = page.locator('fieldset[data-side="bad"]')
    assert went_wrong.is_visible()  # nothing rated yet: both lists
    page.check(f'#area{s.used.id}__satisfaction-3', force=True)  # rating 4
    assert not went_wrong.is_visible()
    page.check(f'#area{s.used.id}__satisfaction-1', force=True)  # rating 2
    assert went_wrong.is_visible() and not page.locator('fieldset[data-side="good"]').is_visible()


def test_survey_fits_a_360_px_phone_without_sideways_scrolling(phone_page, live_server, survey, db, screenshot):
    s = make_survey(survey)
    phone_page.goto(f"{live_server}/s/{s.token}")
    widths = "() => [document.documentElement.scrollWidth, window.innerWidth]"
    screenshot(phone_page, "phone")
    assert phone_page.evaluate(widths)[0] <= phone_page.evaluate(widths)[1] == 360
    phone_page.click('button[value="next"]')  # nothing answered: messages everywhere, still no sideways scroll
    assert "Please check" in phone_page.inner_text(".error-summary")
    screenshot(phone_page, "phone-errors")
    assert phone_page.evaluate(widths)[0] <= 360


def test_survey_pages_have_no_serious_accessibility_violations(browser, live_server, survey, db):
    source = axe_source()
    s = make_survey(survey)
    # The page's CSP rightly forbids inline scripts; only this test context may inject axe.
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    try:
        tab = context.new_page()
        tab.goto(f"{live_server}/s/{s.token}")
        assert serious_violations(tab, source) == []

        tab.click('button[value="next"]')  # nothing answered: the error state
        assert "Please check" in tab.inner_text(".error-summary")
        assert serious_violations(tab, source) == []

        tab.goto(f"{live_server}/s/{s.token}?step=review")  # the review, with its links to each step
        assert serious_violations(tab, source) == []
        tab.click('button[value="submit"]')  # nothing answered yet: the review lists what is missing
        assert "Please check" in tab.inner_text(".error-summary")
        assert serious_violations(tab, source) == []

        tab.goto(f"{live_server}/s/{s.token}/unsubscribe")
        assert serious_violations(tab, source) == []
    finally:
        context.close()
