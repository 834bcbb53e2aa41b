"""Dashboard benchmark: warm overview and service-area page times at 10,000 and 1,000,000 responses.

Seeds a temporary SQLite database per size with bulk inserts: the score tallies of every response
(8 waves x 6 service areas x 8 departments), every invitation (for the response rate), and comment,
time-lost and reasons answers for a fixed share of responses (COMMENT_SHARE). Pages are fetched
through the Flask test client as a signed-in manager; each time is the median of warm runs taken in
turns between the two sizes.

Run: .venv/bin/python benchmarks/dashboard.py   (last line of output is one JSON object)
"""
from __future__ import annotations

import json
import os
import secrets
import statistics
import sys
import tempfile
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

SIZES = (10_000, 1_000_000)
WAVES = 8
AREA_MEANS = (3.4, 3.9, 3.8, 3.6, 3.7, 4.2)
AREA_USE = (0.97, 0.75, 0.45, 0.6, 0.92, 0.85)
DEPARTMENTS = (("Finance", 0.13), ("Human Resources", 0.07), ("Sales", 0.16), ("Operations", 0.18),
               ("Engineering", 0.2), ("Legal", 0.05), ("Marketing", 0.08), ("Customer Support", 0.13))
RATING_CODES = ("satisfaction", "responsiveness", "resolution_quality", "communication", "expertise")
RELATIONSHIP_CODES = ("partnership", "proactivity", "account_management")
COMMENT_SHARE = 0.05  # share of responses whose comment, hours and reasons answers are stored as rows
RESPONSE_RATE = 0.62
WARM_RUNS = 9
COLD_RUNS = 3
COMMENTS = ("Quick, friendly and they fixed it first time. Excellent.",
            "Waited three days for a response to a priority ticket.",
            "It works most of the time.",
            "VPN keeps dropping since the network change, terrible.")


def _score_probabilities(mean: float, low: int, high: int, spread: float) -> np.ndarray:
    values = np.arange(low, high + 1)
    weights = np.exp(-0.5 * ((values - mean) / spread) ** 2)
    return weights / weights.sum()


def build_app(directory: Path):
    os.environ["SECRET_KEY"] = secrets.token_hex(16)
    os.environ["DATABASE_URL"] = f"sqlite:///{directory / 'bench.sqlite3'}"
    os.environ["VENDORPULSE_ENV"] = "benchmark"
    from app import create_app
    from app.config import Config

    config = Config(directory)
    config.WTF_CSRF_ENABLED = False
    config.RATELIMIT_ENABLED = False
    return create_app(config)


