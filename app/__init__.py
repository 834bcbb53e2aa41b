"""VendorPulse: measures how employees experience an IT outsourcing provider's service."""
from __future__ import annotations

import logging
import os
from pathlib import Path

from dotenv import load_dotenv
from flask import Flask, abort, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Config
from app.extensions import csrf, db, limiter, login_manager, migrate

__version__ = "0.1.0"


def create_app(config: Config | None = None) -> Flask:
    """Build an app. Without `config`, settings come from the environment (and `.env`)."""
    load_dotenv(Path.cwd() / ".env", override=False)
    app = Flask(__name__, instance_path=os.environ.get("INSTANCE_PATH") or None, instance_relative_config=True)
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.from_object(config or Config(app.instance_path))
    trust_proxy_headers(app)
    configure_logging(app)
    register_extensions(app)
    register_caches(app)
    register_blueprints(app)
    register_errorhandlers(app)
    register_cli(app)
    register_template_helpers(app)
    return app


def trust_proxy_headers(app: Flask) -> None:
    """Behind the reverse proxies counted in PROXY_FIX_X_*, read the client's address, the scheme and the
    host from the X-Forwarded-* headers they set, so rate limits count per client and not per proxy."""
    hops = {name: int(app.config.get(f"PROXY_FIX_X_{name.upper()}", 0)) for name in ("for", "proto", "host")}
    if any(hops.values()):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops["for"], x_proto=hops["proto"], x_host=hops["host"],
                                x_port=0, x_prefix=0)


def configure_logging(app: Flask) -> None:
    if not app.debug and not app.testing:
        logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Survey links are credentials: no log record of this process (the app's, Flask's, gunicorn's error
    # log on a 500, tracebacks included) keeps a token. The access log is app.access_log's.
    from app.logging_filters import install_token_redaction

    install_token_redaction()


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    app.before_request(refuse_nameless_form_fields)  # before CSRFProtect's check, which they crash
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please sign in to see that page."
    login_manager.login_message_category = "info"

    from app.models import User
    from app.models.user import SESSION_ID_SEPARATOR

    @login_manager.user_loader
    def load_user(session_id: str) -> User | None:
        """Session and remember-me cookies carry "<id>:<session version>" (`User.get_id`): a cookie
        from before the version was raised (sign-out, password change...) signs nobody in."""
        user_id, _, version = session_id.partition(SESSION_ID_SEPARATOR)
        if not (user_id.isascii() and user_id.isdigit() and version.isascii() and version.isdigit()):
            return None
        user = db.session.get(User, int(user_id))
        return user if user is not None and user.accepts_session(int(version)) else None


def refuse_nameless_form_fields() -> None:
    """A multipart part without a name is stored under the key None, and Flask-WTF 1.3's CSRF check
    fails on it with an AttributeError (a 500): answer such a request with 400 instead."""
    if request.mimetype == "multipart/form-data" and None in request.form:
        abort(400)


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, _record) -> None:
    """SQLite: enforce foreign keys, let readers work while a writer commits (WAL), and overwrite deleted
    content with zeros (secure_delete), so a deleted draft or pooled answer does not linger in free pages."""
    if type(dbapi_connection).__module__.startswith("sqlite3"):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA secure_delete=ON")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()


def register_caches(app: Flask) -> None:
    from app.caching import register_cache_invalidation

    register_cache_invalidation(app)


def register_blueprints(app: Flask) -> None:
    from app.admin import bp as admin_bp
    from app.auth import bp as auth_bp
    from app.core import bp as core_bp
    from app.dashboard import bp as dashboard_bp
    from app.exports import bp as exports_bp
    from app.respond import bp as respond_bp

    for blueprint in (core_bp, auth_bp, respond_bp, dashboard_bp, exports_bp, admin_bp):
        app.register_blueprint(blueprint)


def register_errorhandlers(app: Flask) -> None:
    from app.errorhandlers import register

    register(app)


def register_cli(app: Flask) -> None:
    from app.cli import register

    register(app)


def register_template_helpers(app: Flask) -> None:
    from app.templating import register

    register(app)
