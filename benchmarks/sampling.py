"""Benchmark: area sampling keeps the dashboard's intervals honest, and the pulse stays short.

1. Coverage: 1,000 simulated waves of 300 people who each use all six areas, K = 2, the draw the app makes
   (`app.services.sampling.draw_areas`), 60% answering; each area's 95% interval (`stats.mean_estimate`,
   the dashboard's) is checked against the true mean. Promise: 93-97%.
   Two more rows are reported, not promised: people using a varying number of areas (the demo's shares),
   and a case that breaks the assumption (people who use more areas rate lower), to show its size.
2. The demo, seeded into a temporary SQLite database: every area's answers per wave against the minimum
   group size, and what each person of the open wave faces: inputs, steps and the time estimate.

Prints a table, then one JSON line. Run from the repository root: `python benchmarks/sampling.py`.
"""
from __future__ import annotations

import json
import os
import random
import secrets
import statistics
import sys
import tempfile
from collections import Counter
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.services.sampling import Person, draw_areas, invitations_needed  # noqa: E402
from app.services.stats import mean_estimate  # noqa: E402

AREAS = 6
K = 2
PEOPLE = 300
RESPONSE_RATE = 0.6
MIN_GROUP = 5
# Per-area score distributions over 1..5: different shapes and means, as real areas have.
SCORE_WEIGHTS = [(0.05, 0.10, 0.20, 0.40, 0.25), (0.15, 0.20, 0.30, 0.25, 0.10), (0.02, 0.05, 0.18, 0.45, 0.30),
                 (0.10, 0.10, 0.20, 0.30, 0.30), (0.30, 0.25, 0.20, 0.15, 0.10), (0.05, 0.05, 0.10, 0.30, 0.50)]
DEMO_SHARES = (0.97, 0.75, 0.45, 0.6, 0.92, 0.85)


def true_mean(weights) -> float:
    return sum((score + 1) * w for score, w in enumerate(weights)) / sum(weights)


def _lower(penalty_per_area: float, used: tuple[int, ...]) -> float:
    return min(1.0, penalty_per_area * (len(used) - 1))


def simulate_coverage(waves: int = 1000, *, seed: int = 16, shares=None, penalty_per_area: float = 0.0) -> dict:
    """Share of 95% intervals that contain the true mean, over `waves` simulated waves of every area.

    `shares`: chance a person uses each area (None: everyone uses all six). `penalty_per_area`: the chance,
    per area a person uses beyond one, that their rating is one point lower (0: ratings do not depend on
    how many areas someone uses, the assumption the README states).
    """
    rng = random.Random(seed)
    targets = {a: invitations_needed(MIN_GROUP, RESPONSE_RATE) for a in range(AREAS)}
    people_areas = []
    for _ in range(PEOPLE):
        used = tuple(a for a in range(AREAS) if shares is None or rng.random() < shares[a])
        people_areas.append(used or (rng.randrange(AREAS),))
    # The truth is the mean over the area's users, each rating from the area's distribution, shifted.
    truths = {}
    for a in range(AREAS):
        users = [used for used in people_areas if a in used]
        above_one = 1 - SCORE_WEIGHTS[a][0] / sum(SCORE_WEIGHTS[a])  # a 1 cannot go lower
        truths[a] = statistics.fmean(true_mean(SCORE_WEIGHTS[a]) - _lower(penalty_per_area, u) * above_one
                                     for u in users)
    covered = total = 0
    counts = []
    last: dict[int, frozenset[int]] = {}
    for _ in range(waves):
        people = [Person(i, used, last.get(i, frozenset())) for i, used in enumerate(people_areas)]
        drawn = draw_areas(people, per_person=K, targets=targets, rng=rng)
        last = {i: frozenset(areas) for i, areas in drawn.items()}
        histograms: dict[int, Counter] = {a: Counter() for a in range(AREAS)}
        for i, areas in drawn.items():
            if rng.random() >= RESPONSE_RATE:
                continue
            lower = _lower(penalty_per_area, people_areas[i])
            for a in areas:
                score = rng.choices(range(1, 6), SCORE_WEIGHTS[a])[0]
                if lower and rng.random() < lower:
                    score = max(1, score - 1)
                histograms[a][score] += 1
        for a, histogram in histograms.items():
            counts.append(sum(histogram.values()))
            estimate = mean_estimate(histogram) if sum(histogram.values()) >= 2 else None
            if estimate is None:
                continue
            total += 1
            covered += estimate.ci_low <= truths[a] <= estimate.ci_high
    return {"coverage": covered / total, "intervals": total, "smallest_area_n": min(counts),
            "median_area_n": statistics.median(counts)}


