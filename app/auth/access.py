"""Who may open what: anonymous users go to the login page, the wrong role gets 403, an account with a
one-time password reaches nothing but the password page; and where a `next` redirect may lead."""
from __future__ import annotations

from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import abort, redirect, request, url_for
from flask_login import current_user, login_required

from app.models.user import ROLES

# What an account that must still replace its one-time password may open. Survey links are the
# respondent's, whoever else is signed in in the same browser.
PASSWORD_CHANGE_EXEMPT_ENDPOINTS = frozenset({"auth.change_password", "auth.logout", "static"})
PASSWORD_CHANGE_EXEMPT_BLUEPRINTS = frozenset({"respond"})


def roles_required(*roles: str) -> Callable:
    def decorator(view: Callable) -> Callable:
        @wraps(view)
        @login_required
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)

        return wrapped

    return decorator


admin_required = roles_required("admin")
manager_required = roles_required("admin", "manager")
viewer_required = roles_required(*ROLES)


def require_password_change():
    """Before every request: an account signed in with a one-time password is sent (303, whatever the
    method) to the password page until it has chosen its own password."""
    if request.endpoint in PASSWORD_CHANGE_EXEMPT_ENDPOINTS or request.blueprint in PASSWORD_CHANGE_EXEMPT_BLUEPRINTS:
        return None
    if request.path.startswith("/s/"):
        return None  # a survey link that matched no route: its 404 page, not the password page
    if current_user.is_authenticated and current_user.must_change_password:
        return redirect(url_for("auth.change_password"), 303)
    return None


def safe_next(target: str | None, default: str | None = None) -> str | None:
    """`target` when it is a path on this site, else `default`: an open redirect is a phishing tool.

    A target with a control or other non-printable character (CR/LF, tab, NUL, a Unicode line
    separator) is refused with 400: no page of this site links like that, browsers drop some of those
    characters (so "/\\t/evil.example" reads as "//evil.example"), and CR/LF cannot go in a Location
    header. Call it before acting on the request, so a refused request changes nothing.
    """
    if target and not target.isprintable():
        abort(400, description="The address to return to afterwards contains a line break or another control "
                               "character, so this request was not carried out. Go back to the page you came "
                               "from and try again.")
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
