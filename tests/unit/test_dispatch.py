"""The dispatcher against a real SMTP server on loopback: what arrives, and what the database says."""
from __future__ import annotations

import logging
import re
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from app.models import Answer, Invitation, InvitationToken, Wave
from app.services.dispatch import LEASE, MAX_ATTEMPTS, retry_delay, run_dispatch_pass
from app.services.invitations import find_invitation
from app.services import dispatch as dispatch_service
from app.services.mailer import NAME_MAX_LENGTH, InvalidRecipient, MailSettings, checked_recipient
from tests.factories import make_area, make_campaign, make_invitation, make_provider, make_stakeholder, make_wave
from tests.smtp_server import smtp_server  # noqa: F401 (fixture)

LINK = re.compile(r"http://vendorpulse\.test/s/([A-Za-z0-9_-]{32})(?![A-Za-z0-9_/-])")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


def link_token(message) -> str:
    text = message.get_body(("plain",)).get_content()
    return LINK.search(text).group(1)


def invitations(db, **where) -> list[Invitation]:
    query = select(Invitation).order_by(Invitation.id).execution_options(populate_existing=True)
    for key, value in where.items():
        query = query.where(getattr(Invitation, key) == value)
    return list(db.session.scalars(query))


@pytest.fixture
def campaign(survey):
    provider = make_provider("Northwind IT")
    area = make_area(provider, code="service-desk", name="Service Desk")
    return make_campaign(survey, provider=provider, areas=[area], anonymity="anonymous", min_group_size=5,
                         reminder_days=[5, 10], window_days=14)


@pytest.fixture
def open_wave(campaign):
    return make_wave(campaign, label="2026-Q2", state="open", opens_at=datetime.now(timezone.utc) - timedelta(hours=1))


def test_a_pass_opens_the_due_wave_and_delivers_working_links(app, db, client, campaign, smtp_server):
    now = datetime.now(timezone.utc)
    wave = make_wave(campaign, label="2026-Q2", state="scheduled", opens_at=now - timedelta(minutes=5))
    alice = make_stakeholder(email="alice@example.com", name="Alice Adams")
    bob = make_stakeholder(email="bob@example.com", name="Bob Brown")
    make_stakeholder(email="gone@example.com", active=False)
    make_stakeholder(email="no-thanks@example.com", opted_out_at=now - timedelta(days=3))

    report = run_dispatch_pass(now, worker_id="w1", settings=smtp_server.settings())

    assert report.waves_opened == 1 and report.invited == 2 and report.sent == 2
    assert sorted(r.to for r in smtp_server.received) == ["alice@example.com", "bob@example.com"]
    message = smtp_server.to("alice@example.com")[0]
    assert "Northwind IT" in message["Subject"] and "Q2 2026" in message["Subject"]
    assert message["To"].addresses[0].display_name == "Alice Adams"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    token = link_token(message)
    for part in (text, html):
        assert f"http://vendorpulse.test/s/{token}" in part
        assert "anonymous" in part and "at least 5 people" in part
        assert "Northwind IT" in part and "Q2 2026" in part
    closes = wave.closes_at.astimezone(__import__("zoneinfo").ZoneInfo("Europe/London"))
    assert f"{closes:%B %Y at %H:%M} (Europe/London)" in text
    assert message["List-Unsubscribe"].strip() == f"<http://vendorpulse.test/s/{token}/unsubscribe>"
    assert f"http://vendorpulse.test/s/{token}/unsubscribe" in html

    invitation = find_invitation(token)
    assert invitation is not None and invitation.stakeholder_id == alice.id
    # Only the SHA-256 of the token is stored.
    assert db.session.scalar(select(func.count()).where(InvitationToken.token_hash == token)) == 0
    if any(rule.rule.startswith("/s/<") for rule in app.url_map.iter_rules()):
        assert client.get(f"/s/{token}").status_code != 404
        assert client.get(f"/s/{token}/unsubscribe").status_code != 404
        # RFC 8058 one-click: the mail client POSTs to the List-Unsubscribe URL.
        one_click = message["List-Unsubscribe"].strip().strip("<>").removeprefix("http://vendorpulse.test")
        assert client.post(one_click, data="List-Unsubscribe=One-Click",
                           content_type="application/x-www-form-urlencoded").status_code < 400
        db.session.expire_all()
        assert alice.opted_out
    rows = invitations(db)
    assert [(r.stakeholder_id, r.state, r.attempts) for r in rows] == [(alice.id, "sent", 1), (bob.id, "sent", 1)]
    assert all(r.sent_at is not None and r.claimed_by is None for r in rows)


