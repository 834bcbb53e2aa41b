"""Jinja filters and globals: dates in the configured time zone, numbers the way people read them."""
from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request


def local_datetime(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.astimezone(ZoneInfo(current_app.config["TIMEZONE"]))


def format_datetime(value: datetime | None, fmt: str = "%d %b %Y, %H:%M") -> str:
    local = local_datetime(value)
    return local.strftime(fmt) if local else ""


def format_date(value: datetime | date | None, fmt: str = "%d %B %Y") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = local_datetime(value)
    return value.strftime(fmt).lstrip("0")


# Main navigation: (endpoint, label, roles). Entries whose endpoint does not exist are left out.
NAVIGATION = (
    ("dashboard.overview", "Overview", ("admin", "manager", "provider")),
    ("dashboard.comments", "Comments", ("admin", "manager")),
    ("admin.campaigns", "Campaigns", ("admin",)),
    ("admin.stakeholders", "Stakeholders", ("admin",)),
    ("admin.providers", "Providers & targets", ("admin",)),
    ("admin.users", "Accounts", ("admin",)),
)


def navigation_items() -> list[dict]:
    from flask import request, url_for
    from flask_login import current_user

    if not current_user or not current_user.is_authenticated:
        return []
    endpoints = set(current_app.view_functions)
    current = request.endpoint or ""
    return [
        {"url": url_for(endpoint), "label": label, "active": current == endpoint}
        for endpoint, label, roles in NAVIGATION
        if endpoint in endpoints and current_user.role in roles
    ]


def register(app: Flask) -> None:
    app.add_template_filter(format_datetime, "datetime")
    app.add_template_filter(format_date, "date")

    @app.context_processor
    def inject_globals() -> dict:
        from app import __version__

        return {"vp_version": __version__, "nav_items": navigation_items()}

    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        # Survey links carry their token in the path: even a 404 or 405 under /s/ must not leak it.
        survey_link = request.path.startswith("/s/")
        response.headers.setdefault("Referrer-Policy", "no-referrer" if survey_link else "same-origin")
        if survey_link:
            response.headers.setdefault("Cache-Control", "no-store")
        return response
