"""Survey tokens never reach a log: every log record is redacted where it is made.

A token in a link is a working credential, and logged with a time it could tie an anonymous answer
back to the person whose link it was. `/s/<token>` paths, `...token=` query values and, during a
request, the request's own token wherever it is quoted are replaced by `[token]` in the message, its
arguments, the traceback and the stack of every record.

Python applies a logger's filters only to records logged on that very logger, not to records that
propagate up from its children (`app.errorhandlers` -> root), and handlers come and go (gunicorn
replaces its own on a reload, test tools attach theirs). So the redaction runs in the log record
factory, which makes every record in the process; the `RedactTokens` filter is also put on the root's
and gunicorn's handlers, in case other code installs a record factory of its own later.
"""
from __future__ import annotations

import logging
import re
import traceback

from flask import has_request_context, request

TOKEN_IN_PATH = re.compile(r"(/s/)[^/?#\s\"'<>]+")
TOKEN_IN_QUERY = re.compile(r"((?:^|[?&;\s])[\w.-]*token=)[^&#\s\"'<>]+", re.IGNORECASE)
REDACTED = "[token]"
MIN_SECRET_LENGTH = 8  # a shorter "token" is no credential, and replacing it everywhere would garble logs


def redact(text: str | None, secrets: tuple[str, ...] = ()) -> str | None:
    """`text` with every survey token in a path or query string, and each of `secrets` wherever it
    appears, replaced by `[token]`."""
    if not text:
        return text
    for secret in secrets:
        text = text.replace(secret, REDACTED)
    return TOKEN_IN_QUERY.sub(rf"\g<1>{REDACTED}", TOKEN_IN_PATH.sub(rf"\g<1>{REDACTED}", text))


def _request_tokens() -> tuple[str, ...]:
    """The tokens the current request carries (the `<token>` in its route, `...token=` in its query), so
    that one quoted bare, say in an exception's message, is redacted too."""
    if not has_request_context():
        return ()
    values = [value for key, value in (request.view_args or {}).items() if "token" in key and isinstance(value, str)]
    values += [value for key, value in request.args.items(multi=True) if key.lower().endswith("token")]
    return tuple(value for value in values if len(value) >= MIN_SECRET_LENGTH)


def redact_record(record: logging.LogRecord) -> logging.LogRecord:
    """Redact one record in place. Templates and arguments are left alone when they carry no token."""
    secrets = _request_tokens()
    try:
        message = record.getMessage()
    except Exception:  # a broken %-format is the handler's to report; it cannot leak more than it shows
        message = None
    if message is not None:
        clean = redact(message, secrets)
        if clean != message:
            record.msg, record.args = clean, None
    if record.exc_info and not record.exc_text:
        text = "".join(traceback.format_exception(*record.exc_info)).rstrip("\n")
        clean = redact(text, secrets)
        if clean != text:
            # Formatters print exc_text when it is set; the exception object (whose arguments carry the
            # token) is dropped so that no formatter or handler can render it again.
            record.exc_text, record.exc_info = clean, None
    elif record.exc_text:
        record.exc_text = redact(record.exc_text, secrets)
    if record.stack_info:
        record.stack_info = redact(record.stack_info, secrets)
    return record


class RedactTokens(logging.Filter):
    """A filter for handlers and loggers: redacts the record and always lets it through."""

    def filter(self, record: logging.LogRecord) -> bool:
        redact_record(record)
        return True


def _redacting_factory(make_record):
    def make_redacted_record(*args, **kwargs) -> logging.LogRecord:
        return redact_record(make_record(*args, **kwargs))

    make_redacted_record.redacts_tokens = True
    return make_redacted_record


def install_token_redaction(*loggers: logging.Logger) -> None:
    """Redact every record made from now on in this process, and put `RedactTokens` on the handlers of
    the root logger, gunicorn's loggers and `loggers`. Safe to call again (a reload, a second app)."""
    factory = logging.getLogRecordFactory()
    if not getattr(factory, "redacts_tokens", False):
        logging.setLogRecordFactory(_redacting_factory(factory))
    targets = [logging.getLogger(), logging.getLogger("gunicorn.error"), logging.getLogger("gunicorn.access"),
               *loggers]
    for logger in targets:
        for handler in [logger, *logger.handlers]:
            if not any(isinstance(f, RedactTokens) for f in handler.filters):
                handler.addFilter(RedactTokens())
