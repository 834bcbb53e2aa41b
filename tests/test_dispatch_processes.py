"""Real `flask dispatch run` processes: killed with SIGKILL mid-batch, and two running at once.

The SMTP server runs in this process; the dispatchers are subprocesses sharing the test database.
"""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.models import Invitation
from app.services.dispatch import LEASE, run_dispatch_pass
from app.services.invitations import find_invitation
from tests.factories import make_area, make_campaign, make_invitation, make_provider, make_stakeholder, make_wave
from tests.smtp_server import smtp_server  # noqa: F401 (fixture)

REPO_ROOT = Path(__file__).resolve().parent.parent
LINK = re.compile(r"http://vendorpulse\.test/s/([A-Za-z0-9_-]{32})(?![A-Za-z0-9_/-])")
pytestmark = pytest.mark.slow


def dispatcher(app, smtp_server, tmp_path: Path, *args: str) -> subprocess.Popen:
    env = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "SECRET_KEY": "test-only",
        "BASE_URL": "http://vendorpulse.test",
        "SMTP_HOST": smtp_server.host,
        "SMTP_PORT": str(smtp_server.port),
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT": "10",
        "VENDORPULSE_ENV": "development",
    }
    return subprocess.Popen([str(Path(sys.executable).parent / "flask"), "dispatch", "run", *args], cwd=REPO_ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def finish(process: subprocess.Popen) -> str:
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    return out


@pytest.fixture
def many_invitations(db, survey):
    def make(count: int) -> list[str]:
        provider = make_provider("Northwind IT")
        campaign = make_campaign(survey, provider=provider, areas=[make_area(provider)])
        wave = make_wave(campaign, label="2026-Q2", opens_at=datetime.now(timezone.utc) - timedelta(hours=1))
        emails = [f"person{i:03d}@example.com" for i in range(count)]
        for email in emails:
            make_invitation(wave, make_stakeholder(email=email))
        return emails

    return make


def states(db) -> Counter:
    return Counter(dict(db.session.execute(select(Invitation.state, func.count()).group_by(Invitation.state)).all()))


def test_a_dispatcher_killed_mid_batch_loses_nothing_and_repeats_at_most_commit_every(
        app, db, smtp_server, many_invitations, tmp_path):
    emails = many_invitations(40)
    smtp_server.slow_down(0.05)
    commit_every = 5
    process = dispatcher(app, smtp_server, tmp_path, "--batch-size", "10", "--commit-every", str(commit_every))
    deadline = time.monotonic() + 30
    while len(smtp_server.received) < 13 and time.monotonic() < deadline:
        time.sleep(0.01)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    db.session.expire_all()
    states_before = states(db)
    assert 0 < len(smtp_server.received) < 40 and states_before["sending"] > 0, "the kill did not land mid-batch"

    # The next run, once the lease has passed, finishes the killed batch (here in-process, with the
    # pass's clock moved past the lease instead of waiting ten minutes).
    report = run_dispatch_pass(datetime.now(timezone.utc) + LEASE + timedelta(seconds=1), worker_id="after-kill",
                               settings=smtp_server.settings())
    assert report.sent == 40 - states_before["sent"]

    db.session.expire_all()
    assert states(db) == Counter({"sent": 40})
    received = Counter(r.to for r in smtp_server.received)
    assert set(received) == set(emails)
    duplicates = sum(received.values()) - len(emails)
    assert duplicates <= commit_every
    # Every link that reached anyone works, including those sent just before the kill.
    for item in smtp_server.received:
        token = LINK.search(item.message.get_body(("plain",)).get_content()).group(1)
        assert find_invitation(token).stakeholder.email == item.to


def test_two_concurrent_dispatchers_send_each_invitation_exactly_once(
        app, db, smtp_server, many_invitations, tmp_path):
    emails = many_invitations(80)
    smtp_server.slow_down(0.02)
    workers = [dispatcher(app, smtp_server, tmp_path, "--batch-size", "5", "--worker-id", f"w{i}")
               for i in (1, 2)]
    outputs = [finish(worker) for worker in workers]

    sent_by = [int(re.search(r"\bsent: (\d+)", out).group(1)) for out in outputs]
    assert sum(sent_by) == 80
    assert all(n > 0 for n in sent_by), f"one dispatcher did all the work ({sent_by}); no concurrency tested"
    assert Counter(r.to for r in smtp_server.received) == Counter({email: 1 for email in emails})
    db.session.expire_all()
    assert states(db) == Counter({"sent": 80})
