"""Liveness of the parts a request needs: today, the database."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from app.extensions import db


@dataclass(frozen=True)
class DatabaseHealth:
    ok: bool
    backend: str
    error: str | None = None


def check_database() -> DatabaseHealth:
    """Run `SELECT 1`; report the failure class, never connection strings or passwords."""
    backend = db.engine.dialect.name
    try:
        db.session.execute(text("SELECT 1")).scalar_one()
        return DatabaseHealth(ok=True, backend=backend)
    except SQLAlchemyError as exc:
        db.session.rollback()
        return DatabaseHealth(ok=False, backend=backend, error=type(exc).__name__)
