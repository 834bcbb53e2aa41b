"""Sign in, sign out (everywhere), change the password, and end the other sessions."""
from __future__ import annotations

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from app.auth import bp
from app.auth.access import safe_next
from app.auth.forms import LoginForm, PasswordChangeForm
from app.errors import InvalidInput
from app.forms import apply_errors
from app.extensions import limiter
from app.models import User
from app.services import users


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit("10 per minute; 50 per hour", methods=["POST"])
def login():
    target = safe_next(request.args.get("next"))  # a malformed target is refused before anything else
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
            return redirect(target or url_for("core.index"))
        form.password.errors.append("That email and password do not match an active account.")
        status = 401
    elif form.is_submitted():
        status = 422
    return render_template("auth/login.html", form=form), status


@bp.post("/logout")
@login_required
def logout():
    # The session lives in a signed cookie the browser keeps: only raising the account's session version
    # stops a copy of it (or of the remember-me cookie) from signing in again. That version is per
    # account, so signing out here signs out every browser, which the message says.
    users.end_sessions(current_user)
    logout_user()
    flash("You are signed out, on this browser and on every other one where you were signed in.", "info")
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
            apply_errors(form, error)
            status = 422
        else:
            _sign_in_again(current_user._get_current_object())
            flash("Your password has been changed. Every other browser where you were signed in is signed out.",
                  "success")
            return redirect(url_for("core.index"))
    elif form.is_submitted():
        status = 422
    return render_template("auth/password.html", form=form), status


@bp.post("/sessions/end-others")
@login_required
def end_other_sessions():
    # A form with nothing but the CSRF token, which CSRFProtect checks before any view.
    users.end_sessions(current_user)
    _sign_in_again(current_user._get_current_object())
    flash("Every other browser and device where you were signed in is now signed out.", "success")
    return redirect(url_for("auth.change_password"), 303)


def _sign_in_again(user: User) -> None:
    """Raising the session version ended this browser's session too: give it one at the new version,
    with a fresh remember-me cookie if it had one."""
    remembered = current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token") in request.cookies
    login_user(user, remember=remembered)
