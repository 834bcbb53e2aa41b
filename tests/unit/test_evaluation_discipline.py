"""The tune/measure discipline, automated: no lexicon entry or aspect cue may match only comments of a measure
set. Such an entry can only have come from reading measure rows, and would make the measured figures
meaningless (tests/data/README.md, tests/data/insight/GUIDELINES.md).

- Against the frozen measure split of tests/data/sentiment_eval.csv: every entry.
- Against tests/data/insight/measure.csv: every entry added after that set was written (entries listed in
  tests/data/insight/entries_before_measure.txt, committed before it, cannot have been tuned on it).
Tuning sets: the `tune` split of sentiment_eval.csv, tests/data/insight/dev.csv, dev2.csv, dev3.csv, dev4.csv
and validation.csv (written by other writers from the guidelines), dev5.csv, dev6.csv and dev7.csv (each
written from the guidelines by an engineer before reading the lexicon or cues, and scored once unseen) and
tests/data/insight/tune.csv (written by the engineers: examples for rules and cues).
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.evaluation_entries import DATA, Entry, Matcher, entries, rows

TUNE = Matcher(rows("sentiment_eval:tune", "insight/dev", "insight/dev2", "insight/dev3", "insight/dev4",
                    "insight/dev5", "insight/dev6", "insight/dev7", "insight/validation", "insight/tune"))
BEFORE_MEASURE = set((DATA / "insight" / "entries_before_measure.txt").read_text(encoding="utf-8").splitlines())


def leaks(measure: Matcher, candidates: list[Entry]) -> list[str]:
    return sorted(f"{e.kind}: {e.text}" for e in candidates if measure.matches(e) and not TUNE.matches(e))


def test_no_entry_matches_only_the_frozen_measure_split():
    assert leaks(Matcher(rows("sentiment_eval:measure")), list(entries())) == []


@pytest.mark.skipif(not (DATA / "insight" / "measure.csv").exists(), reason="the insight measure set is not here")
def test_no_entry_added_since_the_new_measure_set_matches_only_it():
    added = [e for e in entries() if e.key() not in BEFORE_MEASURE]
    assert leaks(Matcher(rows("insight/measure")), added) == []


def test_the_check_catches_an_entry_taken_from_a_measure_row():
    measure = Matcher(["Honestly the hamster wheel of tickets never stops"])
    assert leaks(measure, [Entry("term", "hamster wheel"), Entry("term", "ticket|tickets")]) == ["term: hamster wheel"]
    assert leaks(measure, [Entry("pattern", r"\bhamster\b")]) == ["pattern: \\bhamster\\b"]
    assert leaks(measure, [Entry("cue", "hamst*")]) == ["cue: hamst*"]


def test_every_aspect_cue_is_justified_by_a_tuning_comment_or_is_new_and_unmatched():
    # A cue no comment of any set uses is allowed (a plain synonym); one used only by measure rows is not.
    assert Path(DATA / "insight" / "dev.csv").exists()
    assert [e for e in entries() if e.kind == "cue"]


def test_the_check_reads_the_taxonomys_patterns_as_regexes():
    patterns = [e for e in entries() if e.kind == "cue pattern"]
    assert patterns and TUNE.matches(patterns[0])
    measure = Matcher(["it took 9 fortnights to hear back"])
    assert leaks(measure, [Entry("cue pattern", r"\b9 fortnights\b")]) == ["cue pattern: \\b9 fortnights\\b"]