def seed(app, responses: int, rng: np.random.Generator) -> dict:
    """Bulk-insert everything the dashboard reads for `responses` responses; returns row counts."""
    from app.extensions import db
    from app.models import Campaign, Provider, ServiceArea, Wave
    from app.services.catalog import latest_definition, load_directory
    from app.services.users import create_user

    with app.app_context():
        db.create_all()
        load_directory(ROOT / "surveys")
        definition = latest_definition("quarterly-provider-satisfaction")
        questions = {q.code: q.id for q in definition.questions}
        provider = Provider(name="Benchmark Provider")
        areas = [ServiceArea(provider=provider, code=f"area-{i}", name=f"Service area {i + 1}", position=i,
                             target_satisfaction=3.8, target_happiness=20) for i in range(len(AREA_MEANS))]
        campaign = Campaign(name="Benchmark campaign", provider=provider, definition=definition,
                            anchor_date=date(2024, 1, 1), service_areas=areas, min_group_size=5)
        start = datetime(2024, 2, 15, 9, tzinfo=timezone.utc)
        waves = [Wave(campaign=campaign, label=f"{2024 + i // 4}-Q{i % 4 + 1}", state="closed" if i < WAVES - 1 else "open",
                      opens_at=start + timedelta(days=91 * i), closes_at=start + timedelta(days=91 * i + 21))
                 for i in range(WAVES)]
        db.session.add_all([provider, *areas, campaign, *waves])
        create_user("bench@example.com", "benchmark password", role="manager")
        db.session.commit()
        area_ids = [a.id for a in areas]
        wave_ids = [w.id for w in waves]

        connection = db.engine.raw_connection()
        cursor = connection.cursor()
        cursor.execute("PRAGMA foreign_keys=OFF")
        per_wave = responses // WAVES
        invited = int(per_wave / RESPONSE_RATE)
        cursor.executemany("INSERT INTO stakeholder (id, email, name, department, active, created_at, updated_at) "
                           "VALUES (?, ?, '', ?, 1, '2024-01-01', '2024-01-01')",
                           ((i, f"p{i}@example.com", DEPARTMENTS[i % len(DEPARTMENTS)][0]) for i in range(1, invited + 1)))
        counts = {"tally rows": 0, "invitations": 0, "answer rows": 0, "response rows": 0}
        for index, wave_id in enumerate(wave_ids):
            sent = (start + timedelta(days=91 * index)).strftime("%Y-%m-%d %H:%M:%S")
            cursor.executemany(
                "INSERT INTO invitation (wave_id, stakeholder_id, state, attempts, created_at, sent_at, "
                "reminders_sent, responded_at) VALUES (?, ?, 'sent', 1, ?, ?, 0, ?)",
                ((wave_id, s, sent, sent, sent if s <= per_wave else None) for s in range(1, invited + 1)))
            counts["invitations"] += invited
            tallies = []
            for department, weight in DEPARTMENTS:
                people = int(round(per_wave * weight))
                relationship = _score_probabilities(3.6, 1, 5, 0.9)
                for code in RELATIONSHIP_CODES:
                    for score, n in zip(range(1, 6), rng.multinomial(people, relationship)):
                        if n:
                            tallies.append((wave_id, code, 0, department, score, int(n)))
                for area_id, mean, use in zip(area_ids, AREA_MEANS, AREA_USE):
                    users = int(round(people * use))
                    drift = mean + 0.05 * (index - WAVES / 2) * (1 if area_id % 2 else -1)
                    for code in RATING_CODES:
                        for score, n in zip(range(1, 6), rng.multinomial(users, _score_probabilities(drift, 1, 5, 0.85))):
                            if n:
                                tallies.append((wave_id, code, area_id, department, score, int(n)))
                    for score, n in zip(range(0, 11), rng.multinomial(users, _score_probabilities(drift * 2, 0, 10, 1.8))):
                        if n:
                            tallies.append((wave_id, "recommend", area_id, department, score, int(n)))
            cursor.executemany("INSERT INTO score_tally (wave_id, question_code, area_key, department, score, "
                               "answer_count) VALUES (?, ?, ?, ?, ?, ?)", tallies)
            counts["tally rows"] += len(tallies)

            # A fixed share of responses also store comment, hours and reasons answers as rows.
            detailed = max(1, int(per_wave * COMMENT_SHARE))
            response_rows, answer_rows = [], []
            for i in range(detailed):
                response_id = uuid.uuid4().hex
                response_rows.append((response_id, wave_id, sent, DEPARTMENTS[i % len(DEPARTMENTS)][0]))
                for position, area_id in enumerate(area_ids):
                    if (i + position) % 3 == 0:
                        continue
                    text = COMMENTS[(i + area_id) % len(COMMENTS)]
                    label = ("positive", "negative", "neutral", "negative")[(i + area_id) % len(COMMENTS)]
                    polarity = {"positive": 0.5, "neutral": 0.0, "negative": -0.4}[label]
                    answer_rows.append((response_id, wave_id, questions["comment"], area_id, None, None, text,
                                        polarity, label, '[{"phrase": "terrible", "contribution": -0.4}]'))
                    answer_rows.append((response_id, wave_id, questions["time_lost"], area_id, float(i % 7), None,
                                        None, None, None, None))
                    answer_rows.append((response_id, wave_id, questions["reasons"], area_id, None,
                                        '["fast_response", "not_fixed"]' if i % 2 else '["slow_response"]',
                                        None, None, None, None))
            cursor.executemany("INSERT INTO response (id, wave_id, submitted_at, department) VALUES (?, ?, ?, ?)",
                               response_rows)
            cursor.executemany(
                "INSERT INTO answer (response_id, wave_id, question_id, service_area_id, hours, reasons, text, "
                "sentiment_polarity, sentiment_label, sentiment_drivers, shareable) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0)", answer_rows)
            counts["answer rows"] += len(answer_rows)
            counts["response rows"] += len(response_rows)
        connection.commit()
        cursor.execute("ANALYZE")
        connection.close()
        counts["area_id"] = area_ids[0]
        return counts


