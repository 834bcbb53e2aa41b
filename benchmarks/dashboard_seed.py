"""The dashboard benchmark's data set: one campaign of the quarterly survey with every answer row stored,
bulk-loaded into SQLite or PostgreSQL and kept between runs under a cache directory.

What a submission writes is written for every response (`app/services/responses.py`): the response, all
its answers (ratings, recommend, hours, reasons, comments with the sentiment and aspects the app's own
analyzer gives them) and, through the app's `rebuild_wave_tallies`, its score tallies; plus what the
dispatcher leaves behind (stakeholders with the areas they use, one invitation per person and wave with
its drawn areas and a hashed token). 8 waves x 6 service areas x 8 departments, the last wave open.
The schema comes from the app's migrations; non-key indexes are dropped while rows load and recreated
from their own DDL afterwards, so the result matches production's.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import random
import secrets
import shutil
import sqlite3
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import numpy as np

# The tree whose app is seeded and measured: a `git archive` of the commit under test (dashboard.py sets it).
ROOT = Path(os.environ.get("VP_CODE_ROOT") or Path(__file__).resolve().parent.parent)
sys.path.insert(0, str(ROOT))
WAVES = 8
RESPONSE_RATE = 0.62  # closed waves
OPEN_WAVE_SHARE = 0.6  # the open wave has so far got this share of a closed wave's rate
AREAS_PER_PERSON = 2
LIVE_INVITATIONS = 30000 # unanswered invitations of the open wave whose tokens the live writer uses
MANAGER = ("bench-manager@example.com", "benchmark manager password")
SUB_RATINGS = ("responsiveness", "resolution_quality", "communication", "expertise")
RELATIONSHIP = ("partnership", "proactivity", "account_management")
LOADED = ("stakeholder", "stakeholder_service_area", "invitation", "invitation_area", "invitation_token",
          "response", "answer")


def seed_version() -> str:
    """Changes whenever what a seeded database holds could: this file, the survey, the demo's plans and
    comments, the analyzer's lexicons and the migrations."""
    digest = hashlib.sha256()
    paths = [Path(__file__), *sorted((ROOT / "surveys").glob("*.yaml")), ROOT / "app/services/demo.py",
             ROOT / "app/services/demo_comments.py", ROOT / "app/services/sentiment_lexicon.yaml",
             ROOT / "app/services/aspects.yaml", *sorted((ROOT / "migrations/versions").glob("*.py"))]
    for path in paths:
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()[:10]


def size_label(size: int) -> str:
    return f"{size // 1_000_000}m" if size % 1_000_000 == 0 else f"{size // 1000}k"


def token_for(secret: str, invitation_id: int) -> str:
    """The raw survey token of an invitation: derived, so the live writer can rebuild any of them."""
    raw = hashlib.sha256(f"{secret}:{invitation_id}".encode()).digest()[:24]
    return base64.urlsafe_b64encode(raw).decode()


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()  # app.models.campaign.hash_token


def admin_url(database_url: str) -> str:
    from sqlalchemy.engine import make_url

    url = make_url(database_url)
    return f"host={url.host} port={url.port or 5432} user={url.username} dbname=postgres"


def pg_database_exists(pg_base: str, name: str) -> bool:
    import psycopg

    with psycopg.connect(admin_url(pg_base), autocommit=True) as connection:
        return connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone() is not None


def pg_execute(pg_base: str, *statements: str) -> None:
    import psycopg

    with psycopg.connect(admin_url(pg_base), autocommit=True) as connection:
        for statement in statements:
            connection.execute(statement)


