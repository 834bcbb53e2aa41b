"""Report parts kept per wave: a closed wave's are read back, the open wave's follow each new response."""
from __future__ import annotations

import uuid
from datetime import timedelta

from sqlalchemy import insert, select

from app.extensions import db
from app.models import Answer, Question, Response
from app.services.reporting.cache import cached_by_wave, fresh_reports
from app.services.reporting.departments import department_counts, departments
from app.services.reporting.reports import area_report, overview
from app.services.reporting.scope import resolve_scope
from app.services.tallies import rebuild_wave_tallies
from tests.reporting_seed import AreaAnswers, add_wave, make_reporting_campaign


def _answer_open_wave(wave, area, survey, hours: float, *, as_submitted: bool = False) -> None:
    """One more respondent in the open wave, stored with its tally; `as_submitted` writes through the
    session's connection as `responses.submit` does (no edit generation moves: only the tally tells)."""
    questions = {q.code: q.id for q in db.session.scalars(select(Question).where(
        Question.definition_id == survey.id))}
    response_id = uuid.uuid4()
    write = db.session.connection().execute if as_submitted else db.session.execute
    write(insert(Response), [{"id": response_id, "wave_id": wave.id, "department": "Finance",
                              "submitted_at": wave.opens_at + timedelta(hours=2)}])
    write(insert(Answer), [
        {"response_id": response_id, "wave_id": wave.id, "question_id": questions["satisfaction"],
         "service_area_id": area.id, "score": 1, "hours": None, "shareable": False},
        {"response_id": response_id, "wave_id": wave.id, "question_id": questions["time_lost"],
         "service_area_id": area.id, "score": None, "hours": hours, "shareable": False},
    ])
    rebuild_wave_tallies(wave.id)
    db.session.commit()


