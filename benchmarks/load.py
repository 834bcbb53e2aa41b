"""Load and faults: gunicorn as deployed (gunicorn.conf.py, 4 workers) on SQLite and on PostgreSQL,
60 seconds of mixed traffic from a load generator on loopback, with faults injected on PostgreSQL.

Traffic: employees opening their survey (40%), employees submitting it (GET + POST, 40%), managers
viewing the overview or a service area page (20%). Half the invitations belong to a confidential
campaign, half to an anonymous one. The generator is a bounded pool of Python threads speaking HTTP
(the survey needs a CSRF token from the page, which wrk cannot script simply).

Faults, on the PostgreSQL run: a gunicorn worker killed with SIGKILL at 1/3 of the run, and every
database connection of the app terminated with pg_terminate_backend at 2/3. Afterwards the app must
serve requests again without a restart (pool pre-ping), and every submission that got its success
redirect must be stored exactly once (`check_exactly_once`):

- confidential: the response of each acknowledged link holds exactly the answers that were sent, and
  the wave holds one response per invitation marked answered, no more;
- anonymous: once the pool is written out (`anonymous_pool.flush_due`, as the dispatcher does when a
  wave ends), each area holds one satisfaction answer (required), and the provider-wide questions one
  partnership answer, per invitation marked answered; every acknowledged link is marked answered.

A submission stored while its worker was killed is marked answered without being acknowledged: it
counts as stored, not as a duplicate.

Run from the repository root: `python benchmarks/load.py [--seconds 60] [--backends sqlite,postgresql]`.
The last line printed is one JSON object. PostgreSQL is taken from BENCH_POSTGRES_URL (default the
local server, database vendorpulse_bench, recreated).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import re
import secrets
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from submit import CSRF_PATTERN, answers, free_port, request  # noqa: E402

CONCURRENCY = 8
INVITATIONS = 4000
MANAGER = ("loadtest@example.com", "load test password 123")
FAULT_WINDOW = 5.0  # seconds after a fault counted as "during the fault"
POSTGRES_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/vendorpulse_bench")


def flask(env: dict[str, str], *args: str) -> str:
    return subprocess.run([str(ROOT / ".venv" / "bin" / "flask"), *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


MODES = ("confidential", "anonymous")


def seed(env: dict[str, str]) -> dict[str, tuple[list[str], list[int], int]]:
    """Migrate, load the catalog, a manager account, and per anonymity mode a campaign with two areas
    and an open wave with half of INVITATIONS invitations. Returns each mode's tokens, area ids and
    campaign id."""
    flask(env, "init")
    flask(env, "users", "create", MANAGER[0], "--role", "manager", "--password", MANAGER[1])
    script = f"""
import json
from sqlalchemy import select
from app import create_app
from app.extensions import db
from app.models import Campaign
from benchmarks.seeding import add_open_wave
app = create_app()
with app.app_context():
    seeded = {{mode: [*add_open_wave(name, {INVITATIONS // 2}, anonymity=mode, with_targets=True),
                     db.session.scalar(select(Campaign.id).where(Campaign.name == name))]
              for name, mode in (("Load", "confidential"), ("Anon", "anonymous"))}}
    print(json.dumps(seeded))
"""
    output = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True).stdout.strip().splitlines()
    return {mode: tuple(seeded) for mode, seeded in json.loads(output[-1]).items()}


class Gunicorn:
    """gunicorn started the README's way, with 4 workers."""

    def __init__(self, env: dict[str, str]) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
             "--workers", "4", "--log-level", "warning", "wsgi:app"],
            cwd=ROOT, env={**env, "GUNICORN_BIND": f"127.0.0.1:{self.port}"}, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("gunicorn did not start")

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)


