"""Admin pages for providers, service areas with their contract targets, and user accounts."""
from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import (
    BooleanField,
    EmailField,
    FloatField,
    IntegerField,
    PasswordField,
    SelectField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from app.admin import bp
from app.auth.access import admin_required
from app.errors import InvalidInput
from app.extensions import db
from app.models import Provider, ServiceArea, User
from app.models.user import ROLES
from app.forms import apply_errors
from app.services import providers as provider_service
from app.services import users


class ProviderForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    contract_reference = StringField("Contract reference", validators=[Optional(), Length(max=120)])
    submit = SubmitField("Save provider")


class ServiceAreaForm(FlaskForm):
    code = StringField("Code", validators=[DataRequired(), Length(max=60)])
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=2000)])
    position = IntegerField("Position in lists", default=0, validators=[Optional(), NumberRange(0, 10000)])
    target_satisfaction = FloatField(
        "Satisfaction target (1 to 5)", validators=[Optional(), NumberRange(1, 5, "Use a number from 1 to 5.")])
    target_happiness = FloatField(
        "Happiness target (-100 to 100)",
        validators=[Optional(), NumberRange(-100, 100, "Use a number from -100 to 100.")])
    active = BooleanField("Active (asked about in new waves)", default=True)
    submit = SubmitField("Save service area")


class UserForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Length(max=254)])
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=[SelectChoice(r, r.capitalize()) for r in ROLES], default="manager")
    provider = SelectField("Provider (for provider accounts)", coerce=lambda v: int(v) if v else None,
                           validate_choice=False)
    password = PasswordField("Temporary password", validators=[DataRequired(), Length(max=200)])
    submit = SubmitField("Create account")


class AccountForm(FlaskForm):
    name = StringField("Name", validators=[Optional(), Length(max=200)])
    role = SelectField("Role", choices=[SelectChoice(r, r.capitalize()) for r in ROLES])
    provider_id = SelectField("Provider (for provider accounts)", coerce=lambda v: int(v) if v else None,
                              validate_choice=False)
    save = SubmitField("Save account")


class PasswordResetForm(FlaskForm):
    """Shown on the account page beside AccountForm, under the prefix "reset" so the two keep apart ids."""

    password = PasswordField("New temporary password", validators=[DataRequired(), Length(max=200)])
    reset = SubmitField("Reset password")


class ActivationForm(FlaskForm):
    submit = SubmitField("Save")