ROUNDS = 3  # warm samples alternate between the sizes, so the machine's noise hits both alike


def timed(client, url: str, runs: int, before=None) -> list[float]:
    samples = []
    for _ in range(runs):
        if before:
            before()
        started = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return samples


class Site:
    """One seeded database and a manager signed in to it."""

    def __init__(self, responses: int, directory: Path) -> None:
        self.app = build_app(directory)
        started = time.perf_counter()
        self.counts = seed(self.app, responses, np.random.default_rng(2026))
        self.result = {"responses": responses, "seed_s": time.perf_counter() - started,
                       **{k: v for k, v in self.counts.items() if k != "area_id"}}
        self.client = self.app.test_client()
        response = self.client.post("/auth/login", data={"email": "bench@example.com",
                                                         "password": "benchmark password"})
        assert response.status_code == 302, response.status_code
        self.urls = {"overview_ms": "/dashboard/", "area_ms": f"/dashboard/areas/{self.counts['area_id']}"}
        self.samples: dict[str, list[float]] = {name: [] for name in self.urls}

    def warm_round(self, runs: int) -> None:
        from app.services import reporting

        reporting.clear_cache()  # the other site's entries must not serve this one
        for url in self.urls.values():  # warm up: templates, scipy, this site's cache entries
            self.client.get(url)
            self.client.get(url)
        for name, url in self.urls.items():
            self.samples[name] += timed(self.client, url, runs)

    def finish(self) -> dict:
        from app.extensions import db
        from app.services import reporting

        for name, samples in self.samples.items():
            self.result[name] = statistics.median(samples)
        for name, url in self.urls.items():
            self.result[name.replace("_ms", "_uncached_ms")] = statistics.median(
                timed(self.client, url, COLD_RUNS, reporting.clear_cache))
        with self.app.app_context():
            db.session.remove()
            db.engine.dispose()
        return self.result


def measure_all() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="vp-bench-") as directory:
        sites = []
        for size in SIZES:
            (Path(directory) / str(size)).mkdir()
            sites.append(Site(size, Path(directory) / str(size)))
        for _ in range(ROUNDS):
            for site in sites:
                site.warm_round(WARM_RUNS)
        return [site.finish() for site in sites]


def main() -> None:
    results = measure_all()
    small, large = results
    print(f"{'responses':>10} {'seed s':>7} {'tallies':>8} {'invites':>9} {'answers':>8} "
          f"{'overview ms':>12} {'area ms':>8} {'overview cold ms':>17} {'area cold ms':>13}")
    for r in results:
        print(f"{r['responses']:>10,} {r['seed_s']:>7.1f} {r['tally rows']:>8,} {r['invitations']:>9,} "
              f"{r['answer rows']:>8,} {r['overview_ms']:>12.1f} {r['area_ms']:>8.1f} "
              f"{r['overview_uncached_ms']:>17.1f} {r['area_uncached_ms']:>13.1f}")
    ratio = max(large["overview_ms"] / small["overview_ms"], large["area_ms"] / small["area_ms"])
    met = ratio <= 1.5 and large["overview_ms"] < 300
    print(f"warm = median of {ROUNDS} x {WARM_RUNS} runs with the data-version cache warm, the sizes taking turns; "
          f"cold = cache cleared before each run")
    print(json.dumps({
        "benchmark": "dashboard",
        "overview_ms_10k": round(small["overview_ms"], 1),
        "overview_ms_1m": round(large["overview_ms"], 1),
        "area_ms_10k": round(small["area_ms"], 1),
        "area_ms_1m": round(large["area_ms"], 1),
        "overview_uncached_ms_1m": round(large["overview_uncached_ms"], 1),
        "area_uncached_ms_1m": round(large["area_uncached_ms"], 1),
        "ratio": round(ratio, 2),
        "goal": "ratio <= 1.5 and overview_ms_1m < 300",
        "met": met,
    }))


if __name__ == "__main__":
    main()