class Traffic:
    def __init__(self, port: int, seeded: dict[str, tuple[list[str], list[int], int]]) -> None:
        self.port = port
        # Submissions alternate between the modes; the last 100 links of each are only ever opened.
        confidential, anonymous = ([(mode, token) for token in seeded[mode][0][:-100]] for mode in MODES)
        self.unused = [pair for both in zip(confidential, anonymous) for pair in both][::-1]
        self.opened = [token for mode in MODES for token in seeded[mode][0][-100:]]
        self.areas_of = {mode: seeded[mode][1] for mode in MODES}
        self.campaign_of = {mode: seeded[mode][2] for mode in MODES}
        self.lock = threading.Lock()
        self.samples: list[tuple[float, str, float, bool]] = []  # (start, kind, seconds, ok)
        self.submitted: dict[str, list[tuple[str, int]]] = {mode: [] for mode in MODES}  # (token, answer seed)
        self.local = threading.local()

    def _timed(self, kind: str, call) -> bool:
        started = time.monotonic()
        try:
            ok = call()
        except (OSError, http.client.HTTPException, AttributeError):
            ok = False
        with self.lock:
            self.samples.append((started, kind, time.monotonic() - started, ok))
        return ok

    def open_survey(self) -> bool:
        token = random.choice(self.opened)
        return request(self.port, "GET", f"/s/{token}")[0] == 200

    def submit(self) -> bool:
        with self.lock:
            if not self.unused:
                return True
            mode, token = self.unused.pop()
        status, cookie, page = request(self.port, "GET", f"/s/{token}")
        if status != 200:
            return False
        csrf = CSRF_PATTERN.search(page.decode()).group(1)
        answer_seed = random.randrange(100)
        body = urlencode(answers(self.areas_of[mode], answer_seed) + [("csrf_token", csrf)])
        status, _, _ = request(self.port, "POST", f"/s/{token}", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie.split(";", 1)[0]})
        if status == 303:
            with self.lock:
                self.submitted[mode].append((token, answer_seed))
            return True
        return False

    def _manager_cookie(self) -> str:
        if getattr(self.local, "cookie", None) is None:
            status, cookie, page = request(self.port, "GET", "/auth/login")
            csrf = CSRF_PATTERN.search(page.decode())
            csrf = csrf.group(1) if csrf else re.search(r'csrf_token" type="hidden" value="([^"]+)"',
                                                        page.decode()).group(1)
            body = urlencode({"email": MANAGER[0], "password": MANAGER[1], "csrf_token": csrf})
            status, cookie, _ = request(self.port, "POST", "/auth/login", body, {
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie.split(";", 1)[0]})
            if status != 302:
                raise OSError(f"manager login failed with {status}")
            self.local.cookie = cookie.split(";", 1)[0]
        return self.local.cookie

    def dashboard(self) -> bool:
        mode = random.choice(MODES)
        path = random.choice(["/dashboard/", f"/dashboard/areas/{random.choice(self.areas_of[mode])}"])
        path += f"?campaign={self.campaign_of[mode]}"
        status = request(self.port, "GET", path, headers={"Cookie": self._manager_cookie()})[0]
        if status in (302, 401):
            self.local.cookie = None  # session lost (e.g. worker restarted): sign in again next time
        return status == 200

    def run(self, seconds: float) -> None:
        stop_at = time.monotonic() + seconds

        def loop() -> None:
            while time.monotonic() < stop_at:
                pick = random.random()
                if pick < 0.4:
                    self._timed("open", self.open_survey)
                elif pick < 0.8:
                    self._timed("submit", self.submit)
                else:
                    self._timed("dashboard", self.dashboard)

        with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
            for future in [pool.submit(loop) for _ in range(CONCURRENCY)]:
                future.result()


def terminate_backends(database_url: str) -> int:
    import psycopg

    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname="postgres",
                         autocommit=True) as connection:
        rows = connection.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                                  "WHERE datname = %s AND pid <> pg_backend_pid()", (url.database,)).fetchall()
    return len(rows)


