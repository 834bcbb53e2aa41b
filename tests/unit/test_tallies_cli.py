"""`flask tallies rebuild` counts the dashboards' tallies again from the stored answers: a wave whose tally
rows were damaged (edited by hand, restored from an older backup) reports what its answers say again."""
from __future__ import annotations

from sqlalchemy import delete, update

from app.models import ScoreTally
from app.services.reporting.cache import clear_cache
from app.services.reporting.scope import resolve_scope
from app.services.reporting.reports import overview
from tests.reporting_seed import AreaAnswers, add_wave, make_reporting_campaign


def _tallies(wave_id: int) -> dict[tuple, int]:
    return {(t.question_code, t.area_key, t.department, t.score): t.answer_count
            for t in ScoreTally.query.filter(ScoreTally.wave_id == wave_id, ScoreTally.question_code != "@version")
            if t.answer_count}


def test_rebuild_restores_damaged_tallies_and_the_dashboard_shows_the_answers_again(db, survey, runner):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    first = add_wave(campaign, survey, "2026-Q1", {area: AreaAnswers([4] * 8, comments=["Quick fix, thanks."] * 6)})
    second = add_wave(campaign, survey, "2026-Q2", {area: AreaAnswers([2] * 9)})
    good = {wave.id: _tallies(wave.id) for wave in (first, second)}
    shown = overview(resolve_scope(campaign_id=campaign.id)).rows[0].current.satisfaction.n
    # Damage both waves: satisfaction counts doubled in one, the comment rows gone from the other.
    db.session.execute(update(ScoreTally).where(ScoreTally.wave_id == second.id,
                                                ScoreTally.question_code == "satisfaction")
                       .values(answer_count=ScoreTally.answer_count * 2))
    db.session.execute(delete(ScoreTally).where(ScoreTally.wave_id == first.id,
                                                ScoreTally.question_code.like("@comments%")))
    db.session.commit()
    clear_cache()
    assert overview(resolve_scope(campaign_id=campaign.id)).rows[0].current.satisfaction.n == 18  # the damage shows

    only = runner.invoke(args=["tallies", "rebuild", "--wave", "2026-Q2"])
    assert only.exit_code == 0, only.output
    assert "Rebuilt the tallies of 2026-Q2." in only.output and "2026-Q1" not in only.output
    assert _tallies(second.id) == good[second.id]
    assert _tallies(first.id) != good[first.id]  # left alone
    # Without emptying any cache: the rebuild moved the wave's version on.
    assert overview(resolve_scope(campaign_id=campaign.id)).rows[0].current.satisfaction.n == shown == 9

    everything = runner.invoke(args=["tallies", "rebuild"])
    assert everything.exit_code == 0 and "Rebuilt 2 wave(s)." in everything.output
    assert {wave.id: _tallies(wave.id) for wave in (first, second)} == good
    assert runner.invoke(args=["tallies", "rebuild", "--wave", "1999-Q1"]).output.strip() == "No wave to rebuild."
