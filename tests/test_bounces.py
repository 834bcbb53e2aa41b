"""Bounces read back from a real IMAP server (Debian's dovecot on loopback, tests/imap_server.py) holding
real delivery status notifications, and what a bounce changes: the invitation, the stakeholder, the next
wave's audience, the counts. Also the VERP envelope sender as a real SMTP server receives it.
"""
from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from app.models import Invitation, Stakeholder
from app.services import campaigns as campaign_service
from app.services.bounces import envelope_sender, invitation_from_address
from app.services.dispatch import run_dispatch_pass
from app.services.reporting.breakdowns import response_rates
from app.services.stakeholders import import_stakeholders
from tests.factories import extract_csrf, make_area, make_campaign, make_invitation, make_provider, \
    make_stakeholder, make_wave
from tests.imap_server import imap_server, sample  # noqa: F401 (fixture)
from tests.smtp_server import free_port

BOUNCES = "bounces@example.org"
SAMPLES = {"hard_5.1.1.eml": "hard", "soft_4.2.2.eml": "soft", "exchange_ndr.eml": "exchange",
           "qmail_plain.eml": "qmail", "auto_reply.eml": "auto", "forged.eml": "forged",
           "not_a_dsn.eml": "bystander"}
LEFT_IN_MAILBOX = {"auto_reply.eml", "forged.eml", "not_a_dsn.eml"}


@pytest.fixture
def campaign(survey):
    provider = make_provider("Acme Facilities")
    area = make_area(provider, code="cleaning", name="Cleaning")
    return make_campaign(survey, provider=provider, areas=[area], reminder_days=[5], window_days=14)


@pytest.fixture
def sent_wave(db, campaign):
    """A wave whose invitations went out to seven people, one per sample (plus a bystander)."""
    now = datetime.now(timezone.utc)
    wave = make_wave(campaign, label="2026-Q4", state="open", opens_at=now - timedelta(days=1))
    people = {}
    for name in SAMPLES.values():
        stakeholder = make_stakeholder(email=f"{name}@example.com", name=name.title())
        invitation, _ = make_invitation(wave, stakeholder, state="sent", sent_at=now - timedelta(hours=20),
                                        attempts=1)
        people[name] = invitation
    return wave, people


@pytest.fixture
def mailbox(app, imap_server, monkeypatch):
    for key, value in {"BOUNCE_ADDRESS": BOUNCES, "BOUNCE_IMAP_HOST": imap_server.host,
                       "BOUNCE_IMAP_PORT": imap_server.port, "BOUNCE_IMAP_USER": imap_server.user,
                       "BOUNCE_IMAP_PASSWORD": imap_server.password, "BOUNCE_IMAP_SECURITY": "none",
                       "BOUNCE_IMAP_FOLDER": "INBOX"}.items():
        monkeypatch.setitem(app.config, key, value)
    return imap_server


def deliver_samples(app, server, people) -> None:
    secret = app.config["SECRET_KEY"]
    addresses = {name: (envelope_sender(invitation.id, BOUNCES, secret), invitation.stakeholder.email)
                 for name, invitation in people.items()}
    real, email = addresses["forged"]
    tag = real.partition("@")[0].rpartition(".")[2]
    addresses["forged"] = (real.replace(f".{tag}@", ".abcdefghij@" if tag != "abcdefghij" else ".bcdefghijk@"), email)
    assert invitation_from_address(addresses["forged"][0], BOUNCES, secret) is None
    for file_name in SAMPLES:
        server.deliver(file_name, sample(file_name, addresses))


def state_of(db):
    """Everything a bounce may change, for comparing before and after."""
    db.session.expire_all()
    invitations = {i.stakeholder.name.lower(): (i.state, i.bounced_at, i.bounce_kind, i.bounce_reason, i.sent_at,
                                                i.reminders_sent)
                   for i in db.session.scalars(select(Invitation))}
    people = {s.name.lower(): (s.active, s.opted_out_at, s.undeliverable_at, s.undeliverable_reason)
              for s in db.session.scalars(select(Stakeholder))}
    return invitations, people


def subjects(messages) -> set[str]:
    return {next(line for line in raw.decode().splitlines() if line.startswith("Subject:")) for _, raw in messages}


def sample_subjects(names) -> set[str]:
    from tests.imap_server import SAMPLES as FOLDER
    return {next(line for line in (FOLDER / name).read_text().splitlines() if line.startswith("Subject:"))
            for name in names}


