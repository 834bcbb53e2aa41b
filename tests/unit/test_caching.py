"""The process caches: computed once per key; a write moves the edit generation that report keys carry."""
from __future__ import annotations

from app.caching import REPORTS, ProcessCache, register_cache_invalidation
from cachetools import LRUCache
from app.services.reporting.cache import data_version
from tests.factories import make_provider


def test_a_value_is_computed_once_per_key():
    cache = ProcessCache("test", LRUCache(maxsize=2))
    calls = []
    for key in ("a", "a", "b", "a"):
        cache.get_or_compute(key, lambda key=key: calls.append(key) or key.upper())
    assert calls == ["a", "b"]
    cache.get_or_compute("c", lambda: "C")  # the least recently used ("b") goes
    assert cache.get_or_compute("b", lambda: "again") == "again"


def test_a_write_outside_any_wave_moves_every_reports_key_and_reads_keep_it(app, db):
    register_cache_invalidation(app)  # a second registration must not add a second listener
    before = data_version([1])
    REPORTS.get_or_compute(("report", before), lambda: "stale figures")
    make_provider("Written after the report was cached")
    after = data_version([1])
    assert after != before
    assert REPORTS.get_or_compute(("report", after), lambda: "fresh figures") == "fresh figures"
    assert REPORTS.get_or_compute(("report", data_version([1])), lambda: "not again") == "fresh figures", \
        "reads keep it"
