"""Settings come from the environment; production refuses to start without a secret key."""
from __future__ import annotations

import importlib.util
import logging
from pathlib import Path
from types import SimpleNamespace

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from app import create_app
from app.config import Config, normalise_database_url
from app.errors import ConfigurationError


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "FLASK_ENV", "VENDORPULSE_ENV", "DATABASE_URL", "TIMEZONE", "SMTP_PORT", "BASE_URL",
                 "RATELIMIT_STORAGE_URI", "REDIS_URL", "PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO", "PROXY_FIX_X_HOST"):
        # setenv first so monkeypatch restores the original state even for values a .env file adds
        monkeypatch.setenv(name, "")
        monkeypatch.delenv(name)
    monkeypatch.setenv("INSTANCE_PATH", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # no stray .env from the developer's checkout
    return monkeypatch


@pytest.mark.parametrize("variable", ["VENDORPULSE_ENV", "FLASK_ENV"])
def test_production_refuses_to_start_without_secret_key(clean_env, variable):
    clean_env.setenv(variable, "production")
    with pytest.raises(ConfigurationError, match="SECRET_KEY is required in production"):
        create_app()


def test_production_starts_with_secret_key(clean_env):
    clean_env.setenv("VENDORPULSE_ENV", "production")
    clean_env.setenv("SECRET_KEY", "k" * 64)
    assert create_app().config["SECRET_KEY"] == "k" * 64


def test_secret_key_kept_in_instance_folder_is_used(clean_env, tmp_path):
    clean_env.setenv("VENDORPULSE_ENV", "production")
    (tmp_path / "secret_key").write_text("from-the-instance-folder\n")
    assert create_app().config["SECRET_KEY"] == "from-the-instance-folder"


def test_defaults_to_sqlite_in_the_instance_folder(clean_env, tmp_path):
    config = Config(tmp_path)
    assert config.SQLALCHEMY_DATABASE_URI == f"sqlite:///{tmp_path.resolve() / 'vendorpulse.sqlite3'}"


@pytest.mark.parametrize(
    ("given", "used"),
    [
        ("postgres://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql://u@h/db", "postgresql+psycopg://u@h/db"),
        ("postgresql+psycopg://u@h/db", "postgresql+psycopg://u@h/db"),
        ("sqlite:////tmp/x.db", "sqlite:////tmp/x.db"),
    ],
)
def test_database_url_uses_psycopg3(given, used):
    assert normalise_database_url(given) == used


def test_malformed_settings_are_named(clean_env, tmp_path):
    clean_env.setenv("SMTP_PORT", "twenty-five")
    with pytest.raises(ConfigurationError, match="SMTP_PORT must be an integer"):
        Config(tmp_path)
    clean_env.delenv("SMTP_PORT")
    clean_env.setenv("TIMEZONE", "Mars/Olympus")
    with pytest.raises(ConfigurationError, match="TIMEZONE"):
        Config(tmp_path)


def test_dotenv_file_is_read(clean_env, tmp_path):
    (tmp_path / ".env").write_text("BASE_URL=https://surveys.example.org/\nTIMEZONE=Europe/Lisbon\n")
    clean_env.delenv("BASE_URL", raising=False)
    app = create_app()
    assert app.config["BASE_URL"] == "https://surveys.example.org"
    assert app.config["TIMEZONE"] == "Europe/Lisbon"
    assert app.config["SESSION_COOKIE_SECURE"] is True


def _client_seen_by(app, forwarded_for: str, forwarded_proto: str = "http") -> dict[str, str]:
    """What the app takes for the client's address and scheme when the proxy at 127.0.0.1 forwards it."""
    seen = {}

    @app.get("/whoami")
    def whoami():
        from flask import request

        seen.update(address=request.remote_addr, scheme=request.scheme)
        return ""

    app.test_client().get("/whoami", headers={"X-Forwarded-For": forwarded_for, "X-Forwarded-Proto": forwarded_proto},
                          environ_base={"REMOTE_ADDR": "127.0.0.1"})
    return seen


def test_proxy_headers_are_ignored_unless_configured(clean_env, tmp_path):
    app = create_app()
    assert (app.config["PROXY_FIX_X_FOR"], app.config["PROXY_FIX_X_PROTO"], app.config["PROXY_FIX_X_HOST"]) == (0, 0, 0)
    assert _client_seen_by(app, "203.0.113.9", "https") == {"address": "127.0.0.1", "scheme": "http"}


def test_proxy_fix_takes_the_client_address_from_the_trusted_proxy(clean_env, tmp_path):
    clean_env.setenv("PROXY_FIX_X_FOR", "1")
    clean_env.setenv("PROXY_FIX_X_PROTO", "1")
    app = create_app()
    assert isinstance(app.wsgi_app, ProxyFix)
    # The proxy appends the address it saw; what a client put in front of it is not trusted.
    assert _client_seen_by(app, "198.51.100.1, 203.0.113.9", "https") == {"address": "203.0.113.9",
                                                                         "scheme": "https"}


@pytest.mark.parametrize("value", ["-1", "11", "yes"])
def test_proxy_hops_must_be_a_small_number(clean_env, tmp_path, value):
    clean_env.setenv("PROXY_FIX_X_FOR", value)
    with pytest.raises(ConfigurationError, match="PROXY_FIX_X_FOR"):
        Config(tmp_path)


def test_rate_limits_use_redis_url_when_no_storage_is_named(clean_env, tmp_path):
    assert Config(tmp_path).RATELIMIT_STORAGE_URI == "memory://"
    clean_env.setenv("REDIS_URL", "redis://cache.internal:6379/2")
    config = Config(tmp_path)
    assert config.RATELIMIT_STORAGE_URI == "redis://cache.internal:6379/2"
    assert config.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED is True  # Redis down: per-worker counts, not 500s
    clean_env.setenv("RATELIMIT_STORAGE_URI", "redis://limits.internal:6379/0")
    assert Config(tmp_path).RATELIMIT_STORAGE_URI == "redis://limits.internal:6379/0"


def _gunicorn_conf():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", Path(__file__).resolve().parents[2]
                                                  / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(("workers", "storage", "warned"), [
    (4, "memory://", True), (1, "memory://", False), (4, "redis://127.0.0.1:6379/0", False)])
def test_gunicorn_warns_when_workers_count_rate_limits_apart(caplog, workers, storage, warned):
    log = logging.getLogger("test.gunicorn")
    worker = SimpleNamespace(wsgi=SimpleNamespace(config={"RATELIMIT_STORAGE_URI": storage}),
                             cfg=SimpleNamespace(workers=workers), log=log)
    with caplog.at_level(logging.WARNING, logger="test.gunicorn"):
        _gunicorn_conf().post_worker_init(worker)
    assert ("REDIS_URL" in caplog.text) is warned
