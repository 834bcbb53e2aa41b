"""Benchmark: how long `flask --help` takes to start, and a whole `flask dispatch run` pass with nothing to
send, as cron starts it every minute (goal: each within 1.5x of `flask --help` for a bare Flask app with the
same extensions, and none of scipy, matplotlib, textblob or nltk imported).

Every `flask` command, the dispatcher's passes included, first builds the app and imports the CLI, so
`flask --help` is the start-up every command pays. The baseline is a Flask app in a temporary module with
Flask-SQLAlchemy, Flask-Migrate, Flask-WTF's CSRF, Flask-Login and Flask-Limiter initialised and no
blueprints. The two run alternately as fresh processes, best of --runs each. Then `python -X importtime`
runs `flask --help` and a `flask dispatch run` pass, and each heavy
library found is printed with the import chain that pulled it in. The dispatcher pass runs on a SQLite
database made by `flask init` (migrated, survey catalog loaded, first admin): it connects, plans, finds
nothing to open, send, remind or close, and exits. Ends with one JSON line.
Run from the repository root: `python benchmarks/cli_startup.py [--runs N]`.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOAL_RATIO = 1.5
HEAVY = ("scipy", "matplotlib", "textblob", "nltk")

BARE_APP = '''
from flask import Flask
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

db = SQLAlchemy()
migrate = Migrate()
csrf = CSRFProtect()
login_manager = LoginManager()
limiter = Limiter(key_func=get_remote_address)


def create_app():
    app = Flask(__name__)
    app.config.update(SECRET_KEY="benchmark", SQLALCHEMY_DATABASE_URI="sqlite://", RATELIMIT_STORAGE_URI="memory://")
    db.init_app(app)
    migrate.init_app(app, db)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)
    return app
'''


def environment(flask_app: str, directory: Path, instance: str) -> dict[str, str]:
    """The environment of one side. Bytecode is cached under `directory` for both sides (a first run
    writes it), so neither pays for compiling sources, even where PYTHONDONTWRITEBYTECODE is set."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("FLASK_") and key != "PYTHONDONTWRITEBYTECODE"}
    env.update(FLASK_APP=flask_app, INSTANCE_PATH=str(directory / instance), SECRET_KEY="benchmark",
               PYTHONPYCACHEPREFIX=str(directory / "pycache"))
    return env


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def time_once(env: dict[str, str], args: list[str]) -> tuple[float, float]:
    """Wall time and CPU time (user + system) of one `flask` process: on a busy machine the CPU time
    says what start-up costs when the wall time also counts waiting for a core."""
    cpu, started = children_cpu(), time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return elapsed, children_cpu() - cpu


def parse_importtime(log: str) -> list[tuple[int, str]]:
    """(depth, module) for each line of a -X importtime log, in the order printed (children first)."""
    entries = []
    for line in log.splitlines():
        if not line.startswith("import time:") or "self [us]" in line:
            continue
        name = line.split("|", 2)[2]
        entries.append(((len(name) - len(name.lstrip(" ")) - 1) // 2, name.strip()))
    return entries


def heavy_chains(entries: list[tuple[int, str]]) -> dict[str, list[str]]:
    """For each heavy library imported, the chain of modules from the outermost import down to it."""
    chains: dict[str, list[str]] = {}
    for i, (depth, module) in enumerate(entries):
        top = module.split(".")[0]
        if top not in HEAVY or top in chains:
            continue
        chain, current = [module], depth
        for parent_depth, parent in entries[i + 1:]:  # a parent is printed after its children, less indented
            if parent_depth < current:
                chain.append(parent)
                current = parent_depth
        chain.reverse()
        first_heavy = next(n for n, name in enumerate(chain) if name.split(".")[0] in HEAVY)
        chains[top] = chain[:first_heavy + 1]
    return chains


def imported_heavy(env: dict[str, str], args: list[str]) -> dict[str, list[str]]:
    done = subprocess.run([sys.executable, "-X", "importtime", "-m", "flask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return heavy_chains(parse_importtime(done.stderr))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="Runs of each command; the best counts.")
    options = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        (directory / "bare_app.py").write_text(BARE_APP, encoding="utf-8")
        ours = environment("wsgi.py", directory, "instance")
        bare = environment(str(directory / "bare_app.py"), directory, "bare-instance")

        ours["DATABASE_URL"] = f"sqlite:///{directory / 'dispatch.sqlite3'}"
        time_once(ours, ["init"])  # migrate, load the survey catalog, create the first admin
        time_once(ours, ["--help"])  # write the bytecode caches and warm the OS file cache for both
        time_once(bare, ["--help"])
        time_once(ours, ["dispatch", "run"])
        ours_times, bare_times, pass_times = [], [], []
        for _ in range(options.runs):
            bare_times.append(time_once(bare, ["--help"]))
            ours_times.append(time_once(ours, ["--help"]))
            pass_times.append(time_once(ours, ["dispatch", "run"]))

        found = {"flask --help": imported_heavy(ours, ["--help"]),
                 "flask dispatch run": imported_heavy(ours, ["dispatch", "run"])}

    (best_ours, cpu_ours), (best_bare, cpu_bare) = min(ours_times), min(bare_times)
    best_pass = min(pass_times)[0]
    ratio = round(best_ours / best_bare, 2)
    pass_ratio = round(best_pass / best_bare, 2)
    cpu_ours, cpu_bare = min(cpu for _, cpu in ours_times), min(cpu for _, cpu in bare_times)
    print(f"flask --help, best of {options.runs}: VendorPulse {best_ours * 1000:.0f} ms, "
          f"bare Flask app with the same extensions {best_bare * 1000:.0f} ms (ratio {ratio}); "
          f"CPU time {cpu_ours * 1000:.0f} ms against {cpu_bare * 1000:.0f} ms")
    print(f"flask dispatch run with nothing to send, best of {options.runs}: {best_pass * 1000:.0f} ms "
          f"(ratio {pass_ratio} to the bare app's --help)")
    heavy: list[str] = []
    for command, chains in found.items():
        if not chains:
            print(f"{command}: none of {', '.join(HEAVY)} imported")
        for library, chain in chains.items():
            print(f"{command}: {library} imported through {' -> '.join(chain)}")
            if library not in heavy:
                heavy.append(library)
    print(json.dumps({
        "benchmark": "cli_startup", "ratio": ratio, "ms": round(best_ours * 1000),
        "baseline_ms": round(best_bare * 1000), "cpu_ratio": round(cpu_ours / cpu_bare, 2),
        "dispatch_pass_ratio": pass_ratio, "dispatch_pass_ms": round(best_pass * 1000), "runs": options.runs,
        "goal": f"--help and a dispatch pass each <= {GOAL_RATIO} x the bare app's --help; no heavy imports",
        "met": ratio <= GOAL_RATIO and pass_ratio <= GOAL_RATIO and not heavy,
        "heavy_imports": heavy,
    }))


if __name__ == "__main__":
    main()
