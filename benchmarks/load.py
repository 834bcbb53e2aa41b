"""Load and faults: gunicorn as deployed (gunicorn.conf.py, 4 workers) on SQLite and on PostgreSQL,
60 seconds of mixed traffic from a load generator on loopback, with faults injected on PostgreSQL.

Traffic: employees opening their survey (40%), employees submitting it (GET + POST, 40%), managers
viewing the overview or a service area page (20%). The generator is a bounded pool of Python threads
speaking HTTP (the survey needs a CSRF token from the page, which wrk cannot script simply).

Faults, on the PostgreSQL run: a gunicorn worker killed with SIGKILL at 1/3 of the run, and every
database connection of the app terminated with pg_terminate_backend at 2/3. Afterwards every
submission that got its success redirect must be in the database exactly once, and the app must
serve requests again without a restart (pool pre-ping).

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


def seed(env: dict[str, str]) -> tuple[list[str], list[int]]:
    """Migrate, load the catalog, a manager account, and one confidential campaign with two areas and
    an open wave with INVITATIONS invitations whose tokens we keep."""
    flask(env, "init")
    flask(env, "users", "create", MANAGER[0], "--role", "manager", "--password", MANAGER[1])
    script = f"""
from app import create_app
from benchmarks.seeding import add_open_wave
app = create_app()
with app.app_context():
    tokens, area_ids = add_open_wave("Load", {INVITATIONS}, anonymity="confidential", with_targets=True)
    print(" ".join(tokens))
    print(" ".join(str(a) for a in area_ids))
"""
    output = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True).stdout.strip().splitlines()
    tokens, area_ids = output[-2].split(), [int(x) for x in output[-1].split()]
    return tokens, area_ids


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
    def __init__(self, port: int, tokens: list[str], area_ids: list[int]) -> None:
        self.port = port
        self.unused = list(reversed(tokens))
        self.opened = tokens[-200:]  # opened again and again, never submitted
        self.area_ids = area_ids
        self.lock = threading.Lock()
        self.samples: list[tuple[float, str, float, bool]] = []  # (start, kind, seconds, ok)
        self.submitted: list[str] = []
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
            token = self.unused.pop()
        status, cookie, page = request(self.port, "GET", f"/s/{token}")
        if status != 200:
            return False
        csrf = CSRF_PATTERN.search(page.decode()).group(1)
        body = urlencode(answers(self.area_ids, random.randrange(100)) + [("csrf_token", csrf)])
        status, _, _ = request(self.port, "POST", f"/s/{token}", body, {
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie.split(";", 1)[0]})
        if status == 303:
            with self.lock:
                self.submitted.append(token)
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
        path = random.choice(["/dashboard/", f"/dashboard/areas/{random.choice(self.area_ids)}"])
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


def check_exactly_once(env: dict[str, str], submitted: list[str]) -> dict[str, int]:
    """Every token that got a success redirect has exactly one response; no invitation has two."""
    script = """
import sys, json
from sqlalchemy import func, select
from app import create_app
from app.extensions import db
from app.models import Invitation, InvitationToken, Response, hash_token
tokens = sys.stdin.read().split()
app = create_app()
with app.app_context():
    hashes = [hash_token(t) for t in tokens]
    counts = {}
    for start in range(0, len(hashes), 500):
        rows = db.session.execute(
            select(InvitationToken.token_hash, func.count(Response.id))
            .join(Response, Response.invitation_id == InvitationToken.invitation_id, isouter=True)
            .where(InvitationToken.token_hash.in_(hashes[start:start + 500]))
            .group_by(InvitationToken.token_hash)).all()
        counts.update(dict(rows))
    doubles = db.session.scalar(select(func.count()).select_from(
        select(Response.invitation_id).where(Response.invitation_id.is_not(None))
        .group_by(Response.invitation_id).having(func.count() > 1).subquery()))
    print(json.dumps({"succeeded": len(tokens), "stored_once": sum(1 for h in hashes if counts.get(h) == 1),
                      "missing": sum(1 for h in hashes if not counts.get(h)), "duplicated": doubles}))
"""
    output = subprocess.run([str(ROOT / ".venv" / "bin" / "python"), "-c", script], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True, input=" ".join(submitted)).stdout
    return json.loads(output.strip().splitlines()[-1])


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
    tokens, area_ids = seed(env)
    server = Gunicorn(env)
    traffic = Traffic(server.port, tokens, area_ids)
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
        "integrity": check_exactly_once(env, traffic.submitted),
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
        integrity = r["integrity"]
        fault_text = "; ".join(f"{k[11:]}: {v:.1%} errors" for k, v in r.items() if k.startswith("error_rate_"))
        print(f"{r['backend']:<11} {r['requests']:>8} {r['throughput_per_s']:>7} {r['error_rate']:>7.2%} "
              f"{r['p50_ms']:>7} {r['p99_ms']:>7}  {integrity['stored_once']}/{integrity['succeeded']} stored once, "
              f"{integrity['duplicated']} duplicated; {fault_text or 'no faults'}; "
              f"healthy after: {r['healthy_after']}")
    met = all(r["integrity"]["stored_once"] == r["integrity"]["succeeded"] and r["integrity"]["duplicated"] == 0
              and r["healthy_after"] for r in results)
    summary = {"benchmark": "load", "results": results,
               "goal": "every successful submission stored exactly once; app healthy after faults", "met": met}
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
