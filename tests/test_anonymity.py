"""Anonymous mode, attacked as an admin holding the whole database would: system columns, storage order,
ids and times; the raw database file, its WAL and PostgreSQL's pages; and drafts that only their link opens.

Every test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL. Responses are recognised by
the test alone: person n reports n / 2 hours lost, which nothing in the attacks below reads.
"""
from __future__ import annotations

import logging
import math
import secrets
import threading
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from app.extensions import db as _db
from app.models import Answer, Invitation, PooledResponse, Question, Response, ResponseDraft, ScoreTally
from app.services import anonymous_pool, sentiment
from tests.factories import extract_csrf, login, make_user
from tests.respond_support import Crowd, answers, make_crowd

K = 5  # the campaigns' minimum group size
DEPARTMENTS = ("Finance", "Sales")
ANSWERS = 11  # what `Respondents.submit` answers: 13 questions but the two comments


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def on_postgres(db) -> bool:
    return db.engine.dialect.name == "postgresql"


def chance_bound(n: int) -> float:
    """Pairing n responses with n people at random within batches of K is right about n / K times (the
    count is close to Poisson, so its standard deviation is about sqrt(n / K)). Chance alone goes five
    standard deviations over about once in 100,000 runs; an order kept from submission to storage goes
    far past it (n right of n)."""
    return n / K + 5 * math.sqrt(n / K)


class Respondents:
    """People answering their links from one browser session: the CSRF token of the first page serves
    every POST, as it would for one person answering several surveys."""

    def __init__(self, client, crowd: Crowd) -> None:
        self.client, self.crowd = client, crowd
        page = client.get(f"/s/{crowd.tokens[0]}")
        assert page.status_code == 200
        self.csrf = extract_csrf(page.get_data(as_text=True))

    def submit(self, n: int, **overrides) -> int:
        overrides.setdefault("comment", None)  # no comment unless asked: scoring them is the slow part
        overrides.setdefault("rel__relationship_comment", None)
        data = {**answers(self.crowd.area, time_lost=str(n / 2), **overrides), "csrf_token": self.csrf}
        return self.client.post(f"/s/{self.crowd.tokens[n]}", data=data).status_code

    def save_draft(self, n: int, comment: str) -> int:
        data = {f"area{self.crowd.area.id}__comment": comment, "action": "save", "csrf_token": self.csrf}
        return self.client.post(f"/s/{self.crowd.tokens[n]}", data=data).status_code


def submitter_of(db) -> dict[uuid.UUID, int]:
    """The test's own key: response id -> the person who sent it (from the hours they reported)."""
    rows = db.session.execute(select(Answer.response_id, Answer.hours).join(Question, Question.id == Answer.question_id)
                              .where(Question.code == "time_lost")).all()
    return {response_id: round(hours * 2) for response_id, hours in rows}


def _ids(db, sql: str) -> list[uuid.UUID]:
    return [uuid.UUID(str(value).replace("-", "")) for (value,) in db.session.execute(text(sql))]


def storage_orders(db) -> dict[str, list[uuid.UUID]]:
    """Every order an attacker can read the stored responses in."""
    orders = {
        "response id": "SELECT id FROM response ORDER BY id",
        "first answer id": "SELECT response_id FROM answer GROUP BY response_id ORDER BY min(id)",
    }
    if on_postgres(db):
        orders |= {
            "ctid": "SELECT id FROM response ORDER BY ctid",
            "xmin, then ctid": "SELECT id FROM response ORDER BY xmin::text::bigint, ctid",
            "first answer ctid": "SELECT response_id FROM answer GROUP BY response_id ORDER BY min(ctid)",
        }
    else:
        orders |= {"rowid": "SELECT id FROM response ORDER BY rowid"}
    return {name: _ids(db, sql) for name, sql in orders.items()}


def lined_up(order: list[uuid.UUID], submitter: dict[uuid.UUID, int], people: list[int]) -> int:
    """How many responses come out right when the i-th stored one is paired with the i-th person to answer."""
    return sum(1 for stored, person in zip(order, people) if submitter[stored] == person)


def submit_everyone(client, crowd: Crowd) -> None:
    respondents = Respondents(client, crowd)
    for n in range(len(crowd.tokens)):
        assert respondents.submit(n) == 303


