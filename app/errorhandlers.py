"""Maps HTTP errors and the domain exception family to pages (or JSON for API callers)."""
from __future__ import annotations

import logging

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import DataError
from werkzeug.exceptions import HTTPException

from app.errors import VendorPulseError

log = logging.getLogger(__name__)

PAGES = {400, 403, 404, 405, 409, 410, 413, 422, 429, 500}

DEFAULT_MESSAGES = {
    400: "The request could not be understood. Please go back and try again.",
    403: "Your account does not have access to this page.",
    404: "There is nothing at this address. Check the link, or ask whoever sent it for a new one.",
    405: "This page does not accept that kind of request.",
    409: "That change is not possible in the current state.",
    410: "This page is no longer available.",
    413: "What you sent is larger than this site accepts. Please shorten it and try again.",
    422: "Some of what you entered needs another look.",
    429: "Too many requests from your address in a short time. Please wait a minute and try again.",
    500: "Something went wrong on our side. It has been logged; please try again in a moment.",
}


def wants_json() -> bool:
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def render_error(status: int, title: str | None = None, message: str | None = None):
    message = message or DEFAULT_MESSAGES.get(status, "Something went wrong.")
    if wants_json():
        return jsonify(error=title or str(status), message=message), status
    template = f"errors/{status}.html" if status in PAGES else "errors/generic.html"
    return render_template(template, status=status, title=title, message=message), status


def register(app: Flask) -> None:
    @app.errorhandler(VendorPulseError)
    def handle_domain_error(error: VendorPulseError):
        status = error.status_code if error.status_code in PAGES else 400
        return render_error(status, error.title, error.message)

    @app.errorhandler(CSRFError)
    def handle_csrf_error(error: CSRFError):
        return render_error(400, "Your session expired", "The form expired or was sent from elsewhere. "
                            "Please go back, reload the page and try again.")

    @app.errorhandler(DataError)
    @app.errorhandler(OverflowError)
    def handle_unstorable_value(error: DataError | OverflowError):
        # Values the database refuses: on PostgreSQL a DataError (NUL in text, over-long strings, numbers
        # out of range), on SQLite an OverflowError (an id beyond 64 bits in a URL or a filter). The
        # request carried a value no page should accept: the sender's error, not a 500.
        log.warning("Refused a value the database cannot take on %s %s: %s", request.method, request.path,
                    getattr(error, "orig", error))
        from app.extensions import db

        db.session.rollback()
        return render_error(400, "That cannot be stored", "Something you sent contains characters or numbers "
                            "this site cannot store. Please check it and try again.")

    @app.errorhandler(HTTPException)
    def handle_http_error(error: HTTPException):
        status = error.code or 500
        # A view that explains itself (`abort(400, description=...)`) keeps its words; Werkzeug's stock
        # descriptions give way to ours.
        custom = error.description and error.description != type(error).description
        message = error.description if custom or status not in DEFAULT_MESSAGES else DEFAULT_MESSAGES[status]
        response = render_error(status, None, message)
        if status == 405 and hasattr(error, "valid_methods") and error.valid_methods:
            body, code = response
            return body, code, {"Allow": ", ".join(error.valid_methods)}
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(error: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        from app.extensions import db

        db.session.rollback()
        return render_error(500)