def demo_figures() -> dict:
    """Seed the demo into a temporary database and measure what the issue promises of it."""
    with tempfile.TemporaryDirectory(prefix="vp-sampling-") as directory:
        os.environ["SECRET_KEY"] = secrets.token_hex(16)
        os.environ["DATABASE_URL"] = f"sqlite:///{Path(directory) / 'bench.sqlite3'}"
        os.environ["VENDORPULSE_ENV"] = "benchmark"
        from sqlalchemy import func, select

        from app import create_app
        from app.config import Config
        from app.extensions import db
        from app.models import Answer, Campaign, Invitation, Question, Wave
        from app.services import demo
        from app.services.campaigns import invitation_outline
        from app.services.catalog import load_directory

        app = create_app(Config(Path(directory)))
        with app.app_context():
            db.create_all()
            load_directory(ROOT / "surveys")
            demo.seed_demo(now=datetime(2026, 11, 20, 12, tzinfo=timezone.utc), timezone="Europe/London",
                           base_url="http://127.0.0.1:8000")
            campaign = db.session.scalar(select(Campaign).where(Campaign.areas_per_person.is_not(None)))
            per_cell = db.session.execute(
                select(Wave.label, Answer.service_area_id, func.count())
                .join(Wave, Wave.id == Answer.wave_id).join(Question, Question.id == Answer.question_id)
                .where(Wave.campaign_id == campaign.id, Question.code == "satisfaction")
                .group_by(Wave.label, Answer.service_area_id)).all()
            cells = {(label, area): n for label, area, n in per_cell}
            expected = {(w.label, a.id) for w in campaign.waves if w.state != "scheduled"
                        for a in campaign.service_areas}
            smallest = min(cells.get(cell, 0) for cell in expected)
            open_wave = next(w for w in campaign.waves if w.state == "open")
            outlines = [invitation_outline(i) for i in db.session.scalars(
                select(Invitation).where(Invitation.wave_id == open_wave.id))]
            inputs = [o.estimate.inputs for o in outlines]
            steps = [o.estimate.steps for o in outlines]
            minutes = Counter(o.estimate.wording for o in outlines)
            return {"demo_waves": len(campaign.waves), "demo_smallest_area_answers": smallest,
                    "demo_every_area_reaches_k": smallest >= campaign.min_group_size,
                    "median_inputs": statistics.median(inputs), "max_inputs": max(inputs),
                    "median_steps": statistics.median(steps), "max_steps": max(steps),
                    "estimates": dict(minutes.most_common())}


def main() -> None:
    headline = simulate_coverage()
    varied = simulate_coverage(shares=DEMO_SHARES, seed=17)
    broken = simulate_coverage(shares=DEMO_SHARES, seed=18, penalty_per_area=0.1)
    figures = demo_figures()
    print(f"coverage, K={K} of {AREAS} areas, everyone uses all: {headline['coverage']:.1%} "
          f"of {headline['intervals']} intervals (promise 93-97%); smallest area n {headline['smallest_area_n']}")
    print(f"coverage, demo's usage shares:                 {varied['coverage']:.1%}")
    print(f"coverage, 10% more chance of one point lower per area used (assumption broken): {broken['coverage']:.1%}")
    print(f"demo: smallest area answers in a wave {figures['demo_smallest_area_answers']} "
          f"(minimum group 5): {'met' if figures['demo_every_area_reaches_k'] else 'NOT met'}")
    print(f"demo open wave: median inputs {figures['median_inputs']} (max {figures['max_inputs']}), "
          f"median steps {figures['median_steps']} (max {figures['max_steps']}), estimates {figures['estimates']}")
    met = 0.93 <= headline["coverage"] <= 0.97 and figures["demo_every_area_reaches_k"] \
        and figures["median_inputs"] <= 12
    print(json.dumps({"benchmark": "sampling", "coverage": round(headline["coverage"], 4),
                      "coverage_varied_usage": round(varied["coverage"], 4),
                      "coverage_assumption_broken": round(broken["coverage"], 4), **figures, "met": met}))


if __name__ == "__main__":
    main()
