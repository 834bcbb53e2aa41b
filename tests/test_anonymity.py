"""Anonymous mode, attacked as an admin holding the whole database would: system columns, storage order,
ids and times; the stakeholder table (departments, areas used) and the invitations (who answered, which
day) as side knowledge; the raw database file, its WAL and PostgreSQL's pages; drafts only their link opens.

A submission is stored as parts, one response per area answered and one for the provider-wide questions.
Every test runs on SQLite and, when TEST_DATABASE_URL is set, on PostgreSQL. Parts are recognised by the
test alone: person n reports n / 2 hours lost about each area and signs the provider-wide comment
"Respondent n", which nothing in the attacks below reads.
"""
from __future__ import annotations

import logging
import math
import secrets
import threading
import uuid
from collections import Counter, defaultdict
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, text, update

from app.extensions import db as _db
from app.models import Answer, Invitation, PooledResponse, Question, Response, ResponseDraft, ScoreTally
from app.services import anonymous_pool, comment_scores
from app.services.sealing import pool_key, unseal
from tests.factories import extract_csrf, login, make_user
from tests.respond_support import Crowd, answers, make_crowd

K = 5  # the campaigns' minimum group size
DEPARTMENTS = ("Finance", "Sales")
AREA_ANSWERS = 8  # what `Respondents.submit` answers about an area: its 9 questions but the comment
RELATIONSHIP_ANSWERS = 4  # the three provider-wide ratings and the signed comment
RELATIONSHIP = anonymous_pool.RELATIONSHIP


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def on_postgres(db) -> bool:
    return db.engine.dialect.name == "postgresql"


def chance_bound(n: int) -> float:
    """Pairing n parts with n people at random within batches of K is right about n / K times (the count
    is close to Poisson, so its standard deviation is about sqrt(n / K)). Chance alone goes five standard
    deviations over about once in 100,000 runs; an order kept from submission to storage goes far past
    it (n right of n)."""
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
        """Person n answers about every area they use; overrides apply to each area."""
        overrides.setdefault("comment", None)  # no area comment unless asked
        overrides.setdefault("rel__relationship_comment", f"Respondent {n}")
        data = {"csrf_token": self.csrf}
        for area in self.crowd.uses[n]:
            data |= answers(area, time_lost=str(n / 2), **overrides)
        return self.client.post(f"/s/{self.crowd.tokens[n]}", data=data).status_code

    def save_draft(self, n: int, comment: str) -> int:
        data = {f"area{self.crowd.area.id}__comment": comment, "action": "save", "csrf_token": self.csrf}
        return self.client.post(f"/s/{self.crowd.tokens[n]}", data=data).status_code


def submitter_of(db) -> dict[uuid.UUID, int]:
    """The test's own key: stored part -> the person who sent it (the hours they reported, their signature)."""
    rows = db.session.execute(select(Answer.response_id, Question.code, Answer.hours, Answer.text)
                              .join(Question, Question.id == Answer.question_id)
                              .where(Question.code.in_(("time_lost", "relationship_comment")))).all()
    return {response_id: round(hours * 2) if code == "time_lost" else int(comment.removeprefix("Respondent "))
            for response_id, code, hours, comment in rows if code == "time_lost" or comment.startswith("Respondent ")}


def areas_of(db) -> dict[uuid.UUID, set[int]]:
    """Stored response -> the area keys its answers are about (RELATIONSHIP for provider-wide questions)."""
    found: defaultdict[uuid.UUID, set[int]] = defaultdict(set)
    for response_id, area_id in db.session.execute(select(Answer.response_id, Answer.service_area_id).distinct()):
        found[response_id].add(area_id or RELATIONSHIP)
    return dict(found)


def area_of(db) -> dict[uuid.UUID, int]:
    found = areas_of(db)
    assert all(len(keys) == 1 for keys in found.values()), "a stored response holds answers about two areas"
    return {response_id: keys.pop() for response_id, keys in found.items()}


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
    """How many parts come out right when the i-th stored one is paired with the i-th person to answer."""
    return sum(1 for stored, person in zip(order, people) if submitter[stored] == person)


def submit_everyone(client, crowd: Crowd) -> None:
    respondents = Respondents(client, crowd)
    for n in range(len(crowd.tokens)):
        assert respondents.submit(n) == 303