@pytest.mark.parametrize("processed_folder", [True, False], ids=["moved-to-Processed", "deleted"])
def test_the_bounce_step_marks_the_right_invitations_and_leaves_the_rest(app, db, runner, sent_wave, mailbox,
                                                                          processed_folder):
    wave, people = sent_wave
    if processed_folder:
        mailbox.create_folder("Processed")
    deliver_samples(app, mailbox, people)
    before_invitations, before_people = state_of(db)

    result = runner.invoke(args=["dispatch", "bounces"])

    assert result.exit_code == 0, result.output
    assert "messages read: 7, hard bounces: 3, soft bounces: 1" in result.output
    assert "left in the mailbox: 1 auto-reply, 1 forged, 1 not-a-bounce" in result.output
    invitations, stakeholders = state_of(db)
    for name in ("hard", "exchange", "qmail"):
        assert invitations[name][2] == "hard", name
        assert invitations[name][1] is not None
        assert stakeholders[name][2] is not None, name
        assert "Email bounced (2026-Q4)" in stakeholders[name][3]
    assert "550 5.1.1" in invitations["hard"][3] and "User unknown" in invitations["hard"][3]
    assert "RecipientNotFound" in invitations["exchange"][3]
    assert invitations["soft"][2:4] == ("soft", "452 4.2.2 Mailbox full")
    assert stakeholders["soft"] == before_people["soft"]  # a full mailbox says nothing lasting
    # Nothing else changed: delivery states, the other invitations and people.
    for name in ("auto", "forged", "bystander"):
        assert invitations[name] == before_invitations[name]
        assert stakeholders[name] == before_people[name]
    assert {name: row[0] for name, row in invitations.items()} == {name: "sent" for name in SAMPLES.values()}

    # What could not be used stays, not even marked read; the bounces left the INBOX.
    left = mailbox.messages("INBOX")
    assert subjects(left) == sample_subjects(LEFT_IN_MAILBOX)
    assert all(b"\\Seen" not in flags and b"\\Deleted" not in flags for flags, _ in left)
    if processed_folder:
        assert subjects(mailbox.messages("Processed")) == sample_subjects(set(SAMPLES) - LEFT_IN_MAILBOX)

    # Reading again, and the same hard bounce delivered twice, change nothing more.
    mailbox.deliver("again", sample("hard_5.1.1.eml", {"hard": (
        envelope_sender(people["hard"].id, BOUNCES, app.config["SECRET_KEY"]), "hard@example.com")}))
    again = runner.invoke(args=["dispatch", "bounces"])
    assert "messages read: 4, hard bounces: 0, soft bounces: 0, already recorded: 1" in again.output
    assert state_of(db) == (invitations, stakeholders)
    assert subjects(mailbox.messages("INBOX")) == sample_subjects(LEFT_IN_MAILBOX)


def test_a_hard_bounce_keeps_the_person_out_of_the_next_wave_and_out_of_the_rates(app, db, runner, campaign,
                                                                                   sent_wave, mailbox):
    wave, people = sent_wave
    deliver_samples(app, mailbox, people)
    assert runner.invoke(args=["dispatch", "bounces"]).exit_code == 0

    counts = campaign_service.wave_counts(campaign.id)[wave.id]
    assert (counts.invited, counts.sent, counts.bounced) == (7, 3, 4)
    next_wave = make_wave(campaign, label="2027-Q1", state="scheduled",
                          opens_at=datetime.now(timezone.utc) + timedelta(days=80))
    next_wave.open(datetime.now(timezone.utc))
    result = campaign_service.invite_audience(next_wave, datetime.now(timezone.utc))
    db.session.commit()
    invited = set(db.session.scalars(select(Stakeholder.name).join(Invitation)
                                     .where(Invitation.wave_id == next_wave.id)))
    assert invited == {"Soft", "Auto", "Forged", "Bystander"}
    assert result.invited == 4


def test_the_response_rate_counts_only_delivered_invitations(db, sent_wave):
    wave, people = sent_wave
    now = datetime.now(timezone.utc)
    for name in ("hard", "soft"):
        people[name].bounced_at, people[name].bounce_kind = now, "hard"
    people["bystander"].responded_at = now
    people["soft"].responded_at = now  # a delay warning, then delivered after all: it did arrive
    db.session.commit()

    class OneWave:
        waves = all_waves = [wave]
        wave_ids = [wave.id]
        department = None
        min_group_size = 1

    rate = response_rates(OneWave())[wave.id]
    assert (rate.invited, rate.responded) == (6, 2)


