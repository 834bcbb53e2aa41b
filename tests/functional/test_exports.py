"""CSV exports: what a manager opens in a spreadsheet, checked cell by cell against the database."""
from __future__ import annotations

import csv
import io
import uuid
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.models import Answer, Response
from app.services.comment_scores import Thresholds, sentiment_columns
from app.services.tallies import rebuild_wave_tallies
from tests.factories import login, make_area, make_campaign, make_stakeholder, make_user, make_wave

NASTY = 'Slow, "again".\nSecond line 😡 =cmd|\' /C calc\'!A0'
FORMULA = "=cmd|' /C calc'!A0"


def seed_wave(db, survey, campaign, label, scores, departments=None, comments=None, opens_at=None):
    """Store one response per score, for the campaign's first area, with optional comments."""
    wave = make_wave(campaign, label=label, state="closed", opens_at=opens_at)
    area = campaign.service_areas[0]
    satisfaction, comment = survey.question("satisfaction"), survey.question("comment")
    for index, score in enumerate(scores):
        response = Response(id=uuid.uuid4(), wave_id=wave.id, submitted_at=wave.opens_at + timedelta(hours=index),
                            department=(departments or ["Finance"] * len(scores))[index])
        response.answers.append(Answer(wave_id=wave.id, question_id=satisfaction.id, service_area_id=area.id,
                                       score=score))
        text = (comments or {}).get(index)
        if text:
            response.answers.append(Answer(wave_id=wave.id, question_id=comment.id, service_area_id=area.id,
                                           text=text, **sentiment_columns(text, Thresholds())))
        db.session.add(response)
    db.session.flush()
    rebuild_wave_tallies(wave.id)
    db.session.commit()
    return wave


@pytest.fixture
def campaign(db, survey):
    area = make_area(code="service-desk", name="Service Desk")
    return make_campaign(survey, provider=area.provider, areas=[area])


def read_csv(response, delimiter=","):
    text = response.get_data().decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter))


