"""The CSV exports opened as a manager opens them: by LibreOffice Calc, set to English (US) or German.

Each Excel variant is converted to xlsx by Debian's LibreOffice with the separator, encoding and locale a
user of that locale would have, and the cells are read back with openpyxl: numbers are numbers with the
right value, text is text, and no cell is a formula. `make test` installs LibreOffice when it can;
without it these tests are skipped with the reason, except under CI (CI=true), where that fails the run.
"""
from __future__ import annotations

import csv
import io
import os
import shutil
import subprocess
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from app.models import Answer, Response
from app.services.comment_scores import Thresholds, sentiment_columns
from app.services.tallies import rebuild_wave_tallies
from tests.factories import make_area, make_campaign, make_wave

openpyxl = pytest.importorskip("openpyxl")

FORMULA = "=cmd|' /C calc'!A0"
START = datetime(2026, 1, 12, 9, tzinfo=timezone.utc)
# LibreOffice's CSV filter options: separator, quote (as character codes), charset (76: UTF-8), first row,
# column formats (none: detect), language of the numbers (1033: English (US), 1031: German).
LOCALES = {
    "en_US": ("?excel=1", ",", "CSV:44,34,76,1,,1033"),
    "de_DE": ("?excel=1&sep=semicolon", ";", "CSV:59,34,76,1,,1031"),
}
SUMMARY_NUMBERS = ("n", "value", "ci95_low", "ci95_high", "target", "change_vs_previous", "p_value")


def _under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="module")
def soffice() -> str:
    path = shutil.which("soffice") or shutil.which("libreoffice")
    if path is None:
        reason = "LibreOffice (soffice) is not installed; `make test` installs libreoffice-calc-nogui as root"
        if _under_ci():
            pytest.fail(f"the spreadsheet tests cannot run under CI: {reason}")
        pytest.skip(reason)
    return path


def to_xlsx(soffice: str, files: list[Path], infilter: str, workdir: Path) -> list[Path]:
    """Convert CSV files to xlsx with a throwaway LibreOffice profile, as a user's Calc would open them."""
    profile = workdir / "lo-profile"
    out = workdir / "xlsx"
    command = [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
               f"--infilter={infilter}", "--convert-to", "xlsx", "--outdir", str(out), *map(str, files)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180)
    converted = [out / (f.stem + ".xlsx") for f in files]
    missing = [p.name for p in converted if not p.exists()]
    assert not missing, f"LibreOffice did not convert {missing}: {done.stdout} {done.stderr}"
    return converted


def sheet_rows(path: Path) -> list[dict[str, object]]:
    """The first sheet as dicts of cells, after checking that no cell anywhere is a formula."""
    book = openpyxl.load_workbook(path)  # not data_only: a formula would show as one
    sheet = book.worksheets[0]
    cells = [[cell for cell in row] for row in sheet.iter_rows()]
    formulas = [cell.coordinate for row in cells for cell in row if cell.data_type == "f"]
    assert formulas == [], f"formula cells in {path.name}: {formulas}"
    header = [cell.value for cell in cells[0]]
    return [dict(zip(header, (cell.value for cell in row))) for row in cells[1:]]


def plain_rows(body: bytes) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def seed_wave(db, survey, area, campaign, label: str, people: list[tuple[int, int, float, str | None]], days: int):
    """One closed wave: each person gives a satisfaction score, a recommend score, hours lost, a comment."""
    wave = make_wave(campaign, label=label, state="closed", opens_at=START + timedelta(days=days))
    q = {code: survey.question(code) for code in ("satisfaction", "recommend", "time_lost", "comment")}
    for score, recommend, hours, comment in people:
        response = Response(id=uuid.uuid4(), wave_id=wave.id, submitted_at=wave.opens_at, department="Finance")
        response.answers.append(Answer(wave_id=wave.id, question_id=q["satisfaction"].id, service_area_id=area.id,
                                       score=score))
        response.answers.append(Answer(wave_id=wave.id, question_id=q["recommend"].id, service_area_id=area.id,
                                       score=recommend))
        response.answers.append(Answer(wave_id=wave.id, question_id=q["time_lost"].id, service_area_id=area.id,
                                       hours=hours))
        if comment:
            response.answers.append(Answer(wave_id=wave.id, question_id=q["comment"].id, service_area_id=area.id,
                                           text=comment, **sentiment_columns(comment, Thresholds())))
        db.session.add(response)
    db.session.flush()
    rebuild_wave_tallies(wave.id)
    db.session.commit()