def write_after_closing(app, crowd: Crowd) -> int:
    """What the dispatcher pass does once the wave's closing time has come."""
    return anonymous_pool.flush_due(crowd.wave.closes_at, app.config["SECRET_KEY"])


def parts_of(crowd: Crowd, people) -> int:
    return sum(len(crowd.uses[n]) + 1 for n in people)


# --- what one stored response can be narrowed to -------------------------------------------------------


# A wave as in a real organisation: departments of 14, 9, 6 and 2 people, three areas used in four
# different combinations, and people answering in no particular order.
WAVE_DEPARTMENTS = ["Finance"] * 14 + ["Sales"] * 9 + ["IT"] * 6 + ["Legal"] * 2
AREA_SETS = [(0,), (0, 1), (1, 2), (0, 1, 2)]


def realistic_wave(survey) -> Crowd:
    order = secrets.SystemRandom().sample(range(len(WAVE_DEPARTMENTS)), len(WAVE_DEPARTMENTS))
    return make_crowd(survey, len(WAVE_DEPARTMENTS), min_group_size=K, area_count=3,
                      departments=[WAVE_DEPARTMENTS[i] for i in order], uses=lambda n: AREA_SETS[order[n] % 4])


def test_every_stored_part_has_at_least_k_candidates_given_who_answered_and_what_they_use(app, client, survey, db):
    crowd = realistic_wave(survey)
    submit_everyone(client, crowd)
    write_after_closing(app, crowd)
    people = range(len(crowd.tokens))
    assert count(db, PooledResponse) == 0 and count(db, Response) == parts_of(crowd, people)

    # The attacker's side knowledge: who answered in the wave (invitations), their department and the
    # areas they use (stakeholder table). Every area is used by at least K of them.
    db.session.expire_all()
    answered = {n for n, invitation in enumerate(crowd.invitations)
                if db.session.get(Invitation, invitation.id).responded_at is not None}
    assert answered == set(people)
    users: Counter[tuple[str, int]] = Counter()
    for n in answered:
        for key in [RELATIONSHIP] + [area.id for area in crowd.uses[n]]:
            users[(crowd.departments[n], key)] += 1
    stored_area = area_of(db)  # also: no stored response holds answers about two areas
    stored = db.session.execute(select(Response.id, Response.department)).all()
    named = Counter((department, stored_area[response_id]) for response_id, department in stored if department)

    for response_id, department in stored:
        key = stored_area[response_id]
        # Candidates: people who answered, are in the stored department (any, when there is none) and use the area.
        candidates = sum(n for (d, a), n in users.items() if a == key and department in (None, d))
        assert candidates >= K, (department, key)
        if department is None:
            # Sharper: departments whose parts about the area are all stored under their name are ruled out.
            unaccounted = sum(n for (d, a), n in users.items() if a == key and n > named[(d, key)])
            assert unaccounted >= K, key

    # The stored rows themselves are k-anonymous on (department, area); Legal (2 people) is never named.
    combinations = Counter((department, stored_area[response_id]) for response_id, department in stored)
    assert min(combinations.values()) >= K
    assert "Legal" not in {department for _, department in stored}
    submitter = submitter_of(db)
    assert all(department is None for response_id, department in stored
               if crowd.departments[submitter[response_id]] == "Legal")


def test_every_answer_and_tally_is_written_under_the_department_stored(app, client, survey, db):
    crowd = realistic_wave(survey)
    submit_everyone(client, crowd)
    write_after_closing(app, crowd)

    expected = sum(AREA_ANSWERS * len(crowd.uses[n]) + RELATIONSHIP_ANSWERS for n in range(len(crowd.tokens)))
    assert count(db, Answer) == expected
    stored_area = area_of(db)
    parts = Counter((department or "", stored_area[response_id])
                    for response_id, department in db.session.execute(select(Response.id, Response.department)))
    for code, keys in (("satisfaction", [a.id for a in crowd.areas]), ("partnership", [RELATIONSHIP])):
        tallies = Counter()
        for d, a, n in db.session.execute(select(ScoreTally.department, ScoreTally.area_key, ScoreTally.answer_count)
                                          .where(ScoreTally.question_code == code)):
            tallies[(d, a)] += n
        assert tallies == Counter({(d, a): n for (d, a), n in parts.items() if a in keys})
    for area in crowd.areas:
        users = sum(area in uses for uses in crowd.uses)
        assert db.session.scalar(select(func.sum(ScoreTally.answer_count)).where(
            ScoreTally.question_code == "satisfaction", ScoreTally.area_key == area.id)) == users


