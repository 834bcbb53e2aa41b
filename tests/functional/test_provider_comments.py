"""The comments page's "Provider as a whole" choice: the comments about the provider itself, listed, filtered,
corrected and shared like the area comments, never by department."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from app.models import Answer
from app.services.catalog import latest_definition
from tests.factories import extract_csrf
from tests.question_seed import COMMENT, PROVIDER_COMMENT, answer_every_question, long_survey_campaign
from tests.reporting_seed import make_reporting_campaign


@pytest.fixture
def campaign(db, survey):
    campaign, _ = long_survey_campaign(survey, 4, 12)  # 2025-Q1 under k: withheld
    return campaign


def _ids(html: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="comment-(\d+)"', html)]


def test_the_service_area_filter_offers_the_provider_as_a_whole(manager_client, campaign):
    html = manager_client.get(f"/dashboard/comments?campaign={campaign.id}&area=provider").get_data(as_text=True)
    assert '<option selected value="provider">Provider as a whole</option>' in html
    assert html.count(PROVIDER_COMMENT) == 12 and COMMENT not in html
    assert "12 comments" in html and "The provider as a whole · 2025-Q2" in html
    assert "Comments about the provider as a whole from 1 wave are not shown" in html
    everything = manager_client.get(f"/dashboard/comments?campaign={campaign.id}").get_data(as_text=True)
    assert PROVIDER_COMMENT not in everything and COMMENT in everything


def test_the_other_filters_apply_and_a_department_lists_nothing(manager_client, campaign):
    base = f"/dashboard/comments?campaign={campaign.id}&area=provider"
    assert "No comments match" in manager_client.get(base + "&q=nothing-like-this").get_data(as_text=True)
    assert manager_client.get(base + "&q=monthly").get_data(as_text=True).count(PROVIDER_COMMENT) == 12
    by_department = manager_client.get(base + "&department=Finance").get_data(as_text=True)
    assert PROVIDER_COMMENT not in by_department and "Comments are not listed by department" in by_department


def test_a_provider_wide_comment_is_corrected_and_shared_from_the_comments_page(manager_client, db, campaign):
    url = f"/dashboard/comments?campaign={campaign.id}&area=provider"
    html = manager_client.get(url).get_data(as_text=True)
    answer_id = _ids(html)[0]
    token = extract_csrf(html)
    answer = db.session.get(Answer, answer_id)
    assert answer.service_area_id is None and answer.text == PROVIDER_COMMENT
    wrong = "negative" if answer.sentiment_label != "negative" else "positive"
    response = manager_client.post(f"/dashboard/comments/{answer_id}/label",
                                   data={"label": wrong, "csrf_token": token, "next": url})
    assert response.status_code == 302 and "area=provider" in response.headers["Location"]
    response = manager_client.post(f"/dashboard/comments/{answer_id}/shareable",
                                   data={"shareable": "0", "csrf_token": token, "next": url})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Answer, answer_id).label_override == wrong
    assert db.session.get(Answer, answer_id).shareable is False
    corrected = manager_client.get(url + f"&label={wrong}").get_data(as_text=True)
    assert answer_id in _ids(corrected)
    shared = manager_client.get(url + "&shared=y").get_data(as_text=True)
    assert answer_id not in _ids(shared) and len(_ids(shared)) == 11


def test_a_survey_without_provider_questions_has_no_such_choice(manager_client, db, survey):
    pulse = latest_definition("pulse")
    campaign, _ = make_reporting_campaign(pulse, area_count=1)
    answer_every_question(campaign, pulse, "2025-Q1", people=8)
    html = manager_client.get(f"/dashboard/comments?campaign={campaign.id}&area=provider").get_data(as_text=True)
    assert "Provider as a whole" not in html
    assert not db.session.scalars(select(Answer.id).where(Answer.text == PROVIDER_COMMENT)).first()