def test_running_again_sends_nothing_twice(db, open_wave, smtp_server):
    for _ in range(3):
        make_invitation(open_wave)
    now = datetime.now(timezone.utc)
    first = run_dispatch_pass(now, worker_id="w1", settings=smtp_server.settings())
    second = run_dispatch_pass(now + timedelta(minutes=1), worker_id="w2", settings=smtp_server.settings())
    assert (first.sent, second.sent) == (3, 0)
    assert len(smtp_server.received) == 3


def test_a_451_is_retried_after_backoff_and_then_delivered(db, open_wave, smtp_server):
    deferred, _ = make_invitation(open_wave, make_stakeholder(email="busy@example.com"))
    make_invitation(open_wave, make_stakeholder(email="fine@example.com"))
    smtp_server.defer_once("busy@example.com")
    now = datetime.now(timezone.utc)

    report = run_dispatch_pass(now, worker_id="w1", settings=smtp_server.settings())

    assert (report.sent, report.retrying) == (1, 1)
    row = invitations(db, id=deferred.id)[0]
    assert row.state == "pending" and row.attempts == 1 and "451" in row.last_error
    assert row.next_attempt_at >= now + retry_delay(1) - timedelta(seconds=1)
    assert smtp_server.to("busy@example.com") == []
    # Not due yet: nothing happens.
    assert run_dispatch_pass(now + timedelta(seconds=30), worker_id="w1", settings=smtp_server.settings()).sent == 0

    later = run_dispatch_pass(now + retry_delay(1) + timedelta(seconds=1), worker_id="w1",
                              settings=smtp_server.settings())

    assert later.sent == 1
    assert len(smtp_server.to("busy@example.com")) == 1
    row = invitations(db, id=deferred.id)[0]
    assert row.state == "sent" and row.attempts == 2 and row.last_error is None


def test_a_550_fails_one_invitation_and_the_rest_are_sent(db, open_wave, smtp_server):
    people = [make_stakeholder(email=f"p{i}@example.com") for i in range(4)]
    for person in people:
        make_invitation(open_wave, person)
    smtp_server.refuse("p1@example.com", "550 5.1.1 <p1@example.com>: Recipient address rejected: User unknown")

    report = run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1", settings=smtp_server.settings())

    assert (report.sent, report.failed) == (3, 1)
    assert sorted(r.to for r in smtp_server.received) == ["p0@example.com", "p2@example.com", "p3@example.com"]
    failed = [r for r in invitations(db) if r.state == "failed"]
    assert [r.stakeholder_id for r in failed] == [people[1].id]
    assert failed[0].last_error.startswith("550 5.1.1") and "User unknown" in failed[0].last_error


def test_transient_failures_give_up_after_the_maximum_attempts(db, open_wave, smtp_server):
    invitation, _ = make_invitation(open_wave, make_stakeholder(email="flaky@example.com"))
    for _ in range(MAX_ATTEMPTS):
        smtp_server.defer_once("flaky@example.com", "450 4.2.0 Mailbox temporarily unavailable")
    now = datetime.now(timezone.utc)
    for _ in range(MAX_ATTEMPTS):
        run_dispatch_pass(now, worker_id="w1", settings=smtp_server.settings())
        now += timedelta(hours=3)
    row = invitations(db, id=invitation.id)[0]
    assert row.state == "failed" and row.attempts == MAX_ATTEMPTS and "450" in row.last_error
    assert smtp_server.received == []


