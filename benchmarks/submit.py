"""Benchmark: survey submissions per second under gunicorn, against a bare Flask route inserting one SQLite row.

Three servers run side by side under gunicorn with 4 workers each, on temporary SQLite files, and the
same load generator (a bounded thread pool speaking HTTP on loopback) drives them in alternating
rounds. Four targets are measured:

- baseline: the bare Flask route that inserts one row (no session, no CSRF, no form);
- stack floor: VendorPulse itself (the same app, config and extensions) with one extra route that
  takes the same form POST, checks its CSRF token and answers 303, storing nothing. It is the most
  any CSRF-protected form of this size can reach on this stack, and shows how much of the budget the
  framework spends before a submission does any work;
- submission (the figure the goal is about): POST the answers of one invitation (two areas,
  22 answers, three comments) and get the redirect to the thank-you page. The campaign is anonymous,
  so each submission adds three sealed parts to the response pool (one per area, one for the
  provider-wide questions); once twice the minimum group size (k = 5) of parts of one department and
  area wait, the submission that brought them there also writes all but k of them, so in the steady
  state one submission in five writes a shuffled batch of 15 parts. Like any load generator, each
  client thread takes a session cookie and CSRF token once, from one survey page;
- visit: what one respondent costs, GET the survey page and then POST it.

Run from the repository root: `python benchmarks/submit.py`. The last line printed is one JSON object.
"""
from __future__ import annotations

import http.client
import json
import os
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

GOAL = 0.35
WORKERS = 4
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", 8))
SECONDS = float(os.environ.get("BENCH_SECONDS", 12))
ROUNDS = 4
WARMUP_SECONDS = 1.5
INVITATIONS = int(os.environ.get("BENCH_INVITATIONS", 12000))  # split between submissions and visits
CSRF_PATTERN = re.compile(r'name="csrf_token" value="([^"]+)"')

# VendorPulse with one more route: the survey form's POST, CSRF-checked, storing nothing.
STACK_FLOOR_APP = textwrap.dedent('''
    """The stack floor: the app as deployed, plus a route that only checks the survey form's CSRF token."""
    from flask import redirect, request
    from flask_wtf.csrf import generate_csrf, validate_csrf

    from app import create_app
    from app.extensions import csrf

    app = create_app()


    @app.get("/bench/floor")
    def token():
        return generate_csrf()


    @csrf.exempt  # checked below, as the survey view does
    def submit():
        validate_csrf(request.form.get("csrf_token"))
        return redirect("/bench/floor", code=303)


    app.add_url_rule("/bench/floor", "bench_floor_submit", submit, methods=["POST"])
''')

BASELINE_APP = textwrap.dedent('''
    """The baseline: a bare Flask route that inserts one row into SQLite, configured like the app's database."""
    import os
    import sqlite3

    from flask import Flask

    app = Flask(__name__)
    _connection = None


    def connection():
        global _connection
        if _connection is None:
            _connection = sqlite3.connect(os.environ["BASELINE_DB"], timeout=30, isolation_level=None)
            _connection.execute("PRAGMA journal_mode=WAL")
            _connection.execute("PRAGMA synchronous=NORMAL")
            _connection.execute("PRAGMA busy_timeout=30000")
        return _connection


    @app.post("/insert")
    def insert():
        connection().execute("INSERT INTO hit (created_at) VALUES (datetime('now'))")
        return "ok"
''')


