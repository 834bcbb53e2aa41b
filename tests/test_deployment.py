"""The Dockerfile and CI script refer to things that exist (no Docker engine runs here to build it)."""
from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest

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
    # The image's command is a role; the entrypoint turns `web` into the gunicorn command line.
    assert next(args for instruction, args in instructions if instruction == "CMD") == '["web"]'
    cmd = next(line for line in (ROOT / "docker-entrypoint.sh").read_text().splitlines()
               if line.strip().startswith("exec gunicorn"))
    module, attribute = re.search(r"(\w+):(\w+)$", cmd.strip()).groups()
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


FAKE_COMMAND = """#!/bin/sh
echo "$(basename "$0") $*" >> "$CALLS"
"""


def run_entrypoint(tmp_path, *arguments, migrate="1") -> list[str]:
    """Run docker-entrypoint.sh with `sh`, fake `flask` and `gunicorn` first on PATH; the commands they
    were called with, in order (the last one is what the script exec'ed)."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("flask", "gunicorn", "celebrate"):
        fake = bin_dir / name
        fake.write_text(FAKE_COMMAND)
        fake.chmod(0o755)
    calls = tmp_path / "calls"
    env = {**os.environ, "PATH": f"{bin_dir}:/usr/bin:/bin", "CALLS": str(calls), "VP_MIGRATE_ON_START": migrate}
    subprocess.run(["sh", str(ROOT / "docker-entrypoint.sh"), *arguments], env=env, check=True, timeout=30)
    return calls.read_text().splitlines()


@pytest.mark.parametrize("arguments", [(), ("web",)], ids=["default", "web"])
def test_entrypoint_web_role_migrates_then_runs_gunicorn(tmp_path, arguments):
    assert run_entrypoint(tmp_path, *arguments) == [
        "flask db upgrade", "flask surveys load", "gunicorn -c gunicorn.conf.py wsgi:app"]


def test_entrypoint_web_role_passes_extra_arguments_to_gunicorn_and_can_skip_migrations(tmp_path):
    assert run_entrypoint(tmp_path, "web", "--workers", "2", migrate="0") == [
        "gunicorn -c gunicorn.conf.py --workers 2 wsgi:app"]


def test_entrypoint_worker_role_runs_the_dispatcher_without_migrating(tmp_path):
    assert run_entrypoint(tmp_path, "worker", "--interval", "30") == ["flask dispatch serve --interval 30"]


def test_entrypoint_runs_any_other_command_as_given(tmp_path):
    assert run_entrypoint(tmp_path, "celebrate", "--loudly", "two words") == ["celebrate --loudly two words"]


def healthcheck_exit(pid1_cmdline: bytes, healthz_status: int | Exception) -> int:
    """Run the Dockerfile's HEALTHCHECK one-liner with PID 1's command line and /healthz faked."""
    import builtins
    import io
    import urllib.request
    from unittest import mock

    args = next(args for instruction, args in dockerfile_instructions() if instruction == "HEALTHCHECK")
    code = re.search(r'CMD python -c "(.*)"$', args).group(1)

    def urlopen(url):
        assert url == "http://127.0.0.1:8000/healthz"
        if isinstance(healthz_status, Exception):
            raise healthz_status
        return mock.Mock(status=healthz_status)

    real_open = builtins.open

    def fake_open(path, *args, **kwargs):
        return io.BytesIO(pid1_cmdline) if path == "/proc/1/cmdline" else real_open(path, *args, **kwargs)

    with mock.patch.object(urllib.request, "urlopen", urlopen), mock.patch.object(builtins, "open", fake_open):
        with pytest.raises(SystemExit) as exited:
            exec(code, {})
    return exited.value.code


def test_healthcheck_asks_the_web_role_for_healthz_and_accepts_a_running_worker():
    assert healthcheck_exit(b"/usr/local/bin/python\0/usr/local/bin/gunicorn\0-c\0gunicorn.conf.py\0wsgi:app\0",
                            200) == 0
    assert healthcheck_exit(b"/usr/local/bin/python\0/usr/local/bin/gunicorn\0wsgi:app\0", 503) == 1
    with pytest.raises(OSError):
        healthcheck_exit(b"gunicorn\0wsgi:app\0", OSError("connection refused"))  # an error is unhealthy too
    assert healthcheck_exit(b"/usr/local/bin/python\0/usr/local/bin/flask\0dispatch\0serve\0", OSError("no port")) == 0
