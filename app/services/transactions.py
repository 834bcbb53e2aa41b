"""The one rule for transactions: a service entry point is a unit of work.

A service function that a view or a command calls to change data is decorated with `unit_of_work`: it
commits what it did when it returns and rolls everything back when it raises (a domain error included),
so a refused request leaves no half-written rows. Views and commands never commit or roll back. The
steps such entry points are built from (`campaigns.invite_audience`, `campaigns.schedule_waves`,
`catalog.load_definition`...) only flush.

Three kinds of work manage their transactions themselves, on purpose, and say so: the dispatcher's
passes and the anonymous pool, which commit in small batches to hold row locks briefly; a survey
submission, whose conditional claim must commit before its pool is written; and re-scoring, which
commits chunk by chunk so a long run can stop and resume. Rolling back a broken session at an error
boundary (the error handlers, the health check, the dispatcher's serve loop) is recovery, not a rule
breach.
"""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import ParamSpec, TypeVar

from app.extensions import db

P = ParamSpec("P")
_DEPTH = "vendorpulse.unit_of_work_depth"
R = TypeVar("R")


def unit_of_work(service: Callable[P, R]) -> Callable[P, R]:
    """Commit when `service` returns, roll back when it raises. A unit of work called from inside another
    (`create_first_admin` creating a user) joins it: only the outermost one commits or rolls back."""

    @wraps(service)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        info = db.session.info
        depth = info.get(_DEPTH, 0)
        info[_DEPTH] = depth + 1
        try:
            result = service(*args, **kwargs)
        except BaseException:
            if depth == 0:
                db.session.rollback()
            raise
        else:
            if depth == 0:
                db.session.commit()
            return result
        finally:
            info[_DEPTH] = depth

    return run
