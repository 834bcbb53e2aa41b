"""Send-rate limits, throttling replies and the dispatcher heartbeat, against a real SMTP server on loopback.

Minutes of pacing are simulated: the passes, the quota and the server's rolling minute all read one fake
clock, and waiting for quota advances it instead of sleeping.
"""
from __future__ import annotations

import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.models import DispatcherState, Invitation, MailSend
from app.services import send_rate
from app.services.dispatch import run_dispatch_pass
from app.services.mailer import PermanentDeliveryError, ThrottledByServer, TransientDeliveryError, _by_code
from app.services.send_rate import SendLimits
from tests.factories import make_area, make_campaign, make_invitation, make_provider, make_stakeholder, make_wave
from tests.smtp_server import smtp_server  # noqa: F401 (fixture)


class FakeClock:
    """Shared simulated time: `now` for the dispatcher, `seconds` for the server, `sleep` advances both."""

    def __init__(self, start: datetime) -> None:
        self.start = start
        self.elapsed = 0.0
        self.sleeps = 0
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self.start + timedelta(seconds=self.elapsed)

    def seconds(self) -> float:
        with self._lock:
            return self.elapsed

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.elapsed += seconds
            self.sleeps += 1


def states(db) -> Counter:
    db.session.expire_all()
    return Counter(dict(db.session.execute(select(Invitation.state, func.count()).group_by(Invitation.state)).all()))


@pytest.fixture
def wave(survey):
    provider = make_provider("Northwind IT")
    campaign = make_campaign(survey, provider=provider, areas=[make_area(provider)], reminder_days=[])
    return make_wave(campaign, label="2026-Q2", state="open", opens_at=datetime.now(timezone.utc) - timedelta(hours=1))


def invite(wave, count: int) -> None:
    for i in range(count):
        make_invitation(wave, make_stakeholder(email=f"person{i:03d}@example.com"))


@pytest.mark.parametrize("code, text, kind", [
    (451, "4.4.2 Message rate exceeded", ThrottledByServer),
    (421, "4.3.2 Service not available, closing transmission channel", ThrottledByServer),
    (450, "4.7.500 Server busy. Please try again later.", ThrottledByServer),
    (451, "4.7.1 Rate limit exceeded, try again in 300 seconds", ThrottledByServer),
    (452, "4.5.3 Too many recipients", TransientDeliveryError),
    (451, "4.7.1 Greylisted, please try again later", TransientDeliveryError),
    (451, "4.3.0 Try again later", TransientDeliveryError),
    (554, "5.7.1 Rate of spam too high", PermanentDeliveryError),
])
def test_throttling_replies_are_told_apart_from_failures_of_the_message(code, text, kind):
    assert type(_by_code(code, text)) is kind


def test_a_number_of_seconds_in_the_reply_is_kept():
    assert _by_code(451, "4.7.1 Rate limit exceeded, try again in 300 seconds").retry_after == 300
    assert _by_code(451, "4.4.2 Message rate exceeded").retry_after is None


def test_a_295_person_wave_under_a_30_a_minute_relay_is_all_sent_and_none_failed(db, wave, smtp_server):
    """The issue's measurement: before, 145 of these 295 invitations ended failed after five passes."""
    invite(wave, 295)
    clock = FakeClock(datetime.now(timezone.utc))
    smtp_server.throttle_after(30, clock=clock.seconds)
    limits = SendLimits(per_minute=30)

    passes = 0
    while states(db)["pending"] and passes < 30:
        report = run_dispatch_pass(clock.now(), worker_id="w1", settings=smtp_server.settings(), limits=limits,
                                   clock=clock.now, sleep=clock.sleep, rate_wait=timedelta(minutes=2))
        assert report.failed == 0 and report.retrying == 0 and report.paused_until is None
        passes += 1
        clock.sleep(60)  # the next pass a minute later

    assert states(db) == Counter({"sent": 295})
    assert smtp_server.handler.throttled == 0
    assert smtp_server.most_in_any_minute() <= 30
    assert Counter(r.to for r in smtp_server.received) == Counter({f"person{i:03d}@example.com": 1 for i in range(295)})
    assert set(db.session.scalars(select(Invitation.attempts))) == {1}
    # The quota made passes wait (in simulated time) and end with the rest left pending, not failed.
    assert clock.sleeps > 0 and passes > 1