# --- storage order, system columns, ids and times -----------------------------------------------------


def test_storage_order_lines_up_responses_with_people_no_better_than_chance(client, survey, db):
    n = 200
    crowd = make_crowd(survey, n, min_group_size=K, departments=DEPARTMENTS)
    submit_everyone(client, crowd)
    assert count(db, Response) == n and count(db, PooledResponse) == 0  # 100 per department: whole batches

    submitter = submitter_of(db)
    people = list(range(n))  # the order people answered in, which an attacker reads from logs or xmin
    for name, order in storage_orders(db).items():
        assert sorted(submitter[r] for r in order) == people, name
        assert lined_up(order, submitter, people) <= chance_bound(n), name
        for department in DEPARTMENTS:  # batches are written per department: attack one at a time
            mine = [p for p in people if DEPARTMENTS[p % 2] == department]
            stored = [r for r in order if DEPARTMENTS[submitter[r] % 2] == department]
            assert lined_up(stored, submitter, mine) <= chance_bound(len(mine)), (name, department)


def test_the_same_attack_lines_up_everyone_when_batches_are_not_shuffled(client, survey, db, monkeypatch):
    """The control for the test above: it would fail if the shuffle were removed."""
    monkeypatch.setattr(anonymous_pool._shuffler, "shuffle", lambda batch: None)
    n = 40
    crowd = make_crowd(survey, n, min_group_size=K)
    submit_everyone(client, crowd)
    submitter = submitter_of(db)
    for name, order in storage_orders(db).items():
        if name != "response id":  # random UUIDs keep no order, shuffled or not
            assert lined_up(order, submitter, list(range(n))) >= 0.9 * n, name


def test_no_join_on_system_columns_ids_or_times_narrows_a_response_below_k(client, survey, db):
    n = 60
    crowd = make_crowd(survey, n, min_group_size=K, departments=DEPARTMENTS)
    submit_everyone(client, crowd)
    submitter = submitter_of(db)
    person_of_invitation = {invitation.id: n for n, invitation in enumerate(crowd.invitations)}

    # Times: a response keeps the day of its batch, an invitation the day it was answered. Joined with the
    # department, each response still has every person of its department that day as a candidate.
    candidates = db.session.execute(text(
        "SELECT r.id, count(i.id) FROM response r "
        "JOIN invitation i ON i.responded_at = r.submitted_at "
        "JOIN stakeholder s ON s.id = i.stakeholder_id AND s.department = r.department GROUP BY r.id")).all()
    assert len(candidates) == n and min(c for _, c in candidates) == n // len(DEPARTMENTS)

    # Ids: no response keeps its invitation's (response ids and answer ids are attacked as orders above).
    assert db.session.scalar(text("SELECT count(*) FROM response WHERE invitation_id IS NOT NULL")) == 0

    if not on_postgres(db):
        return
    # xmin: the transaction that claimed an invitation wrote no response, answer or tally.
    for table in ("response", "answer", "score_tally"):
        assert db.session.scalar(text(f"SELECT count(*) FROM {table} t JOIN invitation i ON i.xmin = t.xmin")) == 0
    # ... yet the invitations' xmin gives the order people answered in, exactly: the attacker has it.
    answered = db.session.execute(text("SELECT i.id, s.department, i.xmin::text::bigint FROM invitation i "
                                       "JOIN stakeholder s ON s.id = i.stakeholder_id "
                                       "WHERE i.responded_at IS NOT NULL ORDER BY 3")).all()
    assert [person_of_invitation[i] for i, _, _ in answered] == list(range(n))
    stored = db.session.execute(text("SELECT id, department, xmin::text::bigint FROM response")).all()

    # One transaction writes a batch: its candidates are the people of its department who answered
    # since that department's previous batch. There are never fewer than K, and they are the batch.
    for department in DEPARTMENTS:
        previous = 0
        for written in sorted({x for _, d, x in stored if d == department}):
            batch = {submitter[uuid.UUID(str(r))] for r, d, x in stored if d == department and x == written}
            suspects = {person_of_invitation[i] for i, d, x in answered if d == department and previous < x < written}
            assert len(suspects) >= K and suspects == batch
            previous = written

    # The nearest earlier claim (the submission that triggered the write) is right once per batch.
    nearest_right = 0
    for response_id, department, written in stored:
        claims = [(x, i) for i, d, x in answered if d == department and x < written]
        nearest_right += person_of_invitation[max(claims)[1]] == submitter[uuid.UUID(str(response_id))]
    assert nearest_right <= chance_bound(n)