def test_answers_export_is_tidy_and_matches_the_database(manager_client, db, survey, campaign):
    start = datetime(2026, 1, 10, 9, tzinfo=timezone.utc)
    seed_wave(db, survey, campaign, "2026-Q1", [4, 5, 3, 4, 2], opens_at=start)
    seed_wave(db, survey, campaign, "2026-Q2", [5, 5, 4, 4, 4, 1],
              comments={0: NASTY, 1: "Not helpful at all", 2: FORMULA, 3: "-5 stars"},
              opens_at=start + timedelta(days=90))

    response = manager_client.get("/exports/answers.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert 'filename="vendorpulse-answers-2026-Q1..2026-Q2.csv"' in response.headers["Content-Disposition"]
    rows = read_csv(response)
    assert list(rows[0].keys()) == ["wave", "service_area", "question_code", "question_text", "value",
                                    "reasons", "reasons_text", "comment", "sentiment_polarity", "sentiment_label",
                                    "label_corrected", "department"], "no date: it would match the invitation's"
    assert len(rows) == db.session.scalar(select(func.count()).select_from(Answer)) == 15
    assert sorted(r["value"] for r in rows if r["wave"] == "2026-Q1") == ["2", "3", "4", "4", "5"]
    satisfaction = next(r for r in rows if r["question_code"] == "satisfaction")
    assert satisfaction["question_text"] == "Overall, how satisfied were you with Service Desk this period?"
    comments = [r["comment"] for r in rows if r["comment"]]
    assert NASTY in comments, "commas, quotes, newlines and emoji round-trip exactly"
    assert "'" + FORMULA in comments and FORMULA not in comments, "a formula is neutralised and stays text"
    assert "'-5 stars" in comments
    negative = next(r for r in rows if r["comment"] == "Not helpful at all")
    assert negative["sentiment_label"] == "negative"
    assert float(negative["sentiment_polarity"]) < 0 and negative["sentiment_polarity"].startswith("-")
    assert {r["department"] for r in rows} == {"Finance"}


def test_excel_mode_adds_a_bom_and_semicolons(manager_client, db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q1", [4, 4, 4, 4, 4])
    plain = manager_client.get("/exports/answers.csv").get_data()
    excel = manager_client.get("/exports/answers.csv?excel=1&sep=semicolon").get_data()
    assert not plain.startswith(b"\xef\xbb\xbf")
    assert excel.startswith(b"\xef\xbb\xbf")
    assert excel.splitlines()[0].decode("utf-8-sig").startswith("wave;service_area;question_code")
    assert b"\r\n" in plain


def test_small_departments_are_reported_as_other(manager_client, db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q1", [4] * 13, departments=["Finance"] * 6 + ["Sales"] * 5 + ["Legal"] * 2)
    rows = read_csv(manager_client.get("/exports/responses.csv"))
    # Legal (2) alone would be a group of two, so the smallest named department (Sales) joins it: "Other
    # departments" holds 7, and no named department can be subtracted from the total to leave Legal.
    assert sorted(r["department"] for r in rows) == ["Finance"] * 6 + ["Other departments"] * 7


def test_a_small_department_alone_beside_a_minimum_one_makes_both_other(manager_client, db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q1", [4] * 7, departments=["Finance"] * 5 + ["Legal"] * 2)
    rows = read_csv(manager_client.get("/exports/responses.csv"))
    assert [r["department"] for r in rows] == ["Other departments"] * 7


def test_wide_responses_export_has_one_row_per_response(manager_client, db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q1", [1, 2, 3, 4, 5], comments={4: "Brilliant, fixed on first contact"})
    rows = read_csv(manager_client.get("/exports/responses.csv"))
    assert len(rows) == 5
    assert "service-desk.satisfaction" in rows[0] and "service-desk.comment" in rows[0]
    assert sorted(int(r["service-desk.satisfaction"]) for r in rows) == [1, 2, 3, 4, 5]
    assert [r["service-desk.comment"] for r in rows if r["service-desk.comment"]] == [
        "Brilliant, fixed on first contact"]


def test_comments_export_carries_drivers_and_skips_small_groups(manager_client, db, survey, campaign):
    start = datetime(2026, 1, 10, 9, tzinfo=timezone.utc)
    seed_wave(db, survey, campaign, "2026-Q1", [2, 2, 2, 2, 2],
              comments={0: "Outage lasted four hours with no status updates", 1: "Another outage, no updates"},
              opens_at=start)
    seed_wave(db, survey, campaign, "2026-Q2", [3, 3, 3, 3], comments={0: "Only four answered here"},
              opens_at=start + timedelta(days=90))
    rows = read_csv(manager_client.get("/exports/comments.csv"))
    assert [r["wave"] for r in rows] == ["2026-Q1", "2026-Q1"], "the 4-response wave's comments are left out"
    assert all(r["label"] == "negative" for r in rows)
    assert "outage" in rows[0]["drivers"]
    assert {r["aspect_availability"] for r in rows} == {"negative"}
    assert {r["aspect_communication"] for r in rows} == {"negative"}
    assert rows[0]["aspect_cost"] == "" and rows[0]["aspects_corrected"] == "no"


def test_anonymous_campaign_never_leaks_names_or_emails(manager_client, db, survey):
    area = make_area(code="network", name="Network")
    campaign = make_campaign(survey, provider=area.provider, areas=[area], anonymity="anonymous")
    person = make_stakeholder(email="secret.person@example.com", name="Secret Person", areas=[area])
    seed_wave(db, survey, campaign, "2026-Q1", [3, 3, 3, 3, 3], comments={0: "Fine"})
    for kind in ("answers", "responses", "comments"):
        body = manager_client.get(f"/exports/{kind}.csv").get_data(as_text=True)
        assert person.email not in body and person.name not in body and "@" not in body


def test_exports_need_a_manager(client, db, survey, campaign):
    assert client.get("/exports/answers.csv").status_code == 302
    provider_user = make_user(role="provider", provider=campaign.provider)
    login(client, provider_user)
    assert client.get("/exports/answers.csv").status_code == 403


def test_unknown_area_is_a_clear_422(manager_client, db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q1", [4, 4, 4, 4, 4])
    response = manager_client.get("/exports/answers.csv?area=no-such-area")
    assert response.status_code == 422
    assert "No service area" in response.get_data(as_text=True)
    assert manager_client.get("/exports/nonsense.csv").status_code == 404


def test_cli_rejects_an_unknown_wave(runner, db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q1", [4, 4, 4, 4, 4])
    result = runner.invoke(args=["export", "answers", "--waves", "1999-Q1..2026-Q1"])
    assert result.exit_code != 0
    assert "No wave labelled '1999-Q1'" in result.output


def test_summary_export_uses_the_dashboard_statistics(manager_client, db, survey, campaign):
    start = datetime(2026, 1, 10, 9, tzinfo=timezone.utc)
    seed_wave(db, survey, campaign, "2026-Q1", [2] * 30 + [3] * 30, opens_at=start)
    seed_wave(db, survey, campaign, "2026-Q2", [4] * 30 + [5] * 30, opens_at=start + timedelta(days=90))
    seed_wave(db, survey, campaign, "2026-Q3", [5, 5, 5, 4], opens_at=start + timedelta(days=180))
    rows = read_csv(manager_client.get("/exports/summary.csv"))
    satisfaction = {r["wave"]: r for r in rows if r["metric"] == "satisfaction"}
    assert satisfaction["2026-Q1"]["n"] == "60" and float(satisfaction["2026-Q1"]["value"]) == 2.5
    assert float(satisfaction["2026-Q1"]["ci95_low"]) < 2.5 < float(satisfaction["2026-Q1"]["ci95_high"])
    q2 = satisfaction["2026-Q2"]
    assert float(q2["change_vs_previous"]) == 2.0 and q2["significant"] == "yes"
    assert q2["target"] == "4.00" and q2["target_status"] == "met"
    q3 = satisfaction["2026-Q3"]
    assert q3["n"] == "" and q3["value"] == "" and q3["ci95_low"] == ""
    assert q3["note"] == "fewer than 5 responses"


def test_cli_export_writes_a_file(runner, db, survey, campaign, tmp_path):
    seed_wave(db, survey, campaign, "2026-Q1", [4, 4, 4, 4, 4])
    target = tmp_path / "answers.csv"
    result = runner.invoke(args=["export", "answers", "--waves", "2026-Q1", "--excel", "-o", str(target)])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(target.read_text(encoding="utf-8-sig"))))
    assert len(rows) == 5 and rows[0]["wave"] == "2026-Q1"
    assert result.stderr.strip() == f"Wrote 5 rows to {target}"


def test_dashboard_pages_offer_exports_with_their_filters(manager_client, db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q1", [4, 4, 4, 4, 4])
    overview = manager_client.get("/dashboard/").get_data(as_text=True)
    assert "/exports/summary.csv?campaign=" in overview
    area_page = manager_client.get(f"/dashboard/areas/{campaign.service_areas[0].id}").get_data(as_text=True)
    assert "area=service-desk" in area_page
    link = area_page[area_page.index("/exports/answers.csv"):].split('"')[0].replace("&amp;", "&")
    rows = read_csv(manager_client.get(link))
    assert len(rows) == 5 and {r["service_area"] for r in rows} == {"Service Desk"}


def test_semicolon_files_write_decimal_commas_rounded_as_on_screen(manager_client, db, survey, campaign):
    start = datetime(2026, 1, 10, 9, tzinfo=timezone.utc)
    seed_wave(db, survey, campaign, "2026-Q1", [2, 3, 3, 3, 3, 4], opens_at=start,
              comments={0: "Not helpful at all, slow and rude", 1: FORMULA})
    excel = read_csv(manager_client.get("/exports/summary.csv?excel=1"))
    german = read_csv(manager_client.get("/exports/summary.csv?excel=1&sep=semicolon"), delimiter=";")
    satisfaction = next(r for r in excel if r["metric"] == "satisfaction")
    assert satisfaction["value"] == "3.00" and satisfaction["target"] == "4.00"
    low, high = satisfaction["ci95_low"], satisfaction["ci95_high"]
    assert len(low.split(".")[1]) == 2 and len(high.split(".")[1]) == 2, "2 decimals, as on the dashboard"
    happiness = next(r for r in german if r["metric"] == "happiness")
    assert happiness["value"] == "" or "," not in happiness["value"] and "." not in happiness["value"]
    de = next(r for r in german if r["metric"] == "satisfaction")
    assert de["value"] == "3,00" and de["ci95_low"] == low.replace(".", ",") and de["target"] == "4,00"
    assert de["area_name" if "area_name" in de else "service_area"] == "Service Desk"
    answers = read_csv(manager_client.get("/exports/answers.csv?excel=1&sep=semicolon"), delimiter=";")
    polarity = next(r["sentiment_polarity"] for r in answers if r["comment"] == "Not helpful at all, slow and rude")
    assert polarity.startswith("-0,") and len(polarity) == len("-0,00")
    assert "'" + FORMULA in [r["comment"] for r in answers], "text stays text, commas and all"
    assert "2026-Q1" in {r["wave"] for r in answers}


def test_each_variant_downloads_under_its_own_name(manager_client, db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q1", [4, 4, 4, 4, 4])
    names = {manager_client.get(f"/exports/summary.csv{query}").headers["Content-Disposition"]
             for query in ("", "?excel=1", "?excel=1&sep=semicolon")}
    assert names == {'attachment; filename="vendorpulse-summary-2026-Q1.csv"',
                     'attachment; filename="vendorpulse-summary-2026-Q1-excel.csv"',
                     'attachment; filename="vendorpulse-summary-2026-Q1-excel-semicolon.csv"'}
    menu = manager_client.get("/dashboard/").get_data(as_text=True)
    assert "Excel, English/US settings" in menu
    assert "Excel, settings with a decimal comma (e.g. German, French)" in menu


def test_reasons_are_exported_as_codes_and_in_words(manager_client, db, survey, campaign):
    wave = seed_wave(db, survey, campaign, "2026-Q1", [2, 2, 2, 2, 2])
    reasons = survey.question("reasons")
    response = db.session.scalars(select(Response).where(Response.wave_id == wave.id)).first()
    db.session.add(Answer(response_id=response.id, wave_id=wave.id, question_id=reasons.id,
                          service_area_id=campaign.service_areas[0].id,
                          reasons=["closed_unresolved", "lacked_expertise"]))
    db.session.commit()
    rows = read_csv(manager_client.get("/exports/answers.csv"))
    row = next(r for r in rows if r["question_code"] == "reasons")
    assert row["reasons"] == "closed_unresolved;lacked_expertise"
    assert row["reasons_text"] == "Ticket closed before it was solved;Lacked knowledge"
    assert all(r["reasons_text"] == "" for r in rows if r["question_code"] != "reasons")


def test_comments_say_which_question_they_answer(manager_client, db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q1", [4, 4, 4, 4, 4], comments={0: "Quick and friendly"})
    rows = read_csv(manager_client.get("/exports/comments.csv"))
    assert [(r["question_code"], r["question_text"], r["comment"]) for r in rows] == [
        ("comment", "Anything you would like to tell us about Service Desk?", "Quick and friendly")]


def test_the_wide_summary_has_one_column_per_wave_as_on_screen(manager_client, db, survey, campaign):
    start = datetime(2026, 1, 10, 9, tzinfo=timezone.utc)
    seed_wave(db, survey, campaign, "2026-Q1", [2, 3, 3, 4, 5], opens_at=start)
    seed_wave(db, survey, campaign, "2026-Q2", [4, 4, 5, 5], opens_at=start + timedelta(days=90))
    rows = read_csv(manager_client.get("/exports/summary-wide.csv"))
    satisfaction = [r for r in rows if r["metric"] == "satisfaction"]
    assert len(satisfaction) == 1
    assert satisfaction[0]["2026-Q1"] == "3.40" and satisfaction[0]["2026-Q2"] == "", "4 answers: under the minimum"
    long = read_csv(manager_client.get("/exports/summary.csv"))
    assert {r["wave"] for r in long} == {"2026-Q1", "2026-Q2"}


def test_each_comment_carries_the_rating_its_writer_gave_the_area(manager_client, db, survey, campaign):
    seed_wave(db, survey, campaign, "2026-Q1", [1, 2, 4, 5, 5], comments={0: "Awful", 3: "Brilliant"})
    rows = read_csv(manager_client.get("/exports/comments.csv"))
    assert {r["comment"]: r["satisfaction_given"] for r in rows} == {"Awful": "1", "Brilliant": "5"}
    assert "response_id" not in rows[0] and "department" not in rows[0]
