"""Signing in and out, password changes, ending sessions, and the access checks every protected view uses."""
from flask import Blueprint

from app.auth.access import require_password_change

bp = Blueprint("auth", __name__, url_prefix="/auth")
bp.before_app_request(require_password_change)

from app.auth import routes  # noqa: E402,F401
