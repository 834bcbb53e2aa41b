"""Dashboard benchmark: what a manager's browser waits for on the overview and on a service-area page, each
page with all its chart images, served by gunicorn as deployed, at 10,000 and 1,000,000 responses on
SQLite and on PostgreSQL, in three conditions: warm, cold and live.

Data (`dashboard_seed.py`): the quarterly survey, 8 waves x 6 service areas x 8 departments, the last wave
open; every response stored as a submission stores it (all its rating, recommend, hours, reasons and
comment answers, about 18 a response, comments scored by the app's analyzer, and the score tallies),
with stakeholders, invitations, drawn areas and hashed tokens. Schema from the app's migrations. Seeded
databases are cached under --cache-dir and in PostgreSQL (`vp_bench_<size>_<seed version>`); each run
measures a throw-away copy.

Server: `git archive` of the commit measured (HEAD by default, so others' uncommitted edits are not
measured), gunicorn with gunicorn.conf.py and 4 workers on a loopback port, production settings, the
caches shared through Redis when it answers (CACHE_REDIS_URL, a database of its own), CSRF and rate
limits on. The manager signs in through the login form.

A sample: the page's HTML, then every `<img src>` it links fetched in parallel over 6 connections, as a
browser does (with its ETag cache: If-None-Match once it has seen a chart); the time runs to the last
byte of the last image.

* warm: caches filled by an earlier load (shown, never part of `met`);
* cold: before each sample the server is restarted, the app's Redis keys deleted and the browser's
  cache emptied (the database's own buffers and the OS page cache stay);
* live: another process POSTs LIVE_PER_SECOND real survey submissions a second to the same gunicorn
  (the whole form, CSRF-checked, with the seeded invitations' tokens) into the open wave.

Server-side: each request's duration from gunicorn's access log, per page and condition (the HTML, and the
charts summed). `met`: at the largest size, live p95 of page plus charts overview <= 500 ms and area
<= 800 ms, and the cold median ratio largest/smallest size <= 2, on every database.

Run: .venv/bin/python benchmarks/dashboard.py [--sizes 10000,1000000] [--samples N]
[--databases sqlite,postgresql] [--quick] (the last line of output is one JSON object).
"""
from __future__ import annotations

import argparse
import html
import http.client
import json
import multiprocessing
import os
import random
import re
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
SIZES = (10_000, 1_000_000)
QUICK_SIZES = (10_000, 100_000)
SAMPLES = 12
QUICK_SAMPLES = 4
CONNECTIONS = 6  # a browser's parallel connections to one host
WORKERS = 4
LIVE_PER_SECOND = 20
PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/"
REDIS_URL = "redis://127.0.0.1:6379/13"
GOALS = {"overview": 500.0, "area": 800.0}
IMG_SRC = re.compile(r'<img\b[^>]*\bsrc="([^"]+)"')
CSRF = re.compile(r'name="csrf_token" (?:type="hidden" )?value="([^"]+)"')


def export_tree(commit: str) -> tuple[Path, str]:
    """The committed tree to measure, exported once per commit."""
    sha = subprocess.run(["git", "rev-parse", commit], cwd=ROOT, check=True, capture_output=True,
                         text=True).stdout.strip()
    target = Path(tempfile.gettempdir()) / f"vp-bench-src-{sha[:12]}"
    if not (target / "wsgi.py").is_file():
        shutil.rmtree(target, ignore_errors=True)
        target.mkdir()
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(target)], input=archive, check=True)
    return target, sha


