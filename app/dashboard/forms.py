"""Dashboard forms: the GET filter bars (no CSRF: they change nothing) and the comment actions."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SearchField, SelectField, SubmitField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import AnyOf, Length, Optional

from app.models.response import SENTIMENT_LABELS
from app.services.aspects import TAXONOMY


def _label_choices(empty: str) -> list[SelectChoice]:
    return [SelectChoice("", empty)] + [SelectChoice(v, v.capitalize()) for v in SENTIMENT_LABELS]


def _optional_int(value):
    if value in (None, "", "None"):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


PROVIDER_LEVEL = "provider"  # the service-area filter's value for the comments about the provider as a whole


def _area_choice(value):
    """A service area's id, or the provider-as-a-whole choice; anything else is no filter."""
    return PROVIDER_LEVEL if value == PROVIDER_LEVEL else _optional_int(value)


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
    area = SelectField("Service area", coerce=_area_choice, validate_choice=False)
    label = SelectField("Sentiment", choices=_label_choices("Any sentiment"),
                        validators=[Optional(), AnyOf(("",) + SENTIMENT_LABELS)])
    q = SearchField("Text contains", validators=[Optional(), Length(max=200)])
    aspect = SelectField("About", choices=[SelectChoice("", "Any aspect")] + [
        SelectChoice(a.id, a.name) for a in TAXONOMY.aspects.values()],
        validators=[Optional(), AnyOf(("", *TAXONOMY.aspects))])
    aspect_label = SelectField("Said about it", choices=_label_choices("Anything"),
                               validators=[Optional(), AnyOf(("",) + SENTIMENT_LABELS)])
    rating = SelectField("Rated", choices=[SelectChoice("", "Any rating"), SelectChoice("low", "Low (1–2)"),
                                           SelectChoice("middle", "Middle (3)"), SelectChoice("high", "High (4–5)")],
                         validators=[Optional(), AnyOf(("", "low", "middle", "high"))])
    shared = BooleanField("Only comments shared with the provider")


class LabelCorrectionForm(FlaskForm):
    label = SelectField("Correct label", choices=_label_choices("As computed"),
                        validators=[Optional(), AnyOf(("",) + SENTIMENT_LABELS)])
    next = HiddenField()
    submit = SubmitField("Save label")


class AspectCorrectionForm(FlaskForm):
    """One select per aspect of the taxonomy (fields `aspect_<id>`, added below): not mentioned, or the
    sentiment the comment expresses about it. `reset` goes back to the analyzer's aspects."""

    reset = HiddenField()
    next = HiddenField()
    submit = SubmitField("Save aspects")

    def chosen(self) -> dict[str, str] | None:
        if self.reset.data == "1":
            return None
        return {a: self[f"aspect_{a}"].data for a in TAXONOMY.aspects if self[f"aspect_{a}"].data}


for _aspect in TAXONOMY.aspects.values():
    setattr(AspectCorrectionForm, f"aspect_{_aspect.id}",
            SelectField(_aspect.name, choices=_label_choices("Not mentioned"),
                        validators=[Optional(), AnyOf(("",) + SENTIMENT_LABELS)]))


class ShareableForm(FlaskForm):
    shareable = HiddenField()
    next = HiddenField()
    submit = SubmitField("Share")
