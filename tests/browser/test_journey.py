"""The whole journey as its users live it: gunicorn serving a fresh database, the dispatcher as its own
process, mail through a real SMTP server, and every person in a real browser.

The admin sets up a provider, imports people and opens a wave; the dispatcher sends the invitations;
three people answer from their emails and one unsubscribes; a reminder pass reaches only the two who
did neither; the manager reads the results and downloads the answers; a provider user sees the
scorecard and nothing else. Screenshots of each step land in test-output/browser/.
"""
from __future__ import annotations

import csv
import io
from collections import Counter
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone

import pytest

from tests.browser.journey_support import (
    ADMIN_EMAIL,
    ADMIN_PASSWORD,
    change_first_password,
    deployment_for,
    links_in,
    sign_in,
)
from tests.smtp_server import smtp_server  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

PROVIDER = "Northwind IT"
AREAS = {"service-desk": ("Service Desk", "4.0", "20"), "network": ("Network", "3.8", "10")}
# email: (name, department, areas); the first three answer, dan unsubscribes, eve and finn do neither.
PEOPLE = {
    "ana@example.org": ("Ana Alves", "Finance", ["service-desk", "network"]),
    "ben@example.org": ("Ben Brook", "Finance", ["service-desk", "network"]),
    "cara@example.org": ("Cara Chen", "Sales", ["service-desk"]),
    "dan@example.org": ("Dan Diaz", "Sales", ["network"]),
    "eve@example.org": ("Eve Evans", "Finance", ["service-desk", "network"]),
    "finn@example.org": ("Finn Ford", "Sales", ["network"]),
}
NEGATIVE = "Service desk closed my ticket without fixing it, escalated three times and nobody owned it."
# email: {area code: (satisfaction 1-5, recommend 0-10, comment)}
ANSWERS = {
    "ana@example.org": {"service-desk": (1, 2, NEGATIVE), "network": (4, 8, "")},
    "ben@example.org": {"service-desk": (4, 9, "Quick and friendly help, fixed first time."), "network": (5, 9, "")},
    "cara@example.org": {"service-desk": (3, 6, "")},
}
MANAGER = ("manager@example.com", "manager", "manager-first-pass", "manager-own-password")
PROVIDER_USER = ("provider@example.com", "provider", "provider-first-pass", "provider-own-password")

ALL_IMAGES_LOADED = "Array.from(document.images).every(img => img.complete && img.naturalWidth > 0)"
BROKEN_IMAGES = "Array.from(document.images).filter(img => !(img.complete && img.naturalWidth > 0)).map(i => i.src)"


@pytest.fixture
def deployment(tmp_path, smtp_server):  # noqa: F811
    deployed = deployment_for(tmp_path, smtp_server)
    deployed.flask("init")
    try:
        deployed.start(workers=2)
        yield deployed
    finally:
        deployed.stop()
        print(f"--- gunicorn log (tail) ---\n{deployed.log()}")


@contextmanager
def fresh_page(browser):
    """A new browser context: one person on their own device, no cookies shared with anyone."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.set_default_timeout(20_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def all_images_load(page) -> int:
    page.wait_for_load_state("networkidle")
    page.wait_for_function(ALL_IMAGES_LOADED, timeout=30_000)
    assert page.evaluate(BROKEN_IMAGES) == []
    return page.evaluate("document.images.length")


def area_row_cells(page, area_name: str):
    return page.locator("table.overview-table tbody tr", has=page.locator("th", has_text=area_name)).locator("td")


def overview_cell(page, area_name: str, column: str):
    """The overview's cell for an area under the column headed `column` (columns come and go; names stay)."""
    headers = [h.strip() for h in page.locator("table.overview-table thead th").all_inner_texts()]
    index = next(i for i, h in enumerate(headers) if h.casefold().startswith(column.casefold()))
    return area_row_cells(page, area_name).nth(index - 1)  # the row's first cell is its <th>