# --- what the database files hold ------------------------------------------------------------------------


class RawStorage:
    """The bytes an admin could read from the database's files: SQLite's file and WAL; PostgreSQL's table
    pages (after a CHECKPOINT), their TOAST pages and the WAL written since this object was made."""

    TABLES = ("response_draft", "response_pool", "response", "answer")

    def __init__(self, db) -> None:
        self.db = db
        if on_postgres(db):
            superuser = db.session.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user"))
            if not superuser:
                pytest.skip("reading PostgreSQL's files needs a superuser (pg_read_binary_file)")
            self.first_wal = db.session.scalar(text("SELECT pg_walfile_name(pg_current_wal_lsn())"))
            db.session.commit()

    def read(self) -> bytes:
        if not on_postgres(self.db):
            path = Path(self.db.engine.url.database)
            wal = path.with_name(path.name + "-wal")
            return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
        connection = self.db.session.connection()
        connection.execute(text("CHECKPOINT"))
        chunks = []
        for table in self.TABLES:
            chunks += connection.execute(text(
                "SELECT pg_read_binary_file(pg_relation_filepath(c.oid)) FROM pg_class c WHERE c.oid IN "
                "(SELECT oid FROM pg_class WHERE relname = :t UNION SELECT reltoastrelid FROM pg_class "
                "WHERE relname = :t AND reltoastrelid <> 0)"), {"t": table}).scalars().all()
        last_wal = connection.execute(text("SELECT pg_walfile_name(pg_current_wal_lsn())")).scalar()
        chunks += connection.execute(text(
            "SELECT pg_read_binary_file('pg_wal/' || name) FROM pg_ls_waldir() "
            "WHERE name BETWEEN :first AND :last ORDER BY name"), {"first": self.first_wal, "last": last_wal}
        ).scalars().all()
        self.db.session.commit()
        return b"".join(bytes(chunk) for chunk in chunks)


def test_draft_and_pooled_text_never_reach_the_database_files_in_clear(client, survey, db):
    storage = RawStorage(db)
    crowd = make_crowd(survey, K, min_group_size=K)
    respondents = Respondents(client, crowd)
    drafted = f"Draft about the broken badge reader {secrets.token_hex(6)}"
    submitted = f"Pooled remark about the slow VPN {secrets.token_hex(6)}"

    assert respondents.save_draft(0, drafted) == 303
    assert count(db, ResponseDraft) == 1
    assert drafted.encode() not in storage.read()  # while saved

    assert respondents.submit(0, comment=submitted) == 303  # waits in the pool, with the draft gone
    assert count(db, ResponseDraft) == 0 and count(db, PooledResponse) == 1
    raw = storage.read()
    assert drafted.encode() not in raw and submitted.encode() not in raw

    for n in range(1, K):
        assert respondents.submit(n) == 303
    assert count(db, Response) == K
    raw = storage.read()
    assert submitted.encode() in raw  # the search works: written as an answer, the comment is there
    assert drafted.encode() not in raw


# --- what the dashboards see, closing waves, broken seals -----------------------------------------------


def test_a_pool_under_k_is_not_on_the_dashboard_and_at_k_it_is(app, client, survey, db):
    crowd = make_crowd(survey, K, min_group_size=K)
    respondents = Respondents(client, crowd)
    remark = f"The printer on floor seven jams daily {secrets.token_hex(4)}"
    manager = app.test_client()
    login(manager, make_user(role="manager"))
    comments_page = f"/dashboard/comments?campaign={crowd.campaign.id}"
    area_page = f"/dashboard/areas/{crowd.area.id}?campaign={crowd.campaign.id}"

    for n in range(K - 1):
        assert respondents.submit(n, comment=f"{remark} ({n})") == 303
    assert count(db, Response) == count(db, ScoreTally) == 0
    assert count(db, PooledResponse) == K - 1
    assert remark not in manager.get(comments_page).get_data(as_text=True)
    assert "Service Desk was 4.0 in 2026-Q4" not in manager.get(area_page).get_data(as_text=True)

    assert respondents.submit(K - 1, comment=f"{remark} ({K - 1})") == 303
    assert count(db, Response) == K and count(db, PooledResponse) == 0
    page = manager.get(comments_page).get_data(as_text=True)
    assert all(f"{remark} ({n})" in page for n in range(K))
    assert "Service Desk was 4.0 in 2026-Q4" in manager.get(area_page).get_data(as_text=True)


