"""Forms of the stakeholder and campaign admin pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import (
    BooleanField,
    DateField,
    DecimalField,
    IntegerField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from app.models.campaign import ANONYMITY_MODES


class StakeholderImportForm(FlaskForm):
    file = FileField("CSV file from HR", validators=[
        FileRequired("Choose a CSV file."), FileAllowed(["csv", "txt"], "Upload a .csv file.")])
    sync = BooleanField("Deactivate active stakeholders who are not in this file")
    # Offered once an import was refused for deactivating more than a tenth of the active people.
    confirm_deactivation = BooleanField("Yes, deactivate them: the file is complete")
    skip_invalid = BooleanField("Import the valid rows even if some rows are invalid")
    submit = SubmitField("Import")


class SenderFields:
    """Who a campaign's emails come from as people read them, and where replies go: asked when the campaign is
    created and changed on its page."""

    sender_name = StringField("Sender name (a person or team, e.g. Vendor Management Team; empty = as configured)",
                              validators=[Length(max=120)])
    reply_to = StringField("Replies go to (an email address; empty = the sending address)",
                           validators=[Length(max=254)])


class CampaignForm(SenderFields, FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    provider_id = SelectField("Provider", coerce=int, validators=[InputRequired()])
    definition_id = SelectField("Survey", coerce=int, validators=[InputRequired()])
    cadence = SelectField("Cadence", choices=[SelectChoice("quarterly", "Quarterly"),
                                              SelectChoice("monthly", "Monthly"),
                                              SelectChoice("weekly", "Every N weeks")])
    interval_count = IntegerField("Every (quarters, months or weeks)", default=1,
                                  validators=[InputRequired(), NumberRange(min=1, max=52)])
    anchor_date = DateField("First wave on", validators=[InputRequired("Give the date of the first wave.")])
    window_days = IntegerField("Answer window in days", default=14,
                               validators=[InputRequired(), NumberRange(min=1, max=366)])
    reminder_days = StringField("Reminders, in days after opening", default="5, 10", validators=[Length(max=100)])
    anonymity = SelectField("Anonymity", choices=[SelectChoice(mode, mode.title()) for mode in ANONYMITY_MODES],
                            default="confidential")
    min_group_size = IntegerField("Smallest group shown in reports", default=5,
                                  validators=[InputRequired(), NumberRange(min=2, max=1000)])
    fatigue_days = IntegerField("Invite nobody more often than every N days (0 = no limit)", default=0,
                                validators=[InputRequired(), NumberRange(min=0, max=3650)])
    areas_per_person = IntegerField("Ask each person about at most this many of the areas they use (empty = all)",
                                    validators=[Optional(), NumberRange(min=1, max=50)])
    audience_departments = StringField("Only these departments (comma-separated; empty = everyone)",
                                       validators=[Length(max=1000)])
    audience_area_codes = SelectMultipleField("Only people who use these service areas (none selected = everyone)")
    submit = SubmitField("Create campaign")


class CampaignReportingForm(FlaskForm):
    """What a campaign's reports compare with and how they price lost time."""

    baseline_wave_id = SelectField("Baseline wave (every wave is also compared with it)", coerce=int, default=0)
    hourly_cost = DecimalField("Cost of one lost working hour (empty = lost time is not priced)", places=2,
                               validators=[Optional(), NumberRange(min=0, max=100000)])
    currency = StringField("Currency, as people write it (e.g. EUR, £)", validators=[Length(max=12)])
    submit = SubmitField("Save report settings")


class CampaignSenderForm(SenderFields, FlaskForm):
    """Who the campaign's emails come from as people read them, and where replies go."""

    submit = SubmitField("Save email settings")
