"""Admin campaign pages: creation with validation, the wave table with counts, open/close/resend."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parseaddr

from sqlalchemy import func, select

from app.models import Campaign, Invitation, InvitationToken, Wave
from tests.factories import extract_csrf, make_area, make_campaign, make_invitation, make_provider, make_stakeholder, \
    make_wave


def form_values(survey, provider, **overrides):
    values = {"name": "Quarterly pulse", "provider_id": str(provider.id), "definition_id": str(survey.id),
              "cadence": "quarterly", "interval_count": "1", "anchor_date": "2030-01-15", "window_days": "14",
              "reminder_days": "5, 10", "anonymity": "anonymous", "min_group_size": "5", "fatigue_days": "30",
              "audience_departments": "Finance, Sales"}
    values.update(overrides)
    return values


def test_only_admins(manager_client, db):
    assert manager_client.get("/admin/campaigns").status_code == 403
    assert manager_client.get("/admin/campaigns/new").status_code == 403


def test_create_a_campaign(admin_client, db, survey):
    provider = make_provider("Northwind IT")
    make_area(provider, code="service-desk")
    page = admin_client.get("/admin/campaigns/new").get_data(as_text=True)
    response = admin_client.post("/admin/campaigns/new",
                                 data={**form_values(survey, provider), "csrf_token": extract_csrf(page)})
    assert response.status_code == 302
    detail = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Campaign Quarterly pulse created." in detail and "2030-Q1" in detail and "scheduled" in detail
    campaign = db.session.scalar(select(Campaign))
    assert (campaign.anonymity, campaign.reminder_days, campaign.audience_departments, campaign.fatigue_days) == \
        ("anonymous", [5, 10], ["Finance", "Sales"], 30)
    assert campaign.sender_name is None and campaign.reply_to is None, "left empty: the configured sender"
    listing = admin_client.get("/admin/campaigns").get_data(as_text=True)
    assert "Quarterly pulse" in listing and "Northwind IT" in listing


def test_invalid_input_is_422_and_keeps_what_was_typed(admin_client, db, survey):
    provider = make_provider("Northwind IT")
    make_area(provider)
    page = admin_client.get("/admin/campaigns/new").get_data(as_text=True)
    response = admin_client.post("/admin/campaigns/new", data={
        **form_values(survey, provider, name="Typed name", reminder_days="3, 20", window_days="14"),
        "csrf_token": extract_csrf(page)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Reminder days must fall inside the window" in html
    assert 'value="Typed name"' in html and 'value="3, 20"' in html
    missing = admin_client.post("/admin/campaigns/new", data={
        **form_values(survey, provider, anchor_date=""), "csrf_token": extract_csrf(page)})
    assert missing.status_code == 422 and "Give the date of the first wave." in missing.get_data(as_text=True)
    assert db.session.scalar(select(Campaign)) is None


def test_a_new_campaign_is_created_with_its_sender_name_and_reply_to(admin_client, app, db, survey):
    provider = make_provider("Northwind IT")
    make_area(provider, code="service-desk")
    page = admin_client.get("/admin/campaigns/new").get_data(as_text=True)
    assert "Who the emails come from" in page and "show this name as their sender" in page
    assert 'name="sender_name"' in page and 'name="reply_to"' in page
    response = admin_client.post("/admin/campaigns/new", data={
        **form_values(survey, provider, sender_name="  Vendor Management\n Team ", reply_to="Vendor-Team@Example.ORG"),
        "csrf_token": extract_csrf(page)})
    assert response.status_code == 302
    campaign = db.session.scalar(select(Campaign))
    assert (campaign.sender_name, campaign.reply_to) == ("Vendor Management Team", "Vendor-Team@example.org")
    detail = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert 'value="Vendor Management Team"' in detail and 'value="Vendor-Team@example.org"' in detail
    previews = detail.split('id="email-preview"')[1]
    address = parseaddr(app.config["MAIL_FROM"])[1]
    assert previews.count(f"Vendor Management Team &lt;{address}&gt;") == 2  # invitation and reminder
    assert previews.count("Reply-To:</span> Vendor-Team@example.org") == 2


def test_a_new_campaign_with_an_invalid_reply_to_is_refused_keeping_what_was_typed(admin_client, db, survey):
    provider = make_provider("Northwind IT")
    make_area(provider)
    page = admin_client.get("/admin/campaigns/new").get_data(as_text=True)
    response = admin_client.post("/admin/campaigns/new", data={
        **form_values(survey, provider, name="Typed name", sender_name="Vendor Team", reply_to="not an address"),
        "csrf_token": extract_csrf(page)})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Give one email address, e.g. vendor-team@example.org" in html
    assert 'value="Vendor Team"' in html and 'value="not an address"' in html and 'value="Typed name"' in html
    # refused with the other fields' mistakes at once, and by the form's own length limit
    both = admin_client.post("/admin/campaigns/new", data={
        **form_values(survey, provider, reminder_days="3, 20", reply_to="two@example.org, three@example.org"),
        "csrf_token": extract_csrf(page)}).get_data(as_text=True)
    assert "Reminder days must fall inside the window" in both and "Give one email address" in both
    too_long = admin_client.post("/admin/campaigns/new", data={
        **form_values(survey, provider, sender_name="x" * 121), "csrf_token": extract_csrf(page)})
    assert too_long.status_code == 422
    assert db.session.scalar(select(Campaign)) is None


def test_wave_table_counts_and_actions(admin_client, db, survey):
    campaign = make_campaign(survey, name="Pulse")
    now = datetime.now(timezone.utc)
    current = make_wave(campaign, label="2026-Q1", opens_at=now - timedelta(days=2))
    upcoming = make_wave(campaign, label="2026-Q2", state="scheduled", opens_at=now + timedelta(days=80))
    make_invitation(current, state="sent", opened_at=now, responded_at=now)
    make_invitation(current, state="sent")
    failed, _ = make_invitation(current, make_stakeholder(email="bounce@example.com"), state="failed",
                                last_error="550 5.1.1 User unknown")

    page = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    row = page[page.index("<td>2026-Q1</td>"):]
    row = row[:row.index("</tr>")]
    cells = [c.split(">")[-1] for c in row.split("</td>")[4:10]]
    assert cells == ["3", "2", "1", "1", "1", "50%"]
    assert "bounce@example.com" in page and "550 5.1.1 User unknown" in page
    token = extract_csrf(page)

    resent = admin_client.post(f"/admin/invitations/{failed.id}/resend", data={"csrf_token": token})
    assert resent.status_code == 302
    assert "will be sent again" in admin_client.get(resent.headers["Location"]).get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(Invitation, failed.id).state == "pending"

    opened = admin_client.post(f"/admin/waves/{upcoming.id}/open", data={"csrf_token": token})
    assert opened.status_code == 302
    assert "is open" in admin_client.get(opened.headers["Location"]).get_data(as_text=True)
    twice = admin_client.post(f"/admin/waves/{upcoming.id}/open", data={"csrf_token": token})
    assert "only a scheduled wave can open" in admin_client.get(twice.headers["Location"]).get_data(as_text=True)

    closed = admin_client.post(f"/admin/waves/{current.id}/close", data={"csrf_token": token})
    assert closed.status_code == 302
    db.session.expire_all()
    assert db.session.get(Wave, current.id).state == "closed"
    assert db.session.get(Wave, upcoming.id).state == "open"
    assert admin_client.post(f"/admin/waves/{current.id}/close").status_code == 400  # no CSRF token
    assert admin_client.post("/admin/waves/999999/close", data={"csrf_token": token}).status_code == 404


def test_campaign_page_previews_both_emails_without_a_real_link(admin_client, app, db, survey, monkeypatch):
    monkeypatch.setitem(app.config, "ORGANISATION_NAME", "IT Vendor Management")
    monkeypatch.setitem(app.config, "SURVEY_CONTACT", "it-vendors@example.org")
    provider = make_provider("Northwind IT")
    campaign = make_campaign(survey, provider=provider, areas=[make_area(provider, name="Service Desk")])
    wave = make_wave(campaign, label="2026-Q4", state="open")
    make_invitation(wave, make_stakeholder(email="real@example.com"))
    tokens_before = db.session.scalar(select(func.count()).select_from(InvitationToken))
    page = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    previews = page.split('id="email-preview"')[1].split('id="test-message"')[0]
    assert previews.count("<details") == 2 and previews.count("<pre>") == 2
    assert "How did Northwind IT do in Q4 2026 (October–December 2026)? Your short survey" in previews
    assert "Reminder: your Q4 2026 (October–December 2026) survey about Northwind IT" in previews
    assert "IT Vendor Management asks: how did Northwind IT" in previews
    assert previews.count("Questions? Contact it-vendors@example.org.") == 2
    assert "Service Desk" in previews and "Unsubscribe from these surveys" in previews
    assert "/s/example-link-not-a-real-survey" in previews and "real@example.com" not in previews
    assert db.session.scalar(select(func.count()).select_from(InvitationToken)) == tokens_before