def test_a_throttling_reply_pauses_sending_counts_no_attempt_and_shows_in_the_summary(db, wave, smtp_server):
    invite(wave, 5)
    clock = FakeClock(datetime.now(timezone.utc))
    smtp_server.throttle_after(2, clock=clock.seconds)
    start = clock.now()

    report = run_dispatch_pass(start, worker_id="w1", settings=smtp_server.settings(), clock=clock.now,
                               sleep=clock.sleep)

    assert report.sent == 2 and report.failed == 0 and report.retrying == 0 and report.released == 3
    assert report.paused_until == start + timedelta(seconds=60)
    assert "4.4.2 Message rate exceeded" in report.pause_reason
    assert "paused until" in report.summary() and "4.4.2 Message rate exceeded" in report.summary()
    rows = db.session.scalars(select(Invitation).order_by(Invitation.id)
                              .execution_options(populate_existing=True)).all()
    assert [(r.state, r.attempts) for r in rows] == [("sent", 1)] * 2 + [("pending", 0)] * 3
    status = send_rate.dispatcher_status(start + timedelta(seconds=1))
    assert status.paused_until == start + timedelta(seconds=60) and "4.4.2" in status.pause_reason_text
    assert status.last_pass_by == "w1" and "sent: 2" in status.last_pass_summary

    # Another dispatcher checks the pause before sending anything.
    clock.sleep(30)
    during = run_dispatch_pass(clock.now(), worker_id="w2", settings=smtp_server.settings(), clock=clock.now,
                               sleep=clock.sleep)
    assert during.sent == 0 and during.paused_until == report.paused_until and len(smtp_server.received) == 2

    # Throttled again right after the pause: the pause doubles.
    clock.sleep(31)
    smtp_server.handler._recent.extend([clock.seconds()] * 2)
    again = run_dispatch_pass(clock.now(), worker_id="w1", settings=smtp_server.settings(), clock=clock.now,
                              sleep=clock.sleep)
    assert again.sent == 0 and again.paused_until == clock.now() + timedelta(seconds=120)

    smtp_server.handler.rate_limit = None
    clock.sleep(121)
    after = run_dispatch_pass(clock.now(), worker_id="w1", settings=smtp_server.settings(), clock=clock.now,
                              sleep=clock.sleep)
    assert after.sent == 3 and after.paused_until is None
    assert states(db) == Counter({"sent": 5})
    assert set(db.session.scalars(select(Invitation.attempts))) == {1}
    assert send_rate.dispatcher_status(clock.now()).paused_until is None


def test_a_pause_asked_for_in_seconds_is_honoured_and_a_running_pause_is_not_lengthened(db):
    now = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)
    until, reason = send_rate.pause_for_server(now, "451 4.7.1 Rate limit exceeded, try again in 300 seconds", 300)
    assert until == now + timedelta(seconds=300) and reason.startswith("451 4.7.1")
    # A second dispatcher throttled during the pause keeps it as it is.
    assert send_rate.pause_for_server(now + timedelta(seconds=10), "421 4.7.0 Too busy")[0] == until
    # Long after it ended, the next pause starts again at a minute.
    later = now + timedelta(hours=2)
    assert send_rate.pause_for_server(later, "421 4.7.0 Too busy")[0] == later + timedelta(seconds=60)


def test_repeated_throttling_doubles_the_pause_up_to_15_minutes(db):
    now = datetime(2026, 5, 4, 9, 0, tzinfo=timezone.utc)
    lengths = []
    for _ in range(6):
        until, _ = send_rate.pause_for_server(now, "451 4.4.2 Message rate exceeded")
        lengths.append(int((until - now).total_seconds()))
        now = until
    assert lengths == [60, 120, 240, 480, 900, 900]


def test_the_daily_limit_ends_the_pass_and_leaves_the_rest_pending_until_the_quota_frees(db, wave, smtp_server):
    invite(wave, 7)
    clock = FakeClock(datetime.now(timezone.utc))
    limits = SendLimits(per_day=5)

    first = run_dispatch_pass(clock.now(), worker_id="w1", settings=smtp_server.settings(), limits=limits,
                              clock=clock.now, sleep=clock.sleep)

    assert first.sent == 5 and first.left_for_rate_limit == 2 and first.failed == 0
    assert states(db) == Counter({"sent": 5, "pending": 2})
    assert clock.sleeps == 0  # a day's wait is not a pass's to sit through
    pending = db.session.scalars(select(Invitation).where(Invitation.state == "pending")).all()
    assert all(r.attempts == 0 and r.next_attempt_at > clock.now() + timedelta(hours=23) for r in pending)

    clock.sleep(24 * 3600 + 2)
    second = run_dispatch_pass(clock.now(), worker_id="w1", settings=smtp_server.settings(), limits=limits,
                               clock=clock.now, sleep=clock.sleep)
    assert second.sent == 2 and states(db) == Counter({"sent": 7})


