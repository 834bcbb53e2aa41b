"""Attacks on the minimum group size, as a clever manager would try them: a one-person department through
every page, export and filter; subtraction of named departments from the total; unique combinations of
department and areas in row-level exports; the provider's copy built from unshared comments.

Every test here fails if the disclosure gate (`app.services.disclosure`) is bypassed by any output.
"""
from __future__ import annotations

import csv
import io
import uuid
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from pypdf import PdfReader

from app.models import Answer, Response
from app.services.comment_scores import Thresholds, sentiment_columns
from app.services.disclosure import OTHER_DEPARTMENTS, plan_rows, publishable
from app.services.tallies import rebuild_wave_tallies
from tests.factories import login, make_area, make_campaign, make_user, make_wave, share_comments

K = 5
SECRET = "Zanzibar printer quirk only I would mention"
START = datetime(2026, 1, 5, 9, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Person:
    department: str
    areas: tuple[str, ...]  # area codes answered
    score: int
    happiness: int = 8
    comment: str | None = None
    hours: float | None = None


def seed(db, survey, campaign, label: str, people: list[Person], *, offset_days: int = 0):
    """One closed wave with one response per person: satisfaction, happiness, hours and a comment per area."""
    wave = make_wave(campaign, label=label, state="closed", opens_at=START + timedelta(days=offset_days))
    areas = {a.code: a for a in campaign.service_areas}
    q = {code: survey.question(code) for code in ("satisfaction", "recommend", "comment", "time_lost")}
    for person in people:
        response = Response(id=uuid.uuid4(), wave_id=wave.id, submitted_at=wave.opens_at,
                            department=person.department)
        for code in person.areas:
            area_id = areas[code].id
            response.answers.append(Answer(wave_id=wave.id, question_id=q["satisfaction"].id,
                                           service_area_id=area_id, score=person.score))
            response.answers.append(Answer(wave_id=wave.id, question_id=q["recommend"].id,
                                           service_area_id=area_id, score=person.happiness))
            if person.hours is not None:
                response.answers.append(Answer(wave_id=wave.id, question_id=q["time_lost"].id,
                                               service_area_id=area_id, hours=person.hours))
            if person.comment:
                response.answers.append(Answer(wave_id=wave.id, question_id=q["comment"].id,
                                               service_area_id=area_id, text=person.comment,
                                               **sentiment_columns(person.comment, Thresholds())))
        db.session.add(response)
    db.session.flush()
    rebuild_wave_tallies(wave.id)
    db.session.commit()
    return wave


@pytest.fixture
def campaign(db, survey):
    desk = make_area(code="desk", name="Service Desk")
    network = make_area(desk.provider, code="network", name="Network")
    hosting = make_area(desk.provider, code="hosting", name="Hosting")
    return make_campaign(survey, provider=desk.provider, areas=[desk, network, hosting], min_group_size=K)


@pytest.fixture
def tiny_department(db, survey, campaign):
    """Finance 6 and Sales 6 answer about the service desk with 4s; Tiny is one person who gives a 1."""
    people = [Person("Finance", ("desk",), 4, comment="Finance is fine", hours=1.0) for _ in range(6)]
    people += [Person("Sales", ("desk",), 4, comment="Sales is fine", hours=1.0) for _ in range(6)]
    people += [Person("Tiny", ("desk",), 1, happiness=0, comment=SECRET, hours=40.0)]
    return seed(db, survey, campaign, "2026-Q1", people)


def rows_of(response, delimiter=","):
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"), newline=""),
                               delimiter=delimiter))


# --- the rule itself ----------------------------------------------------------------------------

@pytest.mark.parametrize("counts, shown", [
    ({"A": 6, "B": 7}, {"A", "B"}),
    ({"A": 6, "B": 7, "C": 1}, {"B"}),           # C alone would be total - A - B: A joins it
    ({"A": 20, "B": 6, "C": 1}, {"A"}),
    ({"A": 5, "B": 2}, set()),                   # the total (7) is shown, so neither department is
    ({"A": 3, "B": 1}, set()),                   # nothing at all under the minimum
    ({"A": 5, "B": 5, "C": 5}, {"A", "B", "C"}),
    ({"A": 9, "B": 0}, {"A"}),
])
def test_publishable_never_leaves_a_small_remainder(counts, shown):
    result = publishable(counts, K)
    assert result == shown
    remainder = sum(counts.values()) - sum(counts[d] for d in result)
    assert remainder == 0 or remainder >= K or sum(counts.values()) < K  # then the total is not shown either
    assert all(counts[d] >= K for d in result)


