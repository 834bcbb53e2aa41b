"""Behind Debian's nginx, as the README deploys it: gunicorn serving the test's own SQLite file with
`PROXY_FIX_X_FOR=1`, nginx setting X-Forwarded-For from the address it sees.

Two clients (connecting from 127.0.0.2 and 127.0.0.3, both loopback) get separate sign-in limits; with
the rate limits in Redis, four workers share one count. Without nginx (`make test` installs Debian's
nginx-light when it can) or Redis (127.0.0.1:6379) the tests are skipped with the reason, except under
CI (CI=true), where that fails the run.
"""
from __future__ import annotations

import http.client
import os
import re
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

import pytest

from tests.browser.journey_support import Deployment
from tests.smtp_server import free_port

NGINX = Path(os.environ.get("NGINX_PATH", "/usr/sbin/nginx"))
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "proxy test admin passphrase"
SIGN_IN_LIMIT = 10  # per minute, per client address: app/auth/routes.py

NGINX_CONF = """
worker_processes 1;
pid {run}/nginx.pid;
error_log {run}/error.log warn;
events {{ worker_connections 64; }}
http {{
    access_log {run}/access.log;
    client_body_temp_path {run}/client_body;
    proxy_temp_path {run}/proxy;
    fastcgi_temp_path {run}/fastcgi;
    uwsgi_temp_path {run}/uwsgi;
    scgi_temp_path {run}/scgi;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{upstream};
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $remote_addr;
            proxy_set_header X-Forwarded-Proto $scheme;
        }}
    }}
}}
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _unavailable(reason: str) -> None:
    if _in_ci():
        pytest.fail(f"the reverse-proxy tests cannot run under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="module")
def nginx_binary() -> Path:
    if not NGINX.exists():
        _unavailable(f"{NGINX} is not installed (make test installs Debian's nginx-light when it can)")
    return NGINX


@pytest.fixture
def redis_database():
    """A Redis database of our own (an empty one), and the rate-limit keys we made there removed after."""
    try:
        import redis
    except ImportError:
        _unavailable("the redis package is not installed")
    chosen = None
    for number in range(15, 0, -1):
        client = redis.Redis(host=REDIS_HOST, port=REDIS_PORT, db=number, socket_timeout=2, socket_connect_timeout=2)
        try:
            if client.dbsize() == 0:
                chosen = client
                break
        except redis.exceptions.ConnectionError as error:
            _unavailable(f"Redis is not running at {REDIS_HOST}:{REDIS_PORT} ({error})")
        client.close()
    if chosen is None:
        _unavailable("every Redis database from 1 to 15 holds keys: none is free for the test")
    number = chosen.connection_pool.connection_kwargs["db"]
    yield f"redis://{REDIS_HOST}:{REDIS_PORT}/{number}", chosen
    for key in chosen.scan_iter(match="*vendorpulse*"):
        chosen.delete(key)
    chosen.close()


@dataclass
class Proxy:
    port: int
    process: subprocess.Popen
    run: Path

    def error_log(self) -> str:
        path = self.run / "error.log"
        return path.read_text(errors="replace")[-2000:] if path.exists() else ""


def start_nginx(binary: Path, run: Path, upstream: int) -> Proxy:
    run.mkdir(parents=True, exist_ok=True)
    port = free_port()
    conf = run / "nginx.conf"
    conf.write_text(NGINX_CONF.format(run=run, port=port, upstream=upstream))
    process = subprocess.Popen([str(binary), "-p", str(run), "-c", str(conf), "-e", str(run / "error.log"),
                                "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    proxy = Proxy(port, process, run)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"nginx exited with {process.returncode}:\n{process.stderr.read().decode()}\n"
                                 f"{proxy.error_log()}")
        try:
            status, _, _ = request(proxy, "127.0.0.1", "GET", "/healthz")
            if status == 200:
                return proxy
        except OSError:
            pass
        time.sleep(0.1)
    stop(process)
    raise AssertionError(f"nginx did not answer within 15 s:\n{proxy.error_log()}")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


def request(proxy: Proxy, source: str, method: str, path: str, body: str | None = None,
            headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], str]:
    """One request on a new connection from the loopback address `source` (127.0.0.0/8 is all loopback)."""
    connection = http.client.HTTPConnection("127.0.0.1", proxy.port, timeout=30, source_address=(source, 0))
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, response.read().decode()
    finally:
        connection.close()


class SignIn:
    """A browser at one address: its session cookie and CSRF token, then wrong passwords for the admin."""

    def __init__(self, proxy: Proxy, source: str) -> None:
        self.proxy, self.source = proxy, source
        status, headers, html = request(proxy, source, "GET", "/auth/login")
        assert status == 200, status
        self.cookie = headers["set-cookie"].split(";", 1)[0]
        self.token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', html)[1]

    def attempt(self) -> int:
        body = urlencode({"email": ADMIN_EMAIL, "password": "not the password at all", "csrf_token": self.token})
        status, _, _ = request(self.proxy, self.source, "POST", "/auth/login", body=body, headers={
            "Content-Type": "application/x-www-form-urlencoded", "Cookie": self.cookie})
        return status


def deployment(tmp_path: Path, **settings: str) -> Deployment:
    """gunicorn as deployed (gunicorn.conf.py, wsgi:app), on a fresh SQLite file made by `flask init`."""
    port = free_port()
    database = tmp_path / "proxy.sqlite3"
    env = {
        **os.environ,
        "FLASK_APP": "wsgi.py",
        "VENDORPULSE_ENV": "production",
        "DATABASE_URL": f"sqlite:///{database}",
        "INSTANCE_PATH": str(tmp_path),
        "SECRET_KEY": "proxy-test-secret-key",
        "BASE_URL": f"http://127.0.0.1:{port}",
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "LOG_LEVEL": "warning",
    }
    # Blank wins over the caller's shell and a `.env` file: the app reads blank as unset.
    for setting in ("SMTP_HOST", "RATELIMIT_STORAGE_URI", "REDIS_URL", "PROXY_FIX_X_FOR", "PROXY_FIX_X_PROTO",
                    "PROXY_FIX_X_HOST", "SESSION_COOKIE_SECURE", "SURVEYS_DIR"):
        env[setting] = ""
    for unset in ("FLASK_ENV", "GUNICORN_THREADS", "GUNICORN_TIMEOUT", "NEW_USER_PASSWORD"):
        env.pop(unset, None)
    env.update(settings)
    deployed = Deployment(f"http://127.0.0.1:{port}", database, env, tmp_path / "gunicorn.log")
    deployed.flask("init")
    return deployed


@pytest.fixture
def serve(nginx_binary, tmp_path):
    """Start gunicorn with `settings` and nginx in front of it; both are stopped after the test."""
    started: list[tuple[Deployment, Proxy]] = []

    def start(workers: int, **settings: str) -> Proxy:
        deployed = deployment(tmp_path, **settings)
        deployed.start(workers=workers)
        port = int(deployed.base_url.rsplit(":", 1)[1])
        try:
            proxy = start_nginx(nginx_binary, tmp_path / "nginx", port)
        except BaseException:
            deployed.stop()
            raise
        started.append((deployed, proxy))
        return proxy

    yield start
    for deployed, proxy in started:
        stop(proxy.process)
        deployed.stop()


def test_two_client_addresses_have_separate_sign_in_limits(serve):
    proxy = serve(workers=1, PROXY_FIX_X_FOR="1")
    first, second = SignIn(proxy, "127.0.0.2"), SignIn(proxy, "127.0.0.3")
    statuses = [first.attempt() for _ in range(SIGN_IN_LIMIT + 1)]
    assert statuses == [401] * SIGN_IN_LIMIT + [429], statuses
    assert second.attempt() == 401, "the second address was limited by the first one's attempts"
    assert first.attempt() == 429


def test_workers_share_one_sign_in_limit_in_redis(serve, redis_database):
    url, redis_client = redis_database
    proxy = serve(workers=4, PROXY_FIX_X_FOR="1", RATELIMIT_STORAGE_URI=url)
    browser = SignIn(proxy, "127.0.0.2")
    # Concurrent attempts: a sync worker answers one request at a time, so they spread over the workers.
    with ThreadPoolExecutor(max_workers=SIGN_IN_LIMIT) as pool:
        allowed = list(pool.map(lambda _: browser.attempt(), range(SIGN_IN_LIMIT)))
        assert allowed == [401] * SIGN_IN_LIMIT, allowed
        refused = list(pool.map(lambda _: browser.attempt(), range(8)))
    assert refused == [429] * 8, f"some worker still allowed sign-in attempts: {refused}"
    assert any(True for _ in redis_client.scan_iter(match="*vendorpulse*")), "no rate-limit counter in Redis"
    assert SignIn(proxy, "127.0.0.3").attempt() == 401