def test_a_server_that_is_down_leaves_everything_pending_and_loses_nothing(db, open_wave, smtp_server):
    for i in range(3):
        make_invitation(open_wave, make_stakeholder(email=f"down{i}@example.com"))
    smtp_server.stop()
    now = datetime.now(timezone.utc)

    report = run_dispatch_pass(now, worker_id="w1", settings=smtp_server.settings())

    assert report.sent == 0 and report.smtp_unavailable and "Connection refused" in report.smtp_unavailable
    rows = invitations(db)
    assert {(r.state, r.attempts) for r in rows} == {("pending", 0)}
    smtp_server.start()
    assert run_dispatch_pass(now + timedelta(minutes=2), worker_id="w1", settings=smtp_server.settings()).sent == 3
    assert sorted(r.to for r in smtp_server.received) == [f"down{i}@example.com" for i in range(3)]


def test_a_dropped_connection_is_reopened_mid_batch(db, open_wave, smtp_server):
    for i in range(4):
        make_invitation(open_wave, make_stakeholder(email=f"drop{i}@example.com"))
    smtp_server.hang_up_after_each_message()
    report = run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1", settings=smtp_server.settings())
    assert report.sent == 4 and len(smtp_server.received) == 4


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")
def test_smtp_auth_from_settings(db, open_wave):
    from tests.smtp_server import SmtpServer

    server = SmtpServer(auth=("mailer", "s3cret")).start()
    try:
        make_invitation(open_wave, make_stakeholder(email="auth@example.com"))
        wrong = run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1",
                                  settings=server.settings(smtp_password="wrong"))
        assert wrong.sent == 0 and "535" in wrong.smtp_unavailable
        assert invitations(db)[0].state == "pending"
        right = run_dispatch_pass(datetime.now(timezone.utc) + timedelta(minutes=2), worker_id="w1",
                                  settings=server.settings())
        assert right.sent == 1 and server.logins == ["mailer"]
        assert [r.to for r in server.received] == ["auth@example.com"]
    finally:
        server.stop()


def test_an_abandoned_claim_is_taken_over_only_after_the_lease(db, open_wave, smtp_server):
    invitation, _ = make_invitation(open_wave)
    now = datetime.now(timezone.utc)
    db.session.execute(update(Invitation).values(state="sending", claimed_by="killed-worker", attempts=1,
                                                 claimed_at=now - LEASE + timedelta(minutes=1)))
    db.session.commit()

    assert run_dispatch_pass(now, worker_id="w2", settings=smtp_server.settings()).sent == 0
    assert smtp_server.received == []

    report = run_dispatch_pass(now + timedelta(minutes=2), worker_id="w2", settings=smtp_server.settings())

    assert report.sent == 1 and len(smtp_server.received) == 1
    row = invitations(db, id=invitation.id)[0]
    assert row.state == "sent" and row.attempts == 2 and row.claimed_by is None
    # The new email's link works, and so does the one issued before the crash.
    assert len(row.tokens) == 2 and find_invitation(link_token(smtp_server.received[0].message)).id == row.id


