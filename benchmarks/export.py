"""Benchmark: the streamed `answers` CSV export against a plain sqlite3 + csv.writer loop.

Seeds 100,000 and 1,000,000 answer rows into SQLite, then, in one process per size so peak memory
is measured per size, reads the export to the end through the Flask test client, alternating with
the plain loop over the same rows (best of three each). The plain loop runs the export's own SQL (compiled once), so the ratio
measures what the application adds on top of the database: SQLAlchemy, Flask, the formula guard. Prints rows per second, peak resident memory and the ratios, then one
JSON line. Run from the repository root: `python benchmarks/export.py` (add `--quick` for 10k/100k).
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ANSWERS_PER_RESPONSE = 10


def make_app(db_path: Path):
    from app import create_app
    from app.config import TestConfig

    return create_app(TestConfig(db_path.parent, f"sqlite:///{db_path}"))


def seed(db_path: Path, answers: int) -> None:
    """Schema and survey through the app; the bulk rows through sqlite3 executemany (fast)."""
    from app.extensions import db
    from app.models import Campaign, Provider, ServiceArea, User, Wave
    from app.services.catalog import latest_definition, load_directory

    app = make_app(db_path)
    with app.app_context():
        db.create_all()
        load_directory(ROOT / "surveys")
        definition = latest_definition("quarterly-provider-satisfaction")
        provider = Provider(name="Bench provider")
        areas = [ServiceArea(provider=provider, code=f"area-{i}", name=f"Area {i}", position=i) for i in range(6)]
        campaign = Campaign(name="Bench", provider=provider, definition=definition, anchor_date=date(2025, 1, 1),
                            service_areas=areas)
        start = datetime(2025, 1, 15, tzinfo=timezone.utc)
        waves = [Wave(campaign=campaign, label=f"W{i}", opens_at=start + timedelta(days=91 * i),
                      closes_at=start + timedelta(days=91 * i + 14), state="closed") for i in range(8)]
        user = User(email="bench@example.com", role="manager")
        user.set_password("benchmark password")
        db.session.add_all([provider, campaign, *waves, user])
        db.session.commit()
        area_ids = [a.id for a in areas]
        wave_ids = [w.id for w in waves]
        questions = {q.code: q.id for q in definition.questions}
        db.engine.dispose()

    connection = sqlite3.connect(db_path)
    responses = answers // ANSWERS_PER_RESPONSE
    departments = ["Finance", "Sales", "Operations", "Engineering", "Legal"]
    comment = 'Slow again, "escalated" twice =not a formula'
    response_rows, answer_rows = [], []
    for r in range(responses):
        rid = uuid.UUID(int=r + 1).hex
        wave_id = wave_ids[r % len(wave_ids)]
        response_rows.append((rid, wave_id, "2025-02-01 10:00:00.000000", departments[r % len(departments)]))
        for k in range(ANSWERS_PER_RESPONSE):
            area = area_ids[k % len(area_ids)]
            if k == 9:
                answer_rows.append((rid, wave_id, questions["comment"], area, None, comment, -0.4, "negative"))
            else:
                answer_rows.append((rid, wave_id, questions["satisfaction" if k < 6 else "recommend"], area,
                                    (r + k) % 5 + 1, None, None, None))
        if len(answer_rows) >= 200_000:
            _flush(connection, response_rows, answer_rows)
    _flush(connection, response_rows, answer_rows)
    connection.close()


def _flush(connection, response_rows, answer_rows) -> None:
    connection.executemany("INSERT INTO response (id, wave_id, submitted_at, department) VALUES (?, ?, ?, ?)",
                           response_rows)
    connection.executemany(
        "INSERT INTO answer (response_id, wave_id, question_id, service_area_id, score, text, sentiment_polarity,"
        " sentiment_label, shareable) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)", answer_rows)
    connection.commit()
    response_rows.clear()
    answer_rows.clear()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_app(db_path: Path, rounds: int = 3) -> dict:
    """Best of `rounds` full exports through the test client, interleaved with the plain loop so
    both see the same machine load; the app is warmed by one small export first, as a server is."""
    from tests.factories import extract_csrf

    app = make_app(db_path)
    client = app.test_client()
    page = client.get("/auth/login")
    client.post("/auth/login", data={"email": "bench@example.com", "password": "benchmark password",
                                     "csrf_token": extract_csrf(page.get_data(as_text=True))})
    client.get("/exports/answers.csv?area=area-0").get_data()  # warm-up: one area
    sql = answers_sql(db_path)
    best_app = best_plain = float("inf")
    lines = 0
    for _ in range(rounds):
        started = time.perf_counter()
        response = client.get("/exports/answers.csv", buffered=False)
        assert response.status_code == 200, response.status_code
        lines = 0
        for chunk in response.response:
            lines += chunk.count(b"\r\n")
        response.close()
        best_app = min(best_app, time.perf_counter() - started)
        best_plain = min(best_plain, run_plain(db_path, sql)["seconds"])
    return {"rows": lines - 1, "seconds": best_app, "plain_seconds": best_plain, "peak_rss_mb": peak_rss_mb()}


class _Sink:  # csv.writer needs somewhere to write; the loop measures producing rows, not disk
    def write(self, value: str) -> int:
        return len(value)


def answers_sql(db_path: Path) -> str:
    """The export's own query, compiled for SQLite with its parameters inlined, so the plain loop
    reads exactly the rows and cells the export writes (department suppression included)."""
    from app.extensions import db
    from app.services import exports, reporting

    app = make_app(db_path)
    with app.app_context():
        scope = reporting.resolve_scope(wave_count=10**6)
        query = exports.answers_query(scope)
        sql = str(query.compile(db.engine, compile_kwargs={"literal_binds": True}))
        db.engine.dispose()
    return sql


def run_plain(db_path: Path, sql: str | None = None) -> dict:
    sql = sql or answers_sql(db_path)
    started = time.perf_counter()
    connection = sqlite3.connect(db_path)
    writer = csv.writer(_Sink())
    cursor = connection.execute(sql)
    writer.writerow([d[0] for d in cursor.description])
    rows = 0
    for row in cursor:
        writer.writerow(row)
        rows += 1
    connection.close()
    return {"rows": rows, "seconds": time.perf_counter() - started, "peak_rss_mb": peak_rss_mb()}


def child(args) -> None:
    db_path = Path(args.db)
    if args.mode == "seed":
        seed(db_path, args.size)
        print(json.dumps({"seeded": args.size}))
    elif args.mode == "app":
        print(json.dumps(run_app(db_path)))
    else:
        print(json.dumps(run_plain(db_path)))


def in_child(mode: str, db_path: Path, size: int = 0) -> dict:
    output = subprocess.run([sys.executable, __file__, "--child", mode, "--db", str(db_path), "--size", str(size)],
                            check=True, capture_output=True, text=True, cwd=ROOT,
                            env={**os.environ, "MPLBACKEND": "Agg"}).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--child")
    parser.add_argument("--db")
    parser.add_argument("--size", type=int, default=0)
    parser.add_argument("--mode")
    parser.add_argument("--quick", action="store_true", help="10k and 100k rows instead of 100k and 1M")
    args = parser.parse_args()
    if args.child:
        args.mode = args.child
        child(args)
        return
    sizes = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    results = {}
    with tempfile.TemporaryDirectory() as tmp:
        for size in sizes:
            db_path = Path(tmp) / f"export-{size}.sqlite3"
            in_child("seed", db_path, size)
            app_run = in_child("app", db_path)
            plain_run = in_child("plain", db_path)
            assert app_run["rows"] == plain_run["rows"] == size, (app_run, plain_run)
            plain_run["seconds"] = min(plain_run["seconds"], app_run["plain_seconds"])
            results[size] = (app_run, plain_run)
    small, large = sizes
    print(f"{'rows':>10} {'export rows/s':>14} {'plain rows/s':>13} {'ratio':>6} {'export peak RSS MB':>19}")
    for size, (app_run, plain_run) in results.items():
        app_rate, plain_rate = size / app_run["seconds"], size / plain_run["seconds"]
        print(f"{size:>10} {app_rate:>14,.0f} {plain_rate:>13,.0f} {app_rate / plain_rate:>6.2f} "
              f"{app_run['peak_rss_mb']:>19.1f}")
    app_large, plain_large = results[large]
    ratio = (large / app_large["seconds"]) / (large / plain_large["seconds"])
    memory_growth = results[large][0]["peak_rss_mb"] / results[small][0]["peak_rss_mb"]
    met = ratio >= 0.5 and memory_growth <= 1.2
    print(json.dumps({
        "benchmark": "export", "rows": large, "rows_per_second": round(large / app_large["seconds"]),
        "baseline_rows_per_second": round(large / plain_large["seconds"]), "ratio": round(ratio, 2),
        f"peak_rss_mb_{small}": round(results[small][0]["peak_rss_mb"], 1),
        f"peak_rss_mb_{large}": round(results[large][0]["peak_rss_mb"], 1),
        "memory_growth": round(memory_growth, 3), "goal": "ratio >= 0.5 and memory_growth <= 1.2", "met": met,
    }))


if __name__ == "__main__":
    main()