class Cache:
    """Seeded databases: SQLite files and PostgreSQL databases named by size and seed version, each with a
    manifest (JSON) written once it is complete, so a re-run reuses them."""

    def __init__(self, directory: Path, pg_base: str) -> None:
        self.version = seed_version()
        self.root = directory
        self.directory = directory / self.version
        self.directory.mkdir(parents=True, exist_ok=True)
        self.pg_base = pg_base  # postgresql+psycopg://user@host:port/ (no database)

    def pg_name(self, size: int) -> str:
        return f"vp_bench_{size_label(size)}_{self.version}"

    def manifest_path(self, database: str, size: int) -> Path:
        return self.directory / f"{database}-{size_label(size)}.json"

    def url(self, database: str, size: int) -> str:
        if database == "sqlite":
            return f"sqlite:///{self.directory / f'sqlite-{size_label(size)}.sqlite3'}"
        return f"{self.pg_base}{self.pg_name(size)}"

    def get_or_seed(self, database: str, size: int, reseed: bool = False) -> dict:
        path = self.manifest_path(database, size)
        present = path.is_file() and (database == "sqlite" or pg_database_exists(self.pg_base, self.pg_name(size)))
        if present and not reseed:
            manifest = json.loads(path.read_text())
            if datetime.fromisoformat(manifest["open_wave_closes_at"]) > datetime.now(timezone.utc) + timedelta(days=7):
                return {**manifest, "cached": True}
        path.unlink(missing_ok=True)
        self.drop(database, size)
        manifest = seed(self.url(database, size), size)
        path.write_text(json.dumps(manifest))
        return {**manifest, "cached": False}

    def drop(self, database: str, size: int) -> None:
        if database == "sqlite":
            for suffix in ("", "-wal", "-shm"):
                Path(self.url(database, size)[len("sqlite:///"):] + suffix).unlink(missing_ok=True)
        else:
            pg_execute(self.pg_base, f'DROP DATABASE IF EXISTS "{self.pg_name(size)}" WITH (FORCE)')

    def prune(self) -> list[str]:
        """Remove seeded databases of other seed versions (files and PostgreSQL databases)."""
        import psycopg

        removed = []
        for other in self.root.iterdir():
            if other.is_dir() and other.name != self.version and len(other.name) == 10:
                shutil.rmtree(other)
                removed.append(str(other))
        with psycopg.connect(admin_url(self.pg_base), autocommit=True) as connection:
            names = [row[0] for row in connection.execute(
                "SELECT datname FROM pg_database WHERE datname LIKE 'vp\\_bench\\_%'")]
            for name in names:
                if not name.endswith(f"_{self.version}") and "_work_" not in name:
                    connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                    removed.append(name)
        return removed

    def working_copy(self, database: str, size: int, work_dir: Path) -> str:
        """A throw-away copy of a seeded database for one run (live submissions change it)."""
        if database == "sqlite":
            source = Path(self.url(database, size)[len("sqlite:///"):])
            target = work_dir / f"work-{size_label(size)}.sqlite3"
            shutil.copyfile(source, target)
            return f"sqlite:///{target}"
        name = f"vp_bench_work_{size_label(size)}_{os.getpid()}"
        pg_execute(self.pg_base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)',
                   f'CREATE DATABASE "{name}" TEMPLATE "{self.pg_name(size)}" STRATEGY FILE_COPY')
        return f"{self.pg_base}{name}"

    def drop_working_copy(self, url: str) -> None:
        if url.startswith("sqlite"):
            for suffix in ("", "-wal", "-shm"):
                Path(url[len("sqlite:///"):] + suffix).unlink(missing_ok=True)
        else:
            pg_execute(self.pg_base, f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[1]}" WITH (FORCE)')


# --- seeding -------------------------------------------------------------------------------------------


