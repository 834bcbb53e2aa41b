"""Browser fixtures: Debian's Chromium driven by Playwright, and the app served on a loopback port.

Playwright never downloads a browser here. Without /usr/bin/chromium the browser tests are skipped
with the reason, except under CI (CI=true), where a skipped browser test fails the run.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
CHROMIUM_FLAGS = [
    "--no-sandbox", "--headless", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic",
]
OUTPUT_DIR = Path(__file__).resolve().parents[2] / "test-output" / "browser"


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


@pytest.fixture(scope="session")
def browser():
    reason = None
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is not installed (make test installs Debian's chromium when it can)"
    else:
        try:
            from playwright.sync_api import sync_playwright
        except ImportError:
            reason = "the playwright package is not installed"
    if reason:
        if _in_ci():
            pytest.fail(f"browser tests cannot run under CI: {reason}")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def phone_page(browser):
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    tab = context.new_page()
    yield tab
    context.close()


@pytest.fixture
def live_server(app, db):
    """The test app served by a threaded WSGI server on a free loopback port; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    previous = app.config["BASE_URL"]
    app.config["BASE_URL"] = base_url
    yield base_url
    app.config["BASE_URL"] = previous
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def screenshot(request):
    """Save a screenshot under test-output/browser/<test name>-<step>.png and return its path."""
    OUTPUT_DIR.mkdir(parents=True, exist_ok=True)

    def take(tab, step: str) -> Path:
        name = request.node.name.replace("[", "-").replace("]", "")
        path = OUTPUT_DIR / f"{name}-{step}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return take