def seeded(database: str, size: int, code_root: Path, cache_dir: Path, reseed: bool) -> dict:
    command = [sys.executable, str(ROOT / "benchmarks" / "dashboard_seed.py"), "--database", database, "--size",
               str(size), "--cache-dir", str(cache_dir), "--pg-base", PG_BASE] + (["--reseed"] if reseed else [])
    done = subprocess.run(command, cwd=code_root, env={**os.environ, "VP_CODE_ROOT": str(code_root)},
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"seeding {database} {size} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def redis_answers(url: str) -> bool:
    try:
        import redis

        return bool(redis.Redis.from_url(url, socket_timeout=0.5).ping())
    except Exception:  # noqa: BLE001  (any failure means: measure without Redis)
        return False


def forget_redis(url: str | None) -> None:
    """Delete the app's keys (cached reports, charts, edit counters, rate-limit counts) from its Redis database."""
    if not url:
        return
    import redis

    client = redis.Redis.from_url(url)
    keys = list(client.scan_iter("*vendorpulse*", count=1000))
    if keys:
        client.delete(*keys)


class Server:
    """gunicorn as deployed (gunicorn.conf.py, WORKERS workers), access log with each request's duration."""

    def __init__(self, code_root: Path, env: dict[str, str], log_dir: Path) -> None:
        self.code_root, self.env, self.port = code_root, env, free_port()
        self.access_log, self.error_log = log_dir / "access.log", log_dir / "error.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "gunicorn"), "-c", "gunicorn.conf.py", "--bind", f"127.0.0.1:{self.port}",
             "--workers", str(WORKERS), "--access-logfile", str(self.access_log), "--access-logformat",
             '%(U)s %(s)s %(D)s %({x-bench}i)s', "--error-logfile", str(self.error_log), "wsgi:app"],
            cwd=self.code_root, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            start_new_session=True)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                if request(self.port, "GET", "/healthz")[0] == 200 and len(self.workers()) == WORKERS:
                    break
            except OSError:
                pass
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.error_log.read_text()[-2000:]}")
            time.sleep(0.2)
        else:
            raise RuntimeError("gunicorn did not start")
        self.wait_idle()

    def workers(self) -> list[int]:
        out = subprocess.run(["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True).stdout
        return [int(pid) for pid in out.split()]

    def cpu_ticks(self) -> int:
        total = 0
        for pid in [self.process.pid, *self.workers()]:
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += int(fields[11]) + int(fields[12])
            except (OSError, IndexError):
                pass
        return total

    def wait_idle(self, timeout: float = 45.0) -> None:
        """Until the workers have finished booting (post_worker_init loads matplotlib, scipy, TextBlob)."""
        deadline = time.monotonic() + timeout
        last = self.cpu_ticks()
        while time.monotonic() < deadline:
            time.sleep(0.5)
            now = self.cpu_ticks()
            if now - last <= 2:  # clock ticks (1/100 s) in half a second
                return
            last = now

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()

    def restart(self) -> None:
        self.stop()
        self.start()


def request(port: int, method: str, path: str, body: str | None = None, headers: dict | None = None):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.msg, response.read()
    finally:
        connection.close()


class Browser:
    """A signed-in manager's browser: a cookie jar, an ETag cache, CONNECTIONS parallel connections."""

    def __init__(self, port: int) -> None:
        self.port, self.cookies, self.etags = port, {}, {}
        self.lock = threading.Lock()
        self.pool = ThreadPoolExecutor(max_workers=CONNECTIONS)

    def get(self, path: str, tag: str, body: str | None = None) -> tuple[int, bytes]:
        with self.lock:
            headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in self.cookies.items()), "X-Bench": tag,
                       "User-Agent": "vendorpulse-dashboard-benchmark"}
            if path in self.etags:
                headers["If-None-Match"] = self.etags[path]
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        status, msg, content = request(self.port, "POST" if body is not None else "GET", path, body, headers)
        with self.lock:
            for cookie in msg.get_all("Set-Cookie") or []:
                name, _, value = cookie.split(";", 1)[0].partition("=")
                self.cookies[name.strip()] = value
            if msg.get("ETag") and status == 200 and "/charts/" in path:
                self.etags[path] = msg["ETag"]
        return status, content

    def sign_in(self, email: str, password: str) -> None:
        status, page = self.get("/auth/login", "login")
        token = CSRF.search(page.decode()).group(1)
        status, _ = self.get("/auth/login", "login", urlencode({"email": email, "password": password,
                                                                "csrf_token": token}))
        if status != 302:
            raise RuntimeError(f"sign-in failed with {status}")

    def load(self, path: str, tag: str) -> dict:
        """The page, then all its images in parallel: ms to the last byte of the last one."""
        started = time.perf_counter()
        status, page = self.get(path, f"{tag}:html")
        if status != 200:
            raise RuntimeError(f"{path}: {status}")
        page_ms = (time.perf_counter() - started) * 1000
        images = list(dict.fromkeys(html.unescape(src) for src in IMG_SRC.findall(page.decode())))

        def fetch(src: str) -> tuple[int, float]:
            begun = time.perf_counter()
            status, _ = self.get(src, f"{tag}:chart")
            if status not in (200, 304):
                raise RuntimeError(f"{src}: {status}")
            return status, (time.perf_counter() - begun) * 1000

        fetched = list(self.pool.map(fetch, images))
        return {"ms": (time.perf_counter() - started) * 1000, "page_ms": page_ms, "charts": len(images),
                "not_modified": sum(1 for status, _ in fetched if status == 304),
                "slowest_chart_ms": max((ms for _, ms in fetched), default=0.0)}


