"""Sentiment of free-text survey comments: TextBlob's word scores read through an IT-service lexicon.

Every score comes with the phrases that produced it, so a manager can see why a comment counts as negative.
"""

from __future__ import annotations

import functools
import hashlib
import re
import threading
from bisect import bisect_left
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml

from app.models.response import SENTIMENT_LABELS

try:  # the regex parser, to find the words a pattern cannot match without (`required_strings`)
    from re import _constants as _sre_constants
    from re import _parser as _sre_parser
except ImportError:  # pragma: no cover - a Python without it only loses the shortcut
    _sre_parser = None

# TextBlob, and the nltk it imports, take about a second to load: the first comment scored loads them
# (`_textblob_word_scores`), so app and `flask` command start-up do not, and every later call reuses them.

LEXICON_PATH = Path(__file__).with_name("sentiment_lexicon.yaml")
# The lexicon is parsed at import: libyaml's safe loader reads it ten times faster than the pure-Python one
# (about 3 ms instead of 30 on every app and `flask` start), into the same data.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
LABELS = SENTIMENT_LABELS
DEFAULT_POSITIVE_THRESHOLD = 0.1
DEFAULT_NEGATIVE_THRESHOLD = -0.1

_ANALYZER_GENERATION = "vp-sentiment-1"

# Rule kinds in the phrase table.
_TERM = "term"
_NEGATOR = "negator"
_INTENSIFIER = "intensifier"
_CONTRAST = "contrast"

# An intensifier reaches this many words ahead ("really very helpful", "so incredibly slow").
_INTENSIFIER_REACH = 2

_SENTENCE_ENDS = frozenset(".!?;")
_CLAUSE_ENDS = frozenset(".!?;,:()-–—…")

_EMOJI = "[\U0001F000-\U0001FAFF\u2600-\u27BF\u2B00-\u2BFF]"
# Numbers such as "4.12" or "7:30" stay one token so their punctuation does not end a clause.
_NUMBER = r"\d+(?:[.,:]\d+)+"
_WORD = r"[^\W_]+(?:'[^\W_]+)*(?:[-/][^\W_]+)*"


@dataclass(frozen=True)
class Driver:
    """A phrase in the comment and its signed share of the comment's polarity."""

    phrase: str
    contribution: float


@dataclass(frozen=True)
class Sentiment:
    """The score of one comment; `drivers` are sorted by how much they moved the polarity."""

    polarity: float
    subjectivity: float
    label: str
    drivers: tuple[Driver, ...]


@dataclass(slots=True)
class _Opinion:
    """One scored phrase while a comment is read; weight changes when a later "but" demotes it."""

    phrase: str
    polarity: float
    subjectivity: float
    weight: float
    start: int  # where the phrase starts in the comment (the normalised text keeps the original offsets)


@dataclass(frozen=True)
class _Rule:
    kind: str
    polarity: float = 0.0
    multiplier: float = 1.0
    # Contrast words behave differently at the start of a sentence ("Although ..." vs ", although ...").
    shifts: bool = False
    emoticon: bool = False  # an emoticon or emoji says what it says: no negator before it flips it
    concedes: bool = False
    concedes_at_sentence_start: bool = False


@dataclass(frozen=True)
class _Lexicon:
    token_pattern: re.Pattern[str]
    phrases_by_first_word: Mapping[str, tuple[tuple[tuple[str, ...], _Rule], ...]]
    factual_words: frozenset[str]
    # regex, polarity, priority, and strings one of which every match contains (None: not known)
    patterns: tuple[tuple[re.Pattern[str], float, int, tuple[str, ...] | None], ...]
    negator_words: frozenset[str]
    negation_scope: int
    scope_ends: frozenset[str]
    unmet_negators: frozenset[str]
    unmet_exceptions: frozenset[str]
    unmet_negation: float
    flip_positive: float
    flip_negative: float
    before_shift: float
    after_shift: float
    concession: float
    domain_subjectivity: float
    exclamation_boost: float
    balance_regex: re.Pattern[str] | None
    balance_damping: float
    resolution_words: frozenset[str]
    problem_words: frozenset[str]
    resolved_problem_weight: float


def version_for_lexicon(lexicon_text: bytes) -> str:
    """The analyzer version for a given lexicon file content; any edit to the lexicon changes it."""
    return f"{_ANALYZER_GENERATION}+lex.{hashlib.sha256(lexicon_text).hexdigest()[:8]}"