def test_row_plan_keeps_every_combination_at_the_minimum():
    areas = [frozenset({1}), frozenset({1, 2}), frozenset({2, 3}), frozenset({1, 2, 3}), frozenset({0, 1})]
    groups = {}
    for index, (department, combo) in enumerate((d, a) for d in ("F", "S", "T") for a in areas):
        groups[(1, department, combo)] = [7, 1, 2, 4, 3, 6, 5, 1, 1, 2, 1, 9, 2, 3, 1][index]
    plans = plan_rows(groups, K)
    written: Counter = Counter()
    for (wave, _, combo), n in groups.items():
        plan = plans[(wave, _, combo)]
        if plan.split:
            for part in plan.parts:
                written[(wave, plan.label, frozenset({part}))] += n
        else:
            written[(wave, plan.label, combo)] += n
    assert written and all(n >= K for n in written.values()), written


# --- a one-person department through every output -------------------------------------------------

def test_a_one_person_department_is_not_offered_as_a_filter(manager_client, tiny_department):
    page = manager_client.get("/dashboard/").get_data(as_text=True)
    assert 'value="Sales"' in page
    assert 'value="Tiny"' not in page, "the list itself would say Tiny answered"
    assert 'value="Finance"' not in page, "Finance is withheld too: total - Sales - Finance = Tiny"


def test_a_one_person_department_gets_no_figure_on_any_page(manager_client, campaign, tiny_department):
    desk = campaign.service_areas[0]
    for department in ("Tiny", "Finance"):
        for url in (f"/dashboard/?department={department}", f"/dashboard/areas/{desk.id}?department={department}",
                    f"/dashboard/comments?department={department}&area={desk.id}"):
            html = manager_client.get(url).get_data(as_text=True)
            assert SECRET not in html
            assert "1.00" not in html and "1.0 " not in html and "40.0" not in html, url
        for kind in ("trend", "distribution", "sentiment", "timelost", "reasons"):
            svg = manager_client.get(f"/dashboard/charts/{kind}.svg?area={desk.id}&department={department}")
            assert svg.status_code in (200, 404)
            assert b"40.0" not in svg.data


def test_a_one_person_department_gets_nothing_from_any_export(manager_client, tiny_department):
    for department in ("Tiny", "Finance"):
        assert rows_of(manager_client.get(f"/exports/answers.csv?department={department}")) == []
        assert rows_of(manager_client.get(f"/exports/responses.csv?department={department}")) == []
        summary = rows_of(manager_client.get(f"/exports/summary.csv?department={department}"))
        assert summary and all(r["value"] == "" and r["n"] == "" for r in summary)
        comments = manager_client.get(f"/exports/comments.csv?department={department}")
        assert comments.status_code == 422 and SECRET.encode() not in comments.data
    sales = rows_of(manager_client.get("/exports/answers.csv?department=Sales"))
    assert sales and {r["department"] for r in sales} == {"Sales"}


def test_row_level_exports_never_name_a_department_that_could_be_subtracted(manager_client, tiny_department):
    for kind in ("answers", "responses"):
        rows = rows_of(manager_client.get(f"/exports/{kind}.csv"))
        departments = {r["department"] for r in rows}
        assert departments == {"Sales", OTHER_DEPARTMENTS}, kind
    answers = rows_of(manager_client.get("/exports/answers.csv"))
    other = [r for r in answers if r["department"] == OTHER_DEPARTMENTS and r["question_code"] == "satisfaction"]
    assert len(other) == 7, "Tiny's one answer hides among Finance's six"


# --- subtraction ----------------------------------------------------------------------------------

def summary_cells(client, query=""):
    return {(r["wave"], r["service_area_code"], r["metric"]): r
            for r in rows_of(client.get(f"/exports/summary.csv?{query}"))}


def test_all_departments_minus_the_named_ones_never_leaves_a_small_group(manager_client, db, survey, campaign,
                                                                         tiny_department):
    # A second wave with other sizes, so the attack runs across waves too.
    people = [Person("Finance", ("desk", "network"), 3, hours=2.0) for _ in range(7)]
    people += [Person("Sales", ("desk",), 5, hours=0.0) for _ in range(5)]
    people += [Person("Tiny", ("desk", "network"), 1, happiness=0, hours=30.0) for _ in range(2)]
    seed(db, survey, campaign, "2026-Q2", people, offset_days=91)

    page = manager_client.get("/dashboard/").get_data(as_text=True)
    offered = [d for d in ("Finance", "Sales", "Tiny") if f'value="{d}"' in page]
    total = summary_cells(manager_client)
    named = {d: summary_cells(manager_client, f"department={d}") for d in ("Finance", "Sales", "Tiny")}
    assert offered, "at least one department is large enough to offer"
    for key, row in total.items():
        if row["n"] == "":
            continue
        shown = [named[d][key] for d in named if named[d][key]["n"] != ""]
        remainder = int(row["n"]) - sum(int(r["n"]) for r in shown)
        assert remainder == 0 or remainder >= K, (key, remainder)


