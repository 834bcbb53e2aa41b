"""The process caches: computed once per key, and the reports' cache emptied by any write of this process."""
from __future__ import annotations

from app.caching import REPORTS, ProcessCache, register_cache_invalidation
from cachetools import LRUCache
from tests.factories import make_provider


def test_a_value_is_computed_once_per_key():
    cache = ProcessCache("test", LRUCache(maxsize=2))
    calls = []
    for key in ("a", "a", "b", "a"):
        cache.get_or_compute(key, lambda key=key: calls.append(key) or key.upper())
    assert calls == ["a", "b"]
    cache.get_or_compute("c", lambda: "C")  # the least recently used ("b") goes
    assert cache.get_or_compute("b", lambda: "again") == "again"


def test_any_write_through_a_session_empties_the_reports(app, db):
    register_cache_invalidation(app)  # a second registration must not add a second listener
    REPORTS.get_or_compute(("report", 1), lambda: "stale figures")
    make_provider("Written after the report was cached")
    assert REPORTS.get_or_compute(("report", 1), lambda: "fresh figures") == "fresh figures"
    assert REPORTS.get_or_compute(("report", 1), lambda: "not again") == "fresh figures", "reads keep it"