def _normalise(text: str) -> str:
    return text.lower().replace("\u2019", "'").replace("\u2018", "'")


def _polarity(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not -1.0 <= value <= 1.0:
        raise ValueError(f"sentiment lexicon: {where} must be a number between -1 and 1, got {value!r}")
    return float(value)


def _words(values: object, where: str) -> list[str]:
    if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
        # YAML reads bare no/on/off as booleans; quoting them is the fix.
        raise ValueError(f"sentiment lexicon: {where} must be a list of quoted strings")
    return [_normalise(v) for v in values]


def _compile_lexicon(lexicon_text: str) -> _Lexicon:
    """Turn the YAML lexicon into lookup tables, refusing entries that would silently mean something else."""
    data = yaml.load(lexicon_text, Loader=_YAML_LOADER)
    settings = data["settings"]

    emoticons = {
        _normalise(str(key)): _polarity(value, f"emoticon {key!r}") for key, value in data["emoticons"].items()
    }
    typed_emoticons = sorted((e for e in emoticons if not re.fullmatch(_EMOJI, e)), key=len, reverse=True)
    emoticon_alternatives = "|".join(re.escape(e) for e in typed_emoticons) or "(?!)"
    token_pattern = re.compile(
        rf"(?<!\S)(?:{emoticon_alternatives})(?=\s|$|[.,!?;])|{_EMOJI}|{_NUMBER}|{_WORD}|[^\w\s]"
    )

    table: dict[tuple[str, ...], _Rule] = {}

    def add(key: str, rule: _Rule, where: str) -> None:
        for variant in _normalise(key).split("|"):
            words = tuple(token_pattern.findall(variant.strip()))
            if not words:
                raise ValueError(f"sentiment lexicon: empty phrase in {where}: {key!r}")
            existing = table.get(words)
            if existing is not None and not (existing.kind == rule.kind == _CONTRAST):
                raise ValueError(f"sentiment lexicon: {' '.join(words)!r} is defined twice ({where})")
            if existing is not None:
                rule = _Rule(
                    _CONTRAST,
                    shifts=existing.shifts or rule.shifts,
                    concedes=existing.concedes or rule.concedes,
                    concedes_at_sentence_start=existing.concedes_at_sentence_start or rule.concedes_at_sentence_start,
                )
            table[words] = rule

    for key, value in data["terms"].items():
        add(key, _Rule(_TERM, polarity=_polarity(value, f"term {key!r}")), "terms")
    for key, value in data["negation"]["idioms"].items():
        add(key, _Rule(_TERM, polarity=_polarity(value, f"idiom {key!r}")), "negation idioms")
    for key, value in emoticons.items():
        add(key, _Rule(_TERM, polarity=value, emoticon=True), "emoticons")
    for word in _words(data["negation"]["negators"], "negation.negators"):
        add(word, _Rule(_NEGATOR), "negators")
    for key, value in data["intensifiers"].items():
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3:
            raise ValueError(f"sentiment lexicon: intensifier {key!r} needs a multiplier in (0, 3], got {value!r}")
        add(key, _Rule(_INTENSIFIER, multiplier=float(value)), "intensifiers")
    contrast = data["contrast"]
    for word in _words(contrast["shift"], "contrast.shift"):
        add(word, _Rule(_CONTRAST, shifts=True), "contrast")
    for word in _words(contrast["concession"], "contrast.concession"):
        add(word, _Rule(_CONTRAST, concedes=True), "contrast")
    for word in _words(contrast["sentence_initial_concession"], "contrast.sentence_initial_concession"):
        add(word, _Rule(_CONTRAST, concedes_at_sentence_start=True), "contrast")

    by_first_word: dict[str, list[tuple[tuple[str, ...], _Rule]]] = {}
    for words, rule in table.items():
        by_first_word.setdefault(words[0], []).append((words, rule))
    phrases_by_first_word = {
        first: tuple(sorted(entries, key=lambda entry: len(entry[0]), reverse=True))
        for first, entries in by_first_word.items()
    }

    # Each pattern is its own compiled regex, so overlapping matches can be resolved by position and
    # length (`_opinions`) rather than by the order of an alternation.
    patterns = []
    for name, spec in data["patterns"].items():
        try:
            compiled = re.compile(spec["regex"])
        except re.error as error:
            raise ValueError(f"sentiment lexicon: pattern {name!r} does not compile: {error}") from error
        priority = spec.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise ValueError(f"sentiment lexicon: pattern {name!r} needs a whole-number priority")
        patterns.append((compiled, _polarity(spec["polarity"], f"pattern {name!r}"), priority, required_strings(compiled)))

    return _Lexicon(
        token_pattern=token_pattern,
        phrases_by_first_word=phrases_by_first_word,
        factual_words=frozenset(_words(data["factual_words"], "factual_words")),
        patterns=tuple(patterns),
        negator_words=frozenset(_words(data["negation"]["negators"], "negation.negators")),
        negation_scope=int(settings["negation_scope"]),
        scope_ends=frozenset(_words(data["negation"]["scope_ends"], "negation.scope_ends")),
        unmet_negators=frozenset(_words(data["negation"]["unmet"], "negation.unmet")),
        unmet_exceptions=frozenset(_words(data["negation"]["unmet_except"], "negation.unmet_except")),
        unmet_negation=_polarity(settings["unmet_negation"], "settings.unmet_negation"),
        flip_positive=float(settings["flip_positive"]),
        flip_negative=float(settings["flip_negative"]),
        before_shift=float(settings["before_shift"]),
        after_shift=float(settings["after_shift"]),
        concession=float(settings["concession"]),
        domain_subjectivity=float(settings["domain_subjectivity"]),
        exclamation_boost=float(settings["exclamation_boost"]),
        balance_regex=_phrase_regex(_words(data.get("balance", []), "balance")),
        balance_damping=float(settings["balance_damping"]),
        resolution_words=frozenset(_words(data["resolved_problems"]["resolutions"], "resolved_problems.resolutions")),
        problem_words=frozenset(_words(data["resolved_problems"]["problems"], "resolved_problems.problems")),
        resolved_problem_weight=float(settings["resolved_problem_weight"]),
    )


def required_strings(pattern: re.Pattern[str]) -> tuple[str, ...] | None:
    """Strings of which every match of the pattern contains at least one, or None when that cannot be told.

    Most patterns match few comments, and `in` on a short string is far cheaper than a regex search: the
    analyzer searches with a pattern only when one of its needles is in the comment, so results are the same.
    """
    if _sre_parser is None or pattern.flags & re.IGNORECASE:
        return None
    try:
        found = _sequence_needles(list(_sre_parser.parse(pattern.pattern)))
    except Exception:  # noqa: BLE001 - an unfamiliar regex construct only loses the shortcut
        return None
    return tuple(found) if found else None


def required_string_groups(pattern: re.Pattern[str]) -> tuple[tuple[str, ...], ...]:
    """Groups of strings such that every match of the pattern contains one string of each group; empty when
    that cannot be told. Checking all of them rules out more texts than the one `required_strings` picks."""
    if _sre_parser is None or pattern.flags & re.IGNORECASE:
        return ()
    try:
        return tuple(tuple(group) for group in _requirements(list(_sre_parser.parse(pattern.pattern))))
    except Exception:  # noqa: BLE001 - an unfamiliar regex construct only loses the shortcut
        return ()


def _sequence_needles(items: list) -> list[str] | None:
    # The most selective requirement: its shortest needle longest, then the fewest needles.
    return max(_requirements(items), key=lambda needles: (min(map(len, needles)), -len(needles)), default=None)


def _requirements(items: list) -> list[list[str]]:
    c = _sre_constants
    candidates: list[list[str]] = []
    run: list[str] = []
    for op, argument in items + [(None, None)]:
        if op is c.LITERAL:
            run.append(chr(argument))
            continue
        if run:
            candidates.append(["".join(run)])
            run = []
        needed = None
        if op is c.SUBPATTERN and not argument[1]:  # a group without inline flags
            needed = _sequence_needles(list(argument[-1]))
        elif op is c.BRANCH:
            branches = [_sequence_needles(list(branch)) for branch in argument[1]]
            if all(branches):
                needed = sorted({needle for branch in branches for needle in branch})  # type: ignore[union-attr]
        elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and argument[0] >= 1:
            needed = _sequence_needles(list(argument[2]))
        if needed:
            candidates.append(needed)
    return candidates


def _phrase_regex(phrases: list[str]) -> re.Pattern[str] | None:
    """One regex for phrases given with "|" spellings, matched on whole words."""
    spellings = [s.strip() for phrase in phrases for s in phrase.split("|") if s.strip()]
    if not spellings:
        return None
    alternatives = "|".join(re.escape(s) for s in sorted(spellings, key=len, reverse=True))
    return re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)")


