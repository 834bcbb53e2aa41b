"""The reports' process cache: results kept for CACHE_SECONDS under keys that carry the data version,
and forgotten whenever this process writes through a session."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from typing import TypeVar

from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from app.extensions import db
from app.models import ScoreTally

T = TypeVar("T")

CACHE_SECONDS = 60.0
_CACHE_SIZE = 256
_cache: OrderedDict[tuple, tuple[float, object]] = OrderedDict()
_cache_lock = threading.Lock()


def clear_cache() -> None:
    """Forget every cached report (any write through this process's session does this too)."""
    with _cache_lock:
        _cache.clear()


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
    """`compute()` once per key for CACHE_SECONDS. Keys carry the data version, so new responses
    show at once in every process; label corrections and edits show at once in the process that
    made them and within CACHE_SECONDS elsewhere."""
    now = time.monotonic()
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None and hit[0] > now:
            _cache.move_to_end(key)
            return hit[1]  # type: ignore[return-value]
    value = compute()
    with _cache_lock:
        _cache[key] = (now + CACHE_SECONDS, value)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return value


@event.listens_for(Session, "after_flush")
def _forget_on_flush(session, _context) -> None:
    if session.new or session.dirty or session.deleted:
        clear_cache()


@event.listens_for(Session, "do_orm_execute")
def _forget_on_write(state) -> None:
    if not state.is_select:
        clear_cache()
