"""Question types: one class per kind builds its form field, checks a raw submitted value and summarises answers.

The survey form is laid out at runtime from a definition and the service areas a person uses
(`survey_layout`), and a submission is checked against that layout (`parse_submission`), so the
page and the server agree on which questions exist and what each accepts.

Reasons rule: a reasons question follows a rating in the same area. With that rating at or above
`good_from` only the "good" reasons are accepted, below it only the "bad" ones; with no rating given
no reason is accepted (we could not tell praise from complaint). Without `good_from` in the
definition the good side starts three quarters up the scale (4 on 1-5, 8 on 0-10).
"""
from __future__ import annotations

import math
from functools import cached_property
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from wtforms import Field, RadioField, SelectMultipleField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.widgets import CheckboxInput, ListWidget

from app.errors import InvalidInput
from app.models import Question, ServiceArea

# Form fields that are not answers: the CSRF token and the button that was pressed.
CONTROL_FIELDS = frozenset({"csrf_token", "action"})
SKIP_PREFIX = "skip_area"
TRUE_VALUES = frozenset({"y", "on", "1", "true", "yes"})


class AnswerLike(Protocol):
    score: int | None
    hours: float | None
    reasons: list[str] | None
    text: str | None


class AnswerRejected(ValueError):
    """A raw value a question cannot accept; the message is shown next to the question."""


class QuestionType:
    """Base class: a kind of question. Subclasses register themselves under `kind`."""

    kind: ClassVar[str]
    registry: ClassVar[dict[str, type[QuestionType]]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "kind", None):
            QuestionType.registry[cls.kind] = cls

    def __init__(self, question: Question | QuestionSpec) -> None:
        self.question = question
        self.options: dict[str, Any] = question.options or {}

    multiple: ClassVar[bool] = False  # whether the field submits several values under one name

    def build_field(self, label: str) -> Field:
        raise NotImplementedError

    def clean(self, raw: Sequence[str]) -> Any:
        """The value to store, or None when unanswered. Raises AnswerRejected with a message for a person."""
        raise NotImplementedError

    def to_columns(self, value: Any) -> dict[str, Any]:
        """Answer column values (score / hours / reasons / text) for a cleaned value."""
        raise NotImplementedError

    def summarise(self, answers: Iterable[AnswerLike]) -> dict[str, Any]:
        raise NotImplementedError

    def _single(self, raw: Sequence[str]) -> str | None:
        values = [value for value in raw if value is not None]
        if len(values) > 1:
            raise AnswerRejected("Give one answer only.")
        if not values or values[0].strip() == "":
            return None
        return values[0].strip()


class RatingType(QuestionType):
    """A score on a scale, shown as a radio group whose ends carry labels."""

    kind = "rating"

    @property
    def minimum(self) -> int:
        return self.question.min_value if self.question.min_value is not None else 1

    @property
    def maximum(self) -> int:
        return self.question.max_value if self.question.max_value is not None else 5

    @property
    def min_label(self) -> str | None:
        return self.options.get("min_label")

    @property
    def max_label(self) -> str | None:
        return self.options.get("max_label")

    def choices(self) -> list[SelectChoice]:
        return [SelectChoice(str(n), str(n)) for n in range(self.minimum, self.maximum + 1)]

    def build_field(self, label: str) -> Field:
        # Choices are strings and no coercion happens, so any submitted value is redisplayed as sent.
        return RadioField(label, choices=self.choices(), validate_choice=False)

    def clean(self, raw: Sequence[str]) -> int | None:
        value = self._single(raw)
        if value is None:
            return None
        range_text = f"a number from {self.minimum} to {self.maximum}"
        try:
            score = int(value)
        except ValueError:
            raise AnswerRejected(f"Choose {range_text}.") from None
        if not self.minimum <= score <= self.maximum:
            raise AnswerRejected(f"Choose {range_text}.")
        return score

    def to_columns(self, value: int) -> dict[str, Any]:
        return {"score": value}

    def summarise(self, answers: Iterable[AnswerLike]) -> dict[str, Any]:
        scores = [a.score for a in answers if a.score is not None]
        distribution = Counter(scores)
        return {
            "count": len(scores),
            "mean": round(sum(scores) / len(scores), 2) if scores else None,
            "distribution": {n: distribution.get(n, 0) for n in range(self.minimum, self.maximum + 1)},
        }


