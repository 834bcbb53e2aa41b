"""Unsubscribing from the link in an email, RFC 8058 one-click, and opting back in."""
from __future__ import annotations

from tests.factories import extract_csrf
from tests.respond_support import make_survey


def reload(db, stakeholder):
    db.session.expire_all()
    return db.session.get(type(stakeholder), stakeholder.id)


def test_following_the_link_only_asks_for_confirmation(client, survey, db):
    s = make_survey(survey)
    page = client.get(f"/s/{s.token}/unsubscribe")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Stop receiving these surveys?" in html and "Unsubscribe me" in html
    assert page.headers["Referrer-Policy"] == "no-referrer"
    assert reload(db, s.stakeholder).opted_out_at is None  # a mail scanner's GET changes nothing


def test_confirming_opts_out_of_all_future_surveys(client, survey, db):
    s = make_survey(survey)
    token = extract_csrf(client.get(f"/s/{s.token}/unsubscribe").get_data(as_text=True))
    done = client.post(f"/s/{s.token}/unsubscribe", data={"csrf_token": token})
    assert done.status_code == 200
    assert "you will not receive any more surveys" in done.get_data(as_text=True).lower()
    assert "Opt back in" in done.get_data(as_text=True)
    assert reload(db, s.stakeholder).opted_out_at is not None
    survey_page = client.get(s.url)
    assert "You have unsubscribed from these surveys" in survey_page.get_data(as_text=True)


def test_a_form_post_without_csrf_token_is_refused(client, survey, db):
    s = make_survey(survey)
    refused = client.post(f"/s/{s.token}/unsubscribe", data={"confirm": "yes"})
    assert refused.status_code == 400
    assert "press the button again" in refused.get_data(as_text=True)
    assert reload(db, s.stakeholder).opted_out_at is None


def test_rfc8058_one_click_post_works_without_cookies_or_csrf(app, survey, db):
    s = make_survey(survey)
    mail_provider = app.test_client(use_cookies=False)
    done = mail_provider.post(f"/s/{s.token}/unsubscribe", data={"List-Unsubscribe": "One-Click"})
    assert done.status_code == 200
    assert "unsubscribed" in done.get_data(as_text=True)
    assert reload(db, s.stakeholder).opted_out_at is not None


def test_one_click_post_also_works_as_multipart(app, survey, db):
    s = make_survey(survey)
    done = app.test_client(use_cookies=False).post(
        f"/s/{s.token}/unsubscribe", data={"List-Unsubscribe": "One-Click"}, content_type="multipart/form-data")
    assert done.status_code == 200
    assert reload(db, s.stakeholder).opted_out_at is not None


def test_one_click_with_an_unknown_token_is_404(app, survey, db):
    s = make_survey(survey)
    response = app.test_client().post("/s/" + "B" * 32 + "/unsubscribe", data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 404
    assert reload(db, s.stakeholder).opted_out_at is None


def test_unsubscribing_works_after_the_wave_closed(client, survey, db):
    s = make_survey(survey)
    s.wave.close()
    db.session.commit()
    token = extract_csrf(client.get(f"/s/{s.token}/unsubscribe").get_data(as_text=True))
    assert client.post(f"/s/{s.token}/unsubscribe", data={"csrf_token": token}).status_code == 200
    assert reload(db, s.stakeholder).opted_out_at is not None


def test_opting_back_in_returns_to_the_survey(client, survey, db):
    s = make_survey(survey)
    s.stakeholder.opt_out()
    db.session.commit()
    page = client.get(f"/s/{s.token}/unsubscribe")
    assert "You have unsubscribed" in page.get_data(as_text=True)
    back = client.post(f"/s/{s.token}/opt-in", data={"csrf_token": extract_csrf(page.get_data(as_text=True))})
    assert back.status_code == 303 and back.headers["Location"].endswith(s.url)
    assert reload(db, s.stakeholder).opted_out_at is None


def test_opting_back_in_needs_the_csrf_token(client, survey, db):
    s = make_survey(survey)
    s.stakeholder.opt_out()
    db.session.commit()
    refused = client.post(f"/s/{s.token}/opt-in")
    assert refused.status_code == 400
    assert "press the button again" in refused.get_data(as_text=True)
    assert reload(db, s.stakeholder).opted_out_at is not None


def test_every_form_works_over_https_although_the_pages_send_no_referrer(client, survey, db):
    s = make_survey(survey)
    https = {"base_url": "https://vendorpulse.test"}
    token = extract_csrf(client.get(f"/s/{s.token}/unsubscribe", **https).get_data(as_text=True))
    assert client.post(f"/s/{s.token}/unsubscribe", data={"csrf_token": token}, **https).status_code == 200
    assert client.post(f"/s/{s.token}/opt-in", data={"csrf_token": token}, **https).status_code == 303
    assert reload(db, s.stakeholder).opted_out_at is None
