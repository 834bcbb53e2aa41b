"""The demo's deep dive as a vendor manager reads it: key drivers that are known because the demo's generator makes
them true (`app.services.demo.DEEP_DIVE_DRIVERS`), while the overview still opens on the pulse."""
from __future__ import annotations

import html
import re
from datetime import datetime, timezone

import pytest
from sqlalchemy import select

from app.models import Campaign, ServiceArea
from app.services import demo

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=timezone.utc)


@pytest.fixture
def seeded_demo(db, survey):
    """The real demo, as `flask demo` seeds it (`survey` loads the catalog it needs)."""
    demo.seed_demo(now=NOW, timezone="Europe/London", base_url="http://vendorpulse.test")
    pulse = db.session.scalar(select(Campaign).where(Campaign.definition.has(code=demo.SURVEY_CODE)))
    deep_dive = db.session.scalar(select(Campaign).where(Campaign.definition.has(code=demo.DEEP_DIVE_CODE)))
    areas = {a.code: a.id for a in db.session.scalars(select(ServiceArea))}
    return pulse, deep_dive, areas


def _shown_campaign(page: str) -> str:
    return re.search(r"</strong> · ([^<\n]+)", page).group(1).strip()


def _key_drivers(page: str) -> list[str]:
    """The key-driver table's body rows as a reader sees them: each row's text, strongest driver first."""
    section = page[page.index('id="key-drivers"'):]
    section = section[:section.index("</section>")]
    body = section[section.index("<tbody>"):section.index("</tbody>")]
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in body.split("<tr>")[1:]]


def test_the_deep_dive_ranks_what_the_demo_generates_and_the_overview_stays_on_the_pulse(manager_client,
                                                                                          seeded_demo):
    """One test on purpose: seeding the demo takes seconds, and each part below reads the same data set."""
    pulse, deep_dive, areas = seeded_demo
    # A fresh manager lands on the pulse: its 2026-Q3 wave closed after the deep dive's latest.
    assert _shown_campaign(manager_client.get("/dashboard/").get_data(as_text=True)) == pulse.name

    def drivers(area_code: str) -> list[str]:
        response = manager_client.get(f"/dashboard/areas/{areas[area_code]}?campaign={deep_dive.id}")
        assert response.status_code == 200
        page = response.get_data(as_text=True)
        assert _shown_campaign(page) == deep_dive.name and "Read from 2026-Q3." in page
        return _key_drivers(page)

    # The Service Desk: resolution quality moves satisfaction most and scores lowest, the only "fix first".
    desk = drivers("service-desk")
    assert len(desk) == 4
    assert desk[0].startswith("Resolution quality Were problems properly solved the first time?")
    assert desk[0].endswith("fix first")
    assert not any(row.endswith("fix first") for row in desk[1:])
    # The Network: communication leads and is to fix first.
    network = drivers("network")
    assert network[0].startswith("Communication How well did they keep you informed?")
    assert network[0].endswith("fix first")
    # Application Support: expertise leads and scores well, a strength rather than something to fix.
    support = drivers("app-support")
    assert support[0].startswith("Expertise How would you rate their knowledge and expertise?")
    assert not support[0].endswith("fix first")
