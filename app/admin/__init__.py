"""Administration: stakeholders, campaigns and waves, providers, service areas and accounts."""
from flask import Blueprint

bp = Blueprint("admin", __name__, url_prefix="/admin")

from app.admin import accounts, routes  # noqa: E402,F401