def test_an_admin_clears_the_mark_and_an_import_that_changes_the_person_does(db, admin_client):
    now = datetime.now(timezone.utc)
    gone = make_stakeholder(email="gone@example.com", name="Gone", undeliverable_at=now,
                            undeliverable_reason="Email bounced (2026-Q4): 550 5.1.1 User unknown")
    moved = make_stakeholder(email="moved@example.com", name="Moved", department="Finance", undeliverable_at=now,
                             undeliverable_reason="Email bounced")
    page = admin_client.get("/admin/stakeholders")
    assert "undeliverable since" in page.text and "Clear" in page.text

    response = admin_client.post(f"/admin/stakeholders/{gone.id}/deliverable",
                                 data={"csrf_token": extract_csrf(page.text)})
    assert response.status_code == 302
    db.session.expire_all()
    assert (gone.undeliverable_at, gone.undeliverable_reason) == (None, None)

    # A routine export listing the person exactly as before does not clear it; a changed row does.
    import_stakeholders("email,name,department\nmoved@example.com,Moved,Finance\n")
    db.session.expire_all()
    assert moved.undeliverable_at is not None
    import_stakeholders("email,name,department\nmoved@example.com,Moved,Operations\n")
    db.session.expire_all()
    assert moved.undeliverable_at is None


class _Envelopes:
    def __init__(self) -> None:
        self.mail_from: list[str] = []
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.mail_from.append(envelope.mail_from)
        return "250 OK"


def test_each_email_goes_out_with_its_own_bounce_address(app, db, sent_wave, smtp_settings):
    wave, people = sent_wave
    pending = make_stakeholder(email="new@example.com", name="New")
    invitation, _ = make_invitation(wave, pending)
    handler = _Envelopes()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        report = run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1",
                                   settings=smtp_settings(controller.port))
    finally:
        controller.stop()
    assert report.sent == 1
    assert handler.mail_from == [envelope_sender(invitation.id, BOUNCES, app.config["SECRET_KEY"])]
    assert invitation_from_address(handler.mail_from[0], BOUNCES, app.config["SECRET_KEY"]) == invitation.id


@pytest.fixture
def smtp_settings(app):
    from app.services.mailer import MailSettings

    def settings(port: int, **overrides) -> MailSettings:
        values = dict(base_url="http://vendorpulse.test", timezone="UTC", mail_from="VendorPulse <surveys@example.org>",
                      smtp_host="127.0.0.1", smtp_port=port, smtp_security="none", smtp_timeout=5.0,
                      bounce_address=BOUNCES, bounce_secret=app.config["SECRET_KEY"])
        values.update(overrides)
        return MailSettings(**values)

    return settings


def test_without_a_bounce_address_the_envelope_sender_is_the_from_address(app, db, sent_wave, smtp_settings):
    wave, _ = sent_wave
    make_invitation(wave, make_stakeholder(email="plain@example.com", name="Plain"))
    handler = _Envelopes()
    controller = Controller(handler, hostname="127.0.0.1", port=free_port())
    controller.start()
    try:
        run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1",
                          settings=smtp_settings(controller.port, bounce_address=None))
    finally:
        controller.stop()
    assert handler.mail_from == ["surveys@example.org"]


def test_the_command_says_what_to_set_when_bounces_are_not_configured(app, runner, monkeypatch):
    monkeypatch.setitem(app.config, "BOUNCE_IMAP_HOST", None)
    result = runner.invoke(args=["dispatch", "bounces"])
    assert result.exit_code != 0
    assert "Set BOUNCE_ADDRESS and BOUNCE_IMAP_HOST" in result.output


def test_the_outbox_file_shows_the_envelope_sender(app, db, sent_wave, smtp_settings, tmp_path):
    wave, _ = sent_wave
    invitation, _ = make_invitation(wave, make_stakeholder(email="file@example.com", name="File"))
    run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1",
                      settings=smtp_settings(0, smtp_host=None, outbox_dir=str(tmp_path)))
    [written] = list(tmp_path.glob("*.eml"))
    first_line = written.read_bytes().split(b"\r\n", 1)[0].decode()
    assert first_line == f"Return-Path: <{envelope_sender(invitation.id, BOUNCES, app.config['SECRET_KEY'])}>"


def test_the_serve_loop_reads_bounces_and_carries_on_when_the_mailbox_is_down(app, db, sent_wave, mailbox,
                                                                              monkeypatch, caplog):
    from app.cli.dispatch import _read_bounces_logged

    wave, people = sent_wave
    deliver_samples(app, mailbox, people)
    _read_bounces_logged()
    assert state_of(db)[0]["hard"][2] == "hard"

    monkeypatch.setitem(app.config, "BOUNCE_IMAP_PORT", free_port())  # nothing listens there
    _read_bounces_logged()  # logged, not raised: the dispatcher goes on sending
    assert "Reading the bounce mailbox failed" in caplog.text
