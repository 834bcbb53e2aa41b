"""Migrations: one head, and `upgrade` from empty gives exactly the models' schema on every backend."""
from __future__ import annotations

import uuid
from pathlib import Path

from alembic.autogenerate import compare_metadata
from alembic.config import Config as AlembicConfig
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from app import create_app
from app.config import TestConfig, normalise_database_url
from app.extensions import db
from tests.conftest import TEST_DATABASE_URL

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def _app_at(path: Path, url: str, revision: str):
    """An app on a fresh database migrated up to `revision`, and its CLI runner."""
    app = create_app(TestConfig(path, url))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade", revision]).exit_code == 0
    return app, runner


def _wave_of_six_comments():
    """In an app context: the catalog loaded, and one area's wave with three complaints and three praises."""
    from app.services.catalog import latest_definition, load_directory
    from tests.reporting_seed import AreaAnswers, add_wave, make_reporting_campaign

    load_directory(MIGRATIONS.parent / "surveys")
    survey = latest_definition("quarterly-provider-satisfaction")
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    comments = ["The VPN keeps dropping, terrible."] * 3 + ["Quick and friendly, fixed first time."] * 3
    return area, add_wave(campaign, survey, "W1", {area: AreaAnswers([3] * 6, comments=comments)})


def test_migrations_have_a_single_head():
    config = AlembicConfig(str(MIGRATIONS / "alembic.ini"))
    config.set_main_option("script_location", str(MIGRATIONS))
    assert len(ScriptDirectory.from_config(config).get_heads()) == 1


def _fresh_database_urls(tmp_path: Path):
    yield "sqlite", f"sqlite:///{tmp_path / 'migrated.sqlite3'}"
    if TEST_DATABASE_URL:
        base = make_url(normalise_database_url(TEST_DATABASE_URL))
        name = f"{base.database}_mig_{uuid.uuid4().hex[:8]}"
        admin = create_engine(base.set(database="postgres"), isolation_level="AUTOCOMMIT")
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
        try:
            yield "postgresql", base.set(database=name).render_as_string(hide_password=False)
        finally:
            with admin.connect() as connection:
                connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            admin.dispose()


def test_upgrade_from_empty_matches_the_models(tmp_path):
    backends = []
    for backend, url in _fresh_database_urls(tmp_path):
        app = create_app(TestConfig(tmp_path / backend, url))
        runner = app.test_cli_runner()
        result = runner.invoke(args=["db", "upgrade"])
        assert result.exit_code == 0, result.output
        with app.app_context():
            with db.engine.connect() as connection:
                context = MigrationContext.configure(connection, opts={"compare_type": True})
                differences = compare_metadata(context, db.metadata)
            db.engine.dispose()
        assert differences == [], f"{backend}: migrations and models differ: {differences}"
        backends.append(backend)
    if TEST_DATABASE_URL:
        assert backends == ["sqlite", "postgresql"]


