"""The reports' cache keys: results kept in `app.caching.REPORTS` under keys that carry the data version
of the waves they read."""
from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import func, select

from app.caching import REPORTS
from app.extensions import db
from app.models import ScoreTally

T = TypeVar("T")


def clear_cache() -> None:
    """Forget every cached report (any write through this process's session does this too)."""
    REPORTS.clear()


def data_version(wave_ids: Iterable[int]) -> tuple[int, int]:
    """Changes whenever a response is stored in one of these waves: (tally rows, answers tallied)."""
    ids = list(wave_ids)
    if not ids:
        return (0, 0)
    row = db.session.execute(
        select(func.count(), func.coalesce(func.sum(ScoreTally.answer_count), 0)).where(ScoreTally.wave_id.in_(ids))
    ).one()
    return (int(row[0]), int(row[1]))


def cached(key: tuple, compute: Callable[[], T]) -> T:
    """`compute()` once per key while `app.caching.REPORTS` keeps it. Keys carry the data version, so new
    responses show at once in every process; label corrections and edits show at once in the process
    that made them and within `REPORT_SECONDS` elsewhere."""
    return REPORTS.get_or_compute(key, compute)
