"""Two tabs submit the same survey at the same moment: the database keeps exactly one response (anonymous
mode: exactly one submission's parts in the pool, and nothing else until the pool is written)."""
from __future__ import annotations

import threading

import pytest
from sqlalchemy import func, select

from app.models import Answer, Invitation, PooledResponse, Response, ScoreTally
from app.services import anonymous_pool, responses
from tests.factories import extract_csrf
from tests.respond_support import answers, make_survey


def _prepared_clients(app, survey, n: int) -> list[tuple[object, str]]:
    prepared = []
    for _ in range(n):
        client = app.test_client()
        with app.app_context():  # a fresh `g`, or Flask-WTF would hand every client the first one's token
            token = extract_csrf(client.get(survey.url).get_data(as_text=True))
        prepared.append((client, token))
    return prepared


def _post_together(survey, prepared, start: threading.Barrier) -> list[int]:
    statuses: list[int] = [0] * len(prepared)
    failures: list[BaseException] = []
    url, data = survey.url, answers(survey.used)  # read here: model attributes need this thread's session

    def post(index: int, client, token: str) -> None:
        try:
            start.wait(timeout=10)
            result = client.post(url, data={**data, "csrf_token": token})
            statuses[index] = result.status_code
        except BaseException as error:  # surfaced below, a thread cannot fail the test by itself
            failures.append(error)

    threads = [threading.Thread(target=post, args=(i, c, t)) for i, (c, t) in enumerate(prepared)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    return statuses


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _assert_one_response(app, db, survey) -> None:
    db.session.expire_all()
    parts = 2 if survey.campaign.anonymous else 1  # anonymous: one part about the area, one provider-wide
    if survey.campaign.anonymous:  # one submission's sealed parts wait in the pool, and nothing else was written
        assert _count(db, PooledResponse) == parts
        assert _count(db, Response) == _count(db, Answer) == _count(db, ScoreTally) == 0
        assert anonymous_pool.flush_wave(survey.wave.id, minimum=1, secret_key=app.config["SECRET_KEY"],
                                         wave_closed=True) == parts
    assert _count(db, Response) == parts
    assert _count(db, Answer) == 13
    satisfaction = db.session.scalar(select(ScoreTally.answer_count).where(ScoreTally.question_code == "satisfaction"))
    assert satisfaction == 1  # the loser's tallies rolled back with it
    assert db.session.get(Invitation, survey.invitation.id).responded_at is not None


@pytest.mark.parametrize("anonymity", ["confidential", "anonymous"])
def test_two_posts_that_both_pass_the_checks_store_one_response(app, db, survey, monkeypatch, anonymity):
    """Both requests are held until each has validated its answers, so both reach the conditional UPDATE."""
    s = make_survey(survey, anonymity=anonymity)
    prepared = _prepared_clients(app, s, 2)
    validated = threading.Barrier(2, timeout=10)
    real_parse = responses.parse_submission

    def parse_then_wait(layout, form_data):
        cleaned = real_parse(layout, form_data)
        validated.wait()
        return cleaned

    monkeypatch.setattr(responses, "parse_submission", parse_then_wait)
    statuses = _post_together(s, prepared, threading.Barrier(2))
    assert sorted(statuses) == [303, 409]
    _assert_one_response(app, db, s)


def test_many_simultaneous_posts_store_one_response(app, db, survey):
    s = make_survey(survey, anonymity="anonymous")  # no unique key on invitation_id to fall back on
    prepared = _prepared_clients(app, s, 4)
    statuses = _post_together(s, prepared, threading.Barrier(4))
    assert sorted(statuses) == [303, 409, 409, 409]
    _assert_one_response(app, db, s)