def test_the_wave_closing_writes_what_is_left_in_the_pool(app, client, survey, db):
    crowd = make_crowd(survey, K - 2, min_group_size=K)
    submit_everyone(client, crowd)
    secret_key = app.config["SECRET_KEY"]
    assert count(db, PooledResponse) == K - 2
    assert anonymous_pool.flush_due(crowd.wave.opens_at + timedelta(days=1), secret_key) == 0  # still open

    assert anonymous_pool.flush_due(crowd.wave.closes_at, secret_key) == K - 2  # its closing time has come
    assert count(db, Response) == K - 2 and count(db, PooledResponse) == 0
    assert count(db, Answer) == ANSWERS * (K - 2)


def test_a_closed_wave_is_written_whatever_its_pool_holds(app, client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    submit_everyone(client, crowd)
    crowd.wave.close()
    db.session.commit()
    assert anonymous_pool.flush_due(crowd.wave.opens_at, app.config["SECRET_KEY"]) == 1
    assert count(db, Response) == 1 and count(db, PooledResponse) == 0


def test_a_tampered_pool_row_is_left_aside_and_the_rest_is_written_whole(app, client, survey, db, caplog):
    crowd = make_crowd(survey, K + 1, min_group_size=K)
    respondents = Respondents(client, crowd)
    for n in range(K - 1):
        assert respondents.submit(n) == 303
    victim = db.session.scalars(select(PooledResponse.id)).first()
    sealed = bytearray(db.session.scalar(select(PooledResponse.sealed).where(PooledResponse.id == victim)))
    sealed[40] ^= 0xFF
    db.session.execute(update(PooledResponse).where(PooledResponse.id == victim).values(sealed=bytes(sealed)))
    db.session.commit()

    with caplog.at_level(logging.WARNING, logger="app.services.anonymous_pool"):
        assert respondents.submit(K - 1) == 303  # five wait, four of them readable: nothing is written
    assert count(db, Response) == count(db, Answer) == count(db, ScoreTally) == 0
    assert "1 pooled submission(s) cannot be unsealed" in caplog.text

    assert respondents.submit(K) == 303  # five readable: written whole, the broken one left aside
    assert count(db, Response) == K and count(db, Answer) == ANSWERS * K
    assert db.session.scalar(select(func.sum(ScoreTally.answer_count)).where(
        ScoreTally.question_code == "satisfaction")) == K
    assert db.session.scalars(select(PooledResponse.id)).all() == [victim]

    crowd.wave.close()
    db.session.commit()
    assert anonymous_pool.flush_due(crowd.wave.closes_at, app.config["SECRET_KEY"]) == 0
    assert count(db, PooledResponse) == 1 and count(db, Response) == K


def test_a_pool_row_moved_to_another_wave_does_not_open_there(app, client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    other = make_crowd(survey, 1, min_group_size=K)
    submit_everyone(client, crowd)
    db.session.execute(update(PooledResponse).values(wave_id=other.wave.id))
    db.session.commit()
    assert anonymous_pool.flush_wave(other.wave.id, minimum=1, secret_key=app.config["SECRET_KEY"]) == 0
    assert count(db, Response) == 0


def test_a_failed_write_of_the_pool_does_not_fail_the_respondent(client, survey, db, monkeypatch):
    crowd = make_crowd(survey, K, min_group_size=K)
    respondents = Respondents(client, crowd)
    for n in range(K - 1):
        assert respondents.submit(n) == 303

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(anonymous_pool, "flush_wave", broken)
    assert respondents.submit(K - 1) == 303  # the answer is safe in the pool
    assert count(db, PooledResponse) == K and count(db, Response) == 0
    db.session.expire_all()
    assert db.session.get(Invitation, crowd.invitations[K - 1].id).responded_at is not None


def test_a_tampered_draft_is_treated_as_absent_and_can_be_saved_again(client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    respondents = Respondents(client, crowd)
    url = f"/s/{crowd.tokens[0]}"
    assert respondents.save_draft(0, "First attempt") == 303
    sealed = bytearray(db.session.scalar(select(ResponseDraft.sealed)))
    sealed[-1] ^= 0x01
    db.session.execute(update(ResponseDraft).values(sealed=bytes(sealed)))
    db.session.commit()

    page = client.get(url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "First attempt" not in html and "We kept the answers you saved" not in html
    assert respondents.save_draft(0, "Second attempt") == 303
    assert "Second attempt</textarea>" in client.get(url).get_data(as_text=True)
    assert respondents.submit(0) == 303
    assert count(db, ResponseDraft) == 0 and count(db, PooledResponse) == 1


# --- exactly once ---------------------------------------------------------------------------------------


def test_a_second_anonymous_submission_is_refused_and_pools_nothing(client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    respondents = Respondents(client, crowd)
    assert respondents.submit(0) == 303
    assert respondents.submit(0, satisfaction="1", reasons=["slow_response"]) == 409
    assert count(db, PooledResponse) == 1


def test_concurrent_writes_of_one_pool_store_each_submission_once(app, client, survey, db):
    crowd = make_crowd(survey, 2 * K, min_group_size=2 * K + 1)  # nothing is written while they answer
    submit_everyone(client, crowd)
    assert count(db, PooledResponse) == 2 * K
    start, written, failures = threading.Barrier(3), [], []

    def flush() -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                written.append(anonymous_pool.flush_wave(crowd.wave.id, minimum=1,
                                                         secret_key=app.config["SECRET_KEY"]))
                _db.session.remove()
        except BaseException as error:  # surfaced below, a thread cannot fail the test by itself
            failures.append(error)

    threads = [threading.Thread(target=flush) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not failures, failures
    db.session.expire_all()
    assert sum(written) == 2 * K
    assert count(db, Response) == 2 * K and count(db, PooledResponse) == 0
    assert sorted(submitter_of(db).values()) == list(range(2 * K))


# --- what is written ---------------------------------------------------------------------------------------


def test_a_written_anonymous_response_holds_exactly_what_was_submitted(app, client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    respondents = Respondents(client, crowd)
    assert respondents.submit(0, comment="The service desk was fast and very helpful.",
                              rel__relationship_comment="Slow to respond to change requests, which is frustrating.",
                              reasons=["fast_response", "friendly_staff"]) == 303
    assert anonymous_pool.flush_wave(crowd.wave.id, minimum=1, secret_key=app.config["SECRET_KEY"]) == 1

    stored = db.session.scalar(select(Response))
    assert stored.invitation_id is None and stored.department == "Finance" and stored.location is None
    by_code = {a.question.code: a for a in stored.answers}
    assert len(by_code) == 13
    assert by_code["satisfaction"].score == 4 and by_code["recommend"].score == 9
    assert by_code["time_lost"].hours == 0.0
    assert by_code["reasons"].reasons == ["fast_response", "friendly_staff"]
    comment = by_code["comment"]
    assert comment.text == "The service desk was fast and very helpful."
    assert comment.sentiment_label == "positive" and comment.analyzer_version == sentiment.ANALYZER_VERSION
    assert comment.sentiment_drivers and comment.shareable is False and comment.label_override is None
    assert by_code["relationship_comment"].sentiment_label == "negative"
    tally = db.session.scalar(select(ScoreTally).where(ScoreTally.question_code == "satisfaction"))
    assert (tally.wave_id, tally.area_key, tally.department, tally.score, tally.answer_count) == (
        crowd.wave.id, crowd.area.id, "Finance", 4, 1)
    assert count(db, ScoreTally) == 9


def test_the_thank_you_page_says_results_wait_for_enough_answers(client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    respondents = Respondents(client, crowd)
    assert respondents.submit(0) == 303
    html = client.get(f"/s/{crowd.tokens[0]}/thanks").get_data(as_text=True)
    assert "Your answers appear in the results once at least 5 people have answered." in html
    assert "cannot be traced" not in html
