from __future__ import annotations

from app.respond import bp  # noqa: F401
