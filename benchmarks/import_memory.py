"""Benchmark: peak memory of importing 100,000 stakeholders from HR's CSV (goal: at most 200 MB).

Writes a 100,000-row file and a second version of it (a tenth of the names changed, one person in
twenty gone), then runs two processes on a fresh SQLite database: the baseline, which only creates the
app, imports the same modules and opens the database, and the import, which runs
`import_stakeholders` on the first file (100,000 created) and then on the second with `sync`
(updates and 5,000 deactivations), committing each. Peak resident memory is
`getrusage(RUSAGE_CHILDREN).ru_maxrss`, read after each process: that is the largest of the children
waited for so far, so the baseline runs first, and the import, which holds everything the baseline
does and more, sets the figure read after it. The difference is what the import itself costs. Ends
with one JSON line. Run from the repository root: `python benchmarks/import_memory.py [--rows N]`.
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
GOAL_MB = 200
AREAS = ("service-desk", "network", "hosting")


def make_app(db_path: Path):
    from app import create_app
    from app.config import TestConfig

    return create_app(TestConfig(db_path.parent, f"sqlite:///{db_path}"))


def write_files(directory: Path, rows: int) -> tuple[Path, Path]:
    first, second = directory / "hr.csv", directory / "hr-next.csv"
    with first.open("w", encoding="utf-8", newline="") as a, second.open("w", encoding="utf-8", newline="") as b:
        header = "email,name,department,location,service areas\r\n"
        a.write(header)
        b.write(header)
        for i in range(rows):
            areas = f"{AREAS[i % 3]};{AREAS[(i + 1) % 3]}"
            a.write(f"person{i:06d}@example.com,\"Person {i}, Jr\",Department {i % 40},Site {i % 12},{areas}\r\n")
            if i % 20 == 19:
                continue  # left the company
            name = f"Renamed {i}" if i % 10 == 0 else f"Person {i}, Jr"
            b.write(f"person{i:06d}@example.com,\"{name}\",Department {i % 40},Site {i % 12},{areas}\r\n")
    return first, second


def prepare_database(db_path: Path) -> None:
    """Schema and service areas, in this process: the parent's memory is not what is measured."""
    from app.extensions import db
    from app.models import Provider, ServiceArea

    app = make_app(db_path)
    with app.app_context():
        db.create_all()
        provider = Provider(name="Bench provider")
        db.session.add_all([ServiceArea(provider=provider, code=code, name=code.title(), position=i)
                            for i, code in enumerate(AREAS)])
        db.session.commit()
        db.engine.dispose()


def child_baseline(db_path: Path) -> None:
    from sqlalchemy import text

    import app.services.stakeholders  # noqa: F401 (the modules the import loads)
    from app.extensions import db

    app = make_app(db_path)
    with app.app_context():
        db.session.execute(text("SELECT count(*) FROM stakeholder")).scalar()


def child_import(db_path: Path, files: list[Path]) -> None:
    from app.extensions import db
    from app.services.stakeholders import import_stakeholders

    app = make_app(db_path)
    with app.app_context():
        for path, sync in zip(files, (False, True)):
            started = time.perf_counter()
            with path.open("rb") as stream:
                report = import_stakeholders(stream, sync=sync)
            db.session.commit()
            print(f"{path.name}{' --sync' if sync else ''}: {report.summary()} "
                  f"in {time.perf_counter() - started:.1f} s", flush=True)


def run_child(*args: str) -> float:
    """Run this script as a child; the children's peak RSS so far, in MB (ru_maxrss is in KiB on Linux)."""
    subprocess.run([sys.executable, __file__, "--child", *args], cwd=ROOT, check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        mode, db_path, *files = options.child
        if mode == "baseline":
            child_baseline(Path(db_path))
        else:
            child_import(Path(db_path), [Path(f) for f in files])
        return

    with tempfile.TemporaryDirectory(prefix="vp-import-bench-") as directory:
        directory = Path(directory)
        db_path = directory / "bench.sqlite3"
        files = write_files(directory, options.rows)
        prepare_database(db_path)
        print(f"{options.rows} rows, {files[0].stat().st_size / 1e6:.1f} MB of CSV", flush=True)
        baseline_mb = run_child("baseline", str(db_path))
        print(f"baseline (app created, modules imported): peak {baseline_mb:.0f} MB", flush=True)
        peak_mb = run_child("import", str(db_path), *map(str, files))
        print(f"import: peak {peak_mb:.0f} MB, {peak_mb - baseline_mb:.0f} MB above the baseline", flush=True)
    print(json.dumps({"benchmark": "import_memory", "rows": options.rows, "peak_mb": round(peak_mb),
                      "baseline_mb": round(baseline_mb), "excess_mb": round(peak_mb - baseline_mb),
                      "ratio": round(peak_mb / baseline_mb, 2), "goal": f"peak_mb <= {GOAL_MB}",
                      "met": peak_mb <= GOAL_MB}))


if __name__ == "__main__":
    main()
