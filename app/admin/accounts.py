"""Admin pages for providers, service areas with their contract targets, and user accounts."""
from __future__ import annotations

from app.admin import bp  # noqa: F401
