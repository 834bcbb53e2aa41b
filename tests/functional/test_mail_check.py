"""The test message (`flask dispatch test EMAIL` and the campaign page's form) against a real SMTP server
on loopback, and the dispatcher status on admin pages."""
from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy
from pathlib import Path

import pytest

from app.models.base import utcnow
from app.models.campaign import DispatcherState
from app.templating import format_datetime
from tests.factories import extract_csrf, make_campaign
from tests.smtp_server import smtp_server  # noqa: F401 (fixture)

RECIPIENT = "it-admin@example.com"


@pytest.fixture
def smtp_configured(app, smtp_server, monkeypatch):  # noqa: F811 (fixture)
    for key, value in {"SMTP_HOST": smtp_server.host, "SMTP_PORT": smtp_server.port, "SMTP_SECURITY": "none",
                       "SMTP_TIMEOUT": 5.0}.items():
        monkeypatch.setitem(app.config, key, value)
    return smtp_server


def send_from_campaign_page(client, campaign, email=RECIPIENT):
    page = client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    response = client.post(f"/admin/campaigns/{campaign.id}/test-message",
                           data={"csrf_token": extract_csrf(page), "email": email})
    return response


# the command -------------------------------------------------------------------------------------------

def test_command_reports_the_servers_final_reply(runner, smtp_configured):
    result = runner.invoke(args=["dispatch", "test", RECIPIENT])
    assert result.exit_code == 0, result.output
    assert "250 Message accepted for delivery" in result.output
    [received] = smtp_configured.to(RECIPIENT)
    assert received["Subject"] == "VendorPulse test message"
    assert "VendorPulse test message" in received.get_content()


def test_command_reports_a_refusal_and_fails(runner, smtp_configured):
    smtp_configured.refuse(RECIPIENT, "550 5.1.1 No such mailbox here")
    result = runner.invoke(args=["dispatch", "test", RECIPIENT])
    assert result.exit_code == 1
    assert "not sent: 550 5.1.1 No such mailbox here" in result.output
    assert smtp_configured.received == []


def test_command_reports_an_unreachable_server(runner, smtp_configured):
    smtp_configured.stop()
    result = runner.invoke(args=["dispatch", "test", RECIPIENT])
    assert result.exit_code == 1
    assert f"Cannot use SMTP server {smtp_configured.host}:{smtp_configured.port}" in result.output


def test_command_without_smtp_writes_the_outbox_file(app, runner):
    assert not app.config["SMTP_HOST"]
    result = runner.invoke(args=["dispatch", "test", RECIPIENT])
    assert result.exit_code == 0, result.output
    written = Path(result.output.strip().rpartition(" written to ")[2])
    assert written.parent == Path(app.config["MAIL_OUTBOX_DIR"]).resolve() and written.suffix == ".eml"
    message = message_from_bytes(written.read_bytes(), policy=policy.default)
    assert (message["To"], message["Subject"]) == (RECIPIENT, "VendorPulse test message")


def test_command_refuses_an_address_that_is_not_one(runner):
    result = runner.invoke(args=["dispatch", "test", "not-an-address"])
    assert result.exit_code == 2
    assert "not an email address" in result.output


# the campaign page -------------------------------------------------------------------------------------

def test_campaign_page_sends_and_shows_the_reply(admin_client, survey, smtp_configured):
    campaign = make_campaign(survey)
    response = send_from_campaign_page(admin_client, campaign)
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/admin/campaigns/{campaign.id}")
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The mail server accepted the test message: 250 Message accepted for delivery" in page
    assert len(smtp_configured.to(RECIPIENT)) == 1


def test_campaign_page_shows_the_refusal(admin_client, survey, smtp_configured):
    campaign = make_campaign(survey)
    smtp_configured.refuse(RECIPIENT)
    response = send_from_campaign_page(admin_client, campaign)
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "The test message was not sent: 550 5.1.1 User unknown" in page
    assert 'class="flash flash-error"' in page


def test_campaign_page_without_smtp_names_the_outbox_file(app, admin_client, survey):
    campaign = make_campaign(survey)
    response = send_from_campaign_page(admin_client, campaign)
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "the test message was written to " + str(Path(app.config["MAIL_OUTBOX_DIR"]).resolve()) in page


def test_campaign_page_rejects_a_bad_address_and_is_rate_limited(admin_client, survey):
    campaign = make_campaign(survey)
    page = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    token = extract_csrf(page)
    statuses = []
    for _ in range(11):
        response = admin_client.post(f"/admin/campaigns/{campaign.id}/test-message",
                                     data={"csrf_token": token, "email": "nobody"})
        statuses.append(response.status_code)
        if response.status_code == 302:
            assert "is not an email address" in admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert statuses == [302] * 10 + [429]


def test_campaign_page_has_the_form(admin_client, survey):
    campaign = make_campaign(survey)
    page = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert f'action="/admin/campaigns/{campaign.id}/test-message"' in page
    assert '<label for="test-message-email">' in page


# the dispatcher status ---------------------------------------------------------------------------------

def test_admin_pages_warn_when_the_dispatcher_never_ran(admin_client):
    page = admin_client.get("/admin/campaigns").get_data(as_text=True)
    assert "The dispatcher is not running" in page and "it has never run" in page
    assert "<code>flask dispatch serve</code>" in page


def test_admin_pages_warn_when_the_last_pass_is_old(app, admin_client, db):
    last_pass = utcnow() - timedelta(minutes=25)
    db.session.add(DispatcherState(id=1, last_pass_at=last_pass, last_pass_by="host:1"))
    db.session.commit()
    page = admin_client.get("/admin/stakeholders").get_data(as_text=True)
    assert "The dispatcher is not running" in page and "<code>flask dispatch serve</code>" in page
    assert f"its last pass was {format_datetime(last_pass)}" in page


def test_admin_pages_show_a_recent_pass_without_warning(app, admin_client, db):
    last_pass = utcnow() - timedelta(minutes=2)
    db.session.add(DispatcherState(id=1, last_pass_at=last_pass, last_pass_by="worker-7"))
    db.session.commit()
    page = admin_client.get("/admin/campaigns").get_data(as_text=True)
    assert f"Dispatcher: last pass {format_datetime(last_pass)} by worker-7." in page
    assert "The dispatcher is not running" not in page and "flask dispatch serve" not in page


def test_status_is_only_on_admin_pages(admin_client):
    page = admin_client.get("/dashboard/scorecard").get_data(as_text=True)
    assert "dispatcher" not in page.lower()
