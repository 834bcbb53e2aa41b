"""A manager opens the overview and a service area page in Chromium; every chart image loads."""
from __future__ import annotations

import pytest

from app.services import reporting
from tests.factories import PASSWORD
from tests.reporting_seed import rich_story

pytestmark = pytest.mark.browser

ALL_IMAGES_LOADED = "Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)"
BROKEN_IMAGES = "Array.from(document.images).filter(img => !(img.complete && img.naturalWidth > 0)).map(i => i.src)"


def _sign_in(page, live_server, user):
    page.goto(f"{live_server}/auth/login")
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    with page.expect_navigation():
        page.click("button[type=submit], input[type=submit]")


def _check_images(page) -> int:
    page.wait_for_load_state("networkidle")
    page.wait_for_function(ALL_IMAGES_LOADED, timeout=30_000)
    assert page.evaluate(BROKEN_IMAGES) == []
    count = page.evaluate("document.images.length")
    for alt in page.evaluate("Array.from(document.images).map(i => i.alt)"):
        assert alt.strip(), "every chart has alt text"
    return count


def test_manager_sees_overview_and_area_charts(page, live_server, db, survey, manager_user, screenshot):
    reporting.clear_cache()
    seeded = rich_story(survey)
    _sign_in(page, live_server, manager_user)
    page.goto(f"{live_server}/dashboard/")
    assert page.title().startswith("Overview")
    images = _check_images(page)
    assert images == len(seeded.areas) + 2  # a sparkline per area and two heat maps
    assert page.locator("text=fewer than 5 responses").count() >= 1  # Hosting has 4 answers in the last wave
    screenshot(page, "overview")

    with page.expect_navigation():
        page.click(f"text={seeded.areas[0].name}")
    assert page.title().startswith(seeded.areas[0].name)
    assert _check_images(page) >= 6
    page.locator("details.chart-data summary").first.click()
    assert page.locator("details.chart-data table").first.is_visible()
    screenshot(page, "service-area")

    page.emulate_media(media="print")
    screenshot(page, "service-area-print")
    page.emulate_media(media="screen")

    page.goto(f"{live_server}/dashboard/comments?area={seeded.areas[1].id}")
    page.wait_for_load_state("networkidle")
    assert page.locator("li.comment").count() > 0
    screenshot(page, "comments")