def seed(database_url: str, responses: int) -> dict:
    """Create the schema with the app's migrations and fill it; returns the manifest."""
    started = time.perf_counter()
    if database_url.startswith("postgresql"):
        name = database_url.rsplit("/", 1)[1]
        pg_execute(database_url.rsplit("/", 1)[0] + "/", f'CREATE DATABASE "{name}"')
    instance = tempfile.mkdtemp(prefix="vp-bench-seed-")
    os.environ.update({"DATABASE_URL": database_url, "SECRET_KEY": secrets.token_hex(16), "INSTANCE_PATH": instance,
                       "VENDORPULSE_ENV": "benchmark"})
    from flask_migrate import upgrade

    from app import create_app
    from app.extensions import db

    app = create_app()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        plan = _seed_objects()
        db.session.remove()
        db.engine.dispose()
    plan["token_secret"] = secrets.token_hex(16)
    loader = SQLiteLoader(database_url) if database_url.startswith("sqlite") else PostgresLoader(database_url)
    counts = _bulk_load(loader, plan, responses, np.random.default_rng(2026))
    with app.app_context():
        from app.services.tallies import rebuild_wave_tallies

        for wave_id in plan["wave_ids"]:
            rebuild_wave_tallies(wave_id)
        db.session.commit()
        counts["tally rows"] = db.session.execute(db.text("SELECT count(*) FROM score_tally")).scalar()
        db.session.remove()
        db.engine.dispose()
    loader.finish()
    shutil.rmtree(instance, ignore_errors=True)
    return {"responses": responses, "seed_s": round(time.perf_counter() - started, 1), "counts": counts,
            "area_ids": plan["area_ids"], "area_codes": plan["area_codes"], "open_wave_id": plan["wave_ids"][-1],
            "open_wave_closes_at": plan["open_wave_closes_at"], "token_secret": plan["token_secret"],
            "live": plan["live"], "manager": list(MANAGER)}


def _seed_objects() -> dict:
    """Provider, areas (the demo's six), campaign, waves, manager: through the ORM, as the app creates them."""
    from app.extensions import db
    from app.models import Campaign, Provider, ServiceArea, Wave
    from app.services.catalog import latest_definition, load_directory
    from app.services.demo import AREAS
    from app.services.users import create_user

    load_directory(ROOT / "surveys")
    definition = latest_definition("quarterly-provider-satisfaction")
    provider = Provider(name="Benchmark Managed IT")
    areas = [ServiceArea(provider=provider, code=plan.code, name=plan.name, position=i,
                         target_satisfaction=plan.target_satisfaction, target_happiness=plan.target_happiness)
             for i, plan in enumerate(AREAS)]
    now = datetime.now(timezone.utc).replace(microsecond=0)
    first = now - timedelta(days=91 * (WAVES - 1) + 10)
    campaign = Campaign(name="Quarterly provider satisfaction (benchmark)", provider=provider, definition=definition,
                        anchor_date=first.date(), window_days=21, reminder_days=[7, 14], service_areas=areas,
                        min_group_size=5, areas_per_person=AREAS_PER_PERSON, hourly_cost=65, currency="EUR")
    waves = []
    for i in range(WAVES):
        opens = first + timedelta(days=91 * i)
        last = i == WAVES - 1
        # The open wave stays open long enough for the cached database to be reused for months.
        wave = Wave(campaign=campaign, label=f"W{i + 1}", opens_at=opens,
                    closes_at=opens + timedelta(days=200 if last else 21))
        wave.open(now=opens)
        if not last:
            wave.close(now=opens + timedelta(days=21))
        waves.append(wave)
    db.session.add_all([provider, *areas, campaign, *waves])
    db.session.commit()
    create_user(MANAGER[0], MANAGER[1], role="manager")
    questions = {q.code: q.id for q in definition.questions}
    return {"area_ids": [a.id for a in areas], "area_codes": [a.code for a in areas],
            "wave_ids": [w.id for w in waves], "opens": [w.opens_at for w in waves],
            "open_wave_closes_at": waves[-1].closes_at.isoformat(), "questions": questions}


class SQLiteLoader:
    """executemany in one big transaction, journal and syncing off while loading."""

    dialect = "sqlite"

    def __init__(self, url: str) -> None:
        self.path = url[len("sqlite:///"):]
        self.connection = sqlite3.connect(self.path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "foreign_keys=OFF", "cache_size=-4000000",
                       "temp_store=MEMORY"):
            self.connection.execute(f"PRAGMA {pragma}")
        self.indexes = [sql for (sql,) in self.connection.execute(
            f"SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
            f"({','.join('?' * len(LOADED))})", LOADED)]
        for (name,) in self.connection.execute(
                f"SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN "
                f"({','.join('?' * len(LOADED))})", LOADED).fetchall():
            self.connection.execute(f'DROP INDEX "{name}"')
        self.connection.execute("BEGIN")

    @staticmethod
    def moment(values: np.ndarray) -> list[str]:
        return [s.replace("T", " ") for s in np.datetime_as_string(values, unit="us").tolist()]

    def load(self, table: str, columns: tuple[str, ...], rows) -> None:
        self.connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})", rows)

    def rebuild(self) -> None:
        self.connection.execute("COMMIT")
        for sql in self.indexes:
            self.connection.execute(sql)
        self.connection.close()  # the app's connection counts the tallies next

    def finish(self) -> None:
        self.connection = sqlite3.connect(self.path, isolation_level=None)
        self.connection.execute("ANALYZE")
        self.connection.execute("PRAGMA journal_mode=WAL")  # as the app opens it
        self.connection.close()


