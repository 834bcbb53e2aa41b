"""A campaign's sender name and reply-to address: set on the admin campaign page, carried by its invitations and
reminders (From display name, Reply-To; the address and envelope sender stay as configured), shown in the
email preview."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import parseaddr

from sqlalchemy import update

from app.extensions import db as _db
from app.models import Campaign, Invitation
from app.services.dispatch import run_dispatch_pass
from tests.factories import extract_csrf, make_area, make_campaign, make_provider, make_stakeholder, make_wave
from tests.smtp_server import smtp_server  # noqa: F401 (fixture)


def _campaign(survey, **fields) -> Campaign:
    provider = make_provider("Northwind IT")
    area = make_area(provider, code="service-desk", name="Service Desk")
    return make_campaign(survey, provider=provider, areas=[area], reminder_days=[5], window_days=14, **fields)


def _post(admin_client, campaign, **data):
    page = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    return admin_client.post(f"/admin/campaigns/{campaign.id}/sender",
                             data={"csrf_token": extract_csrf(page), **data})


def test_an_admin_sets_the_sender_and_the_preview_shows_it(admin_client, app, db, survey):
    campaign = _campaign(survey)
    make_wave(campaign, label="2026-Q4", state="open")
    response = _post(admin_client, campaign, sender_name="  Vendor Management\n Team ",
                     reply_to="Vendor-Team@Example.ORG")
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/campaigns/{campaign.id}")
    db.session.expire_all()
    assert (campaign.sender_name, campaign.reply_to) == ("Vendor Management Team", "Vendor-Team@example.org")
    page = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert 'value="Vendor Management Team"' in page
    previews = page.split('id="email-preview"')[1]
    address = parseaddr(app.config["MAIL_FROM"])[1]
    assert previews.count(f"Vendor Management Team &lt;{address}&gt;") == 2  # invitation and reminder
    assert previews.count("Reply-To:</span> Vendor-Team@example.org") == 2

    # emptied: back to the configured sender, no Reply-To
    assert _post(admin_client, campaign, sender_name="", reply_to="").status_code == 302
    db.session.expire_all()
    assert campaign.sender_name is None and campaign.reply_to is None
    page = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "Reply-To:" not in page.split('id="email-preview"')[1]


def test_an_invalid_reply_to_or_name_is_refused_next_to_the_field(admin_client, db, survey):
    campaign = _campaign(survey, sender_name="Kept")
    response = _post(admin_client, campaign, sender_name="Vendor Team", reply_to="not an address")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Give one email address" in html and 'value="not an address"' in html
    assert _post(admin_client, campaign, sender_name="Bad\x00Name", reply_to="").status_code == 422
    assert _post(admin_client, campaign, sender_name="x" * 121, reply_to="").status_code == 422
    db.session.expire_all()
    assert campaign.sender_name == "Kept" and campaign.reply_to is None


def test_invitations_and_reminders_carry_the_campaigns_sender_and_reply_to(db, survey, smtp_server):
    campaign = _campaign(survey, sender_name="Jo Müller, Vendor Management", reply_to="jo.mueller@example.org")
    other = make_campaign(survey, provider=make_provider("Other IT"), areas=[make_area(name="Printing")])
    opens = datetime.now(timezone.utc) - timedelta(days=30)
    make_wave(campaign, label="2026-Q1", state="scheduled", opens_at=opens, days=14)
    make_wave(other, label="2026-Q1", state="scheduled", opens_at=opens, days=14)
    make_stakeholder(email="quiet@example.com")
    settings = smtp_server.settings(bounce_address="bounces@vendorpulse.test", bounce_secret="s" * 32)
    run_dispatch_pass(opens + timedelta(minutes=1), worker_id="w1", settings=settings)
    _db.session.execute(update(Invitation).where(Invitation.wave_id.in_([w.id for w in other.waves]))
                        .values(responded_at=opens + timedelta(hours=1)))  # no reminder from the other campaign
    _db.session.commit()
    assert run_dispatch_pass(opens + timedelta(days=5, hours=1), worker_id="w1", settings=settings) \
        .reminders_sent == 1

    received = [r for r in smtp_server.received if r.to == "quiet@example.com"]
    ours = [r for r in received if "Northwind IT" in r.message["Subject"]]
    assert [r.message["Subject"].startswith("Reminder") for r in ours] == [False, True]
    for r in ours:
        sender = r.message["From"].addresses[0]
        assert (sender.display_name, sender.addr_spec) == ("Jo Müller, Vendor Management",
                                                            "surveys@vendorpulse.test")
        assert r.message["Reply-To"] == "jo.mueller@example.org"
        assert r.mail_from.startswith("bounces+") and r.mail_from.endswith("@vendorpulse.test"), \
            "the envelope sender is the bounce address, as before"
    theirs = next(r for r in received if "Other IT" in r.message["Subject"])
    assert theirs.message["From"] == "VendorPulse <surveys@vendorpulse.test>" and theirs.message["Reply-To"] is None
