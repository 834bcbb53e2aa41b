"""Forms of the respondent's pages. The survey form is built at runtime from the survey layout."""
from __future__ import annotations

from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import BooleanField

from app.services.questions import SurveyLayout


class SurveyForm(FlaskForm):
    """Base of every survey form: one field per question and area, added by `survey_form_class`.

    The CSRF token is checked in the view (not by `validate`), so an expired token can re-show the
    answers instead of losing them; answers are checked by `app.services.questions.parse_submission`.
    """


class ConfirmForm(FlaskForm):
    """A form with only the CSRF token: the unsubscribe and opt-back-in buttons."""


# Form classes are built once per layout and reused: building one is most of the cost of a form.
_FORM_CLASSES: dict[tuple, type[SurveyForm]] = {}
_FORM_CLASS_LIMIT = 256


def survey_form_class(layout: SurveyLayout) -> type[SurveyForm]:
    key = layout.cache_key
    form_class = _FORM_CLASSES.get(key)
    if form_class is None:
        if len(_FORM_CLASSES) >= _FORM_CLASS_LIMIT:
            _FORM_CLASSES.clear()
        form_class = _FORM_CLASSES[key] = _build_form_class(layout)
    return form_class


def _build_form_class(layout: SurveyLayout) -> type[SurveyForm]:
    attributes = {}
    for section in layout.sections:
        if section.skip_name:
            attributes[section.skip_name] = BooleanField(f"I did not use {section.area.name} this period")
        for item in section.items:
            attributes[item.name] = item.type.build_field(item.text)
    return type("BoundSurveyForm", (SurveyForm,), attributes)


def survey_form(layout: SurveyLayout, formdata: MultiDict | None = None) -> SurveyForm:
    """The form, filled from `formdata` (a submission or a saved draft) when given, else from the request."""
    form_class = survey_form_class(layout)
    if formdata is not None:
        return form_class(formdata=formdata)
    return form_class()
