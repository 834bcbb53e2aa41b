"""Dispatcher throughput: 10,000 invitations to a local aiosmtpd server, against a plain smtplib loop.

The baseline sends the same number of similar multipart messages over one connection with nothing
else to do. The dispatcher also claims in the database, issues and stores a token per email, renders
the Jinja templates and records every result. Goal: at least 0.8 of the baseline's rate.

Then, with MAIL_MAX_PER_MINUTE=600, a bounded run (1,000 messages, about 100 s) checks that the pacing
achieves within 5% of 600 a minute: the quota reserved in the database neither lets more through nor
wastes much of it.

    .venv/bin/python benchmarks/dispatch.py [--count 10000] [--limited-count 1000]

Uses a temporary SQLite database; the SMTP server runs in its own process so it does not compete
with the measured client for the GIL. The last line printed is one JSON object.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import smtplib
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

GOAL = 0.8
LIMIT_PER_MINUTE = 600
LIMIT_TOLERANCE = 0.05


def run_server(port: int, ready, counter) -> None:
    """A fast aiosmtpd handler that only counts, in a child process."""
    from aiosmtpd.controller import Controller

    class CountingHandler:
        async def handle_DATA(self, server, session, envelope):
            with counter.get_lock():
                counter.value += 1
            return "250 OK"

    controller = Controller(CountingHandler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def baseline(port: int, count: int) -> float:
    """Messages per second of a plain loop building messages like the dispatcher's (same headers,
    text + HTML of similar size) and sending them over one connection."""
    from email.headerregistry import Address
    from email.utils import format_datetime, make_msgid

    # Bodies of the same size and shape as the rendered templates (short lines, so 7-bit).
    text = "Hello {name},\n\nHow did Northwind IT serve you in 2026-Q2?\n" + \
        "Some words about the survey and what it covers, kept under 72 characters.\n" * 5 + \
        "\nYour personal link (please do not forward it):\n{link}\n\nUnsubscribe:\n{link}/unsubscribe\n"
    html = "<!doctype html>\n<html lang=\"en\">\n<body style=\"margin:0; padding:24px;\">\n" + \
        "<p>Hello {name},</p>\n" + \
        "<p style=\"font-size:13px; color:#4a5260;\">Some words about the survey, styled.</p>\n" * 16 + \
        "<a href=\"{link}\">Open my survey</a>\n<a href=\"{link}/unsubscribe\">Unsubscribe</a>\n</body>\n</html>\n"
    started = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(count):
            link = f"http://vendorpulse.test/s/{i:032d}"
            message = EmailMessage()
            message["Subject"] = "How did Northwind IT do in 2026-Q2? Your short survey"
            message["From"] = "VendorPulse <surveys@vendorpulse.test>"
            message["To"] = Address(display_name=f"Person {i}", addr_spec=f"person{i}@example.com")
            message["Date"] = format_datetime(datetime.now(timezone.utc))
            message["Message-ID"] = make_msgid(domain="vendorpulse.test")
            message["List-Unsubscribe"] = f"<{link}/unsubscribe>"
            message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
            message["Auto-Submitted"] = "auto-generated"
            message.set_content(text.format(link=link, name=f"Person {i}"))
            message.add_alternative(html.format(link=link, name=f"Person {i}"), subtype="html")
            smtp.send_message(message, to_addrs=[f"person{i}@example.com"])
    return count / (time.perf_counter() - started)


def seed(count: int) -> tuple[int, list[int]]:
    from sqlalchemy import insert, select

    from app.extensions import db
    from app.models import Campaign, Provider, ServiceArea, Stakeholder, Wave
    from app.services.catalog import latest_definition, load_directory

    load_directory(REPO_ROOT / "surveys")
    provider = Provider(name="Northwind IT")
    area = ServiceArea(provider=provider, code="service-desk", name="Service Desk")
    now = datetime.now(timezone.utc)
    # Anchored in the future, so the pass plans a wave but opens nothing besides the benchmark wave.
    campaign = Campaign(name="Benchmark", provider=provider,
                        definition=latest_definition("quarterly-provider-satisfaction"),
                        anchor_date=now.date() + timedelta(days=60), service_areas=[area], reminder_days=[])
    wave = Wave(campaign=campaign, label="benchmark", opens_at=now - timedelta(hours=1),
                closes_at=now + timedelta(days=14))
    wave.open(now - timedelta(hours=1))
    db.session.add_all([provider, area, campaign, wave])
    db.session.flush()
    db.session.execute(insert(Stakeholder), [{"email": f"person{i}@example.com", "name": f"Person {i}",
                                              "department": "Finance", "active": True} for i in range(count)])
    ids = db.session.scalars(select(Stakeholder.id).order_by(Stakeholder.id)).all()
    db.session.commit()
    return wave.id, list(ids)


def queue_invitations(wave_id: int, stakeholder_ids: list[int]) -> None:
    from sqlalchemy import insert

    from app.extensions import db
    from app.models import Invitation

    now = datetime.now(timezone.utc)
    db.session.execute(insert(Invitation), [{"wave_id": wave_id, "stakeholder_id": sid, "state": "pending",
                                             "attempts": 0, "reminders_sent": 0, "created_at": now}
                                            for sid in stakeholder_ids])
    db.session.commit()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5,
                        help="Alternate baseline and dispatcher in this many rounds, so both see the same load.")
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--commit-every", type=int, default=None)
    parser.add_argument("--limited-count", type=int, default=1000,
                        help=f"Messages for the run with MAIL_MAX_PER_MINUTE={LIMIT_PER_MINUTE} (0 skips it).")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="vp-bench-"))
    os.environ.update(DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}", INSTANCE_PATH=str(workdir),
                      SECRET_KEY="benchmark", SMTP_HOST="", BASE_URL="http://vendorpulse.test")
    from app import create_app
    from app.extensions import db
    from app.services import dispatch
    from app.services.mailer import MailSettings
    from app.services.send_rate import SendLimits

    port = free_port()
    ready, counter = multiprocessing.Event(), multiprocessing.Value("i", 0)
    server = multiprocessing.Process(target=run_server, args=(port, ready, counter), daemon=True)
    server.start()
    ready.wait(10)
    try:
        app = create_app()
        with app.app_context():
            db.create_all()
            wave_id, stakeholder_ids = seed(args.count + args.limited_count)
            settings = MailSettings(base_url="http://vendorpulse.test", timezone="UTC",
                                    mail_from="VendorPulse <surveys@vendorpulse.test>", smtp_host="127.0.0.1",
                                    smtp_port=port, smtp_security="none")
            batch_size = args.batch_size or dispatch.BATCH_SIZE
            commit_every = args.commit_every or dispatch.COMMIT_EVERY
            per_round = args.count // args.rounds
            baseline_seconds = dispatcher_seconds = 0.0
            sent = 0
            for round_ in range(args.rounds):
                baseline_seconds += per_round / baseline(port, per_round)
                queue_invitations(wave_id, stakeholder_ids[round_ * per_round:(round_ + 1) * per_round])
                started = time.perf_counter()
                report = dispatch.run_dispatch_pass(datetime.now(timezone.utc), worker_id="bench", settings=settings,
                                                    batch_size=batch_size, commit_every=commit_every)
                dispatcher_seconds += time.perf_counter() - started
                sent += report.sent
            total = per_round * args.rounds
            baseline_rate, dispatcher_rate = total / baseline_seconds, sent / dispatcher_seconds
            assert sent == total, f"dispatcher sent {sent} of {total}"
            assert counter.value == 2 * total, f"server received {counter.value}"

            limited_sent, limited_per_minute = 0, None
            if args.limited_count:
                queue_invitations(wave_id, stakeholder_ids[args.count:args.count + args.limited_count])
                limits = SendLimits(per_minute=LIMIT_PER_MINUTE)
                started = time.perf_counter()
                while limited_sent < args.limited_count:
                    report = dispatch.run_dispatch_pass(datetime.now(timezone.utc), worker_id="bench-limited",
                                                        settings=settings, batch_size=batch_size,
                                                        commit_every=commit_every, limits=limits)
                    limited_sent += report.sent
                    assert report.failed == 0 and report.sent, report.summary()
                limited_per_minute = limited_sent / (time.perf_counter() - started) * 60
                assert counter.value == 2 * total + limited_sent, f"server received {counter.value}"
    finally:
        server.terminate()
        server.join(5)

    ratio = dispatcher_rate / baseline_rate
    print(f"{'sender':<28}{'messages':>10}{'msg/s':>10}")
    print(f"{'plain smtplib loop':<28}{total:>10}{baseline_rate:>10.0f}")
    print(f"{'dispatcher (SQLite)':<28}{sent:>10}{dispatcher_rate:>10.0f}")
    print(f"{args.rounds} alternating rounds; batch size {batch_size}, commit every {commit_every} messages; "
          f"ratio {ratio:.2f} (goal >= {GOAL})")
    result = {"benchmark": "dispatch", "messages_per_second": round(dispatcher_rate, 1),
              "baseline_per_second": round(baseline_rate, 1), "ratio": round(ratio, 3), "goal": f">= {GOAL}",
              "met": ratio >= GOAL}
    if limited_per_minute is not None:
        deviation = limited_per_minute / LIMIT_PER_MINUTE - 1
        print(f"with MAIL_MAX_PER_MINUTE={LIMIT_PER_MINUTE}: {limited_sent} messages at {limited_per_minute:.0f} "
              f"a minute ({deviation:+.1%}; goal within {LIMIT_TOLERANCE:.0%})")
        result.update(limited_messages=limited_sent, limit_per_minute=LIMIT_PER_MINUTE,
                      limited_per_minute=round(limited_per_minute, 1),
                      limited_goal=f"within {LIMIT_TOLERANCE:.0%} of {LIMIT_PER_MINUTE}",
                      limited_met=abs(deviation) <= LIMIT_TOLERANCE)
        result["met"] = result["met"] and result["limited_met"]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