def test_department_breakdown_leaves_no_small_remainder(manager_client, campaign, tiny_department):
    desk = campaign.service_areas[0]
    html = manager_client.get(f"/dashboard/areas/{desk.id}").get_data(as_text=True)
    assert "Tiny" not in html
    assert OTHER_DEPARTMENTS in html, "Tiny and the smallest named department are combined"
    assert "Sales" in html


def test_response_rates_are_not_given_for_a_withheld_department(manager_client, tiny_department):
    html = manager_client.get("/dashboard/?department=Tiny").get_data(as_text=True)
    assert "1 of " not in html


# --- quasi-identifiers in row-level exports -------------------------------------------------------

def test_row_level_exports_are_k_anonymous_on_department_and_areas(manager_client, db, survey, campaign):
    combos = [("desk",), ("desk", "network"), ("network", "hosting"), ("desk", "network", "hosting"), ("hosting",)]
    people = []
    for department, sizes in {"Finance": [9, 1, 2, 6, 3], "Sales": [2, 5, 1, 1, 7], "Legal": [1, 0, 0, 2, 1]}.items():
        for combo, n in zip(combos, sizes):
            people += [Person(department, combo, 1 + len(people) % 5) for _ in range(n)]
    seed(db, survey, campaign, "2026-Q3", people)

    rows = rows_of(manager_client.get("/exports/responses.csv"))
    area_columns = {code: [c for c in rows[0] if c.startswith(code + ".")] for code in ("desk", "network", "hosting")}
    combos_written = Counter(
        (r["wave"], r["department"], frozenset(code for code, cols in area_columns.items()
                                               if any(r[c] for c in cols)))
        for r in rows)
    assert all(n >= K for n in combos_written.values()), combos_written
    assert sum(len(combo) for (_, _, combo), n in combos_written.items() for _ in range(n)) > len(people) // 2

    answers = rows_of(manager_client.get("/exports/answers.csv"))
    per_group = Counter((r["wave"], r["department"], r["service_area"]) for r in answers
                        if r["question_code"] == "satisfaction")
    assert all(n >= K for n in per_group.values()), per_group


def test_row_ids_and_order_carry_nothing_from_the_database(manager_client, db, survey, campaign):
    seed(db, survey, campaign, "2026-Q1", [Person("Finance", ("desk",), 1 + i % 5, happiness=i % 11)
                                           for i in range(40)])
    first = rows_of(manager_client.get("/exports/responses.csv"))
    second = rows_of(manager_client.get("/exports/responses.csv"))
    stored = {str(r.id) for r in db.session.query(Response)}
    assert not stored & {r["response"] for r in first}, "row ids are not the responses' ids"
    assert {r["response"] for r in first}.isdisjoint({r["response"] for r in second}), "nor stable between files"
    answers = [r["value"] for r in rows_of(manager_client.get("/exports/answers.csv"))
               if r["question_code"] == "recommend"]
    assert answers != [str(i % 11) for i in range(40)], "rows are not in the order they were stored"


# --- the provider's copy --------------------------------------------------------------------------

def test_provider_pack_and_scorecard_use_only_shared_comments(manager_client, client, db, survey, campaign):
    people = [Person("Finance", ("desk",), 2, comment="Kerfuffle kerfuffle kerfuffle with the VPN")
              for _ in range(6)]
    people += [Person("Finance", ("desk",), 4, comment="Quick friendly helpful technician, mail me at a@b.org")]
    seed(db, survey, campaign, "2026-Q1", people)
    share_comments(Answer.text.like("Quick%"))
    db.session.commit()

    pdf = manager_client.get("/exports/review-pack.pdf")
    assert pdf.status_code == 200
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages).lower()
    assert "kerfuffle" not in text, "unshared comments reach the provider"
    assert "technician" in text
    assert "a@b.org" not in text

    provider_user = make_user(role="provider", provider=campaign.provider)
    other = client.application.test_client()
    login(other, provider_user)
    html = other.get("/dashboard/scorecard").get_data(as_text=True).lower()
    assert "kerfuffle" not in html and "a@b.org" not in html
