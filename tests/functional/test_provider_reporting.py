"""The ratings of the provider as a whole in the long summary CSV and in the PDF review pack, with the minimum
group size applied; a survey that does not ask about the provider adds neither."""
from __future__ import annotations

import csv
import io
from datetime import datetime, timezone

import pytest
from pypdf import PdfReader

from app.services.catalog import latest_definition
from app.services.reporting.relationship import relationship_report
from app.services.reporting.scope import resolve_scope
from app.services.review_pack import PackMeta, build_review_pack
from tests.question_seed import answer_every_question, long_survey_campaign
from tests.reporting_seed import make_reporting_campaign

QUESTIONS = ("partnership", "proactivity", "account_management")


@pytest.fixture
def campaign(db, survey):
    campaign, _ = long_survey_campaign(survey, 4, 30, 40)  # 2025-Q1 under k = 5
    return campaign


def _summary(client, campaign, extra=""):
    response = client.get(f"/exports/summary.csv?campaign={campaign.id}{extra}")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def test_the_summary_csv_has_a_row_per_wave_and_provider_wide_rating(manager_client, campaign):
    rows = _summary(manager_client, campaign)
    provider = [r for r in rows if r["service_area_code"] == "provider"]
    assert [(r["wave"], r["metric"]) for r in provider] == [
        (wave, code) for wave in ("2025-Q1", "2025-Q2", "2025-Q3") for code in QUESTIONS]
    assert {r["service_area"] for r in provider} == {"Provider as a whole"}
    assert list(rows[0]) == list(provider[0]), "the same columns"
    # each wave's provider rows follow its area rows
    assert [r["service_area_code"] for r in rows if r["wave"] == "2025-Q2"][-3:] == ["provider"] * 3

    report = relationship_report(resolve_scope(campaign_id=campaign.id))
    for row in report.rows:
        (_, small), (_, middle), (_, latest) = row.cells
        q1, q2, q3 = (next(r for r in provider if r["wave"] == w and r["metric"] == row.question.code)
                      for w in ("2025-Q1", "2025-Q2", "2025-Q3"))
        assert q1["n"] == "" and q1["value"] == "" and q1["note"] == "fewer than 5 responses", "minimum applied"
        assert q2["n"] == "30" and q2["change_vs_previous"] == "", "nothing reportable to compare with"
        assert q3["n"] == "40" and q3["value"] == f"{latest.value:.2f}"
        assert (q3["ci95_low"], q3["ci95_high"]) == (f"{latest.ci[0]:.2f}", f"{latest.ci[1]:.2f}")
        assert q3["change_vs_previous"] == f"{latest.change.delta:.2f}" and q3["significant"] in ("yes", "no")
        assert q3["target"] == "" and q3["hours_lost_total"] == ""


def test_a_summary_narrowed_to_an_area_or_a_pulse_campaign_has_no_provider_rows(manager_client, db, survey,
                                                                                campaign):
    area = campaign.service_areas[0]
    narrowed = _summary(manager_client, campaign, f"&area={area.code}")
    assert narrowed and all(r["service_area_code"] == area.code for r in narrowed)
    pulse = latest_definition("pulse")
    other, _ = make_reporting_campaign(pulse, area_count=1)
    answer_every_question(other, pulse, "2025-Q1", people=10)
    rows = _summary(manager_client, other)
    assert rows and all(r["service_area_code"] != "provider" for r in rows)


def _pack_text(campaign) -> list[str]:
    scope = resolve_scope(campaign_id=campaign.id)
    pdf = build_review_pack(scope, PackMeta(generated_at=datetime(2025, 8, 1, tzinfo=timezone.utc),
                                            prepared_by="Test"))
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def test_the_pack_has_a_provider_page_after_the_area_pages(db, campaign):
    pages = _pack_text(campaign)
    titles = [i for i, text in enumerate(pages) if text.startswith("The provider as a whole")]
    assert len(titles) == 1
    page = pages[titles[0]]
    assert "What employees said" in pages[titles[0] + 1]
    assert campaign.service_areas[0].name in pages[titles[0] - 1]
    assert "The provider as a whole" in pages[1], "listed in the contents"
    report = relationship_report(resolve_scope(campaign_id=campaign.id))
    for row in report.rows:
        assert row.question.title in page
        _, latest = row.cells[-1]
        assert (f"{latest.value:.2f} {latest.ci[0]:.2f} to {latest.ci[1]:.2f} "
                f"{'▲' if latest.change.delta > 0 else '▼'} {latest.change.delta:+.2f}") in page
    for wave in ("2025-Q1", "2025-Q2", "2025-Q3"):
        assert wave in page
    assert "40 respondents" in page and "4 respondents" in page
    assert page.count("n<5") == 3, "the small wave's figures are withheld"


def test_a_campaign_without_provider_questions_gets_no_such_page(db, survey):
    pulse = latest_definition("pulse")
    campaign, _ = make_reporting_campaign(pulse, area_count=1)
    answer_every_question(campaign, pulse, "2025-Q1", people=10)
    pages = _pack_text(campaign)
    assert not any("The provider as a whole" in text for text in pages)
