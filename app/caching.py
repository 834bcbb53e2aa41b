"""Every process cache of the app, in one place: what each keeps, what its keys carry, how it is emptied.

All are cachetools caches behind a lock, one set per worker process. None holds anything another
worker needs to see: each key carries what its value depends on, so a worker that has not seen a
change simply misses and computes afresh.

| cache | keeps | key | emptied |
| --- | --- | --- | --- |
| `REPORTS` | dashboard, scorecard and export figures | the report kind, its `Scope` and the data version of its waves (tally rows and answers tallied) | after `REPORT_SECONDS`, and at once by any write through this process's sessions (`register_cache_invalidation`) |
| `CHARTS` | rendered SVG charts | the chart spec's ETag, a hash of everything it draws | never stale: least recently used go first |
| `DEFINITIONS` | survey definitions with their questions | (definition id, checksum, load time): a version is never edited | least recently used |
| `LAYOUTS` | survey layouts | (definition key, the areas asked) | least recently used |
| `EMPTY_SURVEYS` | the HTML of an unanswered survey form | the layout's `cache_key` | least recently used |
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable, MutableMapping
from typing import TypeVar

from cachetools import LRUCache, TTLCache
from flask import Flask
from sqlalchemy import event
from sqlalchemy.orm import Session

T = TypeVar("T")

REPORT_SECONDS = 60.0


class ProcessCache:
    """A cachetools cache made safe for a threaded worker; values are computed outside the lock."""

    def __init__(self, name: str, store: MutableMapping) -> None:
        self.name = name
        self._store = store
        self._lock = threading.Lock()

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        with self._lock:
            try:
                return self._store[key]
            except KeyError:
                pass
        value = compute()
        with self._lock:
            self._store[key] = value
        return value

    def clear(self) -> None:
        with self._lock:
            self._store.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._store)


REPORTS = ProcessCache("reports", TTLCache(maxsize=256, ttl=REPORT_SECONDS))
CHARTS = ProcessCache("charts", LRUCache(maxsize=128))
DEFINITIONS = ProcessCache("survey definitions", LRUCache(maxsize=256))
LAYOUTS = ProcessCache("survey layouts", LRUCache(maxsize=256))
EMPTY_SURVEYS = ProcessCache("empty survey forms", LRUCache(maxsize=256))


def _forget_reports_on_flush(session, _context) -> None:
    if session.new or session.dirty or session.deleted:
        REPORTS.clear()


def _forget_reports_on_write(state) -> None:
    if not state.is_select:
        REPORTS.clear()


def register_cache_invalidation(app: Flask) -> None:
    """A write through any session of this process (a label correction, a stored response) empties
    `REPORTS`, so the person who made it sees it on the next page. Registered once, by `create_app`."""
    if not event.contains(Session, "after_flush", _forget_reports_on_flush):
        event.listen(Session, "after_flush", _forget_reports_on_flush)
        event.listen(Session, "do_orm_execute", _forget_reports_on_write)
