"""Building survey emails and classifying SMTP failures, against a real server where it matters."""
from __future__ import annotations

import dataclasses
import smtplib
import socket
from datetime import datetime, timezone

import pytest

from app.services.campaigns import human_wave_label
from app.services.invitations import issue_token
from app.services.mailer import (
    MailSettings,
    PermanentDeliveryError,
    SmtpTransport,
    ThrottledByServer,
    TransientDeliveryError,
    TransportUnavailable,
    classify_smtp_error,
    email_content,
    render_email,
)
from tests.factories import make_area, make_campaign, make_invitation, make_provider, make_stakeholder, make_wave
from tests.smtp_server import free_port, smtp_server  # noqa: F401 (fixture)

SETTINGS = MailSettings(base_url="https://surveys.example.org", timezone="America/New_York",
                        mail_from="Vendor Team <surveys@example.org>")


@pytest.fixture
def invitation(db, survey):
    provider = make_provider("Zürich Managed Services")
    desk = make_area(provider, name="Service Desk")
    campaign = make_campaign(survey, provider=provider, areas=[desk],
                             anonymity="confidential", min_group_size=7, cadence="monthly")
    wave = make_wave(campaign, label="2026-11", opens_at=datetime(2026, 11, 2, 14, tzinfo=timezone.utc), days=14)
    # The email names the areas this person is asked about: the ones they use.
    invitation, _ = make_invitation(wave, make_stakeholder(email="zofia@example.com", name="Zofia Zielińska",
                                                           areas=[desk]))
    return invitation


def build_email(invitation, token, settings, *, kind="invitation"):
    """The email one invitee gets: the content for the link, rendered (what the dispatcher sends)."""
    return render_email(email_content(invitation, token, settings, kind=kind), settings)


def test_invitation_email_names_provider_period_close_date_and_promise(invitation):
    token = issue_token(invitation)
    email = build_email(invitation, token, SETTINGS)
    message = email.message

    assert email.recipient == "zofia@example.com"
    assert email.survey_link == f"https://surveys.example.org/s/{token}"
    assert message["From"] == "Vendor Team <surveys@example.org>"
    assert str(message["To"]) == "Zofia Zielińska <zofia@example.com>"
    assert message["Subject"] == "How did Zürich Managed Services do in November 2026? Your short survey"
    assert message["Message-ID"].endswith("@example.org>")
    assert message["List-Unsubscribe"] == f"<https://surveys.example.org/s/{token}/unsubscribe>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    for part in (text, html):
        assert email.survey_link in part
        assert "Zürich Managed Services" in part and "November 2026" in part and "Service Desk" in part
        assert "2026-11" not in part
        # 16 November 19:00 UTC is 14:00 in New York (EST).
        assert "16 November 2026 at 09:00 (America/New_York)" in part
        assert "confidential" in part and "at least 7 people" in part
    assert "Zofia Zielińska" in text and "Zofia Zieli&#324;ska" not in text
    assert f'href="https://surveys.example.org/s/{token}/unsubscribe"' in html
    assert "Unsubscribe from these surveys" in text and "Do not want" not in text + html
    assert "Questions?" not in text + html and " asks" not in text  # no contact or organisation configured
    # The whole message survives the trip as 7-bit SMTP data.
    message.as_bytes().decode("ascii")


def test_reminder_says_so_and_html_escapes_names(invitation, db):
    invitation.stakeholder.name = "<b>Bo</b> & Co"
    db.session.commit()
    email = build_email(invitation, issue_token(invitation, "reminder"), SETTINGS, kind="reminder")
    assert email.message["Subject"] == "Reminder: your November 2026 survey about Zürich Managed Services closes " \
                                       "16 November"
    text = email.message.get_body(("plain",)).get_content()
    for part in (text, email.message.get_body(("html",)).get_content()):
        assert "has not been answered yet" in part and "already answered" not in part
        assert part.count("16 November 2026") == 1  # the closing date, said once
    html = email.message.get_body(("html",)).get_content()
    assert "&lt;b&gt;Bo&lt;/b&gt; &amp; Co" in html and "<b>Bo</b>" not in html
    assert "anonymous" not in email.message.get_body(("plain",)).get_content()


def test_anonymous_campaigns_promise_anonymity(invitation, db):
    invitation.wave.campaign.anonymity = "anonymous"
    db.session.commit()
    text = build_email(invitation, issue_token(invitation), SETTINGS).message.get_body(("plain",)).get_content()
    assert "Your answers are anonymous" in text


