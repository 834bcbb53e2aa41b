"""gunicorn access logging that never writes a survey token.

A logged `/s/<token>` with its exact time could tie an anonymous answer back to the person whose
link it was, and the token itself is a working credential.
"""
from __future__ import annotations

import re

from gunicorn.glogging import Logger

TOKEN_IN_PATH = re.compile(r"(/s/)[^/?\s]+")


def redact(text: str | None) -> str | None:
    return TOKEN_IN_PATH.sub(r"\1[token]", text) if text else text


class RedactingLogger(Logger):
    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        # Every atom, including the {raw_uri}e-style environ ones a custom format could use.
        return {key: redact(value) if isinstance(value, str) else value for key, value in atoms.items()}