def database_share(database: Path, area_ids: list[int], token: str, rounds: int = 450) -> dict[str, float]:
    """In this process, on a copy of the seeded database, with no HTTP, Flask or SQLAlchemy: what a bare
    insert costs, and what sqlite3 alone spends executing the writes of one anonymous submission, with
    every value prepared beforehand. Those are the app's writes: the invitation claimed, the draft removed
    and three sealed pool rows (its parts), one commit; the waiting ids read to decide whether a segment
    is due; and, once 2k parts of a department's segments wait, the batch they are written in (the pool
    read under the write lock, every row of the due segments read again, all but k of each written as
    responses with their answers and comments' sentiment, the tallies, those pool rows deleted, one
    commit), counted here by its share per submission. Also the app's own Python work that no storage
    choice removes: checking the answers, scoring 3 comments, and sealing the three parts plus opening
    each three times (once to learn its segment, about twice more as a batch is drawn from 2k rows)."""
    import json as json_module
    import shutil
    import timeit
    import uuid
    from collections import defaultdict
    from datetime import date

    from werkzeug.datastructures import MultiDict

    from app import create_app
    from app.services import anonymous_pool, responses, sealing
    from app.services.comment_scores import Thresholds

    copy = database.with_name("share.sqlite3")
    shutil.copy(database, copy)
    app = create_app()
    with app.test_request_context():
        secret_key = app.config["SECRET_KEY"]
        context = responses.load_survey_context(token)  # reads only
        k = context.campaign.min_group_size
        form = MultiDict(answers(area_ids, 3))
        thresholds = Thresholds()
        check_ms = timeit.timeit(lambda: responses.parse_submission(context.layout, form), number=rounds) / rounds * 1e3
        cleaned = responses.parse_submission(context.layout, form)
        texts = [item.columns["text"] for item in cleaned if item.columns.get("text")]
        sentiment_ms = timeit.timeit(lambda: [responses.sentiment_columns(t, thresholds) for t in texts],
                                     number=rounds) / rounds * 1e3
        rows = [responses._answer_row({"id": None, "wave_id": context.wave.id}, item, thresholds) for item in cleaned]
        tallies = responses.tally_keys_for(responses._TallyView(context.wave.id, "IT", [
            responses._TallyAnswer(row["score"], row["service_area_id"], item.question)
            for row, item in zip(rows, cleaned)]))
        parts = anonymous_pool.split_submission(day=date.today(), segments={"department": "IT", "location": None},
                                                answer_rows=rows, tallies=tallies)
        pooled = anonymous_pool.pool_rows(context.wave.id, parts, secret_key=secret_key)
        key, seal_context = sealing.pool_key(secret_key), f"response_pool:{context.wave.id}"

        def seal_and_open() -> None:
            for row in anonymous_pool.pool_rows(context.wave.id, parts, secret_key=secret_key):
                for _ in range(3):
                    sealing.unseal(key, row["sealed"], context=seal_context)

        seal_ms = timeit.timeit(seal_and_open, number=rounds) / rounds * 1e3

    connection = sqlite3.connect(copy, isolation_level=None)
    for pragma in ("foreign_keys=ON", "secure_delete=ON", "journal_mode=WAL", "synchronous=NORMAL"):
        connection.execute(f"PRAGMA {pragma}")
    connection.execute("CREATE TABLE hit (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL)")
    insert_ms = timeit.timeit(lambda: connection.execute("INSERT INTO hit (created_at) VALUES (datetime('now'))"),
                              number=rounds * 4) / (rounds * 4) * 1e3
    columns = [c for c in rows[0] if c not in ("response_id", "wave_id")]
    answer_sql = (f"INSERT INTO answer (response_id, wave_id, {', '.join(columns)}) "
                  f"VALUES ({', '.join('?' * (len(columns) + 2))})")

    def encoded(answer: dict) -> list:
        row = {**anonymous_pool._ANSWER_DEFAULTS, **answer}
        return [json_module.dumps(row[c]) if isinstance(row[c], (list, dict)) else row[c] for c in columns]

    part_answers = [[encoded(answer) for answer in part.answers] for part in parts]
    part_tallies = [[(context.wave.id, code, part.segment.area_key, "IT", score, n) for code, score, n in part.tallies]
                    for part in parts]
    invitation_ids = iter([row[0] for row in connection.execute("SELECT id FROM invitation ORDER BY id")])
    wave_id, departments = context.wave.id, ("Finance", "Sales", "IT")
    waiting: dict[str, list[list[str]]] = defaultdict(lambda: [[] for _ in parts])  # department -> ids per part
    submitted = 0

    def write_batch(segments: list[list[str]]) -> None:
        connection.execute("BEGIN")
        connection.execute("DELETE FROM response_pool WHERE 0 = 1")  # the write lock, as the app takes it
        connection.execute("SELECT id FROM response_pool WHERE wave_id = ?", (wave_id,)).fetchall()
        for index, ids in enumerate(segments):
            connection.execute(f"SELECT id, sealed FROM response_pool WHERE wave_id = ? AND id IN "
                               f"({', '.join('?' * len(ids))})", (wave_id, *ids)).fetchall()
            written, segments[index] = ids[:-k], ids[-k:]
            for _ in written:
                response_id = uuid.uuid4().hex
                connection.execute("INSERT INTO response (id, wave_id, invitation_id, submitted_at, department, "
                                   "location) VALUES (?, ?, NULL, '2026-01-01 00:00:00.000000', 'IT', NULL)",
                                   (response_id, wave_id))
                connection.executemany(answer_sql, [(response_id, wave_id, *values) for values in part_answers[index]])
            connection.executemany(
                "INSERT INTO score_tally (wave_id, question_code, area_key, department, score, answer_count) "
                "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (wave_id, question_code, area_key, department, score) "
                "DO UPDATE SET answer_count = answer_count + excluded.answer_count",
                [(*tally[:5], tally[5] * len(written)) for tally in part_tallies[index]])
            connection.executemany("DELETE FROM response_pool WHERE id = ?", [(pool_id,) for pool_id in written])
        connection.execute("COMMIT")

    def store_one() -> None:
        nonlocal submitted
        invitation_id = next(invitation_ids)
        segments = waiting[departments[submitted % len(departments)]]
        submitted += 1
        ids = [uuid.uuid4().hex for _ in parts]
        connection.execute("BEGIN")
        connection.execute("UPDATE invitation SET responded_at = '2026-01-01 00:00:00.000000' "
                           "WHERE id = ? AND responded_at IS NULL", (invitation_id,))
        connection.execute("DELETE FROM response_draft WHERE invitation_id = ?", (invitation_id,))
        connection.executemany("INSERT INTO response_pool (id, wave_id, sealed) VALUES (?, ?, ?)",
                               [(pool_id, wave_id, row["sealed"]) for pool_id, row in zip(ids, pooled)])
        connection.execute("COMMIT")
        # Is a segment due? The waiting ids, and the rows this process has not unsealed yet (its own).
        connection.execute("SELECT id FROM response_pool WHERE wave_id = ?", (wave_id,)).fetchall()
        connection.execute(f"SELECT id, sealed FROM response_pool WHERE wave_id = ? AND id IN "
                           f"({', '.join('?' * len(ids))})", (wave_id, *ids)).fetchall()
        for segment, pool_id in zip(segments, ids):
            segment.append(pool_id)
        if len(segments[0]) >= 2 * k:
            write_batch(segments)

    for _ in range(2 * k * len(departments)):  # to the steady state: k parts of every segment wait
        store_one()
    rounds -= rounds % (k * len(departments))  # whole cycles: every department's segments written as often
    writes_ms = timeit.timeit(store_one, number=rounds) / rounds * 1e3
    connection.close()
    return {"insert_ms": insert_ms, "writes_ms": writes_ms, "check_ms": check_ms, "sentiment_ms": sentiment_ms,
            "seal_ms": seal_ms}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def seed(env: dict[str, str], count: int) -> tuple[list[str], list[int]]:
    """Create the schema, the shipped survey, one anonymous campaign with two areas, and `count` invitations."""
    os.environ.update(env)
    from app import create_app
    from app.extensions import db
    from app.services.catalog import load_directory
    from benchmarks.seeding import add_open_wave

    app = create_app()
    with app.app_context():
        db.create_all()
        load_directory(REPO_ROOT / "surveys")
        tokens, area_ids = add_open_wave("Bench", count, anonymity="anonymous")
        db.session.remove()
        db.engine.dispose()
    return tokens, area_ids