def test_the_journey_from_import_to_the_provider_scorecard(browser, deployment, smtp_server, screenshot,  # noqa: F811
                                                           tmp_path):
    base = deployment.base_url

    # 1. The admin sets up the provider, its areas, the people, two accounts and a campaign, and opens a wave.
    with fresh_page(browser) as admin:
        sign_in(admin, base, ADMIN_EMAIL, ADMIN_PASSWORD)
        assert "/auth/password" not in admin.url  # ADMIN_PASSWORD given: no forced change
        assert ADMIN_EMAIL in admin.inner_text("header")

        admin.goto(f"{base}/admin/providers")
        admin.fill("#name", PROVIDER)
        admin.fill("#contract_reference", "NW-2026-01")
        with admin.expect_navigation():
            admin.click("#submit")
        provider_url = admin.url
        for position, (code, (name, satisfaction, happiness)) in enumerate(AREAS.items()):
            admin.click("text=Add a service area")
            admin.fill("#code", code)
            admin.fill("#name", name)
            admin.fill("#target_satisfaction", satisfaction)
            admin.fill("#target_happiness", happiness)
            admin.fill("#position", str(position))
            with admin.expect_navigation():
                admin.click("#submit")
            assert admin.url == provider_url, admin.inner_text("main")
        screenshot(admin, "1a-provider-areas")

        people_csv = tmp_path / "people.csv"
        with people_csv.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(["email", "name", "department", "location", "service areas"])
            for email, (name, department, areas) in PEOPLE.items():
                writer.writerow([email, name, department, "Leeds", ";".join(areas)])
        admin.goto(f"{base}/admin/stakeholders/import")
        admin.set_input_files("#file", str(people_csv))
        with admin.expect_navigation():
            admin.click("#submit")
        assert admin.url.endswith("/admin/stakeholders"), admin.inner_text("main")
        assert "Import finished" in admin.inner_text("main")
        screenshot(admin, "1b-stakeholders-imported")
        imported = deployment.query(
            "SELECT s.email, sa.code FROM stakeholder s JOIN stakeholder_service_area l ON l.stakeholder_id = s.id "
            "JOIN service_area sa ON sa.id = l.service_area_id")
        assert sorted(imported) == sorted((e, a) for e, (_, _, areas) in PEOPLE.items() for a in areas)

        for email, role, password, _ in (MANAGER, PROVIDER_USER):
            admin.goto(f"{base}/admin/users")
            admin.fill("#email", email)
            admin.select_option("#role", role)
            if role == "provider":
                admin.select_option("#provider", label=PROVIDER)
            admin.fill("#password", password)
            with admin.expect_navigation():
                admin.click("#submit")
            assert f"Account {email} created" in admin.inner_text("main"), admin.inner_text("main")
        screenshot(admin, "1c-accounts")

        admin.goto(f"{base}/admin/campaigns/new")
        admin.fill("#name", "Northwind quarterly survey")
        admin.select_option("#provider_id", label=PROVIDER)
        # The long survey (the pulse is listed first): the journey follows happiness to the scorecard.
        admin.select_option("#definition_id", admin.locator("#definition_id option",
                                                            has_text="Quarterly provider satisfaction")
                            .get_attribute("value"))
        admin.select_option("#cadence", "quarterly")
        admin.fill("#anchor_date", (datetime.now(timezone.utc).date() + timedelta(days=1)).isoformat())
        admin.fill("#window_days", "14")
        admin.fill("#reminder_days", "5, 10")
        admin.fill("#min_group_size", "2")
        admin.select_option("#audience_area_codes", list(AREAS))
        with admin.expect_navigation():
            admin.click("#submit")
        assert "/admin/campaigns/" in admin.url and admin.url.rstrip("/").split("/")[-1].isdigit(), \
            admin.inner_text("main")
        with admin.expect_navigation():
            admin.click("button:has-text('Open now')")
        assert "6 invitations will go out" in admin.inner_text("main"), admin.inner_text("main")
        screenshot(admin, "1d-wave-open")
    assert deployment.query("SELECT state, count(*) FROM invitation GROUP BY state") == [("pending", 6)]

    # 2. The dispatcher, its own process, sends one invitation to each person.
    out = deployment.flask("dispatch", "run")
    assert "sent: 6" in out, out
    invitations = smtp_server.received
    assert Counter(r.to for r in invitations) == Counter(dict.fromkeys(PEOPLE, 1))
    links = {r.to: links_in(r.message, base) for r in invitations}

    # 3. Three people answer from their emails; one unsubscribes.
    area_ids = dict(deployment.query("SELECT code, id FROM service_area"))
    for email, per_area in ANSWERS.items():
        survey_link = links[email][0]
        with fresh_page(browser) as respondent:
            respondent.goto(survey_link)
            assert "Quarterly provider satisfaction" in respondent.title()
            # One area per step, then the provider's questions, then the review with the one submit button.
            for code, (satisfaction, recommend, comment) in per_area.items():
                prefix = f"area{area_ids[code]}__"
                respondent.check(f"#{prefix}satisfaction-{satisfaction - 1}")
                respondent.check(f"#{prefix}recommend-{recommend}")
                if comment:
                    respondent.fill(f"#{prefix}comment", comment)
                with respondent.expect_navigation():
                    respondent.click("button[value=next]")
            while "step=review" not in respondent.url:
                with respondent.expect_navigation():
                    respondent.click("button[value=next]")
            with respondent.expect_navigation():
                respondent.click("button[value=submit]")
            assert respondent.url == f"{survey_link}/thanks", respondent.inner_text("main")
            assert "Thank you" in respondent.inner_text("h1")
            screenshot(respondent, f"3-answered-{email.split('@')[0]}")

    with fresh_page(browser) as leaver:
        leaver.goto(links["dan@example.org"][1])
        assert "Stop receiving these surveys?" in leaver.inner_text("h1")
        with leaver.expect_navigation():
            leaver.click("button:has-text('Unsubscribe me')")
        screenshot(leaver, "3-unsubscribed")
    answered = deployment.query("SELECT s.email FROM invitation i JOIN stakeholder s ON s.id = i.stakeholder_id "
                                "WHERE i.responded_at IS NOT NULL")
    assert sorted(e for (e,) in answered) == sorted(ANSWERS)
    assert deployment.query("SELECT email FROM stakeholder WHERE opted_out_at IS NOT NULL") == [("dan@example.org",)]

    # 4. Six days later (past the day-5 reminder) the next pass reminds only eve and finn.
    out = deployment.flask("dispatch", "run", clock_offset_days=6)
    reminders = smtp_server.received[len(invitations):]
    assert sorted(r.to for r in reminders) == ["eve@example.org", "finn@example.org"], out
    assert all(r.message["Subject"].startswith("Reminder:") for r in reminders)
    assert dict(deployment.query("SELECT s.email, i.reminders_sent FROM invitation i "
                                 "JOIN stakeholder s ON s.id = i.stakeholder_id")) == {
        email: int(email in ("eve@example.org", "finn@example.org")) for email in PEOPLE}

    # 5. The manager reads the results: overview, service area, comments, and the answers CSV.
    email, _, first_password, own_password = MANAGER
    with fresh_page(browser) as manager:
        sign_in(manager, base, email, first_password)
        change_first_password(manager, first_password, own_password)
        manager.goto(f"{base}/dashboard/")
        assert manager.title().startswith("Overview")
        assert all_images_load(manager) == len(AREAS) + 2  # a sparkline per area and two heat maps
        assert "3 of 6 invited answered" in manager.inner_text(".kpis")
        assert area_row_cells(manager, "Service Desk").nth(0).inner_text().startswith("2.67")  # (1 + 3 + 4) / 3
        assert overview_cell(manager, "Service Desk", "Responses").inner_text().strip() == "3"
        assert overview_cell(manager, "Network", "Responses").inner_text().strip() == "2"
        screenshot(manager, "5a-overview")

        with manager.expect_navigation():
            manager.click("table.overview-table >> text=Service Desk")
        assert manager.title().startswith("Service Desk")
        assert all_images_load(manager) >= 6
        screenshot(manager, "5b-service-desk")

        manager.goto(f"{base}/dashboard/comments")
        negative = manager.locator("li.comment", has_text=NEGATIVE)
        assert negative.count() == 1
        assert negative.locator(".pill").inner_text().strip() == "Negative"
        drivers = [d.strip() for d in negative.locator(".driver.neg").all_inner_texts()]
        assert any("nobody owned it" in d for d in drivers) and any("escalated" in d for d in drivers), drivers
        screenshot(manager, "5c-comments")

        manager.goto(f"{base}/dashboard/")
        manager.click("details.export-menu summary")
        answers_link = manager.locator("details.export-menu li", has_text="Answers, one per row") \
            .get_by_role("link", name="CSV", exact=True)
        with manager.expect_download() as download_info:
            answers_link.click()
        download = download_info.value
        assert download.suggested_filename.startswith("vendorpulse-answers-")
        body = download.path().read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(body)))
    satisfaction = [r for r in rows if r["question_code"] == "satisfaction"]
    # Cara alone answered the service desk without the network: with a minimum group of 2, a row with that
    # combination would be hers, so the row-level export leaves it out (the dashboard still counts her).
    assert Counter(r["service_area"] for r in satisfaction) == {"Service Desk": 2, "Network": 2}
    assert sorted(float(r["value"]) for r in satisfaction if r["service_area"] == "Service Desk") == [1, 4]
    [comment_row] = [r for r in rows if r["comment"] == NEGATIVE]
    assert comment_row["sentiment_label"] == "negative" and float(comment_row["sentiment_polarity"]) < 0
    assert "@" not in body, "an export must never contain an email address"

    # 6. The provider user sees the scorecard of their provider, and neither comments nor exports.
    email, _, first_password, own_password = PROVIDER_USER
    with fresh_page(browser) as provider:
        sign_in(provider, base, email, first_password)
        change_first_password(provider, first_password, own_password)
        provider.goto(f"{base}/dashboard/")
        assert provider.title().startswith("Scorecard")
        assert {"Service Desk", "Network"} <= set(provider.locator("table.overview-table tbody th").all_inner_texts())
        all_images_load(provider)
        assert NEGATIVE not in provider.inner_text("main")
        screenshot(provider, "6a-scorecard")
        comments_page = provider.goto(f"{base}/dashboard/comments")
        assert comments_page.status == 403
        screenshot(provider, "6b-comments-forbidden")
        assert provider.context.request.get(f"{base}/exports/answers.csv").status == 403