class PostgresLoader:
    """COPY through psycopg 3, foreign-key triggers off for the session, secondary indexes and unique
    constraints dropped during the load and recreated from their own definitions."""

    dialect = "postgresql"

    def __init__(self, url: str) -> None:
        import psycopg
        from sqlalchemy.engine import make_url

        parsed = make_url(url)
        self.connection = psycopg.connect(host=parsed.host, port=parsed.port or 5432, user=parsed.username,
                                          dbname=parsed.database)
        self.connection.execute("SET session_replication_role = replica")
        self.constraints = self.connection.execute(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
            "WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)", (list(LOADED),)).fetchall()
        self.indexes = self.connection.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(%s) "
            "AND indexname NOT IN (SELECT conname FROM pg_constraint)", (list(LOADED),)).fetchall()
        for table, name, _ in self.constraints:
            self.connection.execute(f'ALTER TABLE "{table}" DROP CONSTRAINT "{name}"')
        for name, _ in self.indexes:
            self.connection.execute(f'DROP INDEX "{name}"')

    @staticmethod
    def moment(values: np.ndarray) -> list[str]:
        return [s + "+00" for s in np.datetime_as_string(values, unit="us").tolist()]

    def load(self, table: str, columns: tuple[str, ...], rows) -> None:
        with self.connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)

    def rebuild(self) -> None:
        self.connection.execute("SET maintenance_work_mem = '512MB'")
        for _, sql in self.indexes:
            self.connection.execute(sql)
        for table, name, definition in self.constraints:
            self.connection.execute(f'ALTER TABLE "{table}" ADD CONSTRAINT "{name}" {definition}')
        for table in ("stakeholder", "invitation"):
            self.connection.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                    f"(SELECT max(id) FROM {table}))")
        self.connection.commit()

    def finish(self) -> None:
        self.connection.autocommit = True
        self.connection.execute("VACUUM ANALYZE")
        self.connection.close()


def _clip(values: np.ndarray, low: int, high: int) -> np.ndarray:
    return np.clip(np.rint(values), low, high).astype(np.int64)


def _comment_tables(plan: dict) -> tuple[list[tuple], dict]:
    """Every distinct comment the generator writes, with the sentiment and aspects the app's analyzer gives
    it (`sentiment_columns`, computed once per text and area), and per (area, wave, satisfaction) a pool of
    indexes into that list drawn with the demo's own comment generator."""
    from app.services.comment_scores import Thresholds, sentiment_columns
    from app.services.demo import INCIDENT_AREA, INCIDENT_WAVE
    from app.services.demo_comments import GENERAL, demo_comment

    rng = random.Random(7)
    texts: dict[tuple[str, str | None], int] = {}
    rows: list[tuple] = []

    def index_of(text: str, area_code: str | None) -> int:
        key = (text, area_code)
        if key not in texts:
            scored = sentiment_columns(text, Thresholds(), area_code)
            texts[key] = len(rows)
            rows.append((text, scored["sentiment_polarity"], scored["sentiment_subjectivity"],
                         scored["sentiment_label"], json.dumps(scored["sentiment_drivers"]),
                         scored["analyzer_version"], json.dumps(scored["sentiment_aspects"])))
        return texts[key]

    pools = {}
    for a, code in enumerate(plan["area_codes"]):
        for wave in range(WAVES):
            for satisfaction in range(1, 6):
                pools[(a, wave, satisfaction)] = np.array([index_of(demo_comment(
                    rng, code, wave, WAVES, satisfaction, INCIDENT_AREA, INCIDENT_WAVE), code) for _ in range(24)])
    for mood in ("positive", "neutral", "negative"):
        pools[("relationship", mood)] = np.array([index_of(text, None) for text in GENERAL[mood]])
    return rows, pools


