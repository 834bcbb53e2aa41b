"""Report and chart caches: per-wave edit generations, and the Redis backend shared by processes."""
from __future__ import annotations

import uuid

import pytest
from cachetools import LRUCache
from sqlalchemy import select

from app import caching
from app.caching import GENERATIONS, REDIS, ProcessCache, SharedCache
from app.models import Answer
from app.services.comments import correct_label
from app.services.reporting.cache import cached, clear_cache, data_version, fresh_reports
from tests.reporting_seed import AreaAnswers, add_wave, make_reporting_campaign

REDIS_URL = "redis://127.0.0.1:6379/14"


@pytest.fixture
def shared(app, monkeypatch):
    """Redis configured for the caches, under a key prefix of this test's own; skipped without a server."""
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=0.5).ping()
    except redis.RedisError:
        pytest.skip("no Redis server at 127.0.0.1:6379")
    monkeypatch.setattr(caching, "KEY_PREFIX", f"vp-test-{uuid.uuid4().hex}:")
    REDIS.configure(REDIS_URL, app.config["SECRET_KEY"])
    yield REDIS
    REDIS.configure(None, app.config["SECRET_KEY"])


def _process_cache() -> SharedCache:
    return SharedCache("reports", ProcessCache("reports", LRUCache(maxsize=8)), 60)


def test_a_label_correction_moves_only_its_waves_version(db, survey, manager_user):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    first = add_wave(campaign, survey, "W1", {area: AreaAnswers([3] * 5, comments=["Slow"] * 5)})
    second = add_wave(campaign, survey, "W2", {area: AreaAnswers([4] * 5)}, index=1)
    before_first, before_second = data_version([first.id]), data_version([second.id])
    answer_id = db.session.scalar(select(Answer.id).where(Answer.wave_id == first.id, Answer.text.is_not(None)))
    correct_label(answer_id, "positive", manager_user)
    assert data_version([first.id]) != before_first
    assert data_version([second.id]) == before_second, "another wave's reports stay cached"


def test_clear_cache_forgets_every_report_and_fresh_reports_reads_none():
    cached(("test-kind", 1), lambda: "kept")
    with fresh_reports():
        assert cached(("test-kind", 1), lambda: "computed again") == "computed again"
        assert cached(("test-kind", 1), lambda: "not twice in one build") == "computed again"
    assert cached(("test-kind", 1), lambda: "not this") == "kept"
    clear_cache()
    assert cached(("test-kind", 1), lambda: "after clearing") == "after clearing"


def test_a_value_computed_in_one_process_is_read_by_another_through_redis(shared):
    one, other = _process_cache(), _process_cache()
    assert one.get_or_compute(("overview", 7), lambda: {"rows": 3}) == {"rows": 3}
    assert other.get_or_compute(("overview", 7), lambda: pytest.fail("computed twice")) == {"rows": 3}


def test_a_value_not_signed_with_our_key_is_ignored(shared, app):
    one = _process_cache()
    one.get_or_compute(("overview", 8), lambda: "genuine")
    shared.configure(REDIS_URL, "another secret key")
    assert _process_cache().get_or_compute(("overview", 8), lambda: "recomputed") == "recomputed"


def test_generations_are_shared_and_per_wave(shared):
    before = GENERATIONS.current([1, 2])
    GENERATIONS.bump([1])
    after = GENERATIONS.current([1, 2])
    assert after[0] == before[0] and after[1] == before[1] + 1 and after[2] == before[2]
    value = shared.client.get(f"{caching.KEY_PREFIX}generation:1")
    assert int(value) == after[1], "another process reads the same counter"


def test_an_unreachable_redis_costs_nothing_but_sharing(app):
    REDIS.configure("redis://127.0.0.1:1/0", app.config["SECRET_KEY"])
    try:
        cache = _process_cache()
        assert cache.get_or_compute(("overview", 9), lambda: "computed here") == "computed here"
        assert cache.get_or_compute(("overview", 9), lambda: "again") == "computed here"
        GENERATIONS.bump([5])
        assert GENERATIONS.current([5])[1] >= 1
    finally:
        REDIS.configure(None, app.config["SECRET_KEY"])