_TEXTBLOB_LOAD = threading.Lock()


@functools.cache
def _textblob_word_scores() -> dict[str, tuple[float, float]]:
    with _TEXTBLOB_LOAD:  # two threads' first comments must not both fill TextBlob's lazy lexicon
        from textblob.en import sentiment as textblob_sentiment

        # TextBlob loads its lexicon lazily on first use; len() forces the load so the copy is complete.
        len(textblob_sentiment)
    scores = {}
    for word, by_part_of_speech in dict.items(textblob_sentiment):
        polarity, subjectivity, _intensity = by_part_of_speech[None]
        # Words TextBlob scores 0.0 ("only", "just") carry no opinion and would only swallow negations.
        if polarity:
            scores[word] = (polarity, subjectivity)
    return scores


_LEXICON_BYTES = LEXICON_PATH.read_bytes()
ANALYZER_VERSION = version_for_lexicon(_LEXICON_BYTES)
_LEXICON = _compile_lexicon(_LEXICON_BYTES.decode("utf-8"))
_NO_SENTIMENT = Sentiment(polarity=0.0, subjectivity=0.0, label="neutral", drivers=())


def _check_thresholds(positive_threshold: float, negative_threshold: float) -> None:
    if negative_threshold >= positive_threshold:
        raise ValueError(
            f"negative_threshold ({negative_threshold}) must be below positive_threshold ({positive_threshold})"
        )


