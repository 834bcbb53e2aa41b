from __future__ import annotations

from flask import jsonify, redirect, render_template, url_for
from flask_login import current_user, login_required

from app import __version__
from app.core import bp
from app.extensions import csrf, limiter
from app.services.health import check_database


@bp.get("/")
def index():
    if current_user.is_authenticated:
        endpoint = "dashboard.overview" if "dashboard.overview" in _endpoints() else "core.home"
        return redirect(url_for(endpoint))
    return redirect(url_for("auth.login"))


@bp.get("/home")
@login_required
def home():
    return render_template("core/home.html")


@bp.get("/healthz")
@limiter.exempt
@csrf.exempt
def healthz():
    database = check_database()
    status = 200 if database.ok else 503
    return jsonify(status="ok" if database.ok else "error", version=__version__,
                   database={"ok": database.ok, "backend": database.backend, "error": database.error}), status


def _endpoints() -> set[str]:
    from flask import current_app

    return {rule.endpoint for rule in current_app.url_map.iter_rules()}
