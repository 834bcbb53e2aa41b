"""Settings read from environment variables (and `.env`), one class plus a test subclass."""
from __future__ import annotations

import os
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.errors import ConfigurationError


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip()


def env_int(name: str, default: int) -> int:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from exc


def env_float(name: str, default: float) -> float:
    raw = env_str(name)
    if raw is None:
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from exc


def env_hops(name: str) -> int:
    """A number of trusted proxies: an integer from 0 (none, the default) to 10."""
    hops = env_int(name, 0)
    if not 0 <= hops <= 10:
        raise ConfigurationError(f"{name} must be the number of proxies in front of the app (0 to 10), got {hops}")
    return hops


def env_bool(name: str, default: bool) -> bool:
    raw = env_str(name)
    if raw is None:
        return default
    lowered = raw.lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ConfigurationError(f"{name} must be true or false, got {raw!r}")


def environment_name() -> str:
    """`VENDORPULSE_ENV` wins over Flask's legacy `FLASK_ENV`; development when neither is set."""
    return (env_str("VENDORPULSE_ENV") or env_str("FLASK_ENV") or "development").lower()


class Config:
    """Every setting the app reads. Values come from the environment when the class is instantiated."""

    TESTING = False

    def __init__(self, instance_path: str | os.PathLike[str]) -> None:
        instance = Path(instance_path)
        self.ENV_NAME = environment_name()
        self.SECRET_KEY = env_str("SECRET_KEY") or self._instance_secret(instance)
        if not self.SECRET_KEY and self.ENV_NAME == "production":
            raise ConfigurationError(
                "SECRET_KEY is required in production: set it in the environment "
                "(for example `python -c 'import secrets; print(secrets.token_hex(32))'`)."
            )
        if not self.SECRET_KEY:
            # Development without a key: a random one per process. Sessions do not survive a
            # restart and several workers disagree, which is why `make run` writes a persistent one.
            import secrets

            self.SECRET_KEY = secrets.token_hex(32)

        default_db = f"sqlite:///{(instance / 'vendorpulse.sqlite3').resolve()}"
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(env_str("DATABASE_URL", default_db))
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.SQLALCHEMY_RECORD_QUERIES = False

        self.BASE_URL = (env_str("BASE_URL", "http://127.0.0.1:8000") or "").rstrip("/")
        self.TIMEZONE = env_str("TIMEZONE", "UTC")
        try:
            ZoneInfo(self.TIMEZONE)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ConfigurationError(f"TIMEZONE {self.TIMEZONE!r} is not a known IANA time zone") from exc

        self.SMTP_HOST = env_str("SMTP_HOST")
        self.SMTP_PORT = env_int("SMTP_PORT", 587)
        self.SMTP_USERNAME = env_str("SMTP_USERNAME")
        self.SMTP_PASSWORD = env_str("SMTP_PASSWORD")
        self.SMTP_SECURITY = (env_str("SMTP_SECURITY", "starttls") or "starttls").lower()
        if self.SMTP_SECURITY not in {"none", "starttls", "ssl"}:
            raise ConfigurationError("SMTP_SECURITY must be one of none, starttls, ssl")
        self.SMTP_TIMEOUT = env_float("SMTP_TIMEOUT", 30.0)
        self.MAIL_FROM = env_str("MAIL_FROM", "VendorPulse <vendorpulse@localhost>")
        self.MAIL_OUTBOX_DIR = env_str("MAIL_OUTBOX_DIR", str(instance / "outbox"))
        # Named in every survey email, so a person knows who asks and whom to ask: "IT Vendor Management",
        # "IT Vendor Management, it-vendors@example.org".
        self.ORGANISATION_NAME = env_str("ORGANISATION_NAME")
        self.SURVEY_CONTACT = env_str("SURVEY_CONTACT")
        # Send-rate limits shared by every dispatcher (counted in the database); 0 = unlimited. Microsoft 365
        # allows 30 messages a minute and 10,000 recipients a day per mailbox.
        self.MAIL_MAX_PER_MINUTE = max(0, env_int("MAIL_MAX_PER_MINUTE", 0))
        self.MAIL_MAX_PER_DAY = max(0, env_int("MAIL_MAX_PER_DAY", 0))

        # Bounces read back (services/bounces.py): invitations go out with the envelope sender
        # bounces+<invitation id>.<signature>@domain for BOUNCE_ADDRESS=bounces@domain, and the delivery
        # status notifications are read from that mailbox over IMAP. Unset: no VERP, no reading.
        self.BOUNCE_ADDRESS = env_str("BOUNCE_ADDRESS")
        if self.BOUNCE_ADDRESS and not re.fullmatch(r"[^@\s+]+@[^@\s]+\.[^@\s]+", self.BOUNCE_ADDRESS):
            raise ConfigurationError(f"BOUNCE_ADDRESS must be a plain address such as bounces@example.org "
                                     f"(no '+', no display name), got {self.BOUNCE_ADDRESS!r}")
        self.BOUNCE_IMAP_HOST = env_str("BOUNCE_IMAP_HOST")
        self.BOUNCE_IMAP_PORT = env_int("BOUNCE_IMAP_PORT", 993)
        self.BOUNCE_IMAP_USER = env_str("BOUNCE_IMAP_USER")
        self.BOUNCE_IMAP_PASSWORD = env_str("BOUNCE_IMAP_PASSWORD")
        self.BOUNCE_IMAP_SECURITY = (env_str("BOUNCE_IMAP_SECURITY", "ssl") or "ssl").lower()
        if self.BOUNCE_IMAP_SECURITY not in {"none", "starttls", "ssl"}:
            raise ConfigurationError("BOUNCE_IMAP_SECURITY must be one of none, starttls, ssl")
        self.BOUNCE_IMAP_FOLDER = env_str("BOUNCE_IMAP_FOLDER", "INBOX")
        self.BOUNCE_IMAP_TIMEOUT = env_float("BOUNCE_IMAP_TIMEOUT", 30.0)

        self.ADMIN_EMAIL = env_str("ADMIN_EMAIL", "admin@example.com")
        self.ADMIN_PASSWORD = env_str("ADMIN_PASSWORD")

        self.SENTIMENT_POSITIVE_THRESHOLD = env_float("SENTIMENT_POSITIVE_THRESHOLD", 0.1)
        self.SENTIMENT_NEGATIVE_THRESHOLD = env_float("SENTIMENT_NEGATIVE_THRESHOLD", -0.1)

        # Counters in memory are per process: with several gunicorn workers (or machines) each allows
        # the whole limit. Redis gives every worker one shared count; `REDIS_URL` is the name most
        # hosting platforms hand a Redis address out under. If Redis goes away, each worker counts in
        # memory again until it is back, rather than failing every limited request.
        self.RATELIMIT_STORAGE_URI = env_str("RATELIMIT_STORAGE_URI") or env_str("REDIS_URL") or "memory://"
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = not self.RATELIMIT_STORAGE_URI.startswith("memory://")
        self.RATELIMIT_KEY_PREFIX = "vendorpulse"
        # 404s on survey links per address; guessing tokens soon hits it, a real respondent never does.
        self.SURVEY_NOT_FOUND_LIMIT = env_str("SURVEY_NOT_FOUND_LIMIT", "20 per 10 minutes; 60 per day")
        self.RATELIMIT_HEADERS_ENABLED = True
        # Reports and rendered charts shared by every worker (app/caching.py); unset, each process keeps its own.
        self.CACHE_REDIS_URL = env_str("CACHE_REDIS_URL") or env_str("REDIS_URL")
        # The review pack is built by the worker (`flask dispatch serve`); True builds it inside the request
        # that asked for it, for the test suite only: a pack takes seconds.
        self.REVIEW_PACK_IN_REQUEST = False
        self.MAX_CONTENT_LENGTH = env_int("MAX_CONTENT_LENGTH", 2 * 1024 * 1024)

        # How many reverse proxies in front of the app set X-Forwarded-For / -Proto / -Host: werkzeug's
        # ProxyFix then takes the client's address, the scheme and the host from those headers. 0 (the
        # default) ignores them: without a proxy that overwrites them, any client could claim any address.
        self.PROXY_FIX_X_FOR = env_hops("PROXY_FIX_X_FOR")
        self.PROXY_FIX_X_PROTO = env_hops("PROXY_FIX_X_PROTO")
        self.PROXY_FIX_X_HOST = env_hops("PROXY_FIX_X_HOST")

        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", self.BASE_URL.startswith("https://"))
        self.REMEMBER_COOKIE_HTTPONLY = True
        self.REMEMBER_COOKIE_SAMESITE = "Lax"  # Flask-Login sets no SameSite on it by default
        self.REMEMBER_COOKIE_SECURE = self.SESSION_COOKIE_SECURE
        self.PREFERRED_URL_SCHEME = "https" if self.BASE_URL.startswith("https://") else "http"
        self.WTF_CSRF_TIME_LIMIT = env_int("WTF_CSRF_TIME_LIMIT", 3600)

        self.SURVEYS_DIR = env_str("SURVEYS_DIR", str(Path(__file__).resolve().parent.parent / "surveys"))

    @staticmethod
    def _instance_secret(instance: Path) -> str | None:
        """`make run` keeps a generated key in the instance folder so restarts keep sessions."""
        path = instance / "secret_key"
        if path.is_file():
            return path.read_text().strip() or None
        return None


