"""Dashboard forms: the GET filter bars (no CSRF: they change nothing) and the comment actions."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SearchField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length, Optional

from app.models.response import SENTIMENT_LABELS


def _label_choices(empty: str) -> list[SelectChoice]:
    return [SelectChoice("", empty)] + [SelectChoice(v, v.capitalize()) for v in SENTIMENT_LABELS]


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class FilterForm(FlaskForm):
    """Provider, campaign, wave range and department; choices are filled by the view from the scope."""

    class Meta:
        csrf = False

    provider = SelectField("Provider", coerce=_optional_int, validate_choice=False)
    campaign = SelectField("Campaign", coerce=_optional_int, validate_choice=False)
    first = SelectField("From wave", coerce=_optional_int, validate_choice=False)
    last = SelectField("To wave", coerce=_optional_int, validate_choice=False)
    department = SelectField("Department", validate_choice=False, validators=[Optional(), Length(max=120)])
    submit = SubmitField("Apply")


class CommentFilterForm(FilterForm):
    wave = SelectField("Wave", coerce=_optional_int, validate_choice=False)
    area = SelectField("Service area", coerce=_optional_int, validate_choice=False)
    label = SelectField("Sentiment", choices=_label_choices("Any sentiment"),
                        validators=[Optional(), AnyOf(("",) + SENTIMENT_LABELS)])
    q = SearchField("Text contains", validators=[Optional(), Length(max=200)])
    shared = BooleanField("Only comments shared with the provider")


class LabelCorrectionForm(FlaskForm):
    label = SelectField("Correct label", choices=_label_choices("As computed"),
                        validators=[Optional(), AnyOf(("",) + SENTIMENT_LABELS)])
    next = HiddenField()
    submit = SubmitField("Save label")


class ShareableForm(FlaskForm):
    shareable = HiddenField()
    next = HiddenField()
    submit = SubmitField("Share")