# --- the live writer: real survey submissions over HTTP, in a process of its own ------------------------


def survey_answers(invitation_id: int, area_ids: list[int], codes: dict[int, str]) -> list[tuple[str, str]]:
    """One filled-in survey form, as a person would post it (the whole form, `action=submit`)."""
    from app.services.demo import BAD_REASONS, GOOD_REASONS, INCIDENT_AREA, INCIDENT_WAVE
    from app.services.demo_comments import GENERAL, demo_comment

    rng = random.Random(invitation_id)
    data = []
    for area_id in area_ids:
        p = f"area{area_id}__"
        satisfaction = max(1, min(5, round(rng.gauss(3.8, 0.9))))
        data.append((p + "satisfaction", str(satisfaction)))
        for code in ("responsiveness", "resolution_quality", "communication", "expertise"):
            if rng.random() < 0.85:
                data.append((p + code, str(max(1, min(5, round(satisfaction + rng.gauss(0, 0.7)))))))
        data.append((p + "recommend", str(max(0, min(10, round(satisfaction * 2.1 - 0.3 + rng.gauss(0, 1.3)))))))
        data.append((p + "time_lost", f"{min(200.0, round(rng.expovariate(1 / max(0.2, (5 - satisfaction) * 1.6)), 1))}"))
        if rng.random() < 0.7:
            pool = GOOD_REASONS if satisfaction >= 4 else BAD_REASONS
            data += [(p + "reasons", reason) for reason in rng.sample(pool, rng.randint(1, 3))]
        if rng.random() < 0.3:
            data.append((p + "comment", demo_comment(rng, codes.get(area_id, ""), 7, 8, satisfaction, INCIDENT_AREA,
                                                     INCIDENT_WAVE)))
    mood = rng.gauss(3.6, 0.8)
    for code in ("partnership", "proactivity", "account_management"):
        data.append((f"rel__{code}", str(max(1, min(5, round(mood + rng.gauss(0, 0.5)))))))
    if rng.random() < 0.1:
        data.append(("rel__relationship_comment", rng.choice(GENERAL["negative" if mood < 3 else "positive"])))
    return data + [("action", "submit")]


def live_writer(port: int, secret: str, invitations: list, codes: dict[int, str], rate: float, stop, out) -> None:
    """POST `rate` survey submissions a second until `stop` is set; report counts and latencies on `out`."""
    sys.path.insert(0, os.environ["VP_CODE_ROOT"])
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dashboard_seed import token_for

    queue = list(reversed(invitations))
    lock = threading.Lock()
    local = threading.local()
    stored, failed, latencies = [0], [0], []

    def post_one(invitation_id: int, area_ids: list[int]) -> None:
        token = token_for(secret, invitation_id)
        try:
            if getattr(local, "csrf", None) is None:  # each connection's session: one survey page for its token
                status, msg, page = request(port, "GET", f"/s/{token}")
                local.cookie = msg["Set-Cookie"].split(";", 1)[0]
                local.csrf = CSRF.search(page.decode()).group(1)
            body = urlencode(survey_answers(invitation_id, area_ids, codes) + [("csrf_token", local.csrf)])
            begun = time.perf_counter()
            status, _, _ = request(port, "POST", f"/s/{token}", body, {
                "Content-Type": "application/x-www-form-urlencoded", "Cookie": local.cookie})
            with lock:
                if status == 303:
                    stored[0] += 1
                    latencies.append((time.perf_counter() - begun) * 1000)
                else:
                    failed[0] += 1
        except (OSError, http.client.HTTPException, AttributeError):
            with lock:
                failed[0] += 1

    started = time.monotonic()
    next_at = started
    with ThreadPoolExecutor(max_workers=8) as pool:
        while not stop.is_set() and queue:
            pool.submit(post_one, *queue.pop())
            next_at += 1.0 / rate
            stop.wait(max(0.0, next_at - time.monotonic()))
    elapsed = time.monotonic() - started
    out.put({"stored": stored[0], "failed": failed[0], "per_second": round(stored[0] / elapsed, 1),
             "ran_out": not queue and not stop.is_set(),  # tokens used up before the samples ended
             "post_median_ms": round(statistics.median(latencies), 1) if latencies else None,
             "post_p95_ms": round(p95(latencies), 1) if latencies else None})


