"""Admin stakeholder pages: list, search, opt-out undo, CSV upload with per-row errors."""
from __future__ import annotations

import io
import re
from datetime import datetime, timezone

from sqlalchemy import select

from app.models import Stakeholder
from tests.factories import extract_csrf, make_area, make_provider, make_stakeholder


def upload(client, content: bytes, **options):
    token = extract_csrf(client.get("/admin/stakeholders/import").get_data(as_text=True))
    data = {"csrf_token": token, "file": (io.BytesIO(content), "hr.csv"), **options}
    return client.post("/admin/stakeholders/import", data=data, content_type="multipart/form-data")


def checkbox_is_ticked(page: str, name: str) -> bool:
    tag = re.search(rf'<input[^>]*name="{name}"[^>]*>', page)
    assert tag, f"no {name} checkbox"
    return " checked" in tag.group()


def emails(db) -> set[str]:
    db.session.expire_all()
    return set(db.session.scalars(select(Stakeholder.email)))


def test_only_admins_see_the_pages(client, manager_client):
    assert manager_client.get("/admin/stakeholders").status_code == 403
    assert manager_client.get("/admin/stakeholders/import").status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, db):
    response = client.get("/admin/stakeholders")
    assert response.status_code == 302 and "/auth/login" in response.headers["Location"]


def test_list_search_and_counts(admin_client, db):
    make_stakeholder(email="ann@example.com", department="Finance")
    make_stakeholder(email="bo@example.com", department="Sales")
    make_stakeholder(email="cy@example.com", department="Sales", opted_out_at=datetime.now(timezone.utc))

    page = admin_client.get("/admin/stakeholders").get_data(as_text=True)
    assert "3 people, 3 active, 1 opted out" in page
    sales = admin_client.get("/admin/stakeholders?q=SALES").get_data(as_text=True)
    assert "bo@example.com" in sales and "cy@example.com" in sales and "ann@example.com" not in sales
    only_out = admin_client.get("/admin/stakeholders?opted_out=1").get_data(as_text=True)
    assert "cy@example.com" in only_out and "bo@example.com" not in only_out


def test_undo_an_opt_out(admin_client, db):
    person = make_stakeholder(email="cy@example.com", opted_out_at=datetime.now(timezone.utc))
    page = admin_client.get("/admin/stakeholders?opted_out=1").get_data(as_text=True)
    assert "Undo opt-out" in page
    response = admin_client.post(f"/admin/stakeholders/{person.id}/opt-in",
                                 data={"csrf_token": extract_csrf(page), "opted_out": "1"})
    assert response.status_code == 302
    followed = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "cy@example.com will be invited to surveys again" in followed
    db.session.expire_all()
    assert db.session.get(Stakeholder, person.id).opted_out_at is None


def test_undo_without_csrf_token_is_refused(admin_client, db):
    person = make_stakeholder(opted_out_at=datetime.now(timezone.utc))
    assert admin_client.post(f"/admin/stakeholders/{person.id}/opt-in").status_code == 400
    db.session.expire_all()
    assert db.session.get(Stakeholder, person.id).opted_out


def test_upload_imports_and_redirects_with_a_summary(admin_client, db):
    make_area(make_provider(), code="service-desk", name="Service Desk")
    response = upload(admin_client, b"email;name;service areas\nann@example.com;Ann;Service Desk\n")
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Import finished: 1 created" in page
    assert emails(db) == {"ann@example.com"}


def test_upload_with_bad_rows_shows_them_and_keeps_nothing(admin_client, db):
    response = upload(admin_client, b"email,name\nann@example.com,Ann\nnot-an-email,X\nann@example.com,Again\n")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "2 rows need fixing; nothing was imported" in page
    assert "<td class=\"num\">3</td>" in page and "<td class=\"num\">4</td>" in page
    assert "already appears on line 2" in page
    assert emails(db) == set()


def test_upload_skipping_invalid_rows_lists_them_after_the_redirect(admin_client, db):
    response = upload(admin_client, b"email\nann@example.com\nnope\n", skip_invalid="y")
    assert response.status_code == 302
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "1 invalid row skipped" in page and "Skipped line 3" in page
    assert emails(db) == {"ann@example.com"}


def test_upload_without_a_file_or_with_an_unreadable_one_is_422(admin_client, db):
    token = extract_csrf(admin_client.get("/admin/stakeholders/import").get_data(as_text=True))
    missing = admin_client.post("/admin/stakeholders/import", data={"csrf_token": token},
                                content_type="multipart/form-data")
    assert missing.status_code == 422 and "Choose a CSV file." in missing.get_data(as_text=True)
    no_email = upload(admin_client, b"name\nAnn\n")
    assert no_email.status_code == 422 and "email" in no_email.get_data(as_text=True)


def test_a_huge_upload_gets_413(app, admin_client, db):
    response = upload(admin_client, b"email\n" + b"x" * (app.config["MAX_CONTENT_LENGTH"] + 1))
    assert response.status_code == 413
    assert emails(db) == set()


def test_an_unclosed_quote_is_refused_with_its_line_and_nothing_is_kept(admin_client, db):
    make_stakeholder(email="kept@example.com", name="Kept")
    content = b'email,name\nann@example.com,Ann\nbo@example.com,"Bo\ncy@example.com,Cy\ndi@example.com,Di\n'
    response = upload(admin_client, content, sync="y", skip_invalid="y")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Line 3: a quoted value starts on this line and is never closed" in page
    # What the admin chose is kept for the next try.
    assert checkbox_is_ticked(page, "sync") and checkbox_is_ticked(page, "skip_invalid")
    assert emails(db) == {"kept@example.com"}
    db.session.expire_all()
    assert db.session.scalar(select(Stakeholder.active).where(Stakeholder.email == "kept@example.com"))


def test_a_ragged_row_is_refused(admin_client, db):
    response = upload(admin_client, b"email;name;department\nann@example.com;Ann;HR\nbo@example.com;Bo\n")
    assert response.status_code == 422
    assert "Line 3 has 2 values but the first line names 3 columns" in response.get_data(as_text=True)
    assert emails(db) == set()


def test_sync_over_a_tenth_asks_for_confirmation_then_goes_ahead(admin_client, db):
    for i in range(10):
        make_stakeholder(email=f"p{i}@example.com")
    partial = "email\n" + "".join(f"p{i}@example.com\n" for i in range(7))

    refused = upload(admin_client, partial.encode(), sync="y")
    assert refused.status_code == 422
    page = refused.get_data(as_text=True)
    assert "3 of 10 active people would be deactivated; nothing was imported" in page
    assert checkbox_is_ticked(page, "sync") and not checkbox_is_ticked(page, "skip_invalid")
    assert 'name="confirm_deactivation"' in page and not checkbox_is_ticked(page, "confirm_deactivation")
    db.session.expire_all()
    assert all(db.session.scalars(select(Stakeholder.active)))

    confirmed = upload(admin_client, partial.encode(), sync="y", confirm_deactivation="y")
    assert confirmed.status_code == 302
    assert "3 deactivated" in admin_client.get(confirmed.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert sorted(db.session.scalars(select(Stakeholder.email).where(Stakeholder.active.is_(False)))) == [
        "p7@example.com", "p8@example.com", "p9@example.com"]


def test_the_confirmation_alone_does_not_deactivate_without_sync(admin_client, db):
    for i in range(3):
        make_stakeholder(email=f"p{i}@example.com")
    response = upload(admin_client, b"email\np0@example.com\n", confirm_deactivation="y")
    assert response.status_code == 302
    db.session.expire_all()
    assert all(db.session.scalars(select(Stakeholder.active)))
