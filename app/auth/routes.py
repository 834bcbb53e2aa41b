from __future__ import annotations

from flask import flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.access import safe_next
from app.auth.forms import LoginForm, PasswordChangeForm
from app.errors import InvalidInput
from app.extensions import limiter
from app.services import users


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def login():
    if current_user.is_authenticated:
        return redirect(url_for("core.index"))
    form = LoginForm()
    status = 200
    if form.validate_on_submit():
        user = users.authenticate(form.email.data, form.password.data)
        if user is not None:
            login_user(user, remember=form.remember.data)
            if user.must_change_password:
                flash("Please choose a new password before you continue.", "info")
                return redirect(url_for("auth.change_password"))
            return redirect(safe_next(request.args.get("next")) or url_for("core.index"))
        form.password.errors.append("That email and password do not match an active account.")
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/password", methods=["GET", "POST"])
@login_required
def change_password():
    form = PasswordChangeForm()
    status = 200
    if form.validate_on_submit():
        try:
            users.change_password(current_user, form.current_password.data, form.new_password.data)
        except InvalidInput as error:
            for field, messages in error.errors.items():
                getattr(form, field).errors.extend([error.message])
            status = 422
        else:
            flash("Your password has been changed.", "success")
            return redirect(url_for("core.index"))
    elif form.is_submitted():
        status = 422
    return render_template("auth/password.html", form=form), status