# --- one site: a seeded database served by gunicorn -------------------------------------------------------


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def summarise(loads: list[dict]) -> dict:
    return {"median_ms": round(statistics.median(l["ms"] for l in loads), 1),
            "p95_ms": round(p95([l["ms"] for l in loads]), 1),
            "page_median_ms": round(statistics.median(l["page_ms"] for l in loads), 1),
            "slowest_chart_median_ms": round(statistics.median(l["slowest_chart_ms"] for l in loads), 1),
            "charts": loads[0]["charts"], "not_modified": sum(l["not_modified"] for l in loads),
            "samples": len(loads)}


def server_side(access_log: Path) -> dict:
    """From gunicorn's access log: per condition and page, the HTML's and the charts' server time (ms)."""
    per_sample: dict[tuple, dict] = {}
    posts = []
    for line in access_log.read_text().splitlines():
        parts = line.split()
        if len(parts) < 4:
            continue
        path, status, micros, tag = parts[0], parts[1], int(parts[2]), parts[3]
        if path.startswith("/s/") and status == "303":
            posts.append(micros / 1000)
            continue
        fields = tag.split(":")
        if len(fields) != 4:
            continue
        condition, page, index, kind = fields
        entry = per_sample.setdefault((condition, page, index), {"html": 0.0, "charts": [], "rendered": 0})
        if kind == "html":
            entry["html"] = micros / 1000
        else:
            entry["charts"].append(micros / 1000)
            entry["rendered"] += status == "200"
    result: dict[str, dict] = {}
    for (condition, page, index), entry in per_sample.items():
        if index == "fill":
            continue
        slot = result.setdefault(f"{page}_{condition}", {"html": [], "charts_sum": [], "chart_max": [], "rendered": []})
        slot["html"].append(entry["html"])
        slot["charts_sum"].append(sum(entry["charts"]))
        slot["chart_max"].append(max(entry["charts"], default=0.0))
        slot["rendered"].append(entry["rendered"])
    figures = {key: {"html_ms": round(statistics.median(v["html"]), 1),
                     "charts_sum_ms": round(statistics.median(v["charts_sum"]), 1),
                     "slowest_chart_ms": round(statistics.median(v["chart_max"]), 1),
                     "charts_rendered": statistics.median(v["rendered"])} for key, v in result.items()}
    if posts:
        figures["live_post"] = {"median_ms": round(statistics.median(posts), 1), "p95_ms": round(p95(posts), 1)}
    return figures