def test_sends_older_than_two_days_are_forgotten_at_the_end_of_a_pass(db, wave, smtp_server):
    old = datetime.now(timezone.utc) - timedelta(days=3)
    db.session.add_all([MailSend(sent_at=old, kind="invitation"),
                        MailSend(sent_at=datetime.now(timezone.utc) - timedelta(hours=1), kind="invitation")])
    db.session.commit()
    run_dispatch_pass(datetime.now(timezone.utc), worker_id="w1", settings=smtp_server.settings())
    assert db.session.scalar(select(func.count()).select_from(MailSend)) == 1
    assert db.session.scalar(select(func.count()).select_from(DispatcherState)) == 1


def test_two_dispatchers_sharing_a_per_minute_limit_never_exceed_it_together(app, db, wave, smtp_server):
    invite(wave, 90)
    clock = FakeClock(datetime.now(timezone.utc))
    limits = SendLimits(per_minute=20)
    sent_by: dict[str, int] = {}
    errors: list[BaseException] = []

    def unsent() -> int:
        db.session.commit()  # a fresh snapshot: the other dispatcher's work is committed
        return db.session.scalar(select(func.count()).select_from(Invitation).where(Invitation.state != "sent"))

    def dispatcher(worker_id: str) -> None:
        try:
            with app.app_context():  # a session of its own
                total = 0
                for _ in range(60):
                    report = run_dispatch_pass(clock.now(), worker_id=worker_id, settings=smtp_server.settings(),
                                               limits=limits, batch_size=5, clock=clock.now, sleep=clock.sleep,
                                               rate_wait=timedelta(minutes=1))
                    total += report.sent
                    if not unsent():
                        break
                    if report.sent == 0:
                        # What is left was released by the other dispatcher until its quota frees up; like
                        # `dispatch serve`, wait the interval between passes and look again.
                        clock.sleep(10)
                sent_by[worker_id] = total
        except BaseException as error:  # surfaced in the test thread
            errors.append(error)

    threads = [threading.Thread(target=dispatcher, args=(f"w{i}",)) for i in (1, 2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)

    assert not errors, errors
    assert sum(sent_by.values()) == 90 and all(sent_by.values()), sent_by
    assert states(db) == Counter({"sent": 90})
    assert Counter(r.to for r in smtp_server.received) == Counter({f"person{i:03d}@example.com": 1 for i in range(90)})
    # Every message sent had its reservation, and no rolling minute of reservations holds more than 20.
    times = sorted(db.session.scalars(select(MailSend.sent_at)))
    assert len(times) == 90
    assert max(sum(1 for t in times if start <= t < start + timedelta(seconds=60)) for start in times) <= 20


def test_time_to_send_under_the_limits():
    assert send_rate.time_to_send(295, SendLimits(per_minute=30)) == timedelta(minutes=295 / 30)
    assert send_rate.time_to_send(100, SendLimits()) == timedelta(0)
    # 25,000 at 10,000 a day and 30 a minute: two full days, then 5,000 at 30 a minute.
    assert send_rate.time_to_send(25_000, SendLimits(per_minute=30, per_day=10_000)) == \
        timedelta(days=2, minutes=5_000 / 30)
    # A daily limit alone: what fits in today goes at the server's pace; the rest waits for the next days.
    assert send_rate.time_to_send(500, SendLimits(per_day=1_000)) == timedelta(0)
    assert send_rate.time_to_send(2_500, SendLimits(per_day=1_000)) == timedelta(days=2)


def test_the_campaign_page_shows_the_pause_and_a_wave_that_needs_more_than_a_day(app, admin_client, wave):
    invite(wave, 40)
    now = datetime.now(timezone.utc)
    send_rate.pause_for_server(now, "451 4.4.2 Message rate exceeded")
    app.config.update(MAIL_MAX_PER_MINUTE=30, MAIL_MAX_PER_DAY=20)
    try:
        page = admin_client.get(f"/admin/campaigns/{wave.campaign_id}")
    finally:
        app.config.update(MAIL_MAX_PER_MINUTE=0, MAIL_MAX_PER_DAY=0)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Sending is paused until" in html and "451 4.4.2 Message rate exceeded" in html
    assert "40 invitations waiting" in html and "more than a day" in html

    without_limits = admin_client.get(f"/admin/campaigns/{wave.campaign_id}").get_data(as_text=True)
    assert "invitations waiting" not in without_limits