class TestConfig(Config):
    """Settings for the test suite: same environment reading, with test-only overrides."""

    __test__ = False  # not a pytest test class despite the name
    TESTING = True

    def __init__(self, instance_path: str | os.PathLike[str], database_url: str) -> None:
        super().__init__(instance_path)
        import secrets

        self.SECRET_KEY = secrets.token_hex(32)
        self.SQLALCHEMY_DATABASE_URI = normalise_database_url(database_url)
        self.SQLALCHEMY_ENGINE_OPTIONS = engine_options(self.SQLALCHEMY_DATABASE_URI)
        self.SMTP_HOST = None
        self.MAIL_OUTBOX_DIR = str(Path(instance_path) / "outbox")
        self.BASE_URL = "http://vendorpulse.test"
        self.PREFERRED_URL_SCHEME = "http"
        self.RATELIMIT_STORAGE_URI = "memory://"
        self.RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = False
        self.CACHE_REDIS_URL = None
        self.REVIEW_PACK_IN_REQUEST = True  # tests of the queue itself set it to False
        self.SESSION_COOKIE_SECURE = False
        self.REMEMBER_COOKIE_SECURE = False


def normalise_database_url(url: str) -> str:
    """Accept the `postgres://` and `postgresql://` spellings hosting platforms hand out; use psycopg 3."""
    if url.startswith("postgres://"):
        url = "postgresql://" + url[len("postgres://"):]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url[len("postgresql://"):]
    return url


def engine_options(url: str) -> dict:
    if url.startswith("sqlite"):
        # Several gunicorn workers write to one file: wait for the lock instead of failing at once.
        return {"connect_args": {"timeout": 30}}
    # Sessions in UTC, so dates computed in SQL (exports) do not depend on the server's zone.
    return {"pool_pre_ping": True, "pool_recycle": 1800, "connect_args": {"options": "-c timezone=UTC"}}