def measure_site(database: str, size: int, manifest: dict, code_root: Path, samples: int,
                 redis_url: str | None) -> dict:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dashboard_seed import Cache

    cache = Cache(CACHE_DIR, PG_BASE)
    work = Path(tempfile.mkdtemp(prefix=f"vp-bench-{database}-{size}-"))
    copied = time.perf_counter()
    database_url = cache.working_copy(database, size, work)
    copy_s = time.perf_counter() - copied
    (work / "instance").mkdir()
    env = {**os.environ, "DATABASE_URL": database_url, "SECRET_KEY": secrets.token_hex(32),
           "INSTANCE_PATH": str(work / "instance"), "VENDORPULSE_ENV": "production", "BASE_URL": "http://127.0.0.1",
           "MPLBACKEND": "Agg", "VP_CODE_ROOT": str(code_root), "LOG_LEVEL": "warning"}
    for name in ("REDIS_URL", "CACHE_REDIS_URL", "RATELIMIT_STORAGE_URI"):
        env.pop(name, None)
    if redis_url:
        env["REDIS_URL"] = redis_url
    forget_redis(redis_url)
    server = Server(code_root, env, work)
    pages = {"overview": "/dashboard/", "area": f"/dashboard/areas/{manifest['area_ids'][0]}"}
    result = {"responses": size, "seed_s": manifest["seed_s"], "cached": manifest["cached"],
              "copy_s": round(copy_s, 1), **manifest["counts"]}
    try:
        server.start()
        browser = Browser(server.port)
        browser.sign_in(*manifest["manager"])
        for name, path in pages.items():  # cold: restarted server, empty caches, empty browser cache
            loads = []
            for i in range(samples):
                server.stop()
                forget_redis(redis_url)
                server.start()
                browser.etags.clear()
                loads.append(browser.load(path, f"cold:{name}:{i}"))
            result[f"{name}_cold"] = summarise(loads)
        for name, path in pages.items():
            browser.load(path, f"warm:{name}:fill")
            result[f"{name}_warm"] = summarise([browser.load(path, f"warm:{name}:{i}") for i in range(samples)])
        context = multiprocessing.get_context("spawn")
        stop, out = context.Event(), context.Queue()
        writer = context.Process(target=live_writer, args=(server.port, manifest["token_secret"], manifest["live"],
                                                           dict(zip(manifest["area_ids"], manifest["area_codes"])),
                                                           LIVE_PER_SECOND, stop, out))
        writer.start()
        time.sleep(3.0)
        for name, path in pages.items():
            result[f"{name}_live"] = summarise([browser.load(path, f"live:{name}:{i}") for i in range(samples)])
        stop.set()
        result["live_writer"] = out.get(timeout=120)
        writer.join()
        browser.pool.shutdown()
    finally:
        server.stop()
    result["server"] = server_side(server.access_log)
    cache.drop_working_copy(database_url)
    shutil.rmtree(work, ignore_errors=True)
    return result


CACHE_DIR = Path.home() / ".cache" / "vendorpulse-bench"