def recreate_postgres(database_url: str) -> None:
    import psycopg

    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    with psycopg.connect(host=url.host, port=url.port or 5432, user=url.username, dbname="postgres",
                         autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{url.database}"')


CHECK_SCRIPT = """
import json, sys
from datetime import datetime, timezone
from sqlalchemy import func, select
from app import create_app
from app.extensions import db
from app.models import Answer, Invitation, InvitationToken, PooledResponse, Question, Response, hash_token
from app.services import anonymous_pool

sent = json.load(sys.stdin)
app = create_app()


def chunks(values, size=500):
    for start in range(0, len(values), size):
        yield values[start:start + size]


def invitations_of(tokens):  # (invitation id, wave id, marked answered) of each token, in order
    found = {}
    for chunk in chunks([hash_token(t) for t in tokens]):
        found.update({row[0]: tuple(row[1:]) for row in db.session.execute(
            select(InvitationToken.token_hash, Invitation.id, Invitation.wave_id,
                   Invitation.responded_at.is_not(None))
            .join(Invitation, Invitation.id == InvitationToken.invitation_id)
            .where(InvitationToken.token_hash.in_(chunk)))})
    return [found[hash_token(t)] for t in tokens]


def answered_in(wave_id):
    return db.session.scalar(select(func.count()).select_from(Invitation)
                             .where(Invitation.wave_id == wave_id, Invitation.responded_at.is_not(None)))


def as_sent(score, hours, reasons, text):
    if score is not None:
        return [str(score)]
    if hours is not None:
        return [f"{hours:g}"]
    return sorted(reasons) if reasons is not None else [text]


with app.app_context():
    # Write what still waits in the anonymous pool, as the dispatcher's pass does once a wave has ended.
    anonymous_pool.flush_due(datetime(9999, 1, 1, tzinfo=timezone.utc), app.config["SECRET_KEY"])
    result = {}

    acknowledged = sent["confidential"]
    invitations = invitations_of([token for token, _ in acknowledged])
    stored = {}
    for chunk in chunks([invitation_id for invitation_id, _, _ in invitations]):
        for row in db.session.execute(
                select(Response.invitation_id, Question.code, Answer.service_area_id, Answer.score, Answer.hours,
                       Answer.reasons, Answer.text)
                .join(Answer, Answer.response_id == Response.id).join(Question, Question.id == Answer.question_id)
                .where(Response.invitation_id.in_(chunk))):
            stored.setdefault(row[0], {})[(row[1], row[2])] = as_sent(*row[3:])
    as_sent_count = missing = 0
    for (invitation_id, _, _), (_, expected) in zip(invitations, acknowledged):
        if invitation_id not in stored:
            missing += 1
        elif stored[invitation_id] == {(code, area): sorted(values) for code, area, values in expected}:
            as_sent_count += 1
    wave_id = invitations[0][1] if invitations else None
    responses = db.session.scalar(select(func.count()).select_from(Response).where(Response.wave_id == wave_id))
    answered = answered_in(wave_id)
    result["confidential"] = {
        "succeeded": len(acknowledged), "stored_as_sent": as_sent_count, "missing": missing,
        "different": len(acknowledged) - as_sent_count - missing, "answered": answered,
        "responses": responses, "not_marked_answered": sum(1 for _, _, done in invitations if not done)}

    acknowledged = sent["anonymous"]
    invitations = invitations_of([token for token, _ in acknowledged])
    wave_id = invitations[0][1] if invitations else None
    counted = dict(db.session.execute(
        select(Answer.service_area_id, func.count()).join(Question, Question.id == Answer.question_id)
        .where(Answer.wave_id == wave_id,
               ((Question.code == "satisfaction") & Answer.service_area_id.is_not(None))
               | ((Question.code == "partnership") & Answer.service_area_id.is_(None)))
        .group_by(Answer.service_area_id)).all())
    result["anonymous"] = {
        "succeeded": len(acknowledged), "answered": answered_in(wave_id),
        "satisfaction_per_area": [counted.get(area, 0) for area in sent["anonymous_areas"]],
        "partnership": counted.get(None, 0),
        "left_in_pool": db.session.scalar(select(func.count()).select_from(PooledResponse)
                                          .where(PooledResponse.wave_id == wave_id)),
        "not_marked_answered": sum(1 for _, _, done in invitations if not done)}
    print(json.dumps(result))
"""


def sent_answers(area_ids: list[int], seed: int) -> list[tuple[str, int | None, list[str]]]:
    """(question code, area id or None, values) of one submission, as the survey form was filled in."""
    values: dict[tuple[str, int | None], list[str]] = {}
    for field, value in answers(area_ids, seed):
        prefix, _, code = field.partition("__")
        if code:
            area = int(prefix.removeprefix("area")) if prefix.startswith("area") else None
            values.setdefault((code, area), []).append(value)
    return [(code, area, value) for (code, area), value in values.items()]


def check_exactly_once(env: dict[str, str], submitted: dict[str, list[tuple[str, int]]],
                       areas_of: dict[str, list[int]]) -> dict[str, dict]:
    """Compare what the database holds with the submissions acknowledged by a success redirect."""
    sent = {"confidential": [(token, sent_answers(areas_of["confidential"], seed))
                             for token, seed in submitted["confidential"]],
            "anonymous": submitted["anonymous"], "anonymous_areas": areas_of["anonymous"]}
    output = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", CHECK_SCRIPT], cwd=ROOT, env=env,
                            check=True, capture_output=True, text=True, input=json.dumps(sent)).stdout
    return json.loads(output.strip().splitlines()[-1])