def test_reminders_go_to_non_responders_only_on_their_days_and_stop_at_close(db, campaign, smtp_server):
    opens = datetime.now(timezone.utc) - timedelta(days=30)
    wave = make_wave(campaign, label="2026-Q1", state="scheduled", opens_at=opens, days=14)
    quiet = make_stakeholder(email="quiet@example.com")
    answered = make_stakeholder(email="answered@example.com")
    leaving = make_stakeholder(email="leaving@example.com")
    settings = smtp_server.settings()
    run_dispatch_pass(opens + timedelta(minutes=1), worker_id="w1", settings=settings)
    assert len(smtp_server.received) == 3
    db.session.execute(update(Invitation).where(Invitation.stakeholder_id == answered.id)
                       .values(responded_at=opens + timedelta(days=1)))
    leaving.opt_out()
    db.session.commit()

    assert run_dispatch_pass(opens + timedelta(days=4), worker_id="w1", settings=settings).reminders_sent == 0
    day5 = run_dispatch_pass(opens + timedelta(days=5, hours=1), worker_id="w1", settings=settings)
    again = run_dispatch_pass(opens + timedelta(days=6), worker_id="w2", settings=settings)
    day10 = run_dispatch_pass(opens + timedelta(days=10, hours=1), worker_id="w1", settings=settings)
    after = run_dispatch_pass(opens + timedelta(days=14, hours=1), worker_id="w1", settings=settings)

    assert (day5.reminders_sent, again.reminders_sent, day10.reminders_sent) == (1, 0, 1)
    assert after.waves_closed == 1 and after.reminders_sent == 0 and after.sent == 0
    assert [m["Subject"].startswith("Reminder") for m in smtp_server.to("quiet@example.com")] == [False, True, True]
    assert len(smtp_server.to("answered@example.com")) == 1
    assert len(smtp_server.to("leaving@example.com")) == 1
    row = invitations(db, stakeholder_id=quiet.id)[0]
    assert row.reminders_sent == 2 and row.reminder_claimed_at is None
    # Each reminder carries its own working link.
    tokens = {link_token(m) for m in smtp_server.to("quiet@example.com")}
    assert len(tokens) == 3 and all(find_invitation(t).id == row.id for t in tokens)
    assert db.session.get(Wave, wave.id, populate_existing=True).state == "closed"


def test_nothing_is_sent_after_a_wave_closes(db, campaign, smtp_server):
    wave = make_wave(campaign, label="old", state="open", opens_at=datetime.now(timezone.utc) - timedelta(days=20),
                     days=14)
    invitation, _ = make_invitation(wave)
    report = run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1", settings=smtp_server.settings())
    assert report.waves_closed == 1 and report.sent == 0 and smtp_server.received == []
    row = invitations(db, id=invitation.id)[0]
    assert row.state == "failed" and "closed" in row.last_error


def test_fatigue_rule_holds_across_campaigns(db, survey, campaign, smtp_server):
    now = datetime.now(timezone.utc)
    recent = make_wave(campaign, label="2026-Q1", state="open", opens_at=now - timedelta(days=10))
    surveyed = make_stakeholder(email="surveyed@example.com")
    make_invitation(recent, surveyed, state="sent", created_at=now - timedelta(days=10))
    bounced = make_stakeholder(email="bounced@example.com")
    make_invitation(recent, bounced, state="failed", created_at=now - timedelta(days=10))
    fresh = make_stakeholder(email="fresh@example.com")
    other = make_campaign(survey, name="Other provider", fatigue_days=30)
    make_wave(other, label="2026-05", state="scheduled", opens_at=now - timedelta(minutes=1))

    report = run_dispatch_pass(now, worker_id="w1", settings=smtp_server.settings())

    assert report.skipped_for_fatigue == 1
    assert sorted(r.to for r in smtp_server.received) == ["bounced@example.com", "fresh@example.com"]
    invited = {i.stakeholder_id for i in invitations(db) if i.wave.campaign_id == other.id}
    assert invited == {bounced.id, fresh.id}
    assert surveyed.id not in invited


def test_audience_filters_by_department_and_service_area(db, survey, smtp_server):
    provider = make_provider()
    desk, network = make_area(provider, code="desk"), make_area(provider, code="net")
    campaign = make_campaign(survey, provider=provider, areas=[desk, network], audience_departments=["Finance"],
                             audience_area_codes=["net"])
    make_stakeholder(email="fin-net@example.com", department="Finance", areas=[network])
    make_stakeholder(email="fin-desk@example.com", department="Finance", areas=[desk])
    make_stakeholder(email="hr-net@example.com", department="HR", areas=[network])
    make_wave(campaign, label="x", state="scheduled", opens_at=datetime.now(timezone.utc) - timedelta(minutes=1))
    run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1", settings=smtp_server.settings())
    assert [r.to for r in smtp_server.received] == ["fin-net@example.com"]


