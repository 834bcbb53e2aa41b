"""The reports' cache keys: results kept in `app.caching.REPORTS` under keys that carry the data version
of the waves they read, so one wave's new responses leave every other wave's entries in place. Whole
reports carry the version of their range; the parts they are built from (`cached_by_wave`) carry each
wave's own, so while the open wave receives responses only its part is computed again."""
from __future__ import annotations

import contextlib
import threading
from contextvars import ContextVar
from collections.abc import Callable, Hashable, Iterable, Iterator, Mapping, Sequence
from typing import TypeVar

from app.caching import GENERATIONS, MISSING, REPORTS
from app.services.tallies import tally_versions

T = TypeVar("T")
_bypass = threading.local()
_page_versions: ContextVar[dict[int, int] | None] = ContextVar("page_versions", default=None)


@contextlib.contextmanager
def one_data_version() -> Iterator[None]:
    """Within the block (one page), each wave's tally version is read once and every report reuses it, so
    the page is computed from one version of the data instead of asking the database a dozen times."""
    token = _page_versions.set({})
    try:
        yield
    finally:
        _page_versions.reset(token)


def clear_cache() -> None:
    """Forget every cached report, in this process and (through the global generation) in every process
    sharing Redis."""
    GENERATIONS.bump_all()
    REPORTS.clear()


def _tally_versions(wave_ids: list[int]) -> dict[int, int]:
    """Each wave's tally version (`tallies.tally_versions`). Inside `one_data_version()` each wave's is read
    once and reused by every report of the page."""
    memo = _page_versions.get()
    wanted = [w for w in dict.fromkeys(wave_ids) if memo is None or w not in memo]
    found = tally_versions(wanted) if wanted else {}
    if memo is not None:
        memo.update(found)
    return {w: (memo[w] if memo is not None else found[w]) for w in wave_ids}


def tally_version(wave_ids: Iterable[int]) -> tuple[int]:
    """Changes whenever a response is stored in one of these waves (or their tallies change otherwise), read
    from the database, so it is the same in every process: the sum of the waves' versions, each of which
    only grows."""
    return (sum(_tally_versions(list(wave_ids)).values()),)


def data_version(wave_ids: Iterable[int]) -> tuple[int, ...]:
    """What a report of these waves depends on: the tally version (new responses, seen by every process at
    once) followed by the edit generations (global, then one per wave; `app.caching`)."""
    ids = list(wave_ids)
    return tally_version(ids) + GENERATIONS.current(ids)


def wave_versions(wave_ids: Iterable[int]) -> dict[int, tuple[int, ...]]:
    """Each wave's own data version, from one grouped query: its tally version and the edit
    generations (global, then its own). A closed wave's stays the same until one of its rows is edited."""
    ids = list(dict.fromkeys(wave_ids))
    if not ids:
        return {}
    tallies = _tally_versions(ids)
    everything, *own = GENERATIONS.current(ids)
    return {wave_id: (tallies[wave_id], everything, generation) for wave_id, generation in zip(ids, own)}


def cached_by_wave(key: Hashable, wave_ids: Sequence[int],
                   compute: Callable[[list[int]], Mapping[int, T]], *,
                   follows_responses: bool = True) -> dict[int, T | None]:
    """One value per wave, each kept under (`key`, the wave, that wave's own version): `compute(waves)` is
    called once, for the waves not kept, and returns their values (a wave it leaves out gets None). The
    open wave's value is computed again after each response; a closed wave's is read back.

    A value that no response changes (`follows_responses=False`: invitations delivered, say) is keyed by
    the edit generations alone, so it is kept while the wave takes responses, and like every value kept
    for at most `REPORT_SECONDS`: what the dispatcher sends shows within that time, as the README says."""
    if follows_responses:
        versions = wave_versions(wave_ids)
    else:
        ids = list(dict.fromkeys(wave_ids))
        everything, *own = GENERATIONS.current(ids)
        versions = {wave_id: ("edits", everything, generation) for wave_id, generation in zip(ids, own)}
    private = getattr(_bypass, "store", None)
    found: dict[int, T | None] = {}
    missing: list[int] = []
    for wave_id, version in versions.items():
        entry = ("by-wave", key, wave_id, version)
        value = private.get(entry, MISSING) if private is not None else REPORTS.get(entry)
        if value is MISSING:
            missing.append(wave_id)
        else:
            found[wave_id] = value
    if missing:
        computed = compute(missing)
        for wave_id in missing:
            found[wave_id] = value = computed.get(wave_id)
            entry = ("by-wave", key, wave_id, versions[wave_id])
            if private is not None:
                private[entry] = value
            else:
                REPORTS.put(entry, value)
    return found


def cached(key: tuple, compute: Callable[[], T]) -> T:
    """`compute()` once per key while `app.caching.REPORTS` keeps it. Keys carry the data version, so new
    responses show at once in every process; edits show at once where the generations are shared (Redis)
    and in the process that made them, and within `REPORT_SECONDS` elsewhere. Inside `fresh_reports()`
    only what was computed inside it is reused."""
    private = getattr(_bypass, "store", None)
    if private is not None:
        if key not in private:
            private[key] = compute()
        return private[key]
    return REPORTS.get_or_compute(key, compute)


@contextlib.contextmanager
def fresh_reports() -> Iterator[None]:
    """Compute every report afresh in this thread, reading no shared cached one (each is computed once
    within the block, then forgotten): for work kept longer than a cache entry lives (the review pack a
    worker builds and stores)."""
    previous = getattr(_bypass, "store", None)
    _bypass.store = {}
    try:
        yield
    finally:
        _bypass.store = previous