# --- k always wait ----------------------------------------------------------------------------------------


def test_a_segment_is_written_at_2k_leaving_k_waiting_and_the_rest_when_the_wave_closes(app, client, survey, db):
    crowd = make_crowd(survey, 2 * K, min_group_size=K)  # one department, one area: two segments
    respondents = Respondents(client, crowd)
    for n in range(2 * K - 1):
        assert respondents.submit(n) == 303
    assert count(db, Response) == count(db, Answer) == count(db, ScoreTally) == 0
    assert count(db, PooledResponse) == 2 * (2 * K - 1)

    assert respondents.submit(2 * K - 1) == 303
    assert count(db, Response) == 2 * K and count(db, PooledResponse) == 2 * K  # K of each written, K wait
    written = submitter_of(db)
    assert Counter(area_of(db).values()) == {crowd.area.id: K, RELATIONSHIP: K}
    secret_key = app.config["SECRET_KEY"]
    assert anonymous_pool.flush_due(crowd.wave.opens_at + timedelta(days=1), secret_key) == 0  # still open

    assert anonymous_pool.flush_due(crowd.wave.closes_at, secret_key) == 2 * K
    assert count(db, Response) == 4 * K and count(db, PooledResponse) == 0
    assert {response.department for response in db.session.scalars(select(Response))} == {"Finance"}
    everyone = submitter_of(db)
    assert sorted(everyone.values()) == sorted(list(range(2 * K)) * 2)
    assert set(written) < set(everyone)


def test_which_k_stay_behind_is_drawn_at_random():
    """Whoever waited longest, or answered last, is no likelier than the others to be written: over many
    draws from 2K waiting parts, every one of them is written in some and kept back in others."""
    segment = anonymous_pool.Segment("Finance", None, 7)
    waiting = {uuid.uuid4(): segment for _ in range(2 * K)}
    kept_back: Counter[uuid.UUID] = Counter()
    for _ in range(200):
        due = anonymous_pool._due(waiting, K, wave_closed=False)
        assert len(due) == K and not any(due.values())  # K written, under their department
        kept_back.update(set(waiting) - set(due))
    assert set(kept_back) == set(waiting) and max(kept_back.values()) < 200


def test_a_department_of_two_is_written_without_its_department(app, client, survey, db):
    departments = ["Finance"] * 2 * K + ["Tiny"] * 2
    crowd = make_crowd(survey, len(departments), min_group_size=K, departments=departments)
    submit_everyone(client, crowd)
    assert count(db, Response) == 2 * K  # Finance's 2K: K of each of its segments
    write_after_closing(app, crowd)
    assert count(db, PooledResponse) == 0 and count(db, Response) == 2 * len(departments)

    stored = {r.id: r.department for r in db.session.scalars(select(Response))}
    submitter = submitter_of(db)
    assert "Tiny" not in stored.values()
    assert all(stored[r] is None for r, n in submitter.items() if departments[n] == "Tiny")
    # Tiny's 2 alone would form a group of 2 everyone could attribute to Tiny (all of Finance's parts
    # being accounted for under its name): Finance's last K join them without a name too.
    area = area_of(db)
    by_group = Counter((department, area[r]) for r, department in stored.items())
    assert by_group == {("Finance", crowd.area.id): K, ("Finance", RELATIONSHIP): K,
                        (None, crowd.area.id): K + 2, (None, RELATIONSHIP): K + 2}
    tallies = dict(db.session.execute(select(ScoreTally.department, ScoreTally.answer_count)
                                      .where(ScoreTally.question_code == "satisfaction")).all())
    assert tallies == {"Finance": K, "": K + 2}