def _reason_table(rng: random.Random) -> tuple[list[str], np.ndarray, np.ndarray]:
    """JSON reason lists as a submission stores them: 1-3 from the good list (satisfaction >= 4) or the bad."""
    from app.services.demo import BAD_REASONS, GOOD_REASONS

    good = [json.dumps(rng.sample(GOOD_REASONS, rng.randint(1, 3))) for _ in range(64)]
    bad = [json.dumps(rng.sample(BAD_REASONS, rng.randint(1, 3))) for _ in range(64)]
    return good + bad, np.arange(64), np.arange(64, 128)


def _bulk_load(loader, plan: dict, responses: int, rng: np.random.Generator) -> dict:
    from app.services.demo import AREAS, DEPARTMENTS

    started = time.perf_counter()
    q = plan["questions"]
    area_ids = np.array(plan["area_ids"])
    n_areas = len(area_ids)
    comments, pools = _comment_tables(plan)
    reasons, good_reasons, bad_reasons = _reason_table(random.Random(11))
    # Everyone is invited to every wave; closed waves reach RESPONSE_RATE, the open one a share of it.
    people = int(round(responses / (RESPONSE_RATE * (WAVES - 1 + OPEN_WAVE_SHARE))))
    answering = [int(round(people * RESPONSE_RATE))] * (WAVES - 1)
    answering.append(responses - sum(answering))
    departments = np.array([d for d, _ in DEPARTMENTS])
    weights = np.array([w for _, w in DEPARTMENTS])
    department = rng.choice(len(departments), size=people, p=weights / weights.sum())
    share = np.array([plan_.share_using for plan_ in AREAS])
    engineering = departments[department] == "Engineering"
    uses = rng.random((people, n_areas)) < share + np.where(
        engineering[:, None] & (np.array(plan["area_codes"]) == "hosting")[None, :], 0.4, 0.0)
    uses[~uses.any(axis=1), 0] = True
    seeded_at = np.datetime64(datetime.now(timezone.utc).replace(tzinfo=None), "us")
    counts = {"stakeholders": people, "invitations": 0, "responses": 0, "answer rows": 0, "comments": 0}

    stakeholder_ids = np.arange(1, people + 1)
    created = loader.moment(np.array([seeded_at - np.timedelta64(800, "D")]))[0]
    loader.load("stakeholder", ("id", "email", "name", "department", "active", "created_at", "updated_at"),
                ((int(i), f"person{i}@example.com", f"Person {i}", departments[d], True, created, created)
                 for i, d in zip(stakeholder_ids.tolist(), department.tolist())))
    person_index, area_index = np.nonzero(uses)
    loader.load("stakeholder_service_area", ("stakeholder_id", "service_area_id"),
                zip((person_index + 1).tolist(), area_ids[area_index].tolist()))

    live: list[list] = []
    for w, wave_id in enumerate(plan["wave_ids"]):
        opens = np.datetime64(plan["opens"][w].astimezone(timezone.utc).replace(tzinfo=None), "us")
        sent = opens + np.timedelta64(5, "m")
        invitation_ids = w * people + stakeholder_ids
        # The dispatcher's draw: at most AREAS_PER_PERSON of the areas each person uses, at random.
        keys = np.where(uses, rng.random((people, n_areas)), 2.0)
        order = np.argsort(keys, axis=1)[:, :AREAS_PER_PERSON]
        drawn_ok = np.take_along_axis(keys, order, axis=1) < 2.0
        drawn_person, drawn_slot = np.nonzero(drawn_ok)
        drawn_area = order[drawn_person, drawn_slot]
        responders = np.sort(rng.choice(people, size=answering[w], replace=False))
        span_s = 20 * 86400 if w < WAVES - 1 else 9 * 86400
        responded = np.full(people, np.datetime64("NaT"), dtype="datetime64[us]")
        responded[responders] = sent + (rng.random(answering[w]) * span_s * 1e6).astype("timedelta64[us]")
        sent_text = loader.moment(np.array([sent]))[0]
        responded_text = loader.moment(responded[responders])
        responded_of = dict(zip(responders.tolist(), responded_text))
        drawn_of: dict[int, list[int]] = {}
        for p, area in zip(drawn_person.tolist(), area_ids[drawn_area].tolist()):
            drawn_of.setdefault(p, []).append(area)
        drawn_text = {p: ",".join(map(str, sorted(areas))) for p, areas in drawn_of.items()}
        loader.load("invitation", ("id", "wave_id", "stakeholder_id", "state", "attempts", "created_at", "sent_at",
                                   "opened_at", "reminders_sent", "responded_at", "drawn_areas"),
                    ((i, wave_id, p + 1, "sent", 1, sent_text, sent_text, responded_of.get(p), 0 if p in responded_of
                      else min(2, w % 3), responded_of.get(p), drawn_text.get(p))
                     for p, i in enumerate(invitation_ids.tolist())))
        loader.load("invitation_area", ("invitation_id", "service_area_id"),
                    zip(invitation_ids[drawn_person].tolist(), area_ids[drawn_area].tolist()))
        loader.load("invitation_token", ("invitation_id", "token_hash", "purpose", "created_at"),
                    ((i, _hash_token(token_for(plan["token_secret"], i)), "invite", sent_text)
                     for i in invitation_ids.tolist()))
        counts["invitations"] += people

        # Responses: one per responder; ids are random UUIDs as uuid4 gives.
        n = len(responders)
        ids = [h[i:i + 32] for h in (rng.bytes(16 * n).hex(),) for i in range(0, 32 * n, 32)]
        loader.load("response", ("id", "wave_id", "invitation_id", "submitted_at", "department"),
                    zip(ids, [wave_id] * n, invitation_ids[responders].tolist(), responded_text,
                        departments[department[responders]].tolist()))
        counts["responses"] += n

        # Area answers, for each responder's drawn areas.
        in_responders = np.zeros(people, bool)
        in_responders[responders] = True
        position = np.searchsorted(responders, drawn_person)
        pick = in_responders[drawn_person]
        r_index, area_of = position[pick], drawn_area[pick]
        slot = drawn_slot[pick]
        means = np.array([plan_.means[w] for plan_ in AREAS])
        satisfaction = _clip(rng.normal(means[area_of], 0.85), 1, 5)
        parts = []  # (response index, order within the response, question id, area index, score, hours, reason, comment)
        m = len(r_index)

        def part(mask, seq, question, score=None, hours=None, reason=None, comment=None, shareable=None):
            k = int(mask.sum())
            nan = np.full(k, -1)
            parts.append((r_index[mask], slot[mask] * 10 + seq, np.full(k, q[question]), area_of[mask],
                          nan if score is None else score, np.full(k, np.nan) if hours is None else hours,
                          nan if reason is None else reason, nan if comment is None else comment,
                          np.zeros(k, bool) if shareable is None else shareable))

        every = np.ones(m, bool)
        part(every, 0, "satisfaction", score=satisfaction)
        for j, code in enumerate(SUB_RATINGS):
            asked = rng.random(m) < 0.85
            part(asked, 1 + j, code, score=_clip(satisfaction[asked] + rng.normal(0, 0.7, int(asked.sum())), 1, 5))
        part(every, 5, "recommend", score=_clip(satisfaction * 2.1 - 0.3 + rng.normal(0, 1.3, m), 0, 10))
        hours = np.minimum(200.0, np.round(rng.exponential(np.maximum(0.2, (5 - satisfaction) * 1.6)), 1))
        part(every, 6, "time_lost", hours=hours)
        picked = rng.random(m) < 0.7
        reason = np.where(satisfaction >= 4, rng.choice(good_reasons, m), rng.choice(bad_reasons, m))
        part(picked, 7, "reasons", reason=reason[picked])
        commented = rng.random(m) < 0.3
        comment = np.array([pools[(a, w, s)][rng.integers(24)]
                            for a, s in zip(area_of[commented].tolist(), satisfaction[commented].tolist())], dtype=int)
        part(commented, 8, "comment", comment=comment, shareable=rng.random(int(commented.sum())) < 0.5)
        # The provider-wide questions, once per response.
        r_all = np.arange(n)
        mood = rng.normal(3.6, 0.8, n)
        for j, code in enumerate(RELATIONSHIP):
            score = _clip(mood + rng.normal(0, 0.5, n) - (0.4 if code == "proactivity" else 0), 1, 5)
            parts.append((r_all, np.full(n, 100 + j), np.full(n, q[code]), np.full(n, -1), score,
                          np.full(n, np.nan), np.full(n, -1), np.full(n, -1), np.zeros(n, bool)))
        said = rng.random(n) < 0.1
        k = int(said.sum())
        moods = np.where(mood[said] >= 4, 0, np.where(mood[said] >= 3, 1, 2))
        text = np.array([pools[("relationship", ("positive", "neutral", "negative")[x])][rng.integers(3)]
                         for x in moods.tolist()], dtype=int)
        parts.append((r_all[said], np.full(k, 103), np.full(k, q["relationship_comment"]), np.full(k, -1),
                      np.full(k, -1), np.full(k, np.nan), np.full(k, -1), text, rng.random(k) < 0.5))

        columns = [np.concatenate([p[c] for p in parts]) for c in range(9)]
        order = np.lexsort((columns[1], columns[0]))  # a submission's answers are written together
        r_col, _, question, area_col, score, hours, reason, comment, shareable = (c[order] for c in columns)
        area_value = np.where(area_col >= 0, area_ids[np.maximum(area_col, 0)], -1)
        empty = (None,) * 7

        def rows():
            for r, qid, a, s, h, rs, c, sh in zip(r_col.tolist(), question.tolist(), area_value.tolist(),
                                                   score.tolist(), hours.tolist(), reason.tolist(), comment.tolist(),
                                                   shareable.tolist()):
                scored = comments[c] if c >= 0 else empty
                yield (ids[r], wave_id, qid, a if a >= 0 else None, s if s >= 0 else None,
                       None if h != h else h, reasons[rs] if rs >= 0 else None, *scored, sh)

        loader.load("answer", ("response_id", "wave_id", "question_id", "service_area_id", "score", "hours", "reasons",
                               "text", "sentiment_polarity", "sentiment_subjectivity", "sentiment_label",
                               "sentiment_drivers", "analyzer_version", "sentiment_aspects", "shareable"), rows())
        counts["answer rows"] += len(order)
        counts["comments"] += int((comment >= 0).sum())

        if w == WAVES - 1:
            waiting = np.setdiff1d(np.arange(people), responders)[:LIVE_INVITATIONS]
            drawn_of: dict[int, list[int]] = {}
            for p, a in zip(drawn_person.tolist(), drawn_area.tolist()):
                drawn_of.setdefault(p, []).append(int(area_ids[a]))
            live = [[int(invitation_ids[p]), drawn_of[p]] for p in waiting.tolist()]
    load_s = time.perf_counter() - started
    loader.rebuild()
    counts["load_s"] = round(load_s, 1)
    counts["index_s"] = round(time.perf_counter() - started - load_s, 1)
    plan["live"] = live
    return counts


def main() -> None:
    """Seed (or reuse) one database; print its manifest as the last line. Used by dashboard.py."""
    import argparse

    parser = argparse.ArgumentParser()
    parser.add_argument("--database", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--cache-dir", required=True)
    parser.add_argument("--pg-base", required=True)
    parser.add_argument("--reseed", action="store_true")
    args = parser.parse_args()
    cache = Cache(Path(args.cache_dir), args.pg_base)
    manifest = cache.get_or_seed(args.database, args.size, args.reseed)
    print(json.dumps({**manifest, "url": cache.url(args.database, args.size), "version": cache.version}))


if __name__ == "__main__":
    main()