def test_a_closed_waves_part_is_computed_once_and_the_open_waves_after_each_response(db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    closed = add_wave(campaign, survey, "W1", {area: AreaAnswers([3] * 5, hours=[2.0] * 5)})
    live = add_wave(campaign, survey, "W2", {area: AreaAnswers([4] * 5, hours=[1.0] * 5)}, index=1, state="open")
    asked: list[list[int]] = []

    def compute(missing: list[int]) -> dict[int, str]:
        asked.append(sorted(missing))
        return {wave_id: f"part of {wave_id}" for wave_id in missing}

    key = ("test-part", uuid.uuid4().hex)
    assert cached_by_wave(key, [closed.id, live.id], compute) == {closed.id: f"part of {closed.id}",
                                                                 live.id: f"part of {live.id}"}
    cached_by_wave(key, [closed.id, live.id], compute)
    _answer_open_wave(live, area, survey, hours=7.0)
    cached_by_wave(key, [closed.id, live.id], compute)
    assert asked == [sorted([closed.id, live.id]), [live.id]]


def test_a_part_no_response_changes_is_kept_while_the_open_wave_takes_responses_until_an_edit(db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    live = add_wave(campaign, survey, "W1", {area: AreaAnswers([4] * 5, hours=[1.0] * 5)}, state="open")
    asked: list[list[int]] = []

    def compute(missing: list[int]) -> dict[int, int]:
        asked.append(sorted(missing))
        return {wave_id: len(asked) for wave_id in missing}

    key = ("invitation-part", uuid.uuid4().hex)
    assert cached_by_wave(key, [live.id], compute, follows_responses=False) == {live.id: 1}
    _answer_open_wave(live, area, survey, hours=7.0, as_submitted=True)
    assert cached_by_wave(key, [live.id], compute, follows_responses=False) == {live.id: 1}
    live.closes_at += timedelta(days=2)  # an edit of the wave: its parts are computed again
    db.session.commit()
    assert cached_by_wave(key, [live.id], compute, follows_responses=False) == {live.id: 2}


def test_a_new_response_shows_on_the_next_load_and_a_closed_wave_keeps_its_figures(db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    add_wave(campaign, survey, "W1", {area: AreaAnswers([3] * 5, hours=[2.0] * 5)})
    live = add_wave(campaign, survey, "W2", {area: AreaAnswers([4] * 5, hours=[1.0] * 5)}, index=1, state="open")
    scope = resolve_scope(campaign_id=campaign.id)
    before = area_report(scope, area.id)
    assert [(t.n, t.mean_hours) for t in before.time_lost] == [(5, 2.0), (5, 1.0)]
    assert overview(scope).response_rate.responded == 5

    _answer_open_wave(live, area, survey, hours=7.0)
    after = area_report(scope, area.id)
    assert [(t.n, t.mean_hours) for t in after.time_lost] == [(5, 2.0), (6, 2.0)]
    assert after.series[-1].satisfaction.n == 6
    with fresh_reports():
        assert area_report(scope, area.id) == after, "what is read back is what would be computed afresh"


def test_the_filter_list_and_the_gate_agree_with_counts_over_every_answer(db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    people = ["Finance"] * 6 + ["Sales"] * 6 + ["Legal"] * 2
    add_wave(campaign, survey, "W1", {area: AreaAnswers([4] * 14, hours=[1.0] * 14, departments=people)})
    scope = resolve_scope(campaign_id=campaign.id)
    full, tallied = department_counts(scope), department_counts(scope, answers=False)
    wave_id = scope.current_wave.id
    assert tallied.cells == {cell: n for cell, n in full.cells.items() if cell[2] in ("satisfaction", "happiness")}
    # Legal (2) is withheld, and Finance with it, so that the total minus Sales does not give Legal away.
    assert departments(scope) == full.listable(scope.wave_ids) == ["Sales"]
    assert full.count(wave_id, area.id, "hours", "Legal") == 2


def test_a_submission_alone_moves_the_figures_and_the_aspect_counts_and_an_edit_the_example_clauses(db, survey):
    """The README's promise for an open wave: a stored submission (which moves no edit generation, only the
    wave's tally version) is in the next report's figures and aspect counts, while the example clauses are
    kept until the wave is edited (or a minute passes)."""
    from app.services.comment_scores import Thresholds, sentiment_columns
    from app.services.comments import correct_label
    from app.services.reporting.aspects import area_aspects
    from tests.factories import make_user

    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    live = add_wave(campaign, survey, "W1", {area: AreaAnswers(
        [4] * 5, comments=["The wifi keeps dropping in the east wing."] * 5)}, state="open")
    scope = resolve_scope(campaign_id=campaign.id)
    before = area_aspects(scope, area.id)
    assert area_report(scope, area.id).series[-1].satisfaction.n == 5 and before.comments == 5
    outage = "The VPN was down all morning and nobody told us."
    questions = {q.code: q.id for q in db.session.scalars(select(Question).where(Question.definition_id == survey.id))}
    response_id = uuid.uuid4()
    write = db.session.connection().execute  # as `responses.submit` writes: no edit generation moves
    write(insert(Response), [{"id": response_id, "wave_id": live.id, "department": "Finance",
                              "submitted_at": live.opens_at + timedelta(hours=2)}])
    write(insert(Answer), [{"response_id": response_id, "wave_id": live.id, "question_id": questions["satisfaction"],
                            "service_area_id": area.id, "score": 1, "shareable": False}])
    write(insert(Answer), [{"response_id": response_id, "wave_id": live.id, "question_id": questions["comment"],
                            "service_area_id": area.id, "text": outage, "shareable": False,
                            **sentiment_columns(outage, Thresholds(), area.code)}])
    rebuild_wave_tallies(live.id)
    db.session.commit()

    after = area_aspects(scope, area.id)
    assert area_report(scope, area.id).series[-1].satisfaction.n == 6
    assert after.comments == 6 and sum(r.mentions for r in after.rows) > sum(r.mentions for r in before.rows)
    examples = {e.text for r in after.rows for e in r.examples}
    assert examples == {e.text for r in before.rows for e in r.examples}  # kept: not read after every answer
    new_answer = db.session.scalar(select(Answer.id).where(Answer.text == outage))
    correct_label(new_answer, "positive", make_user(role="manager"))  # an edit of the wave
    edited = {e.text for r in area_aspects(scope, area.id).rows for e in r.examples}
    assert any("VPN was down" in text for text in edited)