def test_organisation_and_contact_appear_in_greeting_and_footer(invitation):
    settings = dataclasses.replace(SETTINGS, organisation_name="IT Vendor Management",
                                   survey_contact="IT Vendor Management, it-vendors@example.org")
    for kind in ("invitation", "reminder"):
        message = build_email(invitation, issue_token(invitation, kind), settings, kind=kind).message
        text = message.get_body(("plain",)).get_content()
        html = message.get_body(("html",)).get_content()
        for part in (text, html):
            assert "Questions? Contact IT Vendor Management, it-vendors@example.org." in part, kind
        assert "Zofia Zielińska,\n\nIT Vendor Management " in text, kind
    assert "IT Vendor Management asks: how did Zürich Managed Services serve you in November 2026?" in \
        build_email(invitation, issue_token(invitation), settings).message.get_body(("plain",)).get_content()


@pytest.mark.parametrize("label, cadence, human", [
    ("2026-11", "monthly", "November 2026"),
    ("2026-Q4", "quarterly", "Q4 2026 (October\u2013December 2026)"),
    ("2026-W47", "weekly", "16\u201322 November 2026"),
    ("2026-W49", "weekly", "30 November \u2013 6 December 2026"),
    ("2026-W53", "weekly", "28 December 2026 \u2013 3 January 2027"),
    ("2027-W53", "weekly", "2027-W53"),  # 2027 has no week 53
    ("2026-11", "quarterly", "2026-11"),  # not this cadence's shape: left as typed
    ("Pilot", "monthly", "Pilot"),
])
def test_human_wave_label(label, cadence, human):
    assert human_wave_label(label, cadence) == human


@pytest.mark.parametrize("error, kind, reply", [
    (smtplib.SMTPRecipientsRefused({"a@x": (550, b"5.1.1 User unknown")}), PermanentDeliveryError,
     "550 5.1.1 User unknown"),
    (smtplib.SMTPRecipientsRefused({"a@x": (451, b"4.3.0 Try later")}), TransientDeliveryError, "451 4.3.0 Try later"),
    (smtplib.SMTPDataError(554, b"5.7.1 Rejected as spam"), PermanentDeliveryError, "554 5.7.1 Rejected as spam"),
    (smtplib.SMTPSenderRefused(421, b"4.7.0 Slow down", "from@x"), ThrottledByServer, "421 4.7.0 Slow down"),
    (smtplib.SMTPServerDisconnected("gone"), TransientDeliveryError, None),
    (socket.timeout("timed out"), TransientDeliveryError, None),
    (ConnectionRefusedError(111, "Connection refused"), TransientDeliveryError, None),
])
def test_failures_are_classified(error, kind, reply):
    classified = classify_smtp_error(error)
    assert type(classified) is kind
    if reply:
        assert classified.reply == reply


def test_a_refused_connection_makes_the_transport_unavailable(invitation):
    settings = MailSettings(base_url="http://x", timezone="UTC", mail_from="a@b.c", smtp_host="127.0.0.1",
                            smtp_port=free_port(), smtp_security="none", smtp_timeout=2)
    with pytest.raises(TransportUnavailable):
        with SmtpTransport(settings) as transport:
            transport.send(build_email(invitation, issue_token(invitation), settings))


def test_starttls_required_but_not_offered_is_unavailable_not_a_message_failure(invitation, smtp_server):
    settings = smtp_server.settings(smtp_security="starttls")
    with pytest.raises(TransportUnavailable) as error:
        with SmtpTransport(settings) as transport:
            transport.send(build_email(invitation, issue_token(invitation), settings))
    assert "STARTTLS" in error.value.reply
    assert smtp_server.received == []


def test_one_connection_carries_the_whole_batch(invitation, smtp_server, db):
    settings = smtp_server.settings()
    with SmtpTransport(settings) as transport:
        for _ in range(3):
            transport.send(build_email(invitation, issue_token(invitation), settings))
        first = transport._smtp
        assert first is not None
    assert len(smtp_server.received) == 3
    assert transport._smtp is None  # closed with the batch


def test_a_421_on_a_session_that_carried_messages_is_a_hang_up_and_a_fresh_connection_is_tried(
        invitation, smtp_server, db):
    # The server closes each session after one message and answers 421 to anything sent before the close
    # reaches the client: that is the end of a session, not a request to slow down.
    settings = smtp_server.settings()
    smtp_server.hang_up_after_each_message()
    with SmtpTransport(settings) as transport:
        for _ in range(5):
            transport.send(build_email(invitation, issue_token(invitation), settings))
    assert len(smtp_server.received) == 5


def test_a_421_on_a_fresh_connection_is_still_a_throttling_reply(invitation, smtp_server, db):
    settings = smtp_server.settings()
    smtp_server.throttle_after(0, reply="421 4.7.0 Too many messages, slow down")
    with pytest.raises(ThrottledByServer):
        with SmtpTransport(settings) as transport:
            transport.send(build_email(invitation, issue_token(invitation), settings))