class NpsType(RatingType):
    """Likelihood to recommend, 0 to 10; summarised as promoters minus detractors (-100..100)."""

    kind = "nps"

    @property
    def minimum(self) -> int:
        return 0

    @property
    def maximum(self) -> int:
        return 10

    def summarise(self, answers: Iterable[AnswerLike]) -> dict[str, Any]:
        summary = super().summarise(answers)
        count = summary["count"]
        if count:
            promoters = sum(n for score, n in summary["distribution"].items() if score >= 9)
            detractors = sum(n for score, n in summary["distribution"].items() if score <= 6)
            summary["score"] = round(100 * (promoters - detractors) / count, 1)
        else:
            summary["score"] = None
        return summary


class HoursType(QuestionType):
    """A number of hours, 0 up to the question's maximum; a decimal comma is accepted."""

    kind = "hours"

    @property
    def maximum(self) -> int:
        return self.question.max_value if self.question.max_value is not None else 1000

    def build_field(self, label: str) -> Field:
        # A text box (not type=number) keeps whatever was typed, so a mistake is shown back as entered.
        return StringField(label, render_kw={"inputmode": "decimal", "autocomplete": "off", "size": "6"})

    def clean(self, raw: Sequence[str]) -> float | None:
        value = self._single(raw)
        if value is None:
            return None
        message = f"Enter a number of hours from 0 to {self.maximum}, such as 2 or 1.5."
        try:
            hours = float(value.replace(",", ".", 1))
        except ValueError:
            raise AnswerRejected(message) from None
        if not math.isfinite(hours) or not 0 <= hours <= self.maximum:
            raise AnswerRejected(message)
        return round(hours, 2)

    def to_columns(self, value: float) -> dict[str, Any]:
        return {"hours": value}

    def summarise(self, answers: Iterable[AnswerLike]) -> dict[str, Any]:
        hours = [a.hours for a in answers if a.hours is not None]
        return {
            "count": len(hours),
            "total": round(sum(hours), 2),
            "mean": round(sum(hours) / len(hours), 2) if hours else None,
        }


class ReasonsType(QuestionType):
    """Checkboxes: good reasons for a high rating, bad reasons for a low one (see the module docstring)."""

    kind = "reasons"
    multiple = True

    @property
    def follows(self) -> str:
        return self.options["follows"]

    @property
    def good(self) -> list[dict[str, str]]:
        return list(self.options.get("good") or [])

    @property
    def bad(self) -> list[dict[str, str]]:
        return list(self.options.get("bad") or [])

    def good_from(self, followed: RatingType) -> int:
        configured = self.options.get("good_from")
        if configured is not None:
            return int(configured)
        return followed.minimum + math.ceil(0.75 * (followed.maximum - followed.minimum))

    def build_field(self, label: str) -> Field:
        choices = [SelectChoice(r["code"], r["label"]) for r in self.good + self.bad]
        return SelectMultipleField(label, choices=choices, validate_choice=False,
                                   widget=ListWidget(prefix_label=False), option_widget=CheckboxInput())

    def clean(self, raw: Sequence[str]) -> list[str] | None:
        known = {r["code"] for r in self.good + self.bad}
        chosen: list[str] = []
        for value in raw:
            value = (value or "").strip()
            if value not in known:
                raise AnswerRejected("Choose reasons from the list.")
            if value not in chosen:
                chosen.append(value)
        return chosen or None

    def check_against_rating(self, reasons: list[str], rating: int | None, followed: RatingType) -> None:
        """Refuse reasons from the wrong list for the rating given (or any reason without a rating)."""
        if rating is None:
            raise AnswerRejected("Give a rating above before choosing reasons.")
        is_good = rating >= self.good_from(followed)
        allowed = self.good if is_good else self.bad
        if not set(reasons) <= {r["code"] for r in allowed}:
            side = "went well" if is_good else "went wrong"
            raise AnswerRejected(f"For a rating of {rating}, choose reasons from the list of what {side}.")

    def to_columns(self, value: list[str]) -> dict[str, Any]:
        return {"reasons": value}

    def summarise(self, answers: Iterable[AnswerLike]) -> dict[str, Any]:
        counts: Counter[str] = Counter()
        respondents = 0
        for answer in answers:
            if answer.reasons:
                respondents += 1
                counts.update(answer.reasons)
        return {"count": respondents, "reasons": dict(counts.most_common())}


