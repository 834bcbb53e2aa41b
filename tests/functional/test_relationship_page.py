"""The provider relationship page, the key-driver table on the area page and the relationship CSV, through
the client."""
from __future__ import annotations

import csv
import io

import pytest

from app.services.catalog import latest_definition
from tests.factories import login, make_user
from tests.question_seed import PROVIDER_COMMENT, answer_every_question, long_survey_campaign
from tests.reporting_seed import make_reporting_campaign


@pytest.fixture
def long_campaign(db, survey):
    return long_survey_campaign(survey, 30, 60)


def test_managers_see_the_relationship_ratings_and_the_provider_wide_comments(manager_client, long_campaign):
    campaign, _ = long_campaign
    overview = manager_client.get(f"/dashboard/?campaign={campaign.id}").get_data(as_text=True)
    assert "/dashboard/relationship" in overview
    html = manager_client.get(f"/dashboard/relationship?campaign={campaign.id}").get_data(as_text=True)
    for title in ("Partnership", "Proactivity", "Account management", "What one thing should the provider change?"):
        assert title in html
    assert html.count(PROVIDER_COMMENT) == 25  # 90 in the range, one page of 25
    assert "90 comments · page 1 of 4" in html
    assert "The provider as a whole · 2025-Q2" in html


def test_provider_wide_comments_are_not_listed_by_department(manager_client, long_campaign):
    campaign, _ = long_campaign
    html = manager_client.get(f"/dashboard/relationship?campaign={campaign.id}&department=Finance").get_data(
        as_text=True)
    assert PROVIDER_COMMENT not in html
    assert "Comments are not listed by department" in html


def test_providers_cannot_open_the_relationship_page(client, long_campaign):
    campaign, _ = long_campaign
    login(client, make_user(role="provider", provider=campaign.provider))
    assert client.get(f"/dashboard/relationship?campaign={campaign.id}").status_code == 403


def test_the_pulse_overview_has_no_relationship_link_and_its_area_page_no_drivers(manager_client, db, survey):
    pulse = latest_definition("pulse")
    campaign, areas = make_reporting_campaign(pulse, area_count=1)
    answer_every_question(campaign, pulse, "2025-Q1", people=20)
    assert "/dashboard/relationship" not in manager_client.get(f"/dashboard/?campaign={campaign.id}").get_data(
        as_text=True)
    area = manager_client.get(f"/dashboard/areas/{areas[0].id}?campaign={campaign.id}").get_data(as_text=True)
    assert "Key drivers" not in area


def test_the_area_page_shows_key_drivers_with_fix_first(manager_client, long_campaign):
    campaign, areas = long_campaign
    html = manager_client.get(f"/dashboard/areas/{areas[0].id}?campaign={campaign.id}").get_data(as_text=True)
    assert "Key drivers of satisfaction" in html
    section = html[html.index('id="key-drivers"'):]
    section = section[:section.index("</section>")]
    rows = section.split("<tr>")[2:]
    assert "Resolution quality" in rows[0] and "fix first" in rows[0]
    assert "Read from 2025-Q2." in section


def test_the_relationship_csv_holds_each_wave_and_question(manager_client, long_campaign):
    campaign, _ = long_campaign
    response = manager_client.get(f"/exports/relationship.csv?campaign={campaign.id}")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [(r["wave"], r["question_code"]) for r in rows] == [
        (wave, code) for wave in ("2025-Q1", "2025-Q2")
        for code in ("partnership", "proactivity", "account_management")]
    assert all(r["n"] in ("30", "60") and r["value"] for r in rows)
    assert all(r["significant"] in ("yes", "no") for r in rows if r["wave"] == "2025-Q2")
