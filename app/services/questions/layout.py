"""The survey as one person sees it: a definition's questions laid out per service area they use.

The form is built from this layout (`app.respond.forms`) and submissions are checked against it
(`app.services.questions.submission`), so the page and the server agree on which questions exist.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property

from app.models import Question, ServiceArea
from app.services.questions.base import QuestionSpec, QuestionType, question_type

SKIP_PREFIX = "skip_area"


@dataclass(frozen=True)
class LayoutItem:
    """One question as asked on the page: in an area (or about the relationship), under a form field name."""

    name: str
    question: Question
    type: QuestionType
    text: str
    area: ServiceArea | None

    @property
    def kind(self) -> str:
        return self.question.kind


@dataclass(frozen=True)
class Section:
    """A service area's questions (with its "did not use" choice), or the relationship questions."""

    area: ServiceArea | None
    items: list[LayoutItem]
    skip_name: str | None = None

    @property
    def heading(self) -> str:
        return self.area.name if self.area is not None else "Working with the provider"


@dataclass(frozen=True)
class SurveyLayout:
    """Every section of one person's survey page, in the order asked."""

    sections: list[Section]

    @property
    def items(self) -> list[LayoutItem]:
        return [item for section in self.sections for item in section.items]

    @property
    def skip_names(self) -> list[str]:
        return [s.skip_name for s in self.sections if s.skip_name]

    def answer_names(self) -> set[str]:
        return {item.name for item in self.items} | set(self.skip_names)

    @property
    def step_count(self) -> int:
        """Screens before the review: one per section (one area, or the questions asked once)."""
        return len(self.sections)

    def step(self, number: int) -> SurveyLayout:
        """The layout of one step (1-based): a single section, so it is parsed and rendered on its own."""
        return SurveyLayout([self.sections[number - 1]])

    @cached_property
    def cache_key(self) -> tuple:
        """Identifies the fields of this layout: same key, same form (definitions never change in place)."""
        return tuple(
            (s.area.id if s.area else None, s.heading, s.area.description if s.area else None,
             tuple((i.name, i.question.definition_id, i.text, i.question.help_text, i.question.required,
                    i.question.min_value, i.question.max_value, repr(i.question.options)) for i in s.items))
            for s in self.sections
        )


def field_name(question: Question, area: ServiceArea | None) -> str:
    return f"area{area.id}__{question.code}" if area is not None else f"rel__{question.code}"


def survey_layout(questions: Sequence[Question | QuestionSpec], areas: Sequence[ServiceArea]) -> SurveyLayout:
    """The sections of the page: each area's questions in definition order, then the relationship ones."""
    questions = sorted(questions, key=lambda q: q.position)
    area_questions = [q for q in questions if q.scope == "area"]
    relationship_questions = [q for q in questions if q.scope == "relationship"]
    sections = []
    for area in areas:
        items = [LayoutItem(field_name(q, area), q, question_type(q), q.text.replace("{area}", area.name), area)
                 for q in area_questions]
        if items:
            sections.append(Section(area, items, skip_name=f"{SKIP_PREFIX}{area.id}"))
    if relationship_questions:
        sections.append(Section(None, [LayoutItem(field_name(q, None), q, question_type(q), q.text, None)
                                       for q in relationship_questions]))
    return SurveyLayout(sections)
