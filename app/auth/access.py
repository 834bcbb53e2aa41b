"""Role checks for views: anonymous users go to the login page, the wrong role gets 403."""
from __future__ import annotations

from functools import wraps
from typing import Callable
from urllib.parse import urlsplit

from flask import abort
from flask_login import current_user, login_required


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
viewer_required = roles_required("admin", "manager", "provider")


def safe_next(target: str | None, default: str | None = None) -> str | None:
    """`target` when it is a path on this site, else `default`: an open redirect is a phishing tool."""
    if not target:
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return default
    return target