def stored_exactly_once(integrity: dict[str, dict]) -> bool:
    confidential, anonymous = integrity["confidential"], integrity["anonymous"]
    return (confidential["stored_as_sent"] == confidential["succeeded"]
            and confidential["responses"] == confidential["answered"] and confidential["not_marked_answered"] == 0
            and all(count == anonymous["answered"]
                    for count in [*anonymous["satisfaction_per_area"], anonymous["partnership"]])
            and anonymous["answered"] >= anonymous["succeeded"] and anonymous["not_marked_answered"] == 0
            and anonymous["left_in_pool"] == 0)


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def run_backend(backend: str, seconds: float, workdir: Path) -> dict:
    database_url = f"sqlite:///{workdir / 'load.sqlite3'}" if backend == "sqlite" else POSTGRES_URL
    if backend == "postgresql":
        recreate_postgres(database_url)
    env = {**os.environ, "DATABASE_URL": database_url, "INSTANCE_PATH": str(workdir / backend),
           "SECRET_KEY": secrets.token_hex(32), "VENDORPULSE_ENV": "production", "FLASK_APP": "wsgi.py",
           "BASE_URL": "http://127.0.0.1", "ADMIN_PASSWORD": "load test admin password", "MPLBACKEND": "Agg",
           "SURVEY_NOT_FOUND_LIMIT": "100000 per minute", "RATELIMIT_STORAGE_URI": "memory://"}
    seeded = seed(env)
    server = Gunicorn(env)
    traffic = Traffic(server.port, seeded)
    faults: dict[str, float] = {}

    def inject() -> None:
        time.sleep(seconds / 3)
        victim = server.workers()[0]
        os.kill(victim, signal.SIGKILL)
        faults["worker_killed"] = time.monotonic()
        time.sleep(seconds / 3)
        faults["connections_terminated"] = time.monotonic()
        faults["backends"] = terminate_backends(database_url)

    injector = threading.Thread(target=inject, daemon=True) if backend == "postgresql" else None
    started = time.monotonic()
    try:
        if injector:
            injector.start()
        traffic.run(seconds)
        elapsed = time.monotonic() - started
        healthy_after = request(server.port, "GET", "/healthz")[0] == 200
    finally:
        server.stop()
    samples = traffic.samples
    latencies = [s[2] * 1000 for s in samples if s[3]]
    errors = sum(1 for s in samples if not s[3])
    result = {
        "backend": backend, "requests": len(samples), "throughput_per_s": round(len(samples) / elapsed, 1),
        "error_rate": round(errors / max(1, len(samples)), 4), "p50_ms": round(percentile(latencies, 50), 1),
        "p99_ms": round(percentile(latencies, 99), 1), "healthy_after": healthy_after,
        "integrity": check_exactly_once(env, traffic.submitted, traffic.areas_of),
    }
    for name in ("worker_killed", "connections_terminated"):
        if name in faults:
            window = [s for s in samples if faults[name] <= s[0] < faults[name] + FAULT_WINDOW]
            result[f"error_rate_{name}"] = round(sum(1 for s in window if not s[3]) / max(1, len(window)), 4)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--backends", default="sqlite,postgresql")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for backend in args.backends.split(","):
            results.append(run_backend(backend, args.seconds, Path(tmp)))
    print(f"{'backend':<11} {'requests':>8} {'req/s':>7} {'errors':>7} {'p50 ms':>7} {'p99 ms':>7}  integrity / faults")
    for r in results:
        confidential, anonymous = r["integrity"]["confidential"], r["integrity"]["anonymous"]
        fault_text = "; ".join(f"{k[11:]}: {v:.1%} errors" for k, v in r.items() if k.startswith("error_rate_"))
        print(f"{r['backend']:<11} {r['requests']:>8} {r['throughput_per_s']:>7} {r['error_rate']:>7.2%} "
              f"{r['p50_ms']:>7} {r['p99_ms']:>7}  confidential: {confidential['stored_as_sent']}/"
              f"{confidential['succeeded']} stored as sent, {confidential['responses']} responses for "
              f"{confidential['answered']} answered; anonymous: {anonymous['succeeded']} acknowledged, "
              f"{anonymous['answered']} answered, satisfaction answers per area {anonymous['satisfaction_per_area']}, "
              f"partnership {anonymous['partnership']}; {fault_text or 'no faults'}; "
              f"healthy after: {r['healthy_after']}")
    met = all(stored_exactly_once(r["integrity"]) and r["healthy_after"] for r in results)
    summary = {"benchmark": "load", "results": results,
               "goal": "every successful submission stored exactly once; app healthy after faults", "met": met}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
