"""One area per screen: Next and Back keep every answer in the sealed draft, the review submits once, and bad
input, expired forms and closed waves answer as the one-page survey did."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from app.models import Answer, Response, ResponseDraft
from app.models.base import utcnow
from tests.factories import extract_csrf, make_invitation, make_stakeholder
from tests.respond_support import make_survey


@pytest.fixture
def two_area_survey(survey, db):
    s = make_survey(survey)
    person = make_stakeholder(areas=[s.used, s.unused], department="Finance")
    invitation, token = make_invitation(s.wave, person)
    return s, token


def step_post(client, url, step, action="next", **fields):
    page = client.get(f"{url}?step={step}")
    return client.post(url, data={"csrf_token": extract_csrf(page.get_data(as_text=True)), "step": str(step),
                                  "action": action, **fields})


def area_answers(area, satisfaction="4", reasons=("fast_response",), hours="1", comment="Quick help."):
    p = f"area{area.id}__"
    return {p + "satisfaction": satisfaction, p + "responsiveness": "4", p + "recommend": "8",
            p + "time_lost": hours, p + "reasons": list(reasons), p + "comment": comment}


def test_first_step_shows_one_area_progress_and_the_time_estimate(client, two_area_survey, db):
    s, token = two_area_survey
    html = client.get(f"/s/{token}").get_data(as_text=True)
    assert "Step 1 of 3" in html  # two areas, then the questions about the provider
    assert f"area{s.used.id}__satisfaction" in html and f"area{s.unused.id}__satisfaction" not in html
    assert re.search(r"It takes <strong>about \d+ minutes?</strong>", html)
    assert 'value="next"' in html and 'value="back"' not in html
    assert "who sees your answers" in html


def test_next_back_and_review_keep_every_answer_then_one_submit_stores_it(client, two_area_survey, db):
    s, token = two_area_survey
    url = f"/s/{token}"
    first = step_post(client, url, 1, **area_answers(s.used))
    assert first.status_code == 303 and first.headers["Location"].endswith("step=2")
    assert db.session.scalar(select(func.count()).select_from(ResponseDraft)) == 1  # saved on each step
    back = step_post(client, url, 2, action="back", **area_answers(s.unused, satisfaction="2",
                                                                  reasons=("outages",), comment=""))
    assert back.headers["Location"].endswith("step=1")
    again = client.get(f"{url}?step=1").get_data(as_text=True)
    assert re.search(rf'id="area{s.used.id}__satisfaction-3"[^>]*checked', again)  # rating 4 kept
    second = client.get(f"{url}?step=2").get_data(as_text=True)
    assert re.search(rf'id="area{s.unused.id}__satisfaction-1"[^>]*checked', second)
    assert step_post(client, url, 2, **area_answers(s.unused, satisfaction="2", reasons=("outages",),
                                                     comment="")).headers["Location"].endswith("step=3")
    last = step_post(client, url, 3, rel__partnership="4")
    assert last.headers["Location"].endswith("step=review")
    review = client.get(f"{url}?step=review").get_data(as_text=True)
    assert "Outages or downtime" in review and "Quick help." in review and "Submit my answers" in review
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    done = client.post(url, data={"csrf_token": extract_csrf(review), "step": "review", "action": "submit"})
    assert done.status_code == 303 and done.headers["Location"].endswith("/thanks")
    stored = db.session.scalar(select(Response))
    scores = {(a.service_area_id, a.question.code): a.score for a in stored.answers if a.score is not None}
    assert scores[(s.used.id, "satisfaction")] == 4 and scores[(s.unused.id, "satisfaction")] == 2
    assert scores[(None, "partnership")] == 4
    assert db.session.scalar(select(func.count()).select_from(ResponseDraft)) == 0


def test_a_wrong_answer_on_a_step_is_422_with_what_was_typed_kept(client, two_area_survey, db):
    s, token = two_area_survey
    bad = step_post(client, f"/s/{token}", 1, **area_answers(s.used, hours="lots", comment="Typed this."))
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert "Please check" in html and "Typed this." in html and 'value="lots"' in html
    assert db.session.scalar(select(func.count()).select_from(Answer)) == 0


def test_a_required_answer_missing_at_review_points_to_its_step(client, two_area_survey, db):
    s, token = two_area_survey
    review = client.get(f"/s/{token}?step=review").get_data(as_text=True)
    refused = client.post(f"/s/{token}", data={"csrf_token": extract_csrf(review), "step": "review",
                                                "action": "submit"})
    assert refused.status_code == 422
    assert f"step=1#area{s.used.id}__satisfaction-0" in refused.get_data(as_text=True)
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_an_expired_form_on_a_step_is_400_with_answers_kept(client, two_area_survey, db):
    s, token = two_area_survey
    page = client.post(f"/s/{token}", data={"step": "1", "action": "next", **area_answers(s.used, comment="Mine.")})
    assert page.status_code == 400
    assert "Mine." in page.get_data(as_text=True)


def test_unknown_fields_on_a_step_and_odd_step_numbers_never_fail(client, two_area_survey, db):
    s, token = two_area_survey
    assert client.get(f"/s/{token}?step=99").status_code == 200
    assert client.get(f"/s/{token}?step=-1%00").status_code == 200
    assert client.get(f"/s/{token}?step=%C2%B2").status_code == 200  # a superscript two is a digit, not an int
    other_area = step_post(client, f"/s/{token}", 1, **area_answers(s.unused))  # fields of step 2 on step 1
    assert other_area.status_code == 422
    weird = step_post(client, f"/s/{token}", "x", **area_answers(s.used))
    assert weird.status_code in (303, 422)


def test_closed_wave_and_answered_links_answer_as_before_on_every_step(client, two_area_survey, db):
    s, token = two_area_survey
    s.wave.closes_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    assert client.get(f"/s/{token}?step=2").status_code == 410
    assert client.post(f"/s/{token}", data={"step": "review", "action": "submit"}).status_code == 410


def test_admin_pages_set_k_show_the_estimates_and_rates_per_area(admin_client, survey, db):
    from app.models import Campaign, Provider, ServiceArea
    from app.services.catalog import latest_definition

    provider = Provider(name="Kappa IT")
    db.session.add_all([provider] + [ServiceArea(provider=provider, code=f"k-{n}", name=f"Kappa {n}", position=n)
                                     for n in range(3)])
    db.session.commit()
    page = admin_client.get("/admin/campaigns/new").get_data(as_text=True)
    assert "areas_per_person" in page and "How long each survey takes" in page and "about 3 minutes" in page
    pulse = latest_definition("pulse")
    created = admin_client.post("/admin/campaigns/new", data={
        "csrf_token": extract_csrf(page), "name": "Kappa pulse", "provider_id": provider.id,
        "definition_id": pulse.id, "cadence": "quarterly", "interval_count": 1, "anchor_date": "2030-01-15",
        "window_days": 14, "reminder_days": "5", "anonymity": "confidential", "min_group_size": 5,
        "fatigue_days": 0, "areas_per_person": 2})
    assert created.status_code == 302, created.get_data(as_text=True)
    campaign = db.session.scalar(select(Campaign).where(Campaign.name == "Kappa pulse"))
    assert campaign.areas_per_person == 2
    detail = admin_client.get(f"/admin/campaigns/{campaign.id}").get_data(as_text=True)
    assert "at most 2 of the areas" in detail and "about 3 minutes" in detail
    refused = admin_client.post("/admin/campaigns/new", data={
        "csrf_token": extract_csrf(page), "name": "Kappa zero", "provider_id": provider.id,
        "definition_id": pulse.id, "cadence": "quarterly", "interval_count": 1, "anchor_date": "2030-01-15",
        "window_days": 14, "anonymity": "confidential", "min_group_size": 5, "fatigue_days": 0,
        "areas_per_person": 0})
    assert refused.status_code == 422 and 'value="Kappa zero"' in refused.get_data(as_text=True)


def test_a_step_s_draft_is_sealed_and_save_returns_to_the_same_step(client, two_area_survey, db):
    s, token = two_area_survey
    saved = step_post(client, f"/s/{token}", 2, action="save",
                      **area_answers(s.unused, comment="A secret remark about the network."))
    assert saved.status_code == 303 and saved.headers["Location"].endswith("step=2")
    stored = db.session.scalar(select(ResponseDraft))
    assert b"secret remark" not in bytes(stored.sealed)
    page = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Your answers are saved" in page and "A secret remark about the network." in page


def test_anonymous_answers_given_step_by_step_go_to_the_pool_unlinked(client, survey, db):
    from app.models import Invitation, PooledResponse

    s = make_survey(survey, anonymity="anonymous")
    url = s.url
    assert step_post(client, url, 1, **area_answers(s.used)).status_code == 303
    assert step_post(client, url, 2, rel__partnership="4").headers["Location"].endswith("step=review")
    review = client.get(f"{url}?step=review").get_data(as_text=True)
    assert "anonymous" in review
    done = client.post(url, data={"csrf_token": extract_csrf(review), "step": "review", "action": "submit"})
    assert done.status_code == 303
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0
    assert db.session.scalar(select(func.count()).select_from(PooledResponse)) >= 1
    assert db.session.scalar(select(func.count()).select_from(ResponseDraft)) == 0
    db.session.expire_all()
    assert db.session.get(Invitation, s.invitation.id).responded_at is not None
