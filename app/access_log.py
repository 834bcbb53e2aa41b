"""gunicorn logging that never writes a survey token, nor who sent a survey request and when.

A logged `/s/<token>` is a working credential. And even with the token redacted, a survey POST logged
with its second, the client's address and user agent lines a person up with an anonymous answer; so
for the respondent's pages (everything under `/s/`) the access log keeps the request line, status,
size and duration, the day but not the time, and no address, user, user agent, referrer or other
request header.
"""
from __future__ import annotations

import time

from gunicorn.glogging import Logger

from app.logging_filters import install_token_redaction, redact

__all__ = ["RedactingLogger", "is_survey_path", "redact"]

SURVEY_PATH_PREFIX = "/s/"
# Environ atoms ({name}e) that describe the request, not who sent it; all others are dropped on survey paths.
REQUEST_ENVIRON_ATOMS = frozenset({"{request_method}e", "{script_name}e", "{path_info}e", "{query_string}e",
                                   "{raw_uri}e", "{server_protocol}e"})


def is_survey_path(path: str | None) -> bool:
    return bool(path) and path.startswith(SURVEY_PATH_PREFIX)


def respondent_atoms(atoms: dict) -> dict:
    """The atoms of a survey request without whatever identifies the sender or the moment."""
    kept = {key: value for key, value in atoms.items()
            if not key.startswith("{") or key in REQUEST_ENVIRON_ATOMS}  # request and response headers go
    kept.update(h="-", u="-", f="-", a="-", t=time.strftime("[%d/%b/%Y]"))
    return kept


class RedactingLogger(Logger):
    def setup(self, cfg):
        super().setup(cfg)
        # gunicorn's error log (e.g. "Error handling request /s/...") and its handlers, which setup()
        # replaces on every reload.
        install_token_redaction(self.error_log, self.access_log)

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        if is_survey_path(environ.get("PATH_INFO")):
            atoms = respondent_atoms(atoms)
        # Every atom, including the {raw_uri}e-style environ ones a custom format could use.
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
