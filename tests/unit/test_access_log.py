"""The access log never contains a survey token."""
from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

from gunicorn.config import Config

from app.access_log import RedactingLogger, redact


def test_redact_survey_paths():
    assert redact("GET /s/AbCdEf123_-xyz/unsubscribe?x=1 HTTP/1.1") == "GET /s/[token]/unsubscribe?x=1 HTTP/1.1"
    assert redact("GET /dashboard/ HTTP/1.1") == "GET /dashboard/ HTTP/1.1"


def test_gunicorn_logger_atoms_are_redacted():
    logger = RedactingLogger(Config())
    environ = {"REQUEST_METHOD": "POST", "RAW_URI": "/s/SECRETTOKEN123", "SERVER_PROTOCOL": "HTTP/1.1",
               "PATH_INFO": "/s/SECRETTOKEN123", "HTTP_REFERER": "https://x/s/SECRETTOKEN123"}
    response = SimpleNamespace(status="200 OK", sent=10, headers=[])
    atoms = logger.atoms(response, SimpleNamespace(headers=[]), environ, timedelta(milliseconds=5))
    assert "SECRETTOKEN123" not in repr(atoms)
    assert atoms["r"] == "POST /s/[token] HTTP/1.1"
