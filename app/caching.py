"""Every cache of the app, in one place: what each keeps, what its keys carry, how it is emptied.

Each cache is a cachetools cache behind a lock in every worker process, optionally backed by Redis
(`CACHE_REDIS_URL`, else `REDIS_URL`) so that what one gunicorn worker computed, the others and the
dispatcher's worker reuse. Without Redis each process keeps its own copy; that is still correct,
because every key carries what its value depends on, so a process that has not seen a change misses
and computes afresh.

| cache | keeps | key | emptied |
| --- | --- | --- | --- |
| `REPORTS` | dashboard, scorecard and export figures, and the per-wave parts they are built from | a whole report: its kind, its `Scope`, the data version of its waves (their `@version` tally rows, moved on by every tally change) and the edit generations of those waves; a per-wave part (`reporting.cache.cached_by_wave`): its kind, what it was asked for and that one wave's own version, so a closed wave's parts are reused while the open wave receives responses (a part no response changes, the invitations delivered per area, by that wave's edit generations alone: kept while it takes responses) | after `REPORT_SECONDS`; an edit moves only its waves' generation (`register_cache_invalidation`), `clear_cache()` all of them |
| `CHARTS` | rendered SVG charts, shared through Redis | the chart spec's ETag, a hash of everything it draws | never stale: least recently used go first |
| `CHART_SPECS` | what each chart of a page shown draws (its spec), so its image request needs no report | (who may see it: staff or one provider, the ETag) | after `CHART_SPEC_SECONDS`; never stale (the ETag is the content) |
| `DEFINITIONS` | survey definitions with their questions | (definition id, checksum, load time): a version is never edited | least recently used |
| `LAYOUTS` | survey layouts | (definition key, the areas asked) | least recently used |
| `EMPTY_SURVEYS` | the HTML of an unanswered survey form | the layout's `cache_key` | least recently used |

Edit generations (`GENERATIONS`) are counters per wave plus one for everything: a flush or commit that
changes a response, an answer (a label correction, a comment shared) or a wave moves that wave's
counter; one that changes anything else a report reads (an area's target, a campaign) moves the global
one. Sign-ins, drafts, tokens, mail bookkeeping, invitations and the tally itself move nothing: the
tally is in the data version already, and invitations sent (and people imported) show in the response
rate within `REPORT_SECONDS`. With Redis the counters are shared, so an edit shows at once in every process;
without it, at once in the process that made it and within `REPORT_SECONDS` elsewhere. Values read
back from Redis are signed with SECRET_KEY (HMAC) before they are unpickled.
"""
from __future__ import annotations

import hashlib
import hmac
import logging
import pickle
import threading
import time
from collections.abc import Callable, Hashable, Iterable, MutableMapping
from typing import TYPE_CHECKING, Any, TypeVar

from cachetools import LRUCache, TTLCache
from flask import Flask
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

if TYPE_CHECKING:
    import redis

T = TypeVar("T")
log = logging.getLogger(__name__)

REPORT_SECONDS = 60.0
CHART_SECONDS = 24 * 3600.0  # in Redis; an ETag's picture never changes, this only frees memory
CHART_SPEC_SECONDS = 3600.0  # a page's charts can be drawn from what it showed for this long
KEY_PREFIX = "vendorpulse:cache:"
REDIS_TIMEOUT = 0.5  # seconds: a Redis that does not answer costs a page this much once, then is skipped
REDIS_RETRY_AFTER = 30.0  # seconds without trying Redis after it failed


class ProcessCache:
    """A cachetools cache made safe for a threaded worker; values are computed outside the lock."""

    def __init__(self, name: str, store: MutableMapping) -> None:
        self.name = name
        self._store = store
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any:
        with self._lock:
            return self._store.get(key, _MISSING)

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._store[key] = value

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        value = self.get(key)
        if value is _MISSING:
            value = compute()
            self.put(key, value)
        return value

    def clear(self) -> None:
        with self._lock:
            self._store.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._store)


_MISSING = object()
MISSING = _MISSING  # what `get` returns for a key not kept