class CommentType(QuestionType):
    """Free text with a visible length limit."""

    kind = "comment"

    @property
    def max_length(self) -> int:
        return int(self.options.get("max_length") or 2000)

    def build_field(self, label: str) -> Field:
        return TextAreaField(label, render_kw={"maxlength": str(self.max_length), "rows": "4"})

    def clean(self, raw: Sequence[str]) -> str | None:
        values = [value for value in raw if value is not None]
        if len(values) > 1:
            raise AnswerRejected("Give one answer only.")
        if not values:
            return None
        # Browsers send line breaks as CRLF; count them as one character, as the page does. NUL is
        # never typed and PostgreSQL cannot store it in text.
        text = values[0].replace("\r\n", "\n").replace("\x00", "").strip()
        if not text:
            return None
        if len(text) > self.max_length:
            raise AnswerRejected(f"Shorten this to {self.max_length} characters or fewer (it has {len(text)}).")
        return text

    def to_columns(self, value: str) -> dict[str, Any]:
        return {"text": value}

    def summarise(self, answers: Iterable[AnswerLike]) -> dict[str, Any]:
        texts = [a for a in answers if a.text]
        labels = Counter(getattr(a, "effective_label", None) or "unscored" for a in texts)
        return {"count": len(texts), "labels": dict(labels)}


class ChoiceType(QuestionType):
    """One option from a list; stored as a one-element `reasons` list of the option's code."""

    kind = "choice"

    @property
    def choice_list(self) -> list[dict[str, str]]:
        return list(self.options.get("choices") or [])

    def build_field(self, label: str) -> Field:
        choices = [SelectChoice(c["code"], c["label"]) for c in self.choice_list]
        return RadioField(label, choices=choices, validate_choice=False)

    def clean(self, raw: Sequence[str]) -> str | None:
        value = self._single(raw)
        if value is None:
            return None
        if value not in {c["code"] for c in self.choice_list}:
            raise AnswerRejected("Choose one of the options.")
        return value

    def to_columns(self, value: str) -> dict[str, Any]:
        return {"reasons": [value]}

    def summarise(self, answers: Iterable[AnswerLike]) -> dict[str, Any]:
        counts = Counter(a.reasons[0] for a in answers if a.reasons)
        return {"count": sum(counts.values()), "choices": {c["code"]: counts.get(c["code"], 0)
                                                           for c in self.choice_list}}


@dataclass(frozen=True)
class QuestionSpec:
    """A question's settings detached from the database: definitions never change once loaded, so a
    process keeps these for each definition instead of loading thirteen rows per page view."""

    id: int
    definition_id: int
    code: str
    position: int
    kind: str
    scope: str
    text: str
    help_text: str | None
    required: bool
    min_value: int | None
    max_value: int | None
    options: dict[str, Any]

    @classmethod
    def of(cls, question: Question) -> QuestionSpec:
        return cls(question.id, question.definition_id, question.code, question.position, question.kind,
                   question.scope, question.text, question.help_text, bool(question.required), question.min_value,
                   question.max_value, dict(question.options or {}))


def question_type(question: Question | QuestionSpec) -> QuestionType:
    try:
        return QuestionType.registry[question.kind](question)
    except KeyError:
        raise ValueError(f"no question type for kind {question.kind!r}") from None


