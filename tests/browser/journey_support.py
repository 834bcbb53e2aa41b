"""The app deployed as the README deploys it, for the journey test: `flask init`, then gunicorn on a free
loopback port with a fresh SQLite file, mail going to an aiosmtpd server, and `flask dispatch run` as its
own process. Nothing here shares the test session's `app` or database.
"""
from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from tests.smtp_server import SmtpServer, free_port

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "journey-admin-password"

# `flask dispatch run` takes its clock from `app.cli.dispatch.utcnow` and has no option to set it, so
# the reminder pass runs the same command in a process whose clock is JOURNEY_CLOCK_OFFSET_DAYS ahead:
# a reminder due in five days is due now, without touching the database behind the dispatcher's back.
_SHIFTED_FLASK = """
import os, sys
from datetime import timedelta
import app.cli.dispatch as cli
real_utcnow = cli.utcnow
offset = timedelta(days=float(os.environ["JOURNEY_CLOCK_OFFSET_DAYS"]))
cli.utcnow = lambda: real_utcnow() + offset
from flask.cli import main
sys.argv[0] = "flask"
main()
"""


@dataclass
class Deployment:
    base_url: str
    database: Path
    env: dict[str, str]
    log_path: Path
    process: subprocess.Popen | None = None

    def flask(self, *args: str, clock_offset_days: float | None = None, timeout: float = 60) -> str:
        """Run a `flask` command as its own process with the deployment's environment; return stdout."""
        env = dict(self.env)
        if clock_offset_days is None:
            command = [str(BIN / "flask"), *args]
        else:
            env["JOURNEY_CLOCK_OFFSET_DAYS"] = str(clock_offset_days)
            command = [sys.executable, "-c", _SHIFTED_FLASK, *args]
        done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        assert done.returncode == 0, f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        return done.stdout

    def start(self, workers: int = 2) -> None:
        log = self.log_path.open("w")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", self.base_url.removeprefix("http://"),
             "wsgi:app"],
            cwd=REPO_ROOT, env={**self.env, "WEB_CONCURRENCY": str(workers)}, stdout=log, stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited with {self.process.returncode}:\n{self.log()}")
            try:
                with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=2) as answer:
                    if answer.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"gunicorn did not answer /healthz within 30 s:\n{self.log()}")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=5)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-4000:] if self.log_path.exists() else ""

    def query(self, sql: str, *params) -> list[tuple]:
        """Read the deployment's database directly, the way an operator would check it."""
        with sqlite3.connect(self.database) as connection:
            return connection.execute(sql, params).fetchall()


def deployment_for(tmp_path: Path, smtp: SmtpServer) -> Deployment:
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    database = tmp_path / "journey.sqlite3"
    env = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "VENDORPULSE_ENV": "production",
        "DATABASE_URL": f"sqlite:///{database}",
        "INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": "journey-test-secret-key",
        "BASE_URL": base_url,
        "TIMEZONE": "UTC",
        "SMTP_HOST": smtp.host,
        "SMTP_PORT": str(smtp.port),
        "SMTP_SECURITY": "none",
        "SMTP_TIMEOUT": "10",
        "MAIL_FROM": "VendorPulse <surveys@example.com>",
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
    }
    # Settings this test leaves at their defaults: blank wins over the caller's shell and over a `.env`
    # file (python-dotenv never overrides a variable that is set, and the app reads blank as unset).
    for setting in ("SMTP_USERNAME", "SMTP_PASSWORD", "RATELIMIT_STORAGE_URI", "SURVEY_NOT_FOUND_LIMIT",
                    "SENTIMENT_POSITIVE_THRESHOLD", "SENTIMENT_NEGATIVE_THRESHOLD", "SESSION_COOKIE_SECURE",
                    "MAX_CONTENT_LENGTH", "WTF_CSRF_TIME_LIMIT", "SURVEYS_DIR"):
        env[setting] = ""
    for unset in ("NEW_USER_PASSWORD", "FLASK_ENV", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "LOG_LEVEL"):
        env.pop(unset, None)
    return Deployment(base_url, database, env, tmp_path / "gunicorn.log")


def links_in(message: EmailMessage, base_url: str) -> tuple[str, str]:
    """(survey link, unsubscribe link) from the text part of an invitation or reminder."""
    text = message.get_body(("plain",)).get_content()
    token = r"[A-Za-z0-9_-]{20,}"
    survey = re.search(rf"{re.escape(base_url)}/s/{token}(?![A-Za-z0-9_/-])", text)
    unsubscribe = re.search(rf"{re.escape(base_url)}/s/{token}/unsubscribe(?![A-Za-z0-9_/-])", text)
    assert survey and unsubscribe, f"no links to {base_url} in:\n{text}"
    return survey[0], unsubscribe[0]


def sign_in(page, base_url: str, email: str, password: str) -> None:
    page.goto(f"{base_url}/auth/login")
    page.fill("#email", email)
    page.fill("#password", password)
    with page.expect_navigation():
        page.click("button[type=submit], input[type=submit]")


def change_first_password(page, old: str, new: str) -> None:
    """Accounts made on the admin page must choose their own password at the first sign-in."""
    assert "/auth/password" in page.url, f"expected the password change page, got {page.url}"
    page.fill("#current_password", old)
    page.fill("#new_password", new)
    page.fill("#confirm", new)
    with page.expect_navigation():
        page.click("#submit")
    assert "/auth/password" not in page.url, page.inner_text("main")