def label_for(
    polarity: float,
    *,
    positive_threshold: float = DEFAULT_POSITIVE_THRESHOLD,
    negative_threshold: float = DEFAULT_NEGATIVE_THRESHOLD,
) -> str:
    """"positive" at or above positive_threshold, "negative" at or below negative_threshold, else "neutral"."""
    _check_thresholds(positive_threshold, negative_threshold)
    if polarity >= positive_threshold:
        return "positive"
    if polarity <= negative_threshold:
        return "negative"
    return "neutral"


def _clamp(value: float) -> float:
    return max(-1.0, min(1.0, value))


def _tokens(normalised: str) -> list[tuple[str, int, int]]:
    return [(match.group(), match.start(), match.end()) for match in _LEXICON.token_pattern.finditer(normalised)]


def _opinions(text: str, lexicon: _Lexicon, tokens: list[tuple[str, int, int]]) -> list[_Opinion]:
    """Each opinion the (normalised) comment expresses, in reading order, weighted by its clause."""
    textblob_words = _textblob_word_scores()
    token_count = len(tokens)

    patterns_at: dict[int, tuple[int, float]] = {}
    # `search` first: most patterns match no comment, and a failed search costs less than an iterator.
    contains = text.__contains__
    found = sorted(((m.start(), -priority, -m.end(), polarity) for regex, polarity, priority, needles
                    in lexicon.patterns if (needles is None or any(map(contains, needles))) and regex.search(text)
                    for m in regex.finditer(text)))
    if found:
        # Leftmost match first; where two start together, the higher priority, then the longer (a complaint
        # asked as a question beats the plain question); a match overlapping one kept is dropped.
        starts = [start for _, start, _ in tokens]
        taken_until = -1
        for start, _, negative_end, polarity in found:
            if start < taken_until:
                continue
            first, end = bisect_left(starts, start), bisect_left(starts, -negative_end)
            if first < end:
                patterns_at[first] = (end, polarity)
                taken_until = -negative_end

    scored: list[_Opinion] = []
    weight = base_weight = 1.0
    in_concession = False
    at_sentence_start = True
    first_in_sentence = 0
    negator_at: int | None = None
    words_since_negator = 0
    intensity = 1.0
    intensifier_at: int | None = None
    words_since_intensifier = 0

    def add(first: int, last: int, polarity: float, subjectivity: float, negatable: bool = True) -> None:
        nonlocal negator_at, intensifier_at, intensity
        if negator_at is not None and negatable:
            polarity *= lexicon.flip_positive if polarity > 0 else lexicon.flip_negative
            first = min(first, negator_at)
        if intensifier_at is not None:
            polarity = _clamp(polarity * intensity)
            first = min(first, intensifier_at)
        scored.append(_Opinion(text[tokens[first][1]:tokens[last][2]], polarity, subjectivity, weight,
                               tokens[first][1]))
        negator_at = intensifier_at = None
        intensity = 1.0

    def lapse(last: int) -> None:
        # A negated ability with no opinion after it ("can't connect to the VPN", "won't hold charge") is a
        # complaint in service feedback; other negators lapse silently ("I don't use the portal").
        nonlocal negator_at
        if (negator_at is not None and tokens[negator_at][0] in lexicon.unmet_negators and last > negator_at
                and not any(t[0] in lexicon.unmet_exceptions for t in tokens[negator_at + 1:last + 1])):
            scored.append(_Opinion(text[tokens[negator_at][1]:tokens[last][2]], lexicon.unmet_negation,
                                   lexicon.domain_subjectivity, weight, tokens[negator_at][1]))
        negator_at = None

    i = 0
    while i < token_count:
        token = tokens[i][0]

        if i in patterns_at:
            end, polarity = patterns_at[i]
            negator_at = intensifier_at = None
            intensity = 1.0
            phrase = text[tokens[i][1]:tokens[end - 1][2]]
            scored.append(_Opinion(phrase, polarity, lexicon.domain_subjectivity, weight, tokens[i][1]))
            at_sentence_start = False
            i = end
            continue

        rule = None
        length = 1
        for words, candidate in lexicon.phrases_by_first_word.get(token, ()):
            if len(words) == 1 or (
                i + len(words) <= token_count and all(tokens[i + k][0] == words[k] for k in range(1, len(words)))
            ):
                rule, length = candidate, len(words)
                break

        if rule is None and not token[0].isalnum():
            if token == "!" and len(scored) > first_in_sentence:
                scored[-1].polarity = _clamp(scored[-1].polarity * lexicon.exclamation_boost)
            if token in _CLAUSE_ENDS:
                lapse(i - 1)
                intensifier_at = None
                intensity = 1.0
                if in_concession:
                    in_concession = False
                    weight = base_weight
            if token in _SENTENCE_ENDS:
                at_sentence_start = True
                first_in_sentence = len(scored)
            i += 1
            continue

        if rule is None:
            known = token not in lexicon.factual_words and textblob_words.get(token)
            if known:
                add(i, i, known[0], known[1])
            else:
                if negator_at is not None:
                    words_since_negator += 1
                    if token in lexicon.scope_ends:
                        # "wasn't communicated and broke the printers": the negation ends with its clause.
                        lapse(i - 1)
                    elif words_since_negator > lexicon.negation_scope:
                        lapse(i - 1)
                if intensifier_at is not None:
                    words_since_intensifier += 1
                    if words_since_intensifier > _INTENSIFIER_REACH:
                        intensifier_at = None
                        intensity = 1.0
        elif rule.kind == _TERM:
            if rule.polarity:
                # An emoticon is not negated, nor a phrase that carries its own negation ("nobody told us").
                add(i, i + length - 1, rule.polarity, lexicon.domain_subjectivity,
                    negatable=not rule.emoticon and token not in lexicon.negator_words)
            else:
                # A phrase known to be factual ("planned outage") absorbs any negator or booster before it.
                negator_at = intensifier_at = None
                intensity = 1.0
        elif rule.kind == _NEGATOR:
            negator_at = i
            words_since_negator = 0
        elif rule.kind == _INTENSIFIER:
            if intensifier_at is None:
                intensifier_at = i
            intensity *= rule.multiplier
            words_since_intensifier = 0
        else:
            lapse(i - 1)
            intensifier_at = None
            intensity = 1.0
            if rule.concedes or (rule.concedes_at_sentence_start and at_sentence_start):
                in_concession = True
                weight = lexicon.concession
            elif rule.shifts:
                for opinion in scored:
                    opinion.weight *= lexicon.before_shift
                base_weight = weight = lexicon.after_shift
                in_concession = False

        at_sentence_start = False
        i += length

    lapse(token_count - 1)
    return scored


