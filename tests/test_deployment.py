"""The Dockerfile and CI script refer to things that exist (no Docker engine runs here to build it)."""
from __future__ import annotations

import importlib
import re
import shlex
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def dockerfile_instructions() -> list[tuple[str, str]]:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    return [tuple(line.split(maxsplit=1)) for line in text.splitlines() if line.strip() and not line.startswith("#")]


def test_every_file_the_dockerfile_copies_exists():
    copies = [args for instruction, args in dockerfile_instructions() if instruction == "COPY"]
    assert copies, "the Dockerfile copies nothing"
    for args in copies:
        sources = shlex.split(args)[:-1]
        for source in sources:
            assert (ROOT / source).exists(), f"Dockerfile copies {source}, which does not exist"


def test_dockerfile_runs_as_non_root_with_agg_backend_and_real_wsgi_module():
    instructions = dockerfile_instructions()
    user = [args for instruction, args in instructions if instruction == "USER"]
    assert user and user[-1] not in ("root", "0")
    env = " ".join(args for instruction, args in instructions if instruction == "ENV")
    assert "MPLBACKEND=Agg" in env
    cmd = next(args for instruction, args in instructions if instruction == "CMD")
    module, attribute = re.search(r'"(\w+):(\w+)"', cmd).groups()
    assert (ROOT / f"{module}.py").exists()
    source = (ROOT / f"{module}.py").read_text()
    assert f"{attribute} = create_app()" in source
    assert "gunicorn.conf.py" in cmd and (ROOT / "gunicorn.conf.py").exists()


def test_entrypoint_migrates_then_execs():
    script = (ROOT / "docker-entrypoint.sh").read_text()
    assert script.index("flask db upgrade") < script.index('exec "$@"')


def test_gunicorn_config_loads():
    spec = importlib.util.spec_from_file_location("gunicorn_conf", ROOT / "gunicorn.conf.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.workers >= 1
    assert module.accesslog == "-"


def test_ci_requires_the_postgresql_run():
    script = (ROOT / ".ci" / "run").read_text()
    assert "make test" in script
    assert "TEST_DATABASE_URL=" in script and "VP_REQUIRE_POSTGRES=1" in script