@pytest.fixture
def exported(db, survey):
    """Two waves whose figures have decimals: satisfaction 3.xx, a negative happiness score, 2.5 hours."""
    area = make_area(code="service-desk", name="Service Desk", target_satisfaction=3.75, target_happiness=-10)
    campaign = make_campaign(survey, provider=area.provider, areas=[area])
    first = [(4, 9, 0.5, None), (3, 6, 2.5, "Not helpful at all, slow and rude"), (3, 3, 1.0, FORMULA),
             (4, 8, 0.0, None), (2, 2, 4.0, None), (3, 7, 1.5, None), (4, 5, 0.0, None)]
    second = [(4, 10, 0.0, None), (5, 9, 0.5, "Fixed on first contact, brilliant"), (4, 4, 1.0, None),
              (3, 6, 2.5, "-5 stars"), (4, 8, 0.0, None), (5, 3, 0.0, None)]
    seed_wave(db, survey, area, campaign, "2026-Q1", first, 0)
    seed_wave(db, survey, area, campaign, "2026-Q2", second, 91)
    return campaign


@pytest.mark.parametrize("locale", LOCALES)
def test_a_spreadsheet_in_each_locale_reads_numbers_as_numbers_and_text_as_text(
        locale, soffice, manager_client, exported, tmp_path):
    query, delimiter, infilter = LOCALES[locale]
    files = []
    for kind in ("summary", "answers"):
        response = manager_client.get(f"/exports/{kind}.csv{query}")
        assert response.status_code == 200
        path = tmp_path / f"{kind}.csv"
        path.write_bytes(response.get_data())
        assert path.read_bytes().decode("utf-8-sig").splitlines()[0].count(delimiter) > 5
        files.append(path)
    summary_xlsx, answers_xlsx = to_xlsx(soffice, files, infilter, tmp_path)
    # What the numbers must be, read from the plain CSV (decimal point, no spreadsheet in between).
    expected_summary = plain_rows(manager_client.get("/exports/summary.csv").get_data())
    expected_answers = plain_rows(manager_client.get("/exports/answers.csv").get_data())

    summary = sheet_rows(summary_xlsx)
    assert len(summary) == len(expected_summary) == 4
    for row in summary:
        want = next(r for r in expected_summary if (r["wave"], r["metric"]) == (row["wave"], row["metric"]))
        assert isinstance(row["wave"], str) and isinstance(row["service_area"], str)
        for column in SUMMARY_NUMBERS:
            if want[column] == "":
                assert row[column] is None, (locale, row["wave"], row["metric"], column)
                continue
            assert isinstance(row[column], (int, float)) and not isinstance(row[column], bool), \
                (locale, row["wave"], row["metric"], column, row[column])
            assert row[column] == pytest.approx(float(want[column])), (locale, column)
    satisfaction = next(r for r in summary if (r["wave"], r["metric"]) == ("2026-Q1", "satisfaction"))
    assert satisfaction["value"] == pytest.approx(23 / 7, abs=0.005) and satisfaction["target"] == 3.75
    assert satisfaction["ci95_low"] < satisfaction["value"] < satisfaction["ci95_high"]
    happiness = next(r for r in summary if (r["wave"], r["metric"]) == ("2026-Q1", "happiness"))
    assert happiness["value"] < 0 and happiness["value"] == int(happiness["value"]), "an integer, as on screen"
    assert happiness["target"] == -10
    q2 = next(r for r in summary if (r["wave"], r["metric"]) == ("2026-Q2", "satisfaction"))
    assert isinstance(q2["p_value"], float) and 0 <= q2["p_value"] <= 1 and isinstance(q2["significant"], str)

    answers = sheet_rows(answers_xlsx)
    assert len(answers) == len(expected_answers)
    hours = sorted(r["value"] for r in answers if r["question_code"] == "time_lost")
    assert hours == sorted(float(r["value"]) for r in expected_answers if r["question_code"] == "time_lost")
    assert all(isinstance(h, (int, float)) for h in hours) and 2.5 in hours
    assert all(isinstance(r["value"], int) for r in answers if r["question_code"] == "satisfaction")
    comments = {r["comment"]: r for r in answers if r["comment"]}
    assert all(isinstance(text, str) for text in comments)
    rude = comments["Not helpful at all, slow and rude"]
    assert isinstance(rude["sentiment_polarity"], float) and -1 <= rude["sentiment_polarity"] < 0
    assert rude["sentiment_polarity"] == pytest.approx(
        float(next(r["sentiment_polarity"] for r in expected_answers if r["comment"] == rude["comment"])))
    formula = [text for text in comments if "cmd|" in text]
    assert formula and all(isinstance(text, str) and not text.startswith("=") for text in formula)
    assert any("5 stars" in text for text in comments), "a comment starting with '-' stays text"
    assert {r["wave"] for r in answers} == {"2026-Q1", "2026-Q2"}, "wave labels are not read as dates"