def _weigh_resolved_problems(opinions: list[_Opinion], lexicon: _Lexicon) -> None:
    """"Outlook crashing issue finally fixed, thanks": when the comment reports a problem fixed, the words
    naming the problem are the story's setting, not the verdict; they weigh less."""
    def words(opinion: _Opinion) -> set[str]:
        return set(opinion.phrase.split())

    if not any(o.polarity > 0 and words(o) & lexicon.resolution_words for o in opinions):
        return
    for opinion in opinions:
        if opinion.polarity < 0 and words(opinion) & lexicon.problem_words:
            opinion.weight *= lexicon.resolved_problem_weight


@dataclass(frozen=True)
class Opinion:
    """One scored phrase, where it starts in the comment and its polarity before any contrast weighting:
    what a clause of the comment says, read on its own."""

    start: int
    phrase: str
    polarity: float


def analyze(
    text: str,
    *,
    positive_threshold: float = DEFAULT_POSITIVE_THRESHOLD,
    negative_threshold: float = DEFAULT_NEGATIVE_THRESHOLD,
) -> Sentiment:
    """Score one comment: polarity (-1..1), subjectivity (0..1), label, and the phrases that drove the score.

    Polarity is the weighted mean of the opinions found, as in TextBlob: general words keep TextBlob's
    scores, IT-service phrases, negation, contrast, intensity, emoticons and sarcasm come from the lexicon.
    """
    return read(text, positive_threshold=positive_threshold, negative_threshold=negative_threshold).sentiment