class RedisLink:
    """The shared Redis of every cache, or none. A Redis that fails is skipped for `REDIS_RETRY_AFTER`
    seconds: pages are computed in the process meanwhile, never refused."""

    def __init__(self) -> None:
        self.client: redis.Redis | None = None
        self.secret = b""
        self._down_until = 0.0

    def configure(self, url: str | None, secret: str) -> None:
        self.secret = secret.encode("utf-8")
        self._down_until = 0.0
        if not url:
            self.client = None
            return
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=REDIS_TIMEOUT, socket_connect_timeout=REDIS_TIMEOUT)

    @property
    def available(self) -> bool:
        return self.client is not None and time.monotonic() >= self._down_until

    def call(self, operation: Callable[[redis.Redis], T], default: T) -> T:
        if not self.available:
            return default
        import redis

        try:
            return operation(self.client)
        except redis.RedisError as error:
            log.warning("Redis cache unavailable for %.0f s: %s", REDIS_RETRY_AFTER, error)
            self._down_until = time.monotonic() + REDIS_RETRY_AFTER
            return default

    def seal(self, value: Any) -> bytes | None:
        try:
            body = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError):
            return None
        return hmac.new(self.secret, body, hashlib.sha256).digest() + body

    def unseal(self, sealed: bytes | None) -> Any:
        if not sealed or len(sealed) < 32:
            return _MISSING
        signature, body = sealed[:32], sealed[32:]
        if not hmac.compare_digest(signature, hmac.new(self.secret, body, hashlib.sha256).digest()):
            log.warning("A cache value in Redis has a wrong signature (another SECRET_KEY?); ignored")
            return _MISSING
        return pickle.loads(body)


REDIS = RedisLink()


class SharedCache:
    """A process cache in front of Redis (when configured): looked up here, then in Redis, then computed
    and stored in both. Keys are hashed from their `repr`, which for the plain values, tuples and frozen
    dataclasses used as keys is the same in every process."""

    def __init__(self, name: str, local: ProcessCache, seconds: float) -> None:
        self.name = name
        self.local = local
        self.seconds = seconds

    def _redis_key(self, key: Hashable) -> str:
        return f"{KEY_PREFIX}{self.name}:{hashlib.sha256(repr(key).encode('utf-8')).hexdigest()}"

    def get(self, key: Hashable) -> Any:
        """The value kept under `key` here or in Redis, else `MISSING`."""
        value = self.local.get(key)
        if value is not _MISSING:
            return value
        if REDIS.available:
            value = REDIS.unseal(REDIS.call(lambda r: r.get(self._redis_key(key)), None))
            if value is not _MISSING:
                self.local.put(key, value)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        self.local.put(key, value)
        if REDIS.available:
            sealed = REDIS.seal(value)
            if sealed is not None:
                REDIS.call(lambda r: r.set(self._redis_key(key), sealed, ex=max(1, int(self.seconds))), None)

    def get_or_compute(self, key: Hashable, compute: Callable[[], T]) -> T:
        value = self.get(key)
        if value is _MISSING:
            value = compute()
            self.put(key, value)
        return value

    def clear(self) -> None:
        """Empties this process's copy; shared entries become unreachable by `Generations.bump_all`."""
        self.local.clear()

    def __len__(self) -> int:
        return len(self.local)


class Generations:
    """Edit counters per wave and one for everything, in this process or shared through Redis. A report's
    key carries the counters of its waves, so moving one wave's counter leaves other waves' entries."""

    GLOBAL = "all"

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _name(wave_id: int | str) -> str:
        return f"{KEY_PREFIX}generation:{wave_id}"

    def current(self, wave_ids: Iterable[int]) -> tuple[int, ...]:
        """The global counter followed by each wave's, in the order given."""
        names = [self.GLOBAL, *wave_ids]
        if REDIS.available:
            values = REDIS.call(lambda r: r.mget([self._name(n) for n in names]), None)
            if values is not None:
                return tuple(int(v or 0) for v in values)
        with self._lock:
            return tuple(self._counts.get(str(n), 0) for n in names)

    def bump(self, wave_ids: Iterable[int]) -> None:
        self._bump([str(w) for w in wave_ids])

    def bump_all(self) -> None:
        self._bump([self.GLOBAL])

    def _bump(self, names: list[str]) -> None:
        if not names:
            return
        with self._lock:
            for name in names:
                self._counts[name] = self._counts.get(name, 0) + 1
        if REDIS.client is not None:
            def incr(r):
                pipe = r.pipeline(transaction=False)
                for name in names:
                    pipe.incr(self._name(name))
                    pipe.expire(self._name(name), 30 * 24 * 3600)
                return pipe.execute()
            REDIS.call(incr, None)


# Whole reports and the per-wave parts they are built from (a few per wave, area and kind: small values).
REPORTS = SharedCache("reports", ProcessCache("reports", TTLCache(maxsize=4096, ttl=REPORT_SECONDS)),
                      REPORT_SECONDS)
