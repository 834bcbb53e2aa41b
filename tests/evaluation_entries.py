"""Every entry of the sentiment lexicon and the aspect taxonomy, and which evaluation comments it matches:
what the leak check (tests/unit/test_evaluation_discipline.py) reads.

`git show <commit>:app/services/sentiment_lexicon.yaml | python -m tests.evaluation_entries --snapshot` prints
that lexicon's entries as `kind<TAB>entry` lines, the format of tests/data/insight/entries_before_measure.txt.
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
    """One entry as written in the file: a lexicon key or a cue line with all its "|" spellings (inflections
    of one justified entry are morphology, not a leak), or one pattern's regex."""

    kind: str   # term, idiom, negator, intensifier, factual, contrast, balance, pattern, cue, cue pattern
    text: str   # spellings joined by "|", each words separated by spaces (a trailing "*" is a prefix); or a regex

    def key(self) -> str:
        return f"{self.kind}\t{self.text}"

    @property
    def is_regex(self) -> bool:
        return self.kind in ("pattern", "cue pattern")

    @property
    def spellings(self) -> list[str]:
        return [self.text] if self.is_regex else self.text.split("|")


def _words(phrase: str) -> str:
    return "|".join(" ".join(w for w, _, _ in sentiment.tokens(s.strip().replace("*", ""))) + ("*" if s.strip()
                    .endswith("*") else "") for s in phrase.split("|"))


def entries(lexicon_text: str | None = None) -> Iterator[Entry]:
    """Every entry of the lexicon (today's, or the one given as text) and of the aspect taxonomy."""
    lexicon = yaml.safe_load(lexicon_text or sentiment.LEXICON_PATH.read_text(encoding="utf-8"))
    for kind, table in (("term", lexicon["terms"]), ("idiom", lexicon["negation"]["idioms"]),
                        ("intensifier", lexicon["intensifiers"])):
        for key in table:
            yield Entry(kind, _words(str(key)))
    for word in lexicon["negation"]["negators"]:
        yield Entry("negator", _words(word))
    for word in lexicon["factual_words"]:
        yield Entry("factual", _words(word))
    for group in ("shift", "concession", "sentence_initial_concession"):
        for word in lexicon["contrast"][group]:
            yield Entry("contrast", _words(word))
    for group in ("resolutions", "problems"):
        for word in lexicon.get("resolved_problems", {}).get(group, []):
            yield Entry(group[:-1], _words(word))
    for phrase in lexicon.get("balance", []):
        yield Entry("balance", _words(phrase))
    for spec in lexicon["patterns"].values():
        yield Entry("pattern", spec["regex"])
    taxonomy = yaml.safe_load(aspects.TAXONOMY_PATH.read_text(encoding="utf-8"))
    for spec in taxonomy["aspects"].values():
        for cue in spec["cues"] + spec.get("weak_cues", []):
            yield Entry("cue", _words(cue if isinstance(cue, str) else cue["cue"]))
        for regex in spec.get("patterns", []):
            yield Entry("cue pattern", regex)
    for phrase in taxonomy.get("ignore", []):
        yield Entry("cue", _words(phrase))


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
        """True when any spelling of the entry occurs in any of the comments."""
        if entry.is_regex:
            pattern = re.compile(entry.text)
            return any(pattern.search(t) for t in self.texts)
        for spelling in entry.spellings:
            needle = re.compile(" " + re.escape(spelling[:-1]) if spelling.endswith("*") else
                                re.escape(f" {spelling} "))
            if any(needle.search(w) for w in self.words):
                return True
        return False


if __name__ == "__main__" and "--snapshot" in sys.argv:
    for key in sorted({e.key() for e in entries(sys.stdin.read()) if not e.kind.startswith("cue")}):
        print(key)