def answers(area_ids: list[int], n: int) -> dict[str, object]:
    data: list[tuple[str, str]] = []
    for area_id in area_ids:
        p = f"area{area_id}__"
        rating = str(1 + n % 5)
        data += [(p + "satisfaction", rating), (p + "responsiveness", "4"), (p + "resolution_quality", "3"),
                 (p + "communication", "4"), (p + "expertise", "5"), (p + "recommend", str(n % 11)),
                 (p + "time_lost", "1.5"),
                 (p + "reasons", "fast_response" if int(rating) >= 4 else "slow_response"),
                 (p + "comment", "Quick and friendly help, but the laptop swap took far too long.")]
    data += [("rel__partnership", "4"), ("rel__proactivity", "3"), ("rel__account_management", "4"),
             ("rel__relationship_comment", "Better communication about planned outages please."), ("action", "submit")]
    return data


class Server:
    def __init__(self, target: str, env: dict[str, str], cwd: Path) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "--workers", str(WORKERS), "--bind", f"127.0.0.1:{self.port}",
             "--log-level", "warning", "--timeout", "60", target],
            cwd=cwd, env={**os.environ, **env}, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,
        )

    def wait_ready(self, path: str, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"server exited: {self.process.stderr.read().decode()[-2000:]}")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", path)
                connection.getresponse().read()
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("server did not start in time")

    def stop(self) -> None:
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def request(port: int, method: str, path: str, body: str | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.getheader("Set-Cookie"), response.read()
    finally:
        connection.close()


def run_load(operation, seconds: float) -> tuple[int, int, float]:
    """Run `operation()` from CONCURRENCY threads until `seconds` pass; return (ok, failed, elapsed)."""
    stop_at = time.monotonic() + seconds
    counts = {"ok": 0, "failed": 0}
    lock = threading.Lock()

    def loop() -> None:
        while time.monotonic() < stop_at:
            try:
                ok = operation()
            except (OSError, http.client.HTTPException, IndexError):
                ok = False
            if ok is None:  # nothing left to do
                return
            with lock:
                counts["ok" if ok else "failed"] += 1

    started = time.monotonic()
    with ThreadPoolExecutor(max_workers=CONCURRENCY) as pool:
        for future in [pool.submit(loop) for _ in range(CONCURRENCY)]:
            future.result()
    return counts["ok"], counts["failed"], time.monotonic() - started


def _pop_token(remaining: list[str], lock: threading.Lock) -> tuple[str, int] | None:
    with lock:
        if not remaining:
            return None
        token = remaining.pop()
        return token, len(remaining)


def _form_headers(cookie: str) -> dict[str, str]:
    return {"Content-Type": "application/x-www-form-urlencoded", "Cookie": cookie.split(";", 1)[0]}


def submission_operation(port: int, tokens: list[str], area_ids: list[int]):
    """POST one invitation's answers. Each client thread opens one survey page first for its session
    cookie and CSRF token (valid for every form of that session), as a load generator would."""
    remaining = list(reversed(tokens))
    lock = threading.Lock()
    sessions = threading.local()

    def credentials() -> tuple[str, str]:
        if not hasattr(sessions, "csrf"):
            token, _ = _pop_token(remaining, lock)
            status, cookie, page = request(port, "GET", f"/s/{token}")
            if status != 200:
                raise RuntimeError(f"survey page answered {status}")
            sessions.csrf, sessions.cookie = CSRF_PATTERN.search(page.decode()).group(1), cookie
        return sessions.csrf, sessions.cookie

    def submit_one() -> bool | None:
        csrf, cookie = credentials()
        popped = _pop_token(remaining, lock)
        if popped is None:
            return None
        token, n = popped
        body = urlencode(answers(area_ids, n) + [("csrf_token", csrf)])
        status, _, _ = request(port, "POST", f"/s/{token}", body, _form_headers(cookie))
        return status == 303

    return submit_one


def visit_operation(port: int, tokens: list[str], area_ids: list[int]):
    """What one respondent does: GET the survey page, then POST the answers with its CSRF token."""
    remaining = list(reversed(tokens))
    lock = threading.Lock()

    def visit_one() -> bool | None:
        popped = _pop_token(remaining, lock)
        if popped is None:
            return None
        token, n = popped
        status, cookie, page = request(port, "GET", f"/s/{token}")
        if status != 200:
            return False
        csrf = CSRF_PATTERN.search(page.decode()).group(1)
        body = urlencode(answers(area_ids, n) + [("csrf_token", csrf)])
        status, _, _ = request(port, "POST", f"/s/{token}", body, _form_headers(cookie))
        return status == 303

    return visit_one


def floor_operation(port: int, area_ids: list[int]):
    """The survey form's POST to the stack-floor route (CSRF checked, nothing stored)."""
    status, cookie, token = request(port, "GET", "/bench/floor")
    if status != 200:
        raise RuntimeError(f"stack floor answered {status}")
    body = urlencode(answers(area_ids, 3) + [("csrf_token", token.decode())])
    headers = _form_headers(cookie)

    def post_one() -> bool:
        status, _, _ = request(port, "POST", "/bench/floor", body, headers)
        return status == 303

    return post_one


def baseline_operation(port: int):
    def insert_one() -> bool:
        status, _, _ = request(port, "POST", "/insert", "", {"Content-Length": "0"})
        return status == 200

    return insert_one


def measure(operations: dict[str, object]) -> dict[str, dict[str, float]]:
    """Alternate short rounds between the targets, so a change in the machine's load hits both alike;
    each target's rate is the median of its rounds."""
    for operation in operations.values():
        run_load(operation, WARMUP_SECONDS)
    rounds: dict[str, list[tuple[int, int, float]]] = {name: [] for name in operations}
    for _ in range(ROUNDS):
        for name, operation in operations.items():
            rounds[name].append(run_load(operation, SECONDS / ROUNDS))
    return {
        name: {
            "rate": statistics.median(ok / elapsed for ok, _, elapsed in results),
            "ok": sum(ok for ok, _, _ in results),
            "failed": sum(failed for _, failed, _ in results),
        }
        for name, results in rounds.items()
    }


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="vp-bench-submit-") as tmp:
        directory = Path(tmp)
        env = {
            "DATABASE_URL": f"sqlite:///{directory / 'app.sqlite3'}",
            "SECRET_KEY": secrets.token_hex(32),
            "INSTANCE_PATH": str(directory / "instance"),
            "VENDORPULSE_ENV": "production",
            "BASE_URL": "http://127.0.0.1",
            "RATELIMIT_STORAGE_URI": "memory://",
        }
        print(f"seeding {INVITATIONS} invitations...", flush=True)
        tokens, area_ids = seed(env, INVITATIONS)
        half = len(tokens) // 2
        share = database_share(directory / "app.sqlite3", area_ids, tokens[0])

        (directory / "baseline.py").write_text(BASELINE_APP)
        (directory / "stack_floor.py").write_text(STACK_FLOOR_APP)
        with sqlite3.connect(directory / "baseline.sqlite3") as connection:
            connection.execute("CREATE TABLE hit (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL)")

        app_server = Server("wsgi:app", env, REPO_ROOT)
        floor_server = Server("stack_floor:app", {**env, "PYTHONPATH": f"{directory}{os.pathsep}{REPO_ROOT}"},
                              REPO_ROOT)
        baseline_server = Server("baseline:app", {"BASELINE_DB": str(directory / "baseline.sqlite3")}, directory)
        try:
            app_server.wait_ready("/healthz")
            floor_server.wait_ready("/healthz")
            baseline_server.wait_ready("/")
            results = measure({
                "submission": submission_operation(app_server.port, tokens[:half], area_ids),
                "visit": visit_operation(app_server.port, tokens[half:], area_ids),
                "floor": floor_operation(floor_server.port, area_ids),
                "baseline": baseline_operation(baseline_server.port),
            })
        finally:
            for server in (app_server, floor_server, baseline_server):
                server.stop()

    baseline_rate = results["baseline"]["rate"]

    def ratio(name: str) -> float:
        return results[name]["rate"] / baseline_rate if baseline_rate else 0.0

    print(f"gunicorn {WORKERS} workers each, {CONCURRENCY} client threads, {ROUNDS} alternating rounds, "
          f"{SECONDS:.0f} s per target, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'target':<44}{'per second':>12}{'ok':>8}{'failed':>8}{'ratio':>8}")
    labels = {"submission": "survey submission (POST)", "visit": "respondent visit (GET + POST)",
              "floor": "stack floor (CSRF-checked POST, no work)", "baseline": "bare Flask SQLite insert"}
    for name, label in labels.items():
        figures = results[name]
        print(f"{label:<44}{figures['rate']:>12.1f}{figures['ok']:>8.0f}{figures['failed']:>8.0f}{ratio(name):>8.3f}")
    print(f"goal: submission ratio >= {GOAL}, i.e. a submission may cost {1 / GOAL:.2f} bare inserts; "
          f"the stack floor alone costs {1 / ratio('floor'):.2f}" if ratio("floor") else "")
    print(f"in-process, no HTTP and no ORM: a bare insert {share['insert_ms']:.3f} ms; sqlite3 executing the "
          f"writes of one submission {share['writes_ms']:.3f} ms ({share['writes_ms'] / share['insert_ms']:.0f}x); "
          f"checking its answers {share['check_ms']:.3f} ms; scoring its 3 comments {share['sentiment_ms']:.3f} ms; "
          f"sealing its 3 parts and opening each 3 times {share['seal_ms']:.3f} ms")
    failed = sum(results[name]["failed"] for name in ("submission", "visit"))
    print(json.dumps({
        "benchmark": "submit", "submissions_per_second": round(results["submission"]["rate"], 1),
        "baseline_per_second": round(baseline_rate, 1), "ratio": round(ratio("submission"), 3),
        "goal": f">= {GOAL}", "met": ratio("submission") >= GOAL and failed == 0,
        "visits_per_second": round(results["visit"]["rate"], 1), "visit_ratio": round(ratio("visit"), 3),
        "stack_floor_per_second": round(results["floor"]["rate"], 1), "stack_floor_ratio": round(ratio("floor"), 3),
        "failed": failed,
        "inprocess_insert_ms": round(share["insert_ms"], 3), "inprocess_writes_ms": round(share["writes_ms"], 3),
        "inprocess_check_ms": round(share["check_ms"], 3), "inprocess_sentiment_ms": round(share["sentiment_ms"], 3),
        "inprocess_seal_ms": round(share["seal_ms"], 3),
    }))


if __name__ == "__main__":
    main()
