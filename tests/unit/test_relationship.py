"""Questions about the provider as a whole: per-wave means with interval and change, suppression, the
department gate, and the provider-wide comments through the comment service."""
from __future__ import annotations

import pytest
from sqlalchemy import select, update

from tests.factories import share_comments
from app.extensions import db as _db
from app.models import Answer, Question
from app.services.comments import PROVIDER_AS_A_WHOLE, CommentFilter, list_comments
from app.services.reporting.relationship import has_provider_questions, relationship_report
from app.services.reporting.scope import resolve_scope
from app.services.stats import mean_estimate
from tests.question_seed import PROVIDER_COMMENT, answer_every_question
from tests.reporting_seed import make_reporting_campaign


def _scores(wave, code):
    return list(_db.session.scalars(
        select(Answer.score).join(Question, Question.id == Answer.question_id)
        .where(Answer.wave_id == wave.id, Question.code == code, Answer.service_area_id.is_(None))))


def test_each_provider_wide_rating_has_its_mean_interval_and_change(db, survey):
    campaign, _ = make_reporting_campaign(survey)
    first = answer_every_question(campaign, survey, "2025-Q1", people=30, index=0, seed=1)
    second = answer_every_question(campaign, survey, "2025-Q2", people=25, index=1, seed=2)
    scope = resolve_scope(campaign_id=campaign.id)
    report = relationship_report(scope)
    assert [r.question.code for r in report.rows] == ["partnership", "proactivity", "account_management"]
    assert [q.code for q in report.comment_questions] == ["relationship_comment"]
    assert [n for _, n in report.respondents] == [30, 25]
    for row in report.rows:
        scores = _scores(second, row.question.code)
        expected = mean_estimate({s: scores.count(s) for s in set(scores)}, scale=(1, 5))
        cell = row.current
        assert cell.n == 25 and cell.value == pytest.approx(expected.mean)
        assert cell.ci == pytest.approx((expected.ci_low, expected.ci_high))
        before = _scores(first, row.question.code)
        assert cell.change.delta == pytest.approx(expected.mean - sum(before) / len(before))
    assert has_provider_questions(scope)


def test_a_wave_under_k_is_withheld_and_a_small_department_never_shows(db, survey):
    campaign, _ = make_reporting_campaign(survey)
    answer_every_question(campaign, survey, "2025-Q1", people=4, seed=1)
    answer_every_question(campaign, survey, "2025-Q2", people=32, index=1, seed=2,
                          departments=("Finance",) * 15 + ("Sales",) * 15 + ("Legal",) * 2)
    scope = resolve_scope(campaign_id=campaign.id)
    report = relationship_report(scope)
    for row in report.rows:
        (_, old), (_, new) = row.cells
        assert old.n == 4 and old.suppressed and old.estimate is None
        assert new.estimate is not None and new.change is None  # nothing to compare with
    finance = relationship_report(resolve_scope(campaign_id=campaign.id, department="Finance"))
    # Legal's 2 people are withheld, so Finance (the smallest shown) joins them: otherwise all minus
    # Finance minus Sales would be Legal's two answers
    assert all(row.current.withheld and row.current.estimate is None for row in finance.rows)
    legal = relationship_report(resolve_scope(campaign_id=campaign.id, department="Legal"))
    assert all(row.current.estimate is None for row in legal.rows)


def test_department_figures_show_when_the_gate_allows(db, survey):
    campaign, _ = make_reporting_campaign(survey)
    answer_every_question(campaign, survey, "2025-Q1", people=30, seed=4)  # 10 per department
    finance = relationship_report(resolve_scope(campaign_id=campaign.id, department="Finance"))
    assert all(row.current.n == 10 and row.current.estimate is not None for row in finance.rows)


def test_provider_wide_comments_are_listed_for_waves_with_k_respondents_only(db, survey):
    campaign, _ = make_reporting_campaign(survey)
    answer_every_question(campaign, survey, "2025-Q1", people=4, seed=1)
    answer_every_question(campaign, survey, "2025-Q2", people=6, index=1, seed=2)
    scope = resolve_scope(campaign_id=campaign.id)
    page = list_comments(scope, CommentFilter(level="provider"))
    assert page.total == 6 and page.hidden_groups == 1
    assert {c.area for c in page.items} == {PROVIDER_AS_A_WHOLE}
    assert {c.wave for c in page.items} == {"2025-Q2"}
    # the area list does not mix them in
    assert all(c.area != PROVIDER_AS_A_WHOLE for c in list_comments(scope, CommentFilter()).items)
    # never by department
    filtered = list_comments(resolve_scope(campaign_id=campaign.id, department="Finance"),
                             CommentFilter(level="provider"))
    assert filtered.by_department and not filtered.items


def test_the_providers_copy_is_shareable_only_and_masked(db, survey):
    campaign, _ = make_reporting_campaign(survey)
    wave = answer_every_question(campaign, survey, "2025-Q1", people=6, seed=1)
    ids = list(db.session.scalars(select(Answer.id).where(Answer.wave_id == wave.id, Answer.text == PROVIDER_COMMENT)
                                  .order_by(Answer.id)))
    share_comments(Answer.id.in_(ids[1:]), False)
    db.session.execute(update(Answer).where(Answer.id == ids[0])
                       .values(text="Call me on +44 20 7946 0958 or mail jo@example.org"))
    db.session.commit()
    shared = list_comments(resolve_scope(campaign_id=campaign.id), CommentFilter(level="provider"),
                           for_provider=True)
    assert [c.text for c in shared.items] == ["Call me on [phone] or mail [email]"]


def test_the_pulse_has_no_provider_wide_questions(db, survey):
    from app.services.catalog import latest_definition

    campaign, _ = make_reporting_campaign(latest_definition("pulse"))
    scope = resolve_scope(campaign_id=campaign.id)
    assert not has_provider_questions(scope)
    assert not relationship_report(scope).has_questions
