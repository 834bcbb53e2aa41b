"""Settings come from the environment; production refuses to start without a secret key."""
from __future__ import annotations

import pytest

from app import create_app
from app.config import Config, normalise_database_url
from app.errors import ConfigurationError


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    for name in ("SECRET_KEY", "FLASK_ENV", "VENDORPULSE_ENV", "DATABASE_URL", "TIMEZONE", "SMTP_PORT", "BASE_URL"):
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
