"""Importing HR's stakeholder CSV: upsert, sync, line-numbered errors, encodings and separators."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from app.errors import InvalidInput
from app.models import Stakeholder
from app.services import stakeholders as stakeholder_service
from app.services.stakeholders import TooManyDeactivations, import_stakeholders
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

    report = import_stakeholders(csv, sync=True, skip_invalid=True, force=True)  # 1 of 3 active: over 10%
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


@pytest.mark.parametrize("content, line, words", [
    # A stray quote: without strict reading, every following row vanished into one name.
    ('email,name\nann@example.com,Ann\nbo@example.com,"Bo\ncy@example.com,Cy\ndi@example.com,Di\n',
     3, "never closed"),
    # Closed again further down: the rows between would have been swallowed all the same.
    ('email,name\nann@example.com,"Ann\nbo@example.com,Bo\ncy@example.com,Cy"\ndi@example.com,Di\n',
     2, "to line 4"),
    ('email,name\nann@example.com,"Ann" Smith\n', 2, "more text follows"),
    ('"email"\t"name"\nann@example.com\tAnn\n', 1, "more text follows"),  # found by test_properties
    ('email,"name\n",department\nann@example.com,Ann,HR\n', 1, "to line 2"),
    ("email,name\nann@example.com," + "x" * 200_000 + "\n", 2, "not valid CSV (field larger than field limit"),
    ("email,name,department\nann@example.com,Ann,HR\nbo@example.com,Bo\n", 3,
     "has 2 values but the first line names 3"),
    ("email;name\nann@example.com;Ann;HR;x\n", 2, "has 4 values but the first line names 2 columns"),
    (b"email,name\nann@example.com,Ann\nbo@example.com,B\xf6\n", 3, "not UTF-8"),
])
@pytest.mark.parametrize("skip_invalid", [False, True])
def test_a_broken_file_is_refused_whole_with_its_line(db, content, line, words, skip_invalid):
    make_stakeholder(email="ann@example.com", name="Before")
    with pytest.raises(InvalidInput) as error:
        import_stakeholders(content, sync=True, skip_invalid=skip_invalid, force=True)
    db.session.rollback()
    assert error.value.message.startswith(f"Line {line}") and words in error.value.message
    assert {e: (p.name, p.active) for e, p in people(db).items()} == {"ann@example.com": ("Before", True)}


def test_quoted_values_on_crlf_lines_and_blank_lines_are_fine(db, areas):
    csv = 'email,name\r\n"ann@example.com","Smith, Ann"\r\n\r\nbo@example.com,"Bo ""B"" Brown"\r\n'
    report = import_stakeholders(csv)
    db.session.commit()
    assert report.created == 2 and {e: p.name for e, p in people(db).items()} == {
        "ann@example.com": "Smith, Ann", "bo@example.com": 'Bo "B" Brown'}


def test_sync_refuses_to_deactivate_more_than_a_tenth_unless_forced(db, areas):
    for i in range(20):
        make_stakeholder(email=f"p{i}@example.com")
    two_missing = "email\n" + "".join(f"p{i}@example.com\n" for i in range(18))
    three_missing = "email\n" + "".join(f"p{i}@example.com\n" for i in range(17))

    with pytest.raises(TooManyDeactivations) as refused:
        import_stakeholders(three_missing, sync=True)
    assert (refused.value.would_deactivate, refused.value.active) == (3, 20)
    assert "deactivate 3 of the 20 active people (15%)" in refused.value.message
    assert all(p.active for p in people(db).values()), "a refused import writes nothing"

    allowed = import_stakeholders(two_missing, sync=True)  # 2 of 20 is 10%: no confirmation needed
    assert (allowed.applied, allowed.deactivated) == (True, 2)
    db.session.execute(update(Stakeholder).values(active=True))  # everyone back, for the forced run
    db.session.commit()

    forced = import_stakeholders(three_missing, sync=True, force=True)
    assert forced.deactivated == 3
    assert sorted(e for e, p in people(db).items() if not p.active) == [
        "p17@example.com", "p18@example.com", "p19@example.com"]


def test_an_import_streams_in_chunks_and_loads_no_stakeholder_objects(db, areas, monkeypatch):
    from sqlalchemy import event

    for i in range(4):
        make_stakeholder(email=f"known{i}@example.com", name="Old", areas=[areas["desk"]])
    make_stakeholder(email="gone@example.com")
    db.session.expunge_all()
    monkeypatch.setattr(stakeholder_service, "CHUNK_SIZE", 3)
    chunk_sizes = []
    real_apply = stakeholder_service._apply_chunk

    def spy(rows, columns, report):
        chunk_sizes.append(len(rows))
        real_apply(rows, columns, report)

    monkeypatch.setattr(stakeholder_service, "_apply_chunk", spy)
    loaded = []
    listener = lambda target, context: loaded.append(target)  # noqa: E731
    event.listen(Stakeholder, "load", listener)
    try:
        rows = [f"known{i}@example.com,New,network" for i in range(4)] + \
               [f"new{i}@example.com,Fresh,service-desk;network" for i in range(6)]
        report = import_stakeholders(("email,name,service areas\n" + "\n".join(rows) + "\n").encode(),
                                     sync=True, force=True)
    finally:
        event.remove(Stakeholder, "load", listener)
    db.session.commit()

    assert chunk_sizes == [3, 3, 3, 1] and loaded == []
    assert (report.created, report.updated, report.deactivated) == (6, 4, 1)
    stored = people(db)
    assert stored["known0@example.com"].name == "New"
    assert [a.code for a in stored["known3@example.com"].service_areas] == ["network"]
    assert sorted(a.code for a in stored["new5@example.com"].service_areas) == ["network", "service-desk"]
    assert not stored["gone@example.com"].active


def test_a_file_full_of_bad_rows_lists_the_first_ones_and_counts_all(db, monkeypatch):
    monkeypatch.setattr(stakeholder_service, "MAX_LISTED_ERRORS", 2)
    report = import_stakeholders("email\n" + "nope\n" * 5)
    assert [e.line for e in report.errors] == [2, 3] and report.invalid_rows == 5
    assert report.summary().endswith("5 invalid rows (nothing was changed)")


def test_an_import_reads_a_binary_file(db, areas, tmp_path):
    path = tmp_path / "hr.csv"
    path.write_bytes("email,name\nann@example.com,Ann\n".encode())
    with path.open("rb") as file:
        report = import_stakeholders(file)
    db.session.commit()
    assert report.created == 1 and set(people(db)) == {"ann@example.com"}


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


def test_cli_refuses_a_broken_file_and_a_large_sync_without_force(runner, db, tmp_path):
    for i in range(5):
        make_stakeholder(email=f"p{i}@example.com")
    broken = tmp_path / "broken.csv"
    broken.write_text('email,name\np0@example.com,"P\np1@example.com,Q\n', encoding="utf-8")
    short = tmp_path / "short.csv"
    short.write_text("email\np0@example.com\np1@example.com\n", encoding="utf-8")

    refused = runner.invoke(args=["stakeholders", "import", str(broken), "--skip-invalid"])
    assert refused.exit_code == 1 and "Line 2: a quoted value starts on this line and is never closed" in refused.output
    too_many = runner.invoke(args=["stakeholders", "import", str(short), "--sync"])
    assert too_many.exit_code == 1
    assert "would deactivate 3 of the 5 active people" in too_many.output and "--force" in too_many.output
    assert all(p.active for p in people(db).values())
    forced = runner.invoke(args=["stakeholders", "import", str(short), "--sync", "--force"])
    assert forced.exit_code == 0, forced.output
    assert "3 deactivated" in forced.output
    assert sorted(e for e, p in people(db).items() if p.active) == ["p0@example.com", "p1@example.com"]