def test_downgrade_to_base_and_back(tmp_path):
    app = create_app(TestConfig(tmp_path, f"sqlite:///{tmp_path / 'down.sqlite3'}"))
    runner = app.test_cli_runner()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    assert runner.invoke(args=["db", "downgrade", "base"]).exit_code == 0
    with app.app_context():
        tables = set(db.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert tables == set()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0


def test_flask_init_is_idempotent_and_creates_one_admin(tmp_path, monkeypatch):
    monkeypatch.setenv("ADMIN_EMAIL", "Boss@Example.com")
    app = create_app(TestConfig(tmp_path, f"sqlite:///{tmp_path / 'init.sqlite3'}"))
    runner = app.test_cli_runner()
    first = runner.invoke(args=["init"])
    assert first.exit_code == 0, first.output
    assert "Created admin boss@example.com" in first.output
    assert "One-time admin password: " in first.output
    second = runner.invoke(args=["init"])
    assert second.exit_code == 0, second.output
    assert "Created admin" not in second.output
    assert "unchanged quarterly-provider-satisfaction v1" in second.output
    with app.app_context():
        from app.models import User

        admins = db.session.scalars(db.select(User).where(User.role == "admin")).all()
        assert [(a.email, a.must_change_password) for a in admins] == [("boss@example.com", True)]
        db.engine.dispose()


def test_the_comment_tallies_migration_counts_the_comments_stored_before_it(tmp_path):
    """0011 fills the comment tallies of comments stored before submissions kept them: the same rows a
    rebuild from the answers gives, corrections and sharing included."""
    from sqlalchemy import delete, select, update

    from app.models import Answer, ScoreTally
    from app.services.tallies import rebuild_wave_tallies

    app, runner = _app_at(tmp_path, f"sqlite:///{tmp_path / 'tallies.sqlite3'}", "0010")
    with app.app_context():
        area, wave = _wave_of_six_comments()
        first = db.session.scalar(select(Answer.id).where(Answer.text.is_not(None)).order_by(Answer.id))
        db.session.execute(update(Answer).where(Answer.id == first).values(
            shareable=True, aspects_override=[{"aspect": "cost", "label": "negative"}]))
        rebuild_wave_tallies(wave.id)
        db.session.commit()

        def comment_rows():
            return sorted(db.session.execute(select(ScoreTally.question_code, ScoreTally.area_key, ScoreTally.score,
                                                    ScoreTally.answer_count)
                                             .where(ScoreTally.question_code.like("@%"),
                                                    ScoreTally.question_code != "@version")).all())
        expected = comment_rows()
        assert ("@aspect-shared:cost", area.id, -1, 1) in expected
        assert sum(n for code, _, _, n in expected if code == "@comments") == 6
        db.session.execute(delete(ScoreTally).where(ScoreTally.question_code.like("@%")))  # as before 0011
        db.session.commit()
        db.session.remove()
    assert runner.invoke(args=["db", "upgrade"]).exit_code == 0
    with app.app_context():
        assert comment_rows() == expected
        db.engine.dispose()


def test_the_hours_and_driver_tallies_migration_counts_the_answers_stored_before_it(tmp_path):
    """0012 widens `score_tally.score` and fills the hours and key-driver tallies from the answers stored
    before: on SQLite and PostgreSQL, the same rows a rebuild from the answers gives."""
    from sqlalchemy import delete, select

    from app.models import ScoreTally
    from app.services.catalog import latest_definition, load_directory
    from app.services.tallies import rebuild_wave_tallies
    from tests.question_seed import long_survey_campaign

    for backend, url in _fresh_database_urls(tmp_path):
        app, runner = _app_at(tmp_path / backend, url, "0011")
        with app.app_context():
            load_directory(MIGRATIONS.parent / "surveys")
            campaign, _ = long_survey_campaign(latest_definition("quarterly-provider-satisfaction"), 12, 9)
            for wave in campaign.waves:
                rebuild_wave_tallies(wave.id)
            db.session.commit()

            def derived_rows():
                return sorted(db.session.execute(
                    select(ScoreTally.wave_id, ScoreTally.question_code, ScoreTally.area_key, ScoreTally.department,
                           ScoreTally.score, ScoreTally.answer_count)
                    .where(ScoreTally.question_code.like("@hours:%") | ScoreTally.question_code.like("@joint:%"))
                ).all())
            expected = derived_rows()
            assert any(code.startswith("@joint:") for _, code, *_ in expected)
            assert any(code.startswith("@hours:") for _, code, *_ in expected)
            db.session.execute(delete(ScoreTally).where(ScoreTally.question_code.like("@hours:%")
                                                        | ScoreTally.question_code.like("@joint:%")))
            db.session.commit()
            db.session.remove()
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0, backend
        with app.app_context():
            assert derived_rows() == expected, backend
            db.session.remove()
            db.engine.dispose()


def test_the_comment_sentiment_tallies_migration_counts_labels_and_polarity_as_the_app_does(tmp_path):
    """0013 re-counts the comments stored before by their label as shown, and their polarity in hundredths:
    on SQLite and PostgreSQL the same rows a rebuild from the answers gives, with polarities on a
    half-hundredth (where Python's and the databases' rounding differ) and a manager's correction."""
    from sqlalchemy import delete, func, insert, select, update

    from app.models import Answer, ScoreTally
    from app.services.tallies import rebuild_wave_tallies

    comment_codes = ("@comments", "@comments-shared", "@polarity")
    for backend, url in _fresh_database_urls(tmp_path):
        app, runner = _app_at(tmp_path / backend, url, "0012")
        with app.app_context():
            area, wave = _wave_of_six_comments()
            ids = list(db.session.scalars(select(Answer.id).where(Answer.text.is_not(None)).order_by(Answer.id)))
            db.session.execute(update(Answer).where(Answer.id.in_(ids[:2])).values(sentiment_polarity=-0.125))
            db.session.execute(update(Answer).where(Answer.id == ids[3]).values(
                sentiment_polarity=0.125, shareable=True, label_override="neutral"))
            rebuild_wave_tallies(wave.id)
            db.session.commit()

            def comment_rows():
                return sorted(db.session.execute(select(ScoreTally.question_code, ScoreTally.area_key, ScoreTally.score,
                                                        ScoreTally.answer_count)
                                                 .where(ScoreTally.question_code.in_(comment_codes))).all())
            expected = comment_rows()
            assert ("@polarity", area.id, -12, 2) in expected and ("@polarity", area.id, 13, 1) in expected
            assert ("@comments-shared", area.id, 0, 1) in expected  # the corrected label, shared
            # As 0012 left them: one row per area, every label counted under score 0, no polarity.
            db.session.execute(delete(ScoreTally).where(ScoreTally.question_code.in_(comment_codes)))
            for code in ("@comments", "@comments-shared"):
                n = sum(count for c, _, _, count in expected if c == code)
                db.session.execute(insert(ScoreTally).values(wave_id=wave.id, question_code=code, area_key=area.id,
                                                             department="Finance", score=0, answer_count=n))
            db.session.commit()
            db.session.remove()
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0, backend
        with app.app_context():
            assert comment_rows() == expected, backend
            db.session.remove()
        assert runner.invoke(args=["db", "downgrade", "0012"]).exit_code == 0, backend
        with app.app_context():
            assert db.session.scalar(select(func.sum(ScoreTally.answer_count))
                                     .where(ScoreTally.question_code == "@comments", ScoreTally.score == 0)) == 6
            db.session.remove()
            db.engine.dispose()


def test_the_drawn_areas_migration_copies_each_invitations_draw(tmp_path):
    """0014 gives every invitation a copy of its draw (what the counts per area read) from the draws
    recorded before it, on SQLite and PostgreSQL; an invitation without a draw keeps none."""
    from sqlalchemy import select

    from app.models import Invitation
    from app.models.campaign import invitation_area
    from app.services import campaigns
    from app.services.catalog import latest_definition, load_directory
    from tests.factories import make_area, make_campaign, make_provider, make_stakeholder, make_wave

    for backend, url in _fresh_database_urls(tmp_path):
        app, runner = _app_at(tmp_path / backend, url, "head")
        with app.app_context():
            load_directory(MIGRATIONS.parent / "surveys")
            provider = make_provider()
            areas = [make_area(provider, name=f"Area {n}") for n in range(4)]
            campaign = make_campaign(latest_definition("pulse"), provider=provider, areas=areas, areas_per_person=2)
            wave = make_wave(campaign, state="scheduled")
            for n in range(12):
                make_stakeholder(areas=areas if n % 3 else areas[:1])
            db.session.commit()
            campaigns.open_wave_now(wave, wave.opens_at)
            db.session.commit()
            undrawn = db.session.scalar(select(Invitation.id).order_by(Invitation.id))
            db.session.execute(invitation_area.delete().where(invitation_area.c.invitation_id == undrawn))
            db.session.commit()

            def draws():
                return {i: frozenset(map(int, areas.split(","))) if areas else None
                        for i, areas in db.session.execute(select(Invitation.id, Invitation.drawn_areas))}
            recorded = {i: frozenset(a for j, a in db.session.execute(select(invitation_area)) if j == i) or None
                        for i in draws()}
            assert sum(1 for d in recorded.values() if d and len(d) == 2) >= 6 and recorded[undrawn] is None
            db.session.remove()
        assert runner.invoke(args=["db", "downgrade", "0013"]).exit_code == 0, backend
        assert runner.invoke(args=["db", "upgrade"]).exit_code == 0, backend
        with app.app_context():
            assert draws() == recorded, backend
            db.session.remove()
            db.engine.dispose()