def test_the_wave_closing_writes_what_is_left_even_under_k(app, client, survey, db):
    crowd = make_crowd(survey, K - 2, min_group_size=K)
    submit_everyone(client, crowd)
    secret_key = app.config["SECRET_KEY"]
    assert count(db, PooledResponse) == 2 * (K - 2)
    assert anonymous_pool.flush_due(crowd.wave.opens_at + timedelta(days=1), secret_key) == 0  # still open

    # Fewer than K answered at all: nothing may be lost, so they are written, without a department.
    assert anonymous_pool.flush_due(crowd.wave.closes_at, secret_key) == 2 * (K - 2)
    assert count(db, Response) == 2 * (K - 2) and count(db, PooledResponse) == 0
    assert count(db, Answer) == (AREA_ANSWERS + RELATIONSHIP_ANSWERS) * (K - 2)
    assert {response.department for response in db.session.scalars(select(Response))} == {None}


def test_a_closed_wave_is_written_whatever_its_pool_holds(app, client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    submit_everyone(client, crowd)
    crowd.wave.close()
    db.session.commit()
    assert anonymous_pool.flush_due(crowd.wave.opens_at, app.config["SECRET_KEY"]) == 2
    assert count(db, Response) == 2 and count(db, PooledResponse) == 0


# --- storage order, system columns, ids and times -----------------------------------------------------


def test_storage_order_lines_up_parts_with_people_no_better_than_chance(app, client, survey, db):
    n = 200
    crowd = make_crowd(survey, n, min_group_size=K, departments=DEPARTMENTS)
    submit_everyone(client, crowd)
    assert count(db, PooledResponse) == 2 * len(DEPARTMENTS) * K  # K of each segment wait for the close
    write_after_closing(app, crowd)
    assert count(db, Response) == 2 * n and count(db, PooledResponse) == 0

    submitter, area = submitter_of(db), area_of(db)
    people = list(range(n))  # the order people answered in, which an attacker reads from logs or xmin
    for name, order in storage_orders(db).items():
        for key in (crowd.area.id, RELATIONSHIP):  # parts of one kind at a time
            stored = [r for r in order if area[r] == key]
            assert sorted(submitter[r] for r in stored) == people, name
            assert lined_up(stored, submitter, people) <= chance_bound(n), (name, key)
            for department in DEPARTMENTS:  # batches are written per department: attack one at a time
                mine = [p for p in people if crowd.departments[p] == department]
                theirs = [r for r in stored if crowd.departments[submitter[r]] == department]
                assert lined_up(theirs, submitter, mine) <= chance_bound(len(mine)), (name, key, department)


class InOrder:
    """Stands in for the pool's randomness and keeps every order: nothing shuffled, the oldest written first."""

    def shuffle(self, items: list) -> None:
        pass

    def sample(self, items: list, n: int) -> list:
        return list(items)[:n]


def test_the_same_attack_lines_up_everyone_when_nothing_is_shuffled(app, client, survey, db, monkeypatch):
    """The control for the test above: it would fail if the shuffles and the random draw were removed."""
    monkeypatch.setattr(anonymous_pool, "_shuffler", InOrder())
    n = 40
    crowd = make_crowd(survey, n, min_group_size=K)
    submit_everyone(client, crowd)
    write_after_closing(app, crowd)
    submitter, area = submitter_of(db), area_of(db)
    orders = {name: order for name, order in storage_orders(db).items()
              if name != "response id"}  # random UUIDs keep no order, shuffled or not
    for key in (crowd.area.id, RELATIONSHIP):
        # Physical orders (ctid) may follow free space rather than insertion, so the attack needs only one
        # order that works, which the test above would then catch.
        best = max(lined_up([r for r in order if area[r] == key], submitter, list(range(n)))
                   for order in orders.values())
        assert best >= 0.9 * n, key


def test_no_join_on_system_columns_ids_or_times_narrows_a_part_below_k(app, client, survey, db):
    n = 60
    crowd = make_crowd(survey, n, min_group_size=K, departments=DEPARTMENTS)
    submit_everyone(client, crowd)
    write_after_closing(app, crowd)
    submitter, area = submitter_of(db), area_of(db)
    person_of_invitation = {invitation.id: n for n, invitation in enumerate(crowd.invitations)}

    # Times: a part keeps the day of its batch, an invitation the day it was answered. Joined with the
    # department, each part still has every person of its department that day as a candidate.
    candidates = db.session.execute(text(
        "SELECT r.id, count(i.id) FROM response r "
        "JOIN invitation i ON i.responded_at = r.submitted_at "
        "JOIN stakeholder s ON s.id = i.stakeholder_id AND s.department = r.department GROUP BY r.id")).all()
    assert len(candidates) == 2 * n and min(c for _, c in candidates) == n // len(DEPARTMENTS)

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
    stored = [(uuid.UUID(str(r)), d, x) for r, d, x in db.session.execute(
        text("SELECT id, department, xmin::text::bigint FROM response"))]
    writes = sorted({x for _, _, x in stored})
    closing = writes[-1]

    # One transaction writes a batch per segment. Someone who reads which pool rows it deleted (dead
    # tuples, the WAL) learns at best whose parts it took: never fewer than K. While the wave is open it
    # draws them from at least 2K waiting, and K stay behind.
    for department in DEPARTMENTS:
        for key in (crowd.area.id, RELATIONSHIP):
            written_before = 0
            for written in writes:
                batch = {submitter[r] for r, d, x in stored if d == department and area[r] == key and x == written}
                if not batch:
                    continue
                suspects = {person_of_invitation[i] for i, d, x in answered if d == department and x < written}
                assert len(batch) >= K and batch <= suspects
                if written != closing:
                    assert len(suspects) - written_before >= 2 * K
                    assert len(suspects) - written_before - len(batch) == K
                written_before += len(batch)

    # The nearest earlier claim (the submission that triggered the write) is in the batch about half the
    # time, and even then one of at least K.
    nearest_right = 0
    for response_id, department, written in stored:
        claims = [(x, i) for i, d, x in answered if d == department and x < written]
        nearest_right += person_of_invitation[max(claims)[1]] == submitter[response_id]
    assert nearest_right <= chance_bound(2 * n)


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


def test_draft_and_pooled_text_never_reach_the_database_files_in_clear(app, client, survey, db):
    storage = RawStorage(db)
    crowd = make_crowd(survey, 2 * K, min_group_size=K)
    respondents = Respondents(client, crowd)
    drafted = f"Draft about the broken badge reader {secrets.token_hex(6)}"
    submitted = f"Pooled remark about the slow VPN {secrets.token_hex(6)}"

    assert respondents.save_draft(0, drafted) == 303
    assert count(db, ResponseDraft) == 1
    assert drafted.encode() not in storage.read()  # while saved

    assert respondents.submit(0, comment=submitted) == 303  # waits in the pool, with the draft gone
    assert count(db, ResponseDraft) == 0 and count(db, PooledResponse) == 2
    raw = storage.read()
    assert drafted.encode() not in raw and submitted.encode() not in raw

    for n in range(1, 2 * K):
        assert respondents.submit(n) == 303
    write_after_closing(app, crowd)
    assert count(db, Response) == 4 * K
    raw = storage.read()
    assert submitted.encode() in raw  # the search works: written as an answer, the comment is there
    assert drafted.encode() not in raw


# --- what the dashboards see, closing waves, broken seals -----------------------------------------------


def test_the_dashboard_shows_nothing_before_a_segment_reaches_2k_and_k_answers_at_2k(app, client, survey, db):
    crowd = make_crowd(survey, 2 * K, min_group_size=K)
    respondents = Respondents(client, crowd)
    remark = f"The printer on floor seven jams daily {secrets.token_hex(4)}"
    manager = app.test_client()
    login(manager, make_user(role="manager"))
    comments_page = f"/dashboard/comments?campaign={crowd.campaign.id}"
    area_page = f"/dashboard/areas/{crowd.area.id}?campaign={crowd.campaign.id}"

    for n in range(2 * K - 1):
        assert respondents.submit(n, comment=f"{remark} ({n})") == 303
    assert count(db, Response) == count(db, ScoreTally) == 0
    assert remark not in manager.get(comments_page).get_data(as_text=True)
    assert "Service Desk was 4.0 in 2026-Q4" not in manager.get(area_page).get_data(as_text=True)

    assert respondents.submit(2 * K - 1, comment=f"{remark} ({2 * K - 1})") == 303
    page = manager.get(comments_page).get_data(as_text=True)
    assert sum(f"{remark} ({n})" in page for n in range(2 * K)) == K
    assert "Service Desk was 4.0 in 2026-Q4" in manager.get(area_page).get_data(as_text=True)

    write_after_closing(app, crowd)
    page = manager.get(comments_page).get_data(as_text=True)
    assert all(f"{remark} ({n})" in page for n in range(2 * K))


def _relationship_row(app, crowd: Crowd) -> uuid.UUID:
    """A waiting row holding provider-wide answers, found with the key (the test's privilege, not the attacker's)."""
    key = pool_key(app.config["SECRET_KEY"])
    for row in _db.session.execute(select(PooledResponse.id, PooledResponse.sealed)):
        part = anonymous_pool.PooledPart.from_payload(unseal(key, row.sealed, context=f"response_pool:{crowd.wave.id}"))
        if part.segment.area_key == RELATIONSHIP:
            return row.id
    raise AssertionError("no provider-wide part waits")


def test_a_tampered_pool_row_is_left_aside_and_its_segment_waits_for_2k_readable(app, client, survey, db, caplog):
    crowd = make_crowd(survey, 2 * K + 1, min_group_size=K)
    respondents = Respondents(client, crowd)
    for n in range(2 * K - 1):
        assert respondents.submit(n) == 303
    victim = _relationship_row(app, crowd)
    sealed = bytearray(db.session.scalar(select(PooledResponse.sealed).where(PooledResponse.id == victim)))
    sealed[40] ^= 0xFF
    db.session.execute(update(PooledResponse).where(PooledResponse.id == victim).values(sealed=bytes(sealed)))
    db.session.commit()

    with caplog.at_level(logging.WARNING, logger="app.services.anonymous_pool"):
        assert respondents.submit(2 * K - 1) == 303  # 2K area parts wait, but only 2K - 1 readable provider-wide
    assert "1 pooled part(s) cannot be unsealed" in caplog.text
    assert Counter(area_of(db).values()) == {crowd.area.id: K}

    assert respondents.submit(2 * K) == 303  # now 2K readable provider-wide parts: K written
    assert Counter(area_of(db).values()) == {crowd.area.id: K, RELATIONSHIP: K}
    assert count(db, Answer) == K * (AREA_ANSWERS + RELATIONSHIP_ANSWERS)

    crowd.wave.close()
    db.session.commit()
    assert anonymous_pool.flush_due(crowd.wave.closes_at, app.config["SECRET_KEY"]) == (K + 1) + K
    assert db.session.scalars(select(PooledResponse.id)).all() == [victim]
    assert Counter(area_of(db).values()) == {crowd.area.id: 2 * K + 1, RELATIONSHIP: 2 * K}
    assert db.session.scalar(select(func.sum(ScoreTally.answer_count)).where(
        ScoreTally.question_code == "satisfaction")) == 2 * K + 1
    assert anonymous_pool.flush_due(crowd.wave.closes_at, app.config["SECRET_KEY"]) == 0


def test_a_pool_row_moved_to_another_wave_does_not_open_there(app, client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    other = make_crowd(survey, 1, min_group_size=K)
    submit_everyone(client, crowd)
    db.session.execute(update(PooledResponse).values(wave_id=other.wave.id))
    db.session.commit()
    assert anonymous_pool.flush_wave(other.wave.id, minimum=1, secret_key=app.config["SECRET_KEY"],
                                     wave_closed=True) == 0
    assert count(db, Response) == 0


def test_a_failed_write_of_the_pool_does_not_fail_the_respondent(client, survey, db, monkeypatch):
    crowd = make_crowd(survey, 2 * K, min_group_size=K)
    respondents = Respondents(client, crowd)
    for n in range(2 * K - 1):
        assert respondents.submit(n) == 303

    def broken(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(anonymous_pool, "flush_wave", broken)
    assert respondents.submit(2 * K - 1) == 303  # the answers are safe in the pool
    assert count(db, PooledResponse) == 4 * K and count(db, Response) == 0
    db.session.expire_all()
    assert db.session.get(Invitation, crowd.invitations[2 * K - 1].id).responded_at is not None


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
    assert count(db, ResponseDraft) == 0 and count(db, PooledResponse) == 2


# --- exactly once ---------------------------------------------------------------------------------------


def test_a_second_anonymous_submission_is_refused_and_pools_nothing(client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    respondents = Respondents(client, crowd)
    assert respondents.submit(0) == 303
    assert respondents.submit(0, satisfaction="1", reasons=["slow_response"]) == 409
    assert count(db, PooledResponse) == 2


def test_concurrent_writes_of_one_pool_store_each_part_once(app, client, survey, db):
    crowd = make_crowd(survey, 2 * K, min_group_size=2 * K + 1)  # nothing is written while they answer
    submit_everyone(client, crowd)
    assert count(db, PooledResponse) == 4 * K
    start, written, failures = threading.Barrier(3), [], []

    def flush() -> None:
        try:
            with app.app_context():
                start.wait(timeout=10)
                written.append(anonymous_pool.flush_wave(crowd.wave.id, minimum=1, wave_closed=True,
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
    assert sum(written) == 4 * K
    assert count(db, Response) == 4 * K and count(db, PooledResponse) == 0
    assert sorted(submitter_of(db).values()) == sorted(list(range(2 * K)) * 2)


# --- what is written ---------------------------------------------------------------------------------------


def test_a_written_anonymous_submission_holds_exactly_what_was_submitted_in_two_parts(app, client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    respondents = Respondents(client, crowd)
    assert respondents.submit(0, comment="The service desk was fast and very helpful.",
                              rel__relationship_comment="Slow to respond to change requests, which is frustrating.",
                              reasons=["fast_response", "friendly_staff"]) == 303
    assert write_after_closing(app, crowd) == 2

    stored = db.session.scalars(select(Response)).all()
    assert len(stored) == 2
    assert all(r.invitation_id is None and r.department is None and r.location is None for r in stored)
    about_area, = [r for r in stored if any(a.service_area_id for a in r.answers)]
    provider_wide, = [r for r in stored if r is not about_area]
    by_code = {a.question.code: a for a in about_area.answers}
    assert set(by_code) == {"satisfaction", "responsiveness", "resolution_quality", "communication", "expertise",
                            "recommend", "time_lost", "reasons", "comment"}
    assert {a.service_area_id for a in about_area.answers} == {crowd.area.id}
    assert by_code["satisfaction"].score == 4 and by_code["recommend"].score == 9
    assert by_code["time_lost"].hours == 0.0
    assert by_code["reasons"].reasons == ["fast_response", "friendly_staff"]
    comment = by_code["comment"]
    assert comment.text == "The service desk was fast and very helpful."
    assert comment.sentiment_label == "positive" and comment.analyzer_version == comment_scores.ANALYZER_VERSION
    assert comment.sentiment_drivers and comment.shareable is False and comment.label_override is None
    relationship = {a.question.code: a for a in provider_wide.answers}
    assert set(relationship) == {"partnership", "proactivity", "account_management", "relationship_comment"}
    assert all(a.service_area_id is None for a in provider_wide.answers)
    assert relationship["relationship_comment"].sentiment_label == "negative"
    # Fewer than K answered at all, so the parts carry no department, and neither do their tallies.
    tally = db.session.scalar(select(ScoreTally).where(ScoreTally.question_code == "satisfaction"))
    assert (tally.wave_id, tally.area_key, tally.department, tally.score, tally.answer_count) == (
        crowd.wave.id, crowd.area.id, "", 4, 1)
    tallies = db.session.scalars(select(ScoreTally)).all()
    assert len([t for t in tallies if not t.question_code.startswith("@")]) == 9
    # The comments are counted with their part (area, provider), without a department like the scores.
    comments = {(t.question_code, t.area_key, t.department): t.answer_count for t in tallies
                if t.question_code == "@comments"}
    assert comments == {("@comments", crowd.area.id, ""): 1, ("@comments", 0, ""): 1}


def test_the_thank_you_page_says_answers_are_added_in_groups_and_some_wait_for_the_close(client, survey, db):
    crowd = make_crowd(survey, 1, min_group_size=K)
    respondents = Respondents(client, crowd)
    assert respondents.submit(0) == 303
    html = client.get(f"/s/{crowd.tokens[0]}/thanks").get_data(as_text=True)
    assert "added to the results in groups of at least 5 people's answers about the same service" in html
    assert "some always wait until the survey closes, so yours may only appear then" in html
    assert "cannot be traced" not in html
