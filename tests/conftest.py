"""Fixtures: one app per database backend (SQLite always, PostgreSQL when TEST_DATABASE_URL is set).

Every test that uses the `app` fixture runs once per backend; its id says which (`[sqlite]`,
`[postgresql]`). Tables are created once per backend and emptied after each test, which is much
faster than building an app per test.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path

import pytest
from flask import g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestConfig, normalise_database_url
from app.extensions import db as _db
from app.extensions import limiter

REPO_ROOT = Path(__file__).resolve().parent.parent
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "").strip()
BACKENDS = ["sqlite"] + (["postgresql"] if TEST_DATABASE_URL else [])


def pytest_configure(config: pytest.Config) -> None:
    if os.environ.get("VP_REQUIRE_POSTGRES") == "1" and not TEST_DATABASE_URL:
        pytest.exit("VP_REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set: the PostgreSQL run would be skipped.",
                    returncode=2)


_BACKEND_OF: dict[str, str] = {}


def pytest_collection_modifyitems(config, items) -> None:
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec is not None and "app" in callspec.params:
            _BACKEND_OF[item.nodeid] = callspec.params["app"]


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:
    """Say how many database tests ran on each backend, so a silently skipped PostgreSQL run shows."""
    passed: Counter[str] = Counter(
        _BACKEND_OF[report.nodeid] for report in terminalreporter.stats.get("passed", []) if report.nodeid in _BACKEND_OF
    )
    summary = ", ".join(f"{backend}: {passed[backend]} passed" for backend in BACKENDS)
    terminalreporter.write_line(f"database-backed tests by backend: {summary}")


def ensure_postgres_database(url: str) -> str:
    """Create the test database named in the URL when it does not exist yet."""
    url = normalise_database_url(url)
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        exists = connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"),
                                   {"name": target.database})
        if not exists:
            connection.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    return url


def database_url_for(backend: str, directory: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{directory / 'test.sqlite3'}"
    return ensure_postgres_database(TEST_DATABASE_URL)


def empty_all_tables() -> None:
    tables = list(reversed(_db.metadata.sorted_tables))
    if _db.engine.dialect.name == "postgresql":
        names = ", ".join(f'"{t.name}"' for t in tables)
        _db.session.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    else:
        for table in tables:
            _db.session.execute(table.delete())
    _db.session.commit()


class RequestIsolatedClient(FlaskClient):
    """A test client whose requests do not share `g` with each other or with the test.

    The `db` fixture keeps an app context open for the whole test, and Flask reuses it for each
    request, so without this Flask-Login's cached user would leak from one request (or client)
    into the next, which never happens in production.
    """

    def open(self, *args, **kwargs):
        if has_app_context():
            vars(g).clear()
        return super().open(*args, **kwargs)


@pytest.fixture(scope="session", params=BACKENDS)
def app(request, tmp_path_factory):
    backend = request.param
    instance = tmp_path_factory.mktemp(f"instance-{backend}")
    url = database_url_for(backend, instance)
    application = create_app(TestConfig(instance, url))
    application.test_client_class = RequestIsolatedClient
    with application.app_context():
        _db.drop_all()
        with _db.engine.begin() as connection:
            connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
        _db.create_all()
    yield application
    with application.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture
def db(app):
    """The database, inside an app context, emptied again after the test. Cached reports are forgotten on
    both sides: they describe some test's rows, and ids repeat from one emptied database to the next."""
    from app.services.reporting.cache import clear_cache

    with app.app_context():
        clear_cache()
        yield _db
        _db.session.rollback()
        empty_all_tables()
        _db.session.remove()
        limiter.reset()  # rate-limit counters live in memory for the whole session otherwise
        clear_cache()


@pytest.fixture
def client(app, db):
    return app.test_client()


@pytest.fixture
def runner(app, db):
    return app.test_cli_runner()


@pytest.fixture
def survey(db):
    """The shipped survey catalog, loaded."""
    from app.services.catalog import latest_definition, load_directory

    load_directory(REPO_ROOT / "surveys")
    return latest_definition("quarterly-provider-satisfaction")


@pytest.fixture
def admin_user(db):
    from tests.factories import make_user

    return make_user(role="admin")


@pytest.fixture
def manager_user(db):
    from tests.factories import make_user

    return make_user(role="manager")


@pytest.fixture
def admin_client(client, admin_user):
    from tests.factories import login

    login(client, admin_user)
    return client


@pytest.fixture
def manager_client(client, manager_user):
    from tests.factories import login

    login(client, manager_user)
    return client
