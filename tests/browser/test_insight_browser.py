"""The demo's Network incident, as a vendor manager preparing the quarterly review reads it in Chromium: the
Network area page names availability as the aspect that moved, with the writers' own words; the provider's
scorecard never shows an example from a comment that was not shared."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.models import Answer, Campaign, ServiceArea, Wave
from app.models.base import utcnow
from app.services import demo
from tests.browser.journey_support import sign_in
from tests.factories import PASSWORD, make_user

pytestmark = pytest.mark.browser


@pytest.fixture
def incident_demo(db, survey):
    demo.seed_demo(now=utcnow(), timezone="UTC", base_url="http://127.0.0.1")
    campaign = db.session.scalar(select(Campaign).where(Campaign.areas_per_person.is_not(None)))
    waves = list(db.session.scalars(select(Wave).where(Wave.campaign_id == campaign.id).order_by(Wave.opens_at)))
    network = db.session.scalar(select(ServiceArea).where(ServiceArea.code == demo.INCIDENT_AREA))
    return campaign, waves[demo.INCIDENT_WAVE], network


def _review_the_incident_quarter(tab, wave_label: str) -> None:
    """The filter bar, as a manager uses it: the range ends with the quarter of the incident."""
    tab.select_option("#last", label=wave_label)
    with tab.expect_navigation():
        tab.click(".filters button[type=submit], .filters input[type=submit]")


def test_the_network_page_shows_availability_moved_with_example_clauses(browser, live_server, db, incident_demo,
                                                                          screenshot):
    campaign, incident, network = incident_demo
    manager = make_user(role="manager")
    db.session.commit()
    tab = browser.new_page()
    sign_in(tab, live_server, manager.email, PASSWORD)
    tab.goto(f"{live_server}/dashboard/areas/{network.id}?campaign={campaign.id}")
    _review_the_incident_quarter(tab, incident.label)
    section = tab.locator("#what-people-talk-about")
    row = section.locator("tr", has_text="Availability and performance")
    assert "changed" in row.inner_text()
    examples = row.locator("q.example").all_inner_texts()
    assert examples and any("outage" in e.lower() or "dropping" in e.lower() for e in examples)
    assert "new this wave" in section.inner_text() or "more often this wave" in section.inner_text()
    screenshot(tab, "network-incident")
    # The overview names it among what moved across the areas.
    tab.goto(f"{live_server}/dashboard/?campaign={campaign.id}&last={incident.id}")
    assert "Availability and performance" in tab.locator("#aspects-that-moved").inner_text()
    tab.close()


def test_a_provider_sees_no_example_from_a_comment_that_was_not_shared(browser, live_server, db, incident_demo):
    campaign, incident, _ = incident_demo
    provider = make_user(role="provider", provider=campaign.provider)
    db.session.commit()
    shared = [t for t in db.session.scalars(select(Answer.text).where(Answer.shareable.is_(True),
                                                                      Answer.text.is_not(None)))]
    tab = browser.new_page()
    sign_in(tab, live_server, provider.email, PASSWORD)
    tab.goto(f"{live_server}/dashboard/scorecard?campaign={campaign.id}&last={incident.id}")
    examples = [e.strip("“”\"… ") for e in tab.locator("q.example").all_inner_texts()]
    assert examples, "the scorecard shows what people talk about"
    for example in examples:
        assert any(example in text for text in shared), f"not from a shared comment: {example!r}"
    tab.close()
