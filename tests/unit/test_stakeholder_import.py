"""Importing HR's stakeholder CSV: upsert, sync, line-numbered errors, encodings and separators."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from app.errors import InvalidInput
from app.models import Stakeholder
from app.services.stakeholders import import_stakeholders
from tests.factories import make_area, make_provider, make_stakeholder


@pytest.fixture
def areas(db):
    provider = make_provider()
    return {"desk": make_area(provider, code="service-desk", name="Service Desk"),
            "net": make_area(provider, code="network", name="Network & Connectivity")}


def people(db) -> dict[str, Stakeholder]:
    db.session.expire_all()
    return {s.email: s for s in db.session.scalars(select(Stakeholder))}


def test_creates_and_updates_by_email_ignoring_case(db, areas):
    make_stakeholder(email="ann@example.com", name="Ann Old", department="HR")
    csv = ("email,name,department,location,service areas\n"
           "ANN@Example.com,Ann New,Finance,London,service-desk\n"
           "bo@example.com,Bo,Sales,Lisbon,Service Desk; network\n")

    report = import_stakeholders(csv.encode())
    db.session.commit()

    assert (report.created, report.updated, report.errors, report.applied) == (1, 1, [], True)
    stored = people(db)
    assert set(stored) == {"ann@example.com", "bo@example.com"}
    assert (stored["ann@example.com"].name, stored["ann@example.com"].department) == ("Ann New", "Finance")
    assert [a.code for a in stored["ann@example.com"].service_areas] == ["service-desk"]
    assert sorted(a.code for a in stored["bo@example.com"].service_areas) == ["network", "service-desk"]
    assert stored["bo@example.com"].location == "Lisbon"


def test_a_second_identical_import_changes_nothing(db, areas):
    csv = "email,name,service_areas\nann@example.com,Ann,network\n"
    import_stakeholders(csv)
    db.session.commit()
    again = import_stakeholders(csv)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_bad_rows_are_reported_with_line_numbers_and_nothing_changes(db, areas):
    make_stakeholder(email="keep@example.com", name="Unchanged")
    csv = ("Email;Name;Service areas\n"
           "keep@example.com;Changed;\n"
           "not-an-email;X;\n"
           ";No email;\n"
           "\n"
           "new@example.com;New;Catering\n"
           "other@example.com;Other;\n"
           "Other@example.com;Twice;\n")

    report = import_stakeholders(csv.encode("utf-8"))

    assert not report.applied
    assert [(e.line, e.reason.split(":")[0].split(" ")[0]) for e in report.errors] == [
        (3, "'not-an-email'"), (4, "email"), (6, "unknown"), (8, "other@example.com")]
    assert "Catering" in report.errors[2].reason
    assert "line 7" in report.errors[3].reason
    db.session.rollback()
    assert people(db)["keep@example.com"].name == "Unchanged"
    assert set(people(db)) == {"keep@example.com"}


def test_skip_invalid_imports_the_good_rows(db, areas):
    report = import_stakeholders("email\nok@example.com\nbad@\n", skip_invalid=True)
    db.session.commit()
    assert report.applied and report.created == 1 and [e.line for e in report.errors] == [3]
    assert set(people(db)) == {"ok@example.com"}


def test_sync_deactivates_those_missing_but_not_those_on_an_invalid_row(db, areas):
    make_stakeholder(email="stays@example.com")
    make_stakeholder(email="left@example.com")
    make_stakeholder(email="typo-row@example.com")
    make_stakeholder(email="returns@example.com", active=False)
    csv = ("email,service areas\nstays@example.com,\ntypo-row@example.com,Unknown Area\n"
           "returns@example.com,network\n")

    report = import_stakeholders(csv, sync=True, skip_invalid=True)
    db.session.commit()

    assert (report.deactivated, report.updated, len(report.errors)) == (1, 1, 1)
    state = {email: s.active for email, s in people(db).items()}
    assert state == {"stays@example.com": True, "left@example.com": False, "typo-row@example.com": True,
                     "returns@example.com": True}


def test_an_import_never_undoes_an_opt_out(db, areas):
    from datetime import datetime, timezone

    make_stakeholder(email="out@example.com", opted_out_at=datetime.now(timezone.utc))
    import_stakeholders("email,name\nout@example.com,Still Out\n")
    db.session.commit()
    assert people(db)["out@example.com"].opted_out


def test_utf8_with_bom_and_excel_semicolons(db, areas):
    csv = "\ufeffE-mail;Full name;Department;Service_areas\nzofia@example.com;Zofia Zielińska;Kraków;NETWORK\n"
    report = import_stakeholders(csv.encode("utf-8"))
    db.session.commit()
    assert report.created == 1 and not report.errors
    person = people(db)["zofia@example.com"]
    assert (person.name, person.department, [a.code for a in person.service_areas]) == \
        ("Zofia Zielińska", "Kraków", ["network"])


def test_quoted_fields_with_separators_inside(db, areas):
    csv = 'email,name,service areas\nq@example.com,"Quinn, Q.","Network & Connectivity;service-desk"\n'
    import_stakeholders(csv)
    db.session.commit()
    person = people(db)["q@example.com"]
    assert person.name == "Quinn, Q." and len(person.service_areas) == 2


@pytest.mark.parametrize("content, problem", [
    (b"", "empty"),
    (b"name,department\nAnn,HR\n", "email"),
    ("email\nann@example.com\n".encode("utf-16"), "UTF-8"),
])
def test_unusable_files_are_refused_with_a_reason(db, content, problem):
    with pytest.raises(InvalidInput) as error:
        import_stakeholders(content)
    assert problem in error.value.message


def test_cli_import_reports_rows_and_exit_status(runner, areas, tmp_path):
    good = tmp_path / "hr.csv"
    good.write_text("email,name\nann@example.com,Ann\n", encoding="utf-8")
    bad = tmp_path / "bad.csv"
    bad.write_text("email,name\nann@example.com,Ann\nnope,Nope\n", encoding="utf-8")

    refused = runner.invoke(args=["stakeholders", "import", str(bad)])
    assert refused.exit_code == 1 and "bad.csv:line 3" in refused.output
    result = runner.invoke(args=["stakeholders", "import", str(good), "--sync"])
    assert result.exit_code == 0, result.output
    assert "1 created" in result.output
    skipped = runner.invoke(args=["stakeholders", "import", str(bad), "--skip-invalid"])
    assert skipped.exit_code == 0 and "1 invalid row skipped" in skipped.output
