"""The review step: each section's answers in words, read back from the sealed draft before submitting."""
from __future__ import annotations

from dataclasses import dataclass

from werkzeug.datastructures import MultiDict

from app.services.questions import SurveyLayout
from app.services.questions.submission import TRUE_VALUES


@dataclass(frozen=True)
class ReviewLine:
    question: str
    answer: str


@dataclass(frozen=True)
class ReviewSection:
    step: int
    heading: str
    skipped: bool
    lines: list[ReviewLine]


def _in_words(item, values: list[str]) -> str:
    if not values or not any(v.strip() for v in values):
        return "Not answered"
    kind = item.kind
    if kind in ("rating", "nps"):
        t = item.type
        return f"{values[0]} (from {t.minimum} to {t.maximum})"
    if kind in ("reasons", "choice"):
        options = item.type.good + item.type.bad if kind == "reasons" else item.type.choice_list
        labels = {o["code"]: o["label"] for o in options}
        return ", ".join(labels.get(v, v) for v in values)
    if kind == "hours":
        return f"{values[0]} hours"
    return values[0]


def review_sections(layout: SurveyLayout, data: MultiDict) -> list[ReviewSection]:
    """What the respondent has entered so far, per step, as they would say it."""
    sections = []
    for number, section in enumerate(layout.sections, start=1):
        skipped = bool(section.skip_name) and str(data.get(section.skip_name, "")).strip().lower() in TRUE_VALUES
        lines = [] if skipped else [ReviewLine(item.text, _in_words(item, data.getlist(item.name)))
                                    for item in section.items]
        sections.append(ReviewSection(number, section.heading, skipped, lines))
    return sections
