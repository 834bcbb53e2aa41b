"""No log keeps a survey token, and the access log does not say who answered a survey when."""
from __future__ import annotations

import io
import logging
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from gunicorn.config import Config

from app.access_log import RedactingLogger, redact
from app.logging_filters import RedactTokens


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


SURVEY_ENVIRON = {
    "REQUEST_METHOD": "POST", "RAW_URI": "/s/SECRETTOKEN123", "PATH_INFO": "/s/SECRETTOKEN123",
    "QUERY_STRING": "", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "203.0.113.7", "REMOTE_PORT": "51515",
    "HTTP_USER_AGENT": "Mozilla/5.0 (X11; Linux) Firefox/140.0", "HTTP_REFERER": "https://mail.example.com/inbox",
    "HTTP_X_FORWARDED_FOR": "198.51.100.23", "HTTP_COOKIE": "session=abc",
}
REQUEST_HEADERS = [("User-Agent", "Mozilla/5.0 (X11; Linux) Firefox/140.0"), ("X-Forwarded-For", "198.51.100.23"),
                   ("Referer", "https://mail.example.com/inbox"), ("Cookie", "session=abc")]


def access_line(environ) -> tuple[dict, str]:
    """The atoms and the line gunicorn would write with its default (combined) format."""
    logger = RedactingLogger(Config())
    response = SimpleNamespace(status="303 SEE OTHER", sent=0, headers=[("Location", "/s/SECRETTOKEN123/thanks"),
                                                                        ("Set-Cookie", "session=xyz")])
    atoms = logger.atoms(response, SimpleNamespace(headers=REQUEST_HEADERS), environ, timedelta(milliseconds=5))
    return atoms, Config().access_log_format % logger.atoms_wrapper_class(atoms)


def test_a_survey_post_is_logged_without_address_agent_referrer_or_time_of_day():
    atoms, line = access_line(SURVEY_ENVIRON)

    assert (atoms["h"], atoms["u"], atoms["f"], atoms["a"]) == ("-", "-", "-", "-")
    assert re.fullmatch(r"\[\d{2}/\w{3}/\d{4}\]", atoms["t"]), atoms["t"]
    for secret in ("SECRETTOKEN123", "203.0.113", "198.51.100", "Mozilla", "mail.example.com", "51515", "session="):
        assert secret not in repr(atoms) and secret not in line, secret
    assert '"POST /s/[token] HTTP/1.1" 303' in line
    assert logger_atom(atoms, "{x-forwarded-for}i") == "-" and logger_atom(atoms, "{remote_addr}e") == "-"
    assert logger_atom(atoms, "{request_method}e") == "POST"


def test_other_pages_keep_the_full_access_log_line():
    environ = {**SURVEY_ENVIRON, "RAW_URI": "/dashboard/?token=abc123", "PATH_INFO": "/dashboard/",
               "QUERY_STRING": "token=abc123", "REQUEST_METHOD": "GET"}
    atoms, line = access_line(environ)
    assert atoms["h"] == "203.0.113.7" and "Firefox" in atoms["a"] and ":" in atoms["t"]
    assert '"GET /dashboard/?token=[token] HTTP/1.1"' in line and "abc123" not in line


def logger_atom(atoms: dict, key: str) -> str:
    from gunicorn.glogging import SafeAtoms

    return SafeAtoms(atoms)[key]


@pytest.mark.parametrize("text, expected", [
    ("https://x.example/s/AbC_-9/thanks?x=1", "https://x.example/s/[token]/thanks?x=1"),
    ("GET /reset?email=a%40b.c&token=s3cr3t HTTP/1.1", "GET /reset?email=a%40b.c&token=[token] HTTP/1.1"),
    ("form csrf_token=abc&x=1", "form csrf_token=[token]&x=1"),
    ("<Request 'http://localhost/s/T0KEN' [GET]>", "<Request 'http://localhost/s/[token]' [GET]>"),
    ("nothing secret /static/s.css", "nothing secret /static/s.css"),
])
def test_redact(text, expected):
    assert redact(text) == expected


def test_every_logger_redacts_messages_arguments_and_tracebacks(app, caplog):
    with caplog.at_level(logging.DEBUG):
        logging.getLogger("some.library.deep.down").info("visited %s", "/s/ARGTOKEN1/unsubscribe")
        logging.getLogger("app.services.x").warning("link https://x/s/%s", "FMTTOKEN2")
        try:
            raise RuntimeError("bad link /s/EXCTOKEN3?token=QUERYTOKEN4")
        except RuntimeError:
            logging.getLogger("gunicorn.error").exception("Error handling request %s", "/s/GUNITOKEN5")
            logging.getLogger().error("plain", exc_info=True, stack_info=True)

    text = caplog.text + "".join(logging.Formatter().format(r) for r in caplog.records)
    for token in ("ARGTOKEN1", "FMTTOKEN2", "EXCTOKEN3", "QUERYTOKEN4", "GUNITOKEN5"):
        assert token not in text, token
    assert "/s/[token]/unsubscribe" in text and "RuntimeError: bad link /s/[token]?token=[token]" in text


def test_gunicorn_error_log_handlers_redact_after_a_reload():
    logger = RedactingLogger(Config())
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger.error_log.addHandler(handler)
    try:
        logger.setup(Config())  # what a HUP does: gunicorn's own handlers are replaced
        assert all(any(isinstance(f, RedactTokens) for f in h.filters) for h in logger.error_log.handlers
                   if getattr(h, "_gunicorn", False))
        logger.error("Error handling request %s", "/s/HUPTOKEN6")
    finally:
        logger.error_log.removeHandler(handler)
    assert "HUPTOKEN6" not in stream.getvalue() and "/s/[token]" in stream.getvalue()


def test_a_500_under_a_survey_link_leaves_no_token_in_the_logs(app, client, monkeypatch, caplog):
    from app.respond import routes as respond_routes

    token = "Zq3_" + "x" * 28
    leaked = "L" * 32

    def broken(link_token, **kwargs):
        raise RuntimeError(f"could not load the survey for {link_token} (after {leaked})")

    monkeypatch.setattr(respond_routes.responses, "load_survey_context", broken)
    with caplog.at_level(logging.DEBUG):
        response = client.get(f"/s/{token}?token={leaked}&x=1")

    assert response.status_code == 500
    assert caplog.records, "the error was logged"
    logged = caplog.text + "".join(logging.Formatter().format(r) for r in caplog.records)
    assert token not in logged and leaked not in logged
    assert "Unhandled error on GET /s/[token]" in logged and "RuntimeError: could not load the survey" in logged