# --- the survey as one person sees it --------------------------------------------------------


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
    sections: list[Section]

    @property
    def items(self) -> list[LayoutItem]:
        return [item for section in self.sections for item in section.items]

    @property
    def skip_names(self) -> list[str]:
        return [s.skip_name for s in self.sections if s.skip_name]

    def answer_names(self) -> set[str]:
        return {item.name for item in self.items} | set(self.skip_names)

    @cached_property
    def cache_key(self) -> tuple:
        """Identifies the fields of this layout: same key, same form (definitions never change in place)."""
        return tuple(
            (s.area.id if s.area else None, s.heading, s.area.description if s.area else None,
             tuple((i.name, i.question.definition_id, i.text, i.question.help_text, i.question.required,
                    i.question.min_value, i.question.max_value, repr(i.question.options)) for i in s.items))
            for s in self.sections
        )

    def item(self, name: str) -> LayoutItem | None:
        return next((item for item in self.items if item.name == name), None)


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


@dataclass
class CleanedAnswer:
    question: Question
    area: ServiceArea | None
    columns: dict[str, Any] = field(default_factory=dict)


def _values(form_data: Mapping[str, Any], name: str) -> list[str]:
    getlist = getattr(form_data, "getlist", None)
    if getlist is not None:
        return list(getlist(name))
    value = form_data.get(name)
    if value is None:
        return []
    return list(value) if isinstance(value, (list, tuple)) else [value]


def _flag(form_data: Mapping[str, Any], name: str) -> bool:
    values = _values(form_data, name)
    if len(values) > 1 or (values and str(values[0]).strip().lower() not in TRUE_VALUES):
        raise AnswerRejected("Tick the box or leave it empty.")
    return bool(values)


def parse_submission(layout: SurveyLayout, form_data: Mapping[str, Any]) -> list[CleanedAnswer]:
    """Check a submitted form against the layout and return the answers to store.

    Raises InvalidInput with `errors` keyed by field name ("_form" for problems of the whole form):
    unknown field names, wrong types, values out of range, missing required answers, reasons that do
    not match the rating. An area marked "did not use" is not asked: its answers are ignored.
    """
    errors: dict[str, list[str]] = {}
    unknown = sorted(set(form_data.keys()) - layout.answer_names() - CONTROL_FIELDS)
    if unknown:
        errors["_form"] = ["The form contained answers to questions that are not part of this survey. "
                           "Please reload the page and answer again."]

    cleaned: list[CleanedAnswer] = []
    for section in layout.sections:
        try:
            skipped = _flag(form_data, section.skip_name) if section.skip_name else False
        except AnswerRejected as rejected:
            errors.setdefault(section.skip_name, []).append(str(rejected))
            continue
        if skipped:
            continue
        values: dict[str, Any] = {}
        for item in section.items:
            try:
                value = item.type.clean(_values(form_data, item.name))
            except AnswerRejected as rejected:
                errors.setdefault(item.name, []).append(str(rejected))
                continue
            if value is None and item.question.required:
                hint = f", or tick “I did not use {section.area.name}”" if section.area is not None else ""
                errors.setdefault(item.name, []).append(f"Please answer this question{hint}.")
                continue
            values[item.question.code] = value
        for item in section.items:
            if isinstance(item.type, ReasonsType) and values.get(item.question.code):
                followed_item = next((i for i in section.items if i.question.code == item.type.follows), None)
                if followed_item is None or not isinstance(followed_item.type, RatingType):
                    continue
                if followed_item.name in errors:
                    continue  # the rating itself is wrong; that message is enough
                try:
                    item.type.check_against_rating(values[item.question.code],
                                                   values.get(followed_item.question.code), followed_item.type)
                except AnswerRejected as rejected:
                    errors.setdefault(item.name, []).append(str(rejected))
        cleaned.extend(
            CleanedAnswer(item.question, item.area, item.type.to_columns(values[item.question.code]))
            for item in section.items if values.get(item.question.code) is not None
        )
    if errors:
        raise InvalidInput("Some answers need another look.", errors=errors)
    return cleaned


def draft_data(layout: SurveyLayout, form_data: Mapping[str, Any], *,
               max_value_length: int = 10000) -> dict[str, list[str]]:
    """What a partial answer keeps: the values of this survey's fields only, unchecked, each capped in length."""
    data: dict[str, list[str]] = {}
    for name in sorted(layout.answer_names()):
        values = [str(v)[:max_value_length] for v in _values(form_data, name)][:50]
        if values and any(v.strip() for v in values):
            data[name] = values
    return data