@dataclass(frozen=True)
class Reading:
    """One reading of a comment: its sentiment, every opinion found with its offset (the aspect tagger
    gives each clause the opinions that start in it), and its tokens (`tokens`)."""

    sentiment: Sentiment
    opinions: tuple[Opinion, ...]
    tokens: list[tuple[str, int, int]]


def read(
    text: str,
    *,
    positive_threshold: float = DEFAULT_POSITIVE_THRESHOLD,
    negative_threshold: float = DEFAULT_NEGATIVE_THRESHOLD,
) -> Reading:
    """`analyze`, with the opinions and tokens it read on the way."""
    _check_thresholds(positive_threshold, negative_threshold)
    if not text or text.isspace():
        return Reading(_NO_SENTIMENT, (), [])
    normalised = _normalise(text)
    tokens = _tokens(normalised)
    opinions = _opinions(normalised, _LEXICON, tokens)
    _weigh_resolved_problems(opinions, _LEXICON)
    found = tuple(Opinion(o.start, o.phrase, o.polarity) for o in opinions if o.polarity)
    total_weight = sum(opinion.weight for opinion in opinions)
    if not total_weight:
        # Nothing in the comment expresses an opinion, whatever the thresholds are.
        return Reading(_NO_SENTIMENT, found, tokens)

    contributions: dict[str, float] = {}
    weighted_subjectivity = 0.0
    for opinion in opinions:
        # The same phrase said twice ("poor ..., poor ...") is one driver with both shares.
        share = opinion.polarity * opinion.weight / total_weight
        contributions[opinion.phrase] = contributions.get(opinion.phrase, 0.0) + share
        weighted_subjectivity += opinion.subjectivity * opinion.weight
    polarity = _clamp(sum(contributions.values()))
    if _LEXICON.balance_regex is not None and _LEXICON.balance_regex.search(normalised):
        # "Good at small fixes, slow on anything bigger. About what I'd expect": the writer weighs it up.
        polarity *= _LEXICON.balance_damping
    polarity = round(polarity, 4)
    drivers = tuple(
        sorted(
            (Driver(phrase, round(share, 4)) for phrase, share in contributions.items() if round(share, 4)),
            key=lambda driver: (-abs(driver.contribution), driver.phrase),
        )
    )
    return Reading(Sentiment(
        polarity=polarity,
        subjectivity=round(max(0.0, min(1.0, weighted_subjectivity / total_weight)), 4),
        label=label_for(polarity, positive_threshold=positive_threshold, negative_threshold=negative_threshold),
        drivers=drivers,
    ), found, tokens)


def tokens(text: str) -> list[tuple[str, int, int]]:
    """The comment's tokens as the analyzer reads them (lower-case, straight apostrophes, emoticons and
    numbers whole), each with its start and end offset in `text`."""
    return _tokens(_normalise(text))