CHARTS = SharedCache("charts", ProcessCache("charts", LRUCache(maxsize=128)), CHART_SECONDS)
# What each chart of a page shown draws, by (who may see it, its ETag): the page's image links carry the
# ETag, so the image request draws (or finds) exactly that picture without building the report again.
CHART_SPECS = SharedCache("chart specs", ProcessCache("chart specs", TTLCache(maxsize=2048, ttl=CHART_SPEC_SECONDS)),
                          CHART_SPEC_SECONDS)
GENERATIONS = Generations()
DEFINITIONS = ProcessCache("survey definitions", LRUCache(maxsize=256))
LAYOUTS = ProcessCache("survey layouts", LRUCache(maxsize=256))
EMPTY_SURVEYS = ProcessCache("empty survey forms", LRUCache(maxsize=256))

# Tables whose rows no report reads, or whose changes the data version already carries (score_tally),
# or that show within REPORT_SECONDS by design (invitation: deliveries in the response rate).
UNREPORTED_TABLES = frozenset({
    "user", "invitation_token", "mail_send", "dispatcher_state", "response_draft", "response_pool",
    "review_pack_job", "invitation", "score_tally", "alembic_version",
    # People and their departments reach a report through their responses (which carry the department)
    # and, for a department's response rate, through invitations: like invitations, within REPORT_SECONDS.
    "stakeholder", "stakeholder_service_area",
})
# Tables whose rows belong to one wave: a change moves only that wave's generation.
WAVE_TABLES = frozenset({"response", "answer"})


def _touched(session: Session) -> tuple[set[int], bool]:
    """The waves a flush changes, and whether it changes something reports read outside any wave."""
    waves: set[int] = set()
    everything = False
    # A dirty object whose columns are unchanged (a wave appended to its campaign's list) changed nothing.
    dirty = [obj for obj in session.dirty if session.is_modified(obj, include_collections=False)]
    for obj in (*session.new, *dirty, *session.deleted):
        table = inspect(obj).mapper.local_table.name
        if table in UNREPORTED_TABLES:
            continue
        if table in WAVE_TABLES and getattr(obj, "wave_id", None) is not None:
            waves.add(obj.wave_id)
        elif table == "wave" and obj.id is not None:
            waves.add(obj.id)
        else:
            everything = True
    return waves, everything


def _note_flush(session: Session, _context) -> None:
    waves, everything = _touched(session)
    if waves or everything:
        pending = session.info.setdefault("vp_report_changes", [set(), False])
        pending[0] |= waves
        pending[1] = pending[1] or everything
        _move(waves, everything)  # the session that wrote reads its own change before it commits


def _note_bulk_write(state) -> None:
    if state.is_select:
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table in UNREPORTED_TABLES:
        return
    waves = _inserted_waves(state) if table in WAVE_TABLES and state.is_insert else None
    pending = state.session.info.setdefault("vp_report_changes", [set(), False])
    if waves:
        pending[0] |= waves
    else:
        pending[1] = True
    _move(waves or set(), not waves)


def _inserted_waves(state) -> set[int] | None:
    """The waves of rows inserted in bulk (`session.execute(insert(Answer), rows)`), when every row says."""
    rows = state.parameters
    rows = [rows] if isinstance(rows, dict) else rows
    if not rows or not all(isinstance(row, dict) and row.get("wave_id") is not None for row in rows):
        return None
    return {row["wave_id"] for row in rows}


def _after_commit(session: Session) -> None:
    # Moved again after the commit: a request that computed between flush and commit in another thread
    # read the old rows under the new counter.
    pending = session.info.pop("vp_report_changes", None)
    if pending:
        _move(*pending)


def _after_rollback(session: Session) -> None:
    session.info.pop("vp_report_changes", None)


def _move(waves: set[int], everything: bool) -> None:
    if everything:
        GENERATIONS.bump_all()
    if waves:
        GENERATIONS.bump(sorted(waves))


def register_cache_invalidation(app: Flask) -> None:
    """Wire the caches to the app: Redis when `CACHE_REDIS_URL` is set, and edit generations moved by
    every flush and commit of this process's sessions. Registered once, by `create_app`."""
    REDIS.configure(app.config.get("CACHE_REDIS_URL"), app.config["SECRET_KEY"])
    if not event.contains(Session, "after_flush", _note_flush):
        event.listen(Session, "after_flush", _note_flush)
        event.listen(Session, "do_orm_execute", _note_bulk_write)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_rollback", _after_rollback)