@bp.route("/providers", methods=["GET", "POST"])
@admin_required
def providers():
    form = ProviderForm()
    status = 200
    if form.validate_on_submit():
        try:
            provider = provider_service.save_provider(form.name.data, form.contract_reference.data)
        except InvalidInput as error:
            apply_errors(form, error)
            status = 422
        else:
            flash(f"Provider {provider.name} created. Add its service areas and targets next.", "success")
            return redirect(url_for("admin.provider", provider_id=provider.id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/accounts/providers.html", form=form, providers=provider_service.all_providers()), status


@bp.route("/providers/<int:provider_id>", methods=["GET", "POST"])
@admin_required
def provider(provider_id: int):
    record = db.get_or_404(Provider, provider_id)
    form = ProviderForm(obj=record)
    status = 200
    if form.validate_on_submit():
        try:
            provider_service.save_provider(form.name.data, form.contract_reference.data, provider=record)
        except InvalidInput as error:
            apply_errors(form, error)
            status = 422
        else:
            flash("Provider saved.", "success")
            return redirect(url_for("admin.provider", provider_id=record.id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/accounts/provider.html", form=form, provider=record), status


def _area_page(record: Provider, area: ServiceArea | None):
    form = ServiceAreaForm(obj=area)
    status = 200
    if form.validate_on_submit():
        try:
            saved = provider_service.save_service_area(
                record, code=form.code.data, name=form.name.data, description=form.description.data,
                position=form.position.data or 0, target_satisfaction=form.target_satisfaction.data,
                target_happiness=form.target_happiness.data, active=form.active.data, area=area)
        except InvalidInput as error:
            apply_errors(form, error)
            status = 422
        else:
            flash(f"Service area {saved.name} saved.", "success")
            return redirect(url_for("admin.provider", provider_id=record.id))
    elif form.is_submitted():
        status = 422
    return render_template("admin/accounts/area.html", form=form, provider=record, area=area), status


@bp.route("/providers/<int:provider_id>/areas/new", methods=["GET", "POST"])
@admin_required
def area_new(provider_id: int):
    return _area_page(db.get_or_404(Provider, provider_id), None)


@bp.route("/areas/<int:area_id>", methods=["GET", "POST"])
@admin_required
def area_edit(area_id: int):
    area = db.get_or_404(ServiceArea, area_id)
    return _area_page(area.provider, area)


@bp.route("/users", methods=["GET", "POST"], endpoint="users")
@admin_required
def users_page():
    form = UserForm()
    form.provider.choices = [SelectChoice("", "—")] + [SelectChoice(p.id, p.name) for p in provider_service.all_providers()]
    status = 200
    if form.validate_on_submit():
        provider = db.session.get(Provider, form.provider.data) if form.provider.data else None
        try:
            user = users.create_user(form.email.data, form.password.data, role=form.role.data,
                                     name=form.name.data or "", provider=provider if form.role.data == "provider"
                                     else None, must_change_password=True)
        except InvalidInput as error:
            apply_errors(form, error)
            status = 422
        else:
            flash(f"Account {user.email} created; they must change the password at first sign-in.", "success")
            return redirect(url_for("admin.users"))
    elif form.is_submitted():
        status = 422
    accounts_list = list(db.session.scalars(select(User).order_by(User.active.desc(), User.role, User.email)))
    return render_template("admin/accounts/users.html", form=form, accounts=accounts_list,
                           activation_form=ActivationForm()), status


@bp.post("/users/<int:user_id>/active/<int:active>")
@admin_required
def user_active(user_id: int, active: int):
    user = db.get_or_404(User, user_id)
    form = ActivationForm()
    if not form.validate_on_submit():
        flash("The form expired; please try again.", "error")
        return redirect(url_for("admin.users"))
    try:
        users.set_user_active(user, bool(active), current_user)
    except InvalidInput as error:
        flash(error.message, "error")
    else:
        flash(f"{user.email} {'reactivated' if active else 'deactivated'}.", "success")
    return redirect(url_for("admin.users"))


def _account_page(record: User, form: AccountForm, reset_form: PasswordResetForm, status: int = 200):
    form.provider_id.choices = [SelectChoice("", "—")] + [SelectChoice(p.id, p.name) for p in provider_service.all_providers()]
    return render_template("admin/accounts/user.html", account=record, form=form, reset_form=reset_form), status


@bp.route("/users/<int:user_id>", methods=["GET", "POST"], endpoint="user")
@admin_required
def user_page(user_id: int):
    record = db.get_or_404(User, user_id)
    form = AccountForm(obj=record)
    status = 200
    if form.validate_on_submit():
        provider = db.session.get(Provider, form.provider_id.data) if form.provider_id.data else None
        try:
            signed_out = users.update_account(record, name=form.name.data or "", role=form.role.data,
                                              provider=provider, acting=current_user)
        except InvalidInput as error:
            apply_errors(form, error)
            status = 422
        else:
            flash(f"Account {record.email} saved." + (" What it may see changed, so it was signed out everywhere."
                                                       if signed_out else ""), "success")
            return redirect(url_for("admin.user", user_id=record.id))
    elif form.is_submitted():
        status = 422
    return _account_page(record, form, PasswordResetForm(prefix="reset"), status)


@bp.post("/users/<int:user_id>/password")
@admin_required
def user_password(user_id: int):
    record = db.get_or_404(User, user_id)
    reset_form = PasswordResetForm(prefix="reset")
    if reset_form.validate_on_submit():
        try:
            users.reset_password(record, reset_form.password.data, acting=current_user)
        except InvalidInput as error:
            apply_errors(reset_form, error)
        else:
            flash(f"Password of {record.email} reset and every session of the account ended. Hand the password "
                  "over in person or by phone; it must be changed at the next sign-in.", "success")
            return redirect(url_for("admin.user", user_id=record.id))
    return _account_page(record, AccountForm(formdata=None, obj=record), reset_form, 422)