def main() -> None:
    global CACHE_DIR
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default=None, help="responses per site, comma separated (10000,1000000)")
    parser.add_argument("--samples", type=int, default=None, help=f"samples per page and condition ({SAMPLES})")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--quick", action="store_true", help="10k and 100k, fewer samples")
    parser.add_argument("--commit", default="HEAD", help="the commit to measure (exported with git archive)")
    parser.add_argument("--cache-dir", default=str(CACHE_DIR), help="where seeded SQLite files are kept")
    parser.add_argument("--redis", default=REDIS_URL, help="Redis for the app's caches, or 'none'")
    parser.add_argument("--reseed", action="store_true", help="seed again even when a cached database exists")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")] if args.sizes else list(QUICK_SIZES if args.quick else SIZES)
    samples = args.samples or (QUICK_SAMPLES if args.quick else SAMPLES)
    databases = args.databases.split(",")
    CACHE_DIR = Path(args.cache_dir)
    redis_url = None if args.redis == "none" or not redis_answers(args.redis) else args.redis
    code_root, commit = export_tree(args.commit)
    os.environ["VP_CODE_ROOT"] = str(code_root)
    print(f"measuring {commit[:12]} ({code_root}); caches {'shared through ' + redis_url if redis_url else 'per process'}; "
          f"{os.cpu_count()} cores; load average {os.getloadavg()[0]:.1f}", flush=True)

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from dashboard_seed import Cache, size_label

    removed = Cache(CACHE_DIR, PG_BASE).prune()
    if removed:
        print(f"removed seeded databases of other seed versions: {', '.join(removed)}", flush=True)
    results: dict[str, dict[int, dict]] = {}
    for database in databases:
        results[database] = {}
        for size in sizes:
            manifest = seeded(database, size, code_root, CACHE_DIR, args.reseed)
            print(f"{database} {size:,}: {'cached' if manifest['cached'] else 'seeded'} "
                  f"(seed {manifest['seed_s']} s: {manifest['counts']})", flush=True)
            results[database][size] = measure_site(database, size, manifest, code_root, samples, redis_url)
            r = results[database][size]
            print("  measured: " + ", ".join(f"{p} {c} {r[f'{p}_{c}']['median_ms']}/{r[f'{p}_{c}']['p95_ms']} ms"
                                              for c in ("cold", "warm", "live") for p in GOALS), flush=True)

    print(f"\nms of page plus all its chart images (median / p95 of {samples} samples); HTML alone median; "
          f"commit {commit[:12]}")
    print(f"{'database':<10} {'responses':>10} {'answers':>11} {'seed s':>7} {'page':<9} {'condition':<9} "
          f"{'median':>8} {'p95':>8} {'html':>7} {'charts':>6} {'srv html':>9} {'srv charts':>11} {'slowest':>8}")
    for database, per_size in results.items():
        for size, r in per_size.items():
            for page in GOALS:
                for condition in ("warm", "cold", "live"):
                    f, s = r[f"{page}_{condition}"], r["server"].get(f"{page}_{condition}", {})
                    print(f"{database:<10} {size:>10,} {r['answer rows']:>11,} {r['seed_s']:>7.1f} {page:<9} "
                          f"{condition:<9} {f['median_ms']:>8.1f} {f['p95_ms']:>8.1f} {f['page_median_ms']:>7.1f} "
                          f"{f['charts']:>6} {s.get('html_ms', 0):>9.1f} {s.get('charts_sum_ms', 0):>11.1f} "
                          f"{s.get('slowest_chart_ms', 0):>8.1f}")
            live = r["live_writer"]
            print(f"{'':<10} {'':>10} live writer: {live['stored']} submissions stored ({live['per_second']}/s, "
                  f"{live['failed']} failed), POST median {live['post_median_ms']} ms, p95 {live['post_p95_ms']} ms"
                  + (" - RAN OUT of seeded tokens before the live samples ended: later live samples had no writes"
                     if live.get("ran_out") else ""))
    print("srv html / srv charts / slowest: server time from gunicorn's access log (median per sample: the HTML, "
          "all charts summed, the slowest chart)")

    small, large = sizes[0], sizes[-1]
    figures: dict = {"benchmark": "dashboard", "commit": commit[:12], "sizes": sizes, "databases": databases,
                     "samples": samples, "redis": bool(redis_url), "live_per_second": LIVE_PER_SECOND, "results": {}}
    met, ratios = len(sizes) > 1, []
    compat: dict[str, float] = {}
    for database, per_size in results.items():
        entry = {}
        ratio = max(per_size[large][f"{p}_cold"]["median_ms"] / per_size[small][f"{p}_cold"]["median_ms"]
                    for p in GOALS)
        ratios.append(ratio)
        database_met = ratio <= 2 and all(per_size[large][f"{p}_live"]["p95_ms"] <= goal for p, goal in GOALS.items())
        met = met and database_met
        for size in sizes:
            label, r = size_label(size), per_size[size]
            for page in GOALS:
                for condition in ("cold", "warm", "live"):
                    entry[f"{page}_{condition}_ms_{label}"] = r[f"{page}_{condition}"]["median_ms"]
                    entry[f"{page}_{condition}_p95_ms_{label}"] = r[f"{page}_{condition}"]["p95_ms"]
            entry[f"seed_s_{label}"] = r["seed_s"]
            entry[f"answer_rows_{label}"] = r["answer rows"]
            entry[f"live_per_second_{label}"] = r["live_writer"]["per_second"]
            entry[f"live_ran_out_{label}"] = r["live_writer"].get("ran_out", False)
        entry.update({"ratio": round(ratio, 2), "met": database_met})
        figures["results"][database] = entry
        for key, value in entry.items():  # the worst database's figure, under the names `report.py` reads
            if key.endswith(("_10k", "_100k", "_1m")) and not key.startswith(("seed", "answer", "live_per", "live_ran")):
                compat[key] = max(compat.get(key, 0.0), value)
    figures.update(compat)
    figures.update({"ratio": round(max(ratios), 2),
                    "goal": "on every database, at the largest size live p95 page+charts overview <= 500 ms, area "
                            "<= 800 ms; cold median largest/smallest <= 2",
                    "met": met})
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
