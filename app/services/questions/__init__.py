"""Question types, the survey layout and submission parsing, one concern per module.

`base` holds the registry every kind joins; `numeric` (rating, nps, hours), `choices` (reasons,
choice) and `text` (comment) hold one class per kind, each building its WTForms field and checking a
raw value. `layout` lays a definition out for the areas one person uses; `submission` checks a posted
form against that layout. Reports summarise answers in SQL (`app.services.reporting`), not here.
"""
from app.services.questions.base import AnswerRejected, QuestionSpec, QuestionType, question_type
from app.services.questions.choices import ChoiceType, ReasonsType
from app.services.questions.layout import LayoutItem, Section, SurveyLayout, survey_layout
from app.services.questions.numeric import HoursType, NpsType, RatingType
from app.services.questions.submission import CleanedAnswer, draft_data, parse_submission
from app.services.questions.text import CommentType

__all__ = [
    "AnswerRejected", "ChoiceType", "CleanedAnswer", "CommentType", "HoursType", "LayoutItem", "NpsType",
    "QuestionSpec", "QuestionType", "RatingType", "ReasonsType", "Section", "SurveyLayout", "draft_data",
    "parse_submission", "question_type", "survey_layout",
]
