"""Question types and submission parsing, without a database or HTTP."""
from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict

from app.errors import InvalidInput
from app.models import Question, ServiceArea
from app.models.survey import QUESTION_KINDS
from app.services.questions import (
    AnswerRejected,
    CommentType,
    HoursType,
    NpsType,
    QuestionSpec,
    QuestionType,
    RatingType,
    ReasonsType,
    draft_data,
    parse_submission,
    question_type,
    survey_layout,
)

GOOD = [{"code": "fast", "label": "Fast"}, {"code": "kind", "label": "Kind"}]
BAD = [{"code": "slow", "label": "Slow"}, {"code": "rude", "label": "Rude"}]


def rating(code="satisfaction", required=True, scope="area", **options):
    return Question(code=code, kind="rating", scope=scope, text="How satisfied with {area}?", required=required,
                    min_value=1, max_value=5, options={"min_label": "Bad", "max_label": "Good", **options})


def reasons(good_from=4):
    return Question(code="reasons", kind="reasons", scope="area", text="Why?", required=False,
                    options={"follows": "satisfaction", "good_from": good_from, "good": GOOD, "bad": BAD})


def definition(*questions):
    for position, question in enumerate(questions):
        question.position = position
    return list(questions)


def area(area_id=7, name="Service Desk"):
    return ServiceArea(id=area_id, code=f"a{area_id}", name=name)


def test_a_detached_spec_behaves_like_its_question():
    question = rating()
    question.id, question.definition_id, question.position = 3, 1, 0
    spec = QuestionSpec.of(question)
    assert RatingType(spec).clean(["5"]) == 5 and RatingType(spec).min_label == "Bad"
    assert survey_layout([spec], [area(7)]).items[0].text == "How satisfied with Service Desk?"


def test_every_kind_of_the_catalog_has_a_type():
    assert set(QuestionType.registry) == {"rating", "nps", "hours", "reasons", "comment", "choice"}
    assert isinstance(question_type(rating()), RatingType)


def test_the_registry_and_the_database_constraint_know_the_same_kinds():
    assert set(QuestionType.registry) == set(QUESTION_KINDS)


@pytest.mark.parametrize(("raw", "expected"), [(["1"], 1), (["5"], 5), ([" 3 "], 3), ([], None), ([""], None)])
def test_rating_accepts_values_in_range(raw, expected):
    assert RatingType(rating()).clean(raw) == expected


@pytest.mark.parametrize("raw", [["0"], ["6"], ["x"], ["2.5"], ["1", "2"]])
def test_rating_rejects_out_of_range_and_wrong_types(raw):
    with pytest.raises(AnswerRejected):
        RatingType(rating()).clean(raw)


def test_nps_is_always_0_to_10():
    nps = NpsType(Question(code="recommend", kind="nps", scope="area", text="Recommend?", min_value=0, max_value=10,
                           options={}))
    assert nps.clean(["0"]) == 0 and nps.clean(["10"]) == 10
    with pytest.raises(AnswerRejected):
        nps.clean(["11"])


def test_hours_accept_a_decimal_comma_and_refuse_beyond_the_maximum():
    hours = HoursType(Question(code="time_lost", kind="hours", scope="area", text="Hours?", min_value=0,
                               max_value=200, options={}))
    assert hours.clean(["1,5"]) == 1.5
    assert hours.clean(["0"]) == 0
    for bad in (["-1"], ["201"], ["inf"], ["nan"], ["a lot"]):
        with pytest.raises(AnswerRejected):
            hours.clean(bad)
    assert hours.to_columns(2.0) == {"hours": 2.0}


def test_comment_counts_line_breaks_once_and_enforces_the_limit():
    comment = CommentType(Question(code="comment", kind="comment", scope="area", text="Anything?",
                                   options={"max_length": 10}))
    assert comment.clean(["abcd\r\nefgh"]) == "abcd\nefgh"  # 9 characters, as the browser counts
    assert comment.clean(["   "]) is None
    with pytest.raises(AnswerRejected, match="10 characters or fewer"):
        comment.clean(["x" * 11])


def test_reasons_follow_the_rating():
    kind = ReasonsType(reasons(good_from=4))
    followed = RatingType(rating())
    kind.check_against_rating(["fast"], 4, followed)
    kind.check_against_rating(["slow", "rude"], 3, followed)
    with pytest.raises(AnswerRejected, match="what went well"):
        kind.check_against_rating(["slow"], 5, followed)
    with pytest.raises(AnswerRejected, match="what went wrong"):
        kind.check_against_rating(["fast"], 1, followed)
    with pytest.raises(AnswerRejected, match="rating above"):
        kind.check_against_rating(["fast"], None, followed)


def test_good_side_defaults_to_three_quarters_up_the_scale():
    assert ReasonsType(reasons(good_from=None)).good_from(RatingType(rating())) == 4


def test_layout_asks_area_questions_per_area_then_relationship_questions():
    relationship = rating(code="partnership", scope="relationship", required=False)
    relationship.text = "How is the partnership?"
    layout = survey_layout(definition(rating(), reasons(), relationship), [area(7), area(9, "Network")])
    assert [s.heading for s in layout.sections] == ["Service Desk", "Network", "Working with the provider"]
    assert [i.name for i in layout.sections[0].items] == ["area7__satisfaction", "area7__reasons"]
    assert layout.sections[0].items[0].text == "How satisfied with Service Desk?"
    assert layout.sections[0].skip_name == "skip_area7" and layout.sections[2].skip_name is None


def test_parse_submission_returns_the_columns_to_store():
    layout = survey_layout(definition(rating(), reasons()), [area(7)])
    cleaned = parse_submission(layout, MultiDict([("area7__satisfaction", "2"), ("area7__reasons", "slow"),
                                                  ("csrf_token", "t"), ("action", "submit")]))
    assert [(c.question.code, c.area.id, c.columns) for c in cleaned] == [
        ("satisfaction", 7, {"score": 2}), ("reasons", 7, {"reasons": ["slow"]})]


def test_parse_submission_collects_every_problem_by_field():
    layout = survey_layout(definition(rating(), reasons()), [area(7)])
    with pytest.raises(InvalidInput) as caught:
        parse_submission(layout, MultiDict([("area7__satisfaction", "5"), ("area7__reasons", "slow"),
                                            ("area8__satisfaction", "5")]))
    assert set(caught.value.errors) == {"_form", "area7__reasons"}
    with pytest.raises(InvalidInput) as caught:
        parse_submission(layout, MultiDict([("area7__reasons", "slow")]))
    assert set(caught.value.errors) == {"area7__satisfaction"}  # a missing rating is the one thing to fix


def test_a_skipped_area_is_not_required_and_its_answers_are_ignored():
    layout = survey_layout(definition(rating(), reasons()), [area(7)])
    assert parse_submission(layout, {"skip_area7": "y", "area7__reasons": "slow"}) == []


def test_draft_keeps_only_this_surveys_fields():
    layout = survey_layout(definition(rating(), reasons()), [area(7)])
    data = draft_data(layout, MultiDict([("area7__reasons", "fast"), ("area7__reasons", "kind"),
                                         ("csrf_token", "secret"), ("other", "x"), ("area7__satisfaction", "")]))
    assert data == {"area7__reasons": ["fast", "kind"]}

