"""Simulated waves for `app.services.emerging`: does an injected phrase get found, and does no change stay quiet?

Meant to be imported by the insight benchmark of tracker issue 14 (the underscore keeps `make bench` from running
it alone); run it directly with `python benchmarks/_emerging_simulation.py` for one JSON line.

Design, per simulation (seeded, so every figure can be reproduced):

- Sizes: 3 previous waves of 300 comments each (900 "before") and a current wave of 300 comments.
- A comment has 1 to 4 sentences (uniform) of 3 + Poisson(5) words each, 21 words on average with the phrases
  below. Words are drawn from a 2,000-word vocabulary with Zipf weights 1 / rank (rank 1 is "the"): 144 real
  words of service feedback in rough frequency order, then 1,856 filler words "w0144" ... "w1999" for the tail.
- Each comment also contains, independently, each of ten service phrases ("thank you", "password reset",
  "took too long", ...) with that phrase's own per-comment rate (2% to 8%), placed at a random point of a
  random sentence, so the words around a phrase vary the way they do in real comments.
- The tracked phrase is "vpn keeps dropping" (its words also occur on their own: "vpn" and "keeps" are in the
  vocabulary). Its base rate is 40 / 900 = 4.44% of comments: in expectation 13.3 comments per previous wave.
- Power run: the current wave has the tracked phrase at 3x its base rate, 13.33% of comments, so about 40 of
  the 300 comments contain it (Binomial(300, 0.1333)); every other rate is unchanged. The phrase counts as
  found when `emerging_terms` (default settings: fdr 0.05, min_comments 5, max_terms 8) reports exactly
  "vpn keeps dropping" as rising.
- Null run: a fresh set of four waves where the current wave is drawn exactly like the previous ones (the
  tracked phrase at its base rate). A false alarm is a run in which `emerging_terms` reports any term at all.
- Goals (tracker issue 14): power >= 0.9 and null false-alarm rate <= 0.05 over 200 simulations each.
  `seconds_per_wave` is the mean time of one `emerging_terms` call (300 comments against 900), excluding the
  time to generate the comments.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parent.parent
if str(REPO_ROOT) not in sys.path:
    sys.path.insert(0, str(REPO_ROOT))

from app.services.emerging import emerging_terms  # noqa: E402

PREVIOUS_WAVES = 3
WAVE_SIZE = 300
POWER_GOAL = 0.9
NULL_GOAL = 0.05

SERVICE_WORDS = """
the to and i a it was my is of for in not but they this that with on have be very me so no had we all get
just it's can't didn't time ticket issue laptop email password team desk service support call engineer
response days week access account printer phone network vpn update screen slow fast quick helpful friendly
fixed resolved waiting again still problem help request reset login user system new order hardware software
install meeting office home working work day hours keeps back after when would could been were there from
what about their them your out up only now more than then also good great bad poor long never always every
same other first last need needed took asked told said sent came went made know think got make way
really much well better worse answer reply chat portal
""".split()
VOCABULARY_SIZE = 2000
VOCABULARY = tuple(SERVICE_WORDS) + tuple(f"w{rank:04d}" for rank in range(len(SERVICE_WORDS), VOCABULARY_SIZE))
ZIPF_WEIGHTS = 1.0 / np.arange(1, VOCABULARY_SIZE + 1)
ZIPF_WEIGHTS /= ZIPF_WEIGHTS.sum()

TRACKED_PHRASE = "vpn keeps dropping"
TRACKED_BASE_RATE = 40 / (PREVIOUS_WAVES * WAVE_SIZE)
RISE = 3.0
BACKGROUND_PHRASES = {
    "thank you": 0.08, "service desk": 0.06, "very helpful": 0.05, "password reset": 0.04,
    "took too long": 0.04, "no response": 0.03, "quick response": 0.03, "still not fixed": 0.02,
    "new laptop": 0.02, "keep up the good work": 0.02,
}

SENTENCES_PER_COMMENT = (1, 4)
SENTENCE_EXTRA_WORDS = 5  # Poisson mean, on top of 3 words


def simulate_wave(rng: np.random.Generator, size: int, tracked_rate: float) -> list[str]:
    """`size` comments: Zipf words in sentences, each phrase inserted with its own per-comment probability."""
    phrases = {**BACKGROUND_PHRASES, TRACKED_PHRASE: tracked_rate}
    sentence_counts = rng.integers(SENTENCES_PER_COMMENT[0], SENTENCES_PER_COMMENT[1] + 1, size=size)
    sentence_lengths = 3 + rng.poisson(SENTENCE_EXTRA_WORDS, size=int(sentence_counts.sum()))
    words = iter(np.array(VOCABULARY)[rng.choice(VOCABULARY_SIZE, size=int(sentence_lengths.sum()),
                                                  p=ZIPF_WEIGHTS)].tolist())
    lengths = iter(sentence_lengths.tolist())
    contains = {phrase: rng.random(size) < rate for phrase, rate in phrases.items()}
    comments = []
    for index, sentence_count in enumerate(sentence_counts.tolist()):
        sentences = [[next(words) for _ in range(next(lengths))] for _ in range(sentence_count)]
        for phrase, chosen in contains.items():
            if chosen[index]:
                sentence = sentences[rng.integers(sentence_count)]
                sentence.insert(int(rng.integers(len(sentence) + 1)), phrase)
        comments.append(" ".join(" ".join(sentence).capitalize() + "." for sentence in sentences))
    return comments


def _waves(rng: np.random.Generator, current_rate: float) -> tuple[list[str], list[list[str]]]:
    previous = [simulate_wave(rng, WAVE_SIZE, TRACKED_BASE_RATE) for _ in range(PREVIOUS_WAVES)]
    return simulate_wave(rng, WAVE_SIZE, current_rate), previous


def run(simulations: int = 200, seed: int = 20261204) -> dict[str, object]:
    """Power and null false-alarm rate of `emerging_terms` over `simulations` seeded runs of each kind."""
    import scipy.stats  # noqa: F401  (imported here so the first timed call does not pay for it)

    power_rng, null_rng = (np.random.default_rng(s) for s in np.random.SeedSequence(seed).spawn(2))
    found = false_alarms = 0
    seconds = 0.0
    for _ in range(simulations):
        current, previous = _waves(power_rng, RISE * TRACKED_BASE_RATE)
        started = time.perf_counter()
        reported = emerging_terms(current, previous)
        seconds += time.perf_counter() - started
        found += any(t.term == TRACKED_PHRASE and t.rising for t in reported)

        current, previous = _waves(null_rng, TRACKED_BASE_RATE)
        started = time.perf_counter()
        reported = emerging_terms(current, previous)
        seconds += time.perf_counter() - started
        false_alarms += bool(reported)
    power = found / simulations
    null_rate = false_alarms / simulations
    return {
        "power": power,
        "null_false_alarm_rate": null_rate,
        "simulations": simulations,
        "power_goal": f">= {POWER_GOAL}",
        "null_goal": f"<= {NULL_GOAL}",
        "met": power >= POWER_GOAL and null_rate <= NULL_GOAL,
        "seconds_per_wave": round(seconds / (2 * simulations), 4),
    }


if __name__ == "__main__":
    print(json.dumps(run()))