def test_the_next_waves_are_planned_with_labels_and_only_once(db, survey, smtp_server):
    campaign = make_campaign(survey, cadence="monthly", anchor_date=date(2026, 1, 31), window_days=10)
    now = utc(2026, 3, 5, 12)
    report = run_dispatch_pass(now, worker_id="w1", settings=smtp_server.settings())
    again = run_dispatch_pass(now, worker_id="w2", settings=smtp_server.settings())
    labels = db.session.execute(select(Wave.label, Wave.state).where(Wave.campaign_id == campaign.id)
                                .order_by(Wave.opens_at)).all()
    # The February wave (opened 28 Feb, closes 10 Mar) is current; March's opens on the 31st.
    assert [tuple(r) for r in labels] == [("2026-02", "open"), ("2026-03", "scheduled")]
    assert (report.waves_created, again.waves_created) == (2, 0)


def test_without_smtp_host_messages_land_in_the_outbox_and_the_log_names_the_file(db, open_wave, tmp_path, caplog):
    make_invitation(open_wave, make_stakeholder(email="offline@example.com"))
    settings = MailSettings(base_url="http://vendorpulse.test", timezone="UTC", mail_from="vp@vendorpulse.test",
                            outbox_dir=str(tmp_path / "outbox"))
    with caplog.at_level(logging.INFO, logger="app.services.mailer"):
        report = run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1", settings=settings)
    files = list(Path(tmp_path / "outbox").glob("*.eml"))
    assert report.sent == 1 and len(files) == 1
    from email import message_from_bytes, policy

    message = message_from_bytes(files[0].read_bytes(), policy=policy.default)
    token = link_token(message)
    assert message["To"].addresses[0].addr_spec == "offline@example.com"
    # The link is in the file; the log says where the file is and never carries the token.
    assert str(files[0]) in caplog.text and token not in caplog.text
    assert find_invitation(token) is not None


def test_serve_runs_passes_until_sigterm(runner, open_wave, smtp_server, app, monkeypatch):
    import os
    import signal
    import threading

    make_invitation(open_wave, make_stakeholder(email="served@example.com"))
    monkeypatch.setitem(app.config, "SMTP_HOST", smtp_server.host)
    monkeypatch.setitem(app.config, "SMTP_PORT", smtp_server.port)
    monkeypatch.setitem(app.config, "SMTP_SECURITY", "none")
    before = signal.getsignal(signal.SIGTERM)
    timer = threading.Timer(1.5, os.kill, (os.getpid(), signal.SIGTERM))
    timer.start()
    try:
        result = runner.invoke(args=["dispatch", "serve", "--interval", "0.2"])
    finally:
        timer.cancel()
    assert result.exit_code == 0, result.output
    assert "SIGTERM received" in result.output and result.output.rstrip().endswith("Dispatcher stopped.")
    assert [r.to for r in smtp_server.received] == ["served@example.com"]
    assert signal.getsignal(signal.SIGTERM) == before


