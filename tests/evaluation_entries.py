"""Every entry of the sentiment lexicon and the aspect taxonomy, and which evaluation comments it matches:
what the leak check (tests/unit/test_evaluation_discipline.py) reads.

`python -m tests.evaluation_entries --snapshot` prints the entries as `kind<TAB>entry` lines, the format of
tests/data/insight/entries_before_measure.txt.
"""
from __future__ import annotations

import csv
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from app.services import aspects, sentiment

DATA = Path(__file__).resolve().parent / "data"


@dataclass(frozen=True)
class Entry:
    kind: str   # term, idiom, negator, intensifier, factual, contrast, pattern, cue
    text: str   # words separated by spaces (a trailing "*" is a prefix), or a regex for patterns

    def key(self) -> str:
        return f"{self.kind}\t{self.text}"


def _words(phrase: str) -> str:
    return " ".join(word for word, _, _ in sentiment.tokens(phrase.strip()))


def entries() -> Iterator[Entry]:
    lexicon = yaml.safe_load(sentiment.LEXICON_PATH.read_text(encoding="utf-8"))
    for kind, table in (("term", lexicon["terms"]), ("idiom", lexicon["negation"]["idioms"]),
                        ("intensifier", lexicon["intensifiers"])):
        for key in table:
            for spelling in str(key).split("|"):
                yield Entry(kind, _words(spelling))
    for word in lexicon["negation"]["negators"]:
        yield Entry("negator", _words(word))
    for word in lexicon["factual_words"]:
        yield Entry("factual", _words(word))
    for group in ("shift", "concession", "sentence_initial_concession"):
        for word in lexicon["contrast"][group]:
            yield Entry("contrast", _words(word))
    for spec in lexicon["patterns"].values():
        yield Entry("pattern", spec["regex"])
    for cue in aspects.TAXONOMY.cues:
        yield Entry("cue", cue.text)


def rows(*names: str) -> list[str]:
    """Comment texts of the named sets: `sentiment_eval:tune`, `sentiment_eval:measure`, `insight/dev`..."""
    texts = []
    for name in names:
        path, _, split = name.partition(":")
        file = DATA / f"{path}.csv"
        if not file.exists():
            continue
        with file.open(encoding="utf-8", newline="") as handle:
            texts += [r["text"] for r in csv.DictReader(handle) if not split or r.get("split") == split]
    return texts


class Matcher:
    """Which of a set of comments an entry matches, on whole words as the analyzer reads them."""

    def __init__(self, texts: list[str]) -> None:
        self.texts = [t.lower().replace("\u2019", "'").replace("\u2018", "'") for t in texts]
        self.words = [" " + " ".join(w for w, _, _ in sentiment.tokens(t)) + " " for t in texts]

    def matches(self, entry: Entry) -> bool:
        if entry.kind == "pattern":
            pattern = re.compile(entry.text)
            return any(pattern.search(t) for t in self.texts)
        if entry.text.endswith("*"):
            pattern = re.compile(r" " + re.escape(entry.text[:-1]))
            return any(pattern.search(w) for w in self.words)
        needle = f" {entry.text} "
        return any(needle in w for w in self.words)


if __name__ == "__main__" and "--snapshot" in sys.argv:
    for key in sorted({e.key() for e in entries() if e.kind != "cue"}):
        print(key)