def test_bad_names_and_addresses_fail_alone_with_a_reason_and_the_rest_are_sent(db, campaign, open_wave, smtp_server,
                                                                                admin_client):
    good = make_stakeholder(email="good@example.com", name="Alice Adams")
    folded = make_stakeholder(email="folded@example.com", name="Ann\nSmith")  # a stray quote's line break
    injected_name = make_stakeholder(email="mallory@example.com", name="Mallory\r\nBcc: victim@example.net")
    injected_address = make_stakeholder(email="eve@example.com\nbcc: victim@example.net", name="Eve")
    bell = make_stakeholder(email="bell@example.com", name="Bell\x07Ringer")
    last = make_stakeholder(email="last@example.com", name="Zed")
    for person in (good, folded, injected_name, injected_address, bell, last):
        make_invitation(open_wave, person)

    report = run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1", settings=smtp_server.settings())

    assert (report.sent, report.failed, report.retrying) == (3, 3, 0)
    assert sorted(r.to for r in smtp_server.received) == ["folded@example.com", "good@example.com",
                                                          "last@example.com"]
    assert all(r.recipients == (r.to,) for r in smtp_server.received)
    assert smtp_server.to("folded@example.com")[0]["To"].addresses[0].display_name == "Ann Smith"
    assert not any("victim" in r.message.as_string().lower() for r in smtp_server.received)
    rows = {r.stakeholder_id: r for r in invitations(db)}
    assert {r.state for r in rows.values()} == {"sent", "failed"}, "nothing is left claimed"
    assert [rows[p.id].state for p in (good, folded, last)] == ["sent"] * 3
    reasons = {p: rows[p.id].last_error for p in (injected_name, injected_address, bell)}
    assert all(rows[p.id].state == "failed" and rows[p.id].claimed_by is None for p in reasons)
    assert "line break followed by 'Bcc:'" in reasons[injected_name]
    assert "email address" in reasons[injected_address] and "U+000A" in reasons[injected_address]
    assert "control character U+0007" in reasons[bell]
    assert all(reason.startswith("Not sent:") and "import" in reason for reason in reasons.values())
    # No new link was made for an email that could not go (the factory made the first one).
    assert [len(rows[p.id].tokens) for p in reasons] == [1, 1, 1]
    assert [len(rows[p.id].tokens) for p in (good, folded, last)] == [2, 2, 2]

    # A failure is permanent: later passes neither resend nor retry it.
    later = run_dispatch_pass(datetime.now(timezone.utc) + LEASE * 2, worker_id="w2", settings=smtp_server.settings())
    assert (later.sent, later.failed) == (0, 0) and len(smtp_server.received) == 3

    # The admin sees each reason on the campaign page.
    page = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "mallory@example.com" in page and "control character U+0007" in page
    assert "would add a header to the email" in page


def test_a_message_that_cannot_be_built_is_retried_alone(db, open_wave, smtp_server, monkeypatch):
    for email in ("before@example.com", "broken@example.com", "after@example.com"):
        make_invitation(open_wave, make_stakeholder(email=email))
    real_render = dispatch_service.render_email

    def render(content, settings, now=None):
        if content.recipient == "broken@example.com":
            raise UnicodeEncodeError("ascii", "x", 0, 1, "made up for the test")
        return real_render(content, settings, now)

    monkeypatch.setattr(dispatch_service, "render_email", render)
    now = datetime.now(timezone.utc)
    report = run_dispatch_pass(now, worker_id="w1", settings=smtp_server.settings())

    assert (report.sent, report.retrying) == (2, 1)
    broken = next(r for r in invitations(db) if r.stakeholder.email == "broken@example.com")
    assert broken.state == "pending" and "could not be built" in broken.last_error
    monkeypatch.setattr(dispatch_service, "render_email", real_render)
    assert run_dispatch_pass(now + retry_delay(1) + timedelta(seconds=1), worker_id="w1",
                             settings=smtp_server.settings()).sent == 1


def test_a_reminder_to_a_name_spoiled_after_the_invitation_fails_alone(db, campaign, smtp_server):
    opens = datetime.now(timezone.utc) - timedelta(days=6)
    wave = make_wave(campaign, label="2026-Q1", state="open", opens_at=opens, days=14)
    spoiled, fine = make_stakeholder(email="spoiled@example.com"), make_stakeholder(email="fine@example.com")
    for person in (spoiled, fine):
        make_invitation(wave, person, state="sent", sent_at=opens)
    spoiled.name = "Sam\nContent-Type: text/html"
    db.session.commit()

    report = run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1", settings=smtp_server.settings())

    assert (report.reminders_sent, report.failed) == (1, 1)
    assert [r.to for r in smtp_server.received] == ["fine@example.com"]
    row = invitations(db, stakeholder_id=spoiled.id)[0]
    assert row.state == "sent" and row.reminder_claimed_at is None
    assert row.last_error.startswith("Reminder not delivered: Not sent: the name has a line break")


@pytest.mark.parametrize("email, name, problem", [
    ("ok@example.com", "x" * (NAME_MAX_LENGTH + 1), f"at most {NAME_MAX_LENGTH} fit"),
    ("ok@example.com", "Nul\x00Byte", "U+0000"),
    ("ok@example.com", "Ann\n  X-Mailer: evil", "'X-Mailer:'"),
    ("not an address", "Ann", "cannot be used"),
    ("ann@localhost", "Ann", "cannot be used"),
    ("jörg@example.com", "Jörg", "SMTPUTF8"),
])
def test_unusable_recipients_are_explained(email, name, problem):
    with pytest.raises(InvalidRecipient) as error:
        checked_recipient(email, name)
    assert problem in error.value.reply


@pytest.mark.parametrize("name, greeting", [
    ("Ann\nSmith", "Ann Smith"),
    ("  Smith,\r\n\tAnn  ", "Smith, Ann"),
    ("Zofia Zielińska", "Zofia Zielińska"),
    ("Dr. Who: the Doctor", "Dr. Who: the Doctor"),
    ("", ""),
    (None, ""),
])
def test_names_are_folded_onto_one_line(name, greeting):
    assert checked_recipient("Ann@Example.com", name) == ("Ann@example.com", greeting)


def test_a_pass_writes_the_anonymous_answers_still_waiting_when_their_wave_has_closed(app, db, client, survey,
                                                                                      smtp_server):
    from app.models import Response
    from tests.factories import extract_csrf
    from tests.respond_support import answers, make_crowd

    crowd = make_crowd(survey, 3, min_group_size=5)  # fewer than the minimum: they wait in the pool
    csrf = extract_csrf(client.get(f"/s/{crowd.tokens[0]}").get_data(as_text=True))
    for token in crowd.tokens:
        reply = client.post(f"/s/{token}", data={**answers(crowd.area, comment=None, rel__relationship_comment=None),
                                                 "csrf_token": csrf})
        assert reply.status_code == 303
    now = datetime.now(timezone.utc)
    run_dispatch_pass(now, worker_id="w1", settings=smtp_server.settings())
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0, "an open wave keeps them waiting"

    db.session.execute(update(Wave).where(Wave.id == crowd.wave.id).values(closes_at=now - timedelta(minutes=1)))
    db.session.commit()
    report = run_dispatch_pass(now, worker_id="w1", settings=smtp_server.settings())
    assert report.anonymous_written >= 3
    assert db.session.scalar(select(func.count(func.distinct(Answer.wave_id))).select_from(Answer)) == 1
    assert "anonymous written" in report.summary()


def test_a_server_hanging_up_after_each_message_receives_each_message_once(db, open_wave, smtp_server):
    # The server refuses a further message on a session it is about to close, so no message is accepted
    # without its reply reaching the dispatcher (which would send it again on a new connection).
    emails = [f"once{i}@example.com" for i in range(20)]
    for email in emails:
        make_invitation(open_wave, make_stakeholder(email=email))
    smtp_server.hang_up_after_each_message()
    report = run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1", settings=smtp_server.settings())
    assert report.sent == 20 and report.paused_until is None
    assert sorted(r.to for r in smtp_server.received) == sorted(emails)


def test_a_bounced_invitation_gets_no_reminder_and_an_undeliverable_person_no_invitation(db, campaign, smtp_server):
    opens = datetime.now(timezone.utc) - timedelta(days=6)
    wave = make_wave(campaign, label="2026-Q1", state="open", opens_at=opens, days=14)
    bounced, fine = make_stakeholder(email="left@example.com"), make_stakeholder(email="fine@example.com")
    for person in (bounced, fine):
        make_invitation(wave, person, state="sent", sent_at=opens)
    db.session.execute(update(Invitation).where(Invitation.stakeholder_id == bounced.id)
                       .values(bounced_at=opens + timedelta(hours=2), bounce_kind="hard", bounce_reason="5.1.1"))
    gone = make_stakeholder(email="gone@example.com", undeliverable_at=opens, undeliverable_reason="5.1.1")
    make_invitation(wave, gone)  # created before the bounce was read: pending
    db.session.commit()

    report = run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1", settings=smtp_server.settings())

    assert [r.to for r in smtp_server.received] == ["fine@example.com"], "one reminder, to the deliverable one"
    assert report.reminders_sent == 1 and report.sent == 0
    [pending] = invitations(db, stakeholder_id=gone.id)
    assert pending.state == "failed" and "bounced for good" in pending.last_error
