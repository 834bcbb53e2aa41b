"""Answering a survey from a personal link: the page, the stored rows, and what every bad request gets."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import func, select

from app.models import Answer, Invitation, PooledResponse, Response, ResponseDraft, ScoreTally
from app.services import anonymous_pool, comment_scores, responses
from tests.factories import extract_csrf, make_invitation, make_stakeholder
from tests.respond_support import answers, make_survey


def count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def open_form(client, survey) -> tuple[str, str]:
    page = client.get(survey.url)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    return html, extract_csrf(html)


def submit(client, survey, **overrides):
    _, token = open_form(client, survey)
    return client.post(survey.url, data={**answers(survey.used, **overrides), "csrf_token": token})


def assert_nothing_stored(db, survey) -> None:
    assert count(db, Response) == 0
    assert count(db, Answer) == 0
    assert count(db, ScoreTally) == 0
    db.session.expire_all()
    assert db.session.get(Invitation, survey.invitation.id).responded_at is None


# --- the page -------------------------------------------------------------------------------


def test_page_shows_who_asks_the_period_the_close_date_and_only_the_areas_used(client, survey, db):
    s = make_survey(survey)
    response = client.get(s.url)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Acme Outsourcing" in html and "2026-Q4" in html
    assert "IT vendor management team asks" in html
    closes = s.wave.closes_at.strftime("%d %B %Y").lstrip("0")
    assert f"Open until <strong>{closes}</strong>" in html
    assert "Service Desk" in html and "Network Operations" not in html
    assert "I did not use Service Desk this period" in html
    assert "Overall, how satisfied were you with Service Desk this period?" in html
    assert "What went well" in html and "What went wrong" in html
    assert "Up to 2000 characters." in html
    assert "<fieldset" in html and "<legend>" in html
    assert "could see who answered what" in html and "groups of at least 5 people" in html
    assert len(response.data) < 100_000
    assert "<script>" not in html  # the CSP forbids inline scripts; none is needed to answer


def test_page_is_private_and_records_the_first_visit(client, survey, db):
    s = make_survey(survey)
    first = client.get(s.url)
    assert first.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in first.headers["Cache-Control"]
    db.session.expire_all()
    opened = db.session.get(Invitation, s.invitation.id).opened_at
    assert opened is not None
    client.get(s.url)
    db.session.expire_all()
    assert db.session.get(Invitation, s.invitation.id).opened_at == opened


def test_anonymous_page_says_how_answers_are_kept_apart_from_the_person(client, survey, db):
    s = make_survey(survey, anonymity="anonymous")
    html = client.get(s.url).get_data(as_text=True)
    assert "Your answers about each service, and those about Acme Outsourcing as a whole, are kept apart" in html
    assert ("stored in a random order in groups of at least 5 people's answers about the same service, so the "
            "stored answers cannot be traced back to you") in html
    assert "a group is smaller only if fewer than 5 people answer about that service at all" in html
    assert ("At most your department is kept with them, and it is left out when fewer than 5 people of your "
            "department answer about the same service") in html
    assert "encrypted with a key that only your link holds" in html


# --- a valid submission -------------------------------------------------------------------------


def test_the_tallies_a_submission_writes_are_what_a_rebuild_from_its_answers_gives(client, survey, db):
    """Scores, hours (in hundredths), the key drivers' score pairs and the comments' aspects: the report
    figures read these rows, so the submission's own increments must equal a count over the answers."""
    from app.services.tallies import rebuild_wave_tallies, tally_versions

    s = make_survey(survey)
    assert submit(client, s, time_lost="2,25").status_code == 303

    def tallies() -> dict[tuple, int]:
        return {(t.question_code, t.area_key, t.department, t.score): t.answer_count
                for t in db.session.scalars(select(ScoreTally)) if t.answer_count and t.question_code != "@version"}
    written = tallies()
    version = tally_versions([s.wave.id])[s.wave.id]
    assert version >= 1  # what the reports' cache keys read
    assert written[("@hours:time_lost", s.used.id, "Finance", 225)] == 1
    # satisfaction 4 with responsiveness 5, resolution quality 4, communication 3, expertise 4
    assert written[("@joint:responsiveness", s.used.id, "Finance", 504)] == 1
    assert written[("@joint:communication", s.used.id, "Finance", 304)] == 1
    rebuild_wave_tallies(s.wave.id)
    db.session.commit()
    assert tallies() == written
    assert tally_versions([s.wave.id])[s.wave.id] > version  # a rebuild leaves no report cached as it was


def test_valid_submission_stores_one_response_with_answers_sentiment_and_tallies(client, survey, db):
    s = make_survey(survey)
    response = submit(client, s)
    assert response.status_code == 303
    assert response.headers["Location"].endswith(f"/s/{s.token}/thanks")
    thanks = client.get(response.headers["Location"])
    assert thanks.status_code == 200
    assert "Thank you, your answers are in" in thanks.get_data(as_text=True)
    assert "What happens next" in thanks.get_data(as_text=True)

    stored = db.session.scalars(select(Response)).all()
    assert len(stored) == 1
    assert stored[0].invitation_id == s.invitation.id
    assert stored[0].department == "Finance" and stored[0].location is None  # only segment attributes
    by_code = {(a.question.code, a.service_area_id): a for a in stored[0].answers}
    assert len(by_code) == 13
    assert by_code[("satisfaction", s.used.id)].score == 4
    assert by_code[("recommend", s.used.id)].score == 9
    assert by_code[("time_lost", s.used.id)].hours == 1.5
    assert by_code[("reasons", s.used.id)].reasons == ["fast_response", "friendly_staff"]
    assert by_code[("partnership", None)].score == 4
    comment = by_code[("comment", s.used.id)]
    assert comment.text == "The service desk was fast and very helpful."
    assert comment.sentiment_label == "positive" and comment.sentiment_polarity > 0
    assert comment.analyzer_version == comment_scores.ANALYZER_VERSION
    assert comment.sentiment_drivers and {"phrase", "contribution"} <= set(comment.sentiment_drivers[0])
    assert by_code[("relationship_comment", None)].sentiment_label == "negative"
    assert all(a.question.code != "satisfaction" or a.service_area_id != s.unused.id for a in stored[0].answers)

    tally = db.session.scalar(select(ScoreTally).where(ScoreTally.question_code == "satisfaction"))
    assert (tally.wave_id, tally.area_key, tally.department, tally.score, tally.answer_count) == (
        s.wave.id, s.used.id, "Finance", 4, 1)
    tallies = db.session.scalars(select(ScoreTally)).all()
    assert len([t for t in tallies if not t.question_code.startswith("@")]) == 9  # area ratings/nps, relationship
    # Both comments are counted in the same transaction, each with the aspects the analyzer found in it.
    comments = {(t.question_code, t.area_key): t.answer_count for t in tallies if t.question_code.startswith("@")}
    assert comments[("@comments", s.used.id)] == 1 and comments[("@comments", 0)] == 1
    assert ("@comments-shared", s.used.id) not in comments  # the respondent did not share it
    mentioned = {(m["aspect"], m["label"]) for m in comment.sentiment_aspects}
    assert {(code.removeprefix("@aspect:"), area) for code, area in comments if code.startswith("@aspect:")} >= {
        (aspect, s.used.id) for aspect, _ in mentioned}
    db.session.expire_all()
    assert db.session.get(Invitation, s.invitation.id).responded_at is not None


def test_a_skipped_area_needs_no_answers_and_stores_none(client, survey, db):
    s = make_survey(survey)
    overrides = {name: None for name in ("satisfaction", "responsiveness", "resolution_quality", "communication",
                                         "expertise", "recommend", "time_lost", "reasons")}
    response = submit(client, s, **overrides, comment="Entered before ticking the box",
                      **{f"skip_area{s.used.id}": "y"})
    assert response.status_code == 303
    stored = db.session.scalar(select(Response))
    assert {a.question.code for a in stored.answers} == {"partnership", "proactivity", "account_management",
                                                         "relationship_comment"}


def test_optional_questions_may_be_left_empty(client, survey, db):
    s = make_survey(survey)
    response = submit(client, s, responsiveness=None, time_lost="", comment="", reasons=None,
                      rel__relationship_comment="")
    assert response.status_code == 303
    codes = {a.question.code for a in db.session.scalar(select(Response)).answers}
    assert "time_lost" not in codes and "comment" not in codes and "responsiveness" not in codes


def test_anonymous_response_carries_nothing_that_leads_back_to_the_person(app, client, survey, db):
    s = make_survey(survey, anonymity="anonymous")
    assert submit(client, s).status_code == 303
    assert count(db, Response) == 0  # its parts wait in the pool (tests/test_anonymity.py)
    person = {s.stakeholder.email, s.stakeholder.name, s.token, "Berlin"}
    linking_tables = {"invitation", "invitation_token", "stakeholder", "user"}

    def check_row(row, allowed_fk_targets: set[str]) -> None:
        for column in row.__table__.columns:
            value = getattr(row, column.key)
            for fk in column.foreign_keys:
                target = fk.column.table.name
                assert target in allowed_fk_targets or value is None, f"{column} links to {target}"
                assert target not in linking_tables or value is None, f"{column} links to {target}"
            if isinstance(value, str):
                assert value not in person, f"{column} holds {value!r}"
            if isinstance(value, datetime):
                assert value.timetz() == time(0, tzinfo=timezone.utc), f"{column} is more precise than a day"

    pooled = db.session.scalars(select(PooledResponse)).all()
    assert len(pooled) == 2  # the answers about the service desk, and those about the provider as a whole
    for row in pooled:
        check_row(row, {"wave"})
        assert all(value.encode() not in row.sealed for value in person)
    assert anonymous_pool.flush_due(s.wave.closes_at, app.config["SECRET_KEY"]) == 2
    stored = db.session.scalars(select(Response)).all()
    assert len(stored) == 2
    for response in stored:
        check_row(response, {"wave"})
        assert response.invitation_id is None
        assert response.department is None  # one person of Finance answered: too few to name
        assert len({answer.service_area_id for answer in response.answers}) == 1
        for answer in response.answers:
            check_row(answer, {"response", "wave", "question", "service_area"})
    # The invitation only learns that (and on which day) it was opened and answered: a time of day
    # would let whoever reads the database line invitations up with responses stored in that order.
    db.session.expire_all()
    invitation = db.session.get(Invitation, s.invitation.id)
    for moment in (invitation.opened_at, invitation.responded_at):
        assert moment is not None and moment.timetz() == time(0, tzinfo=timezone.utc)


# --- invalid answers: 422, nothing stored, everything entered still there ----------------------------


def test_missing_required_answer_shows_messages_and_keeps_what_was_entered(client, survey, db):
    s = make_survey(survey)
    response = submit(client, s, satisfaction=None, time_lost="2.5", comment="Keep this comment please")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Please check 1 answer" in html
    assert f'href="#area{s.used.id}__satisfaction-0"' in html
    assert "Please answer this question, or tick “I did not use Service Desk”." in html
    assert f'id="area{s.used.id}__satisfaction-error"' in html and 'aria-invalid="true"' in html
    assert "Keep this comment please</textarea>" in html
    assert 'value="2.5"' in html
    assert f'name="area{s.used.id}__responsiveness" value="5" checked' in html
    assert 'value="fast_response" checked' in html
    assert_nothing_stored(db, s)


@pytest.mark.parametrize(("overrides", "message"), [
    ({"satisfaction": "6"}, "Choose a number from 1 to 5."),
    ({"satisfaction": "0"}, "Choose a number from 1 to 5."),
    ({"recommend": "11"}, "Choose a number from 0 to 10."),
    ({"satisfaction": "four"}, "Choose a number from 1 to 5."),
    ({"satisfaction": ["4", "5"]}, "Give one answer only."),
    ({"time_lost": "lots"}, "Enter a number of hours from 0 to 200"),
    ({"time_lost": "201"}, "Enter a number of hours from 0 to 200"),
    ({"time_lost": "-1"}, "Enter a number of hours from 0 to 200"),
    ({"time_lost": "nan"}, "Enter a number of hours from 0 to 200"),
    ({"comment": "x" * 2001}, "Shorten this to 2000 characters or fewer (it has 2001)."),
    ({"reasons": ["made_up"]}, "Choose reasons from the list."),
    ({"reasons": ["slow_response"]}, "For a rating of 4, choose reasons from the list of what went well."),
    ({"satisfaction": "2"}, "For a rating of 2, choose reasons from the list of what went wrong."),
    ({"rel__partnership": "9"}, "Choose a number from 1 to 5."),
    ({"area999__satisfaction": "5"}, "not part of this survey"),
    ({"unknown_question": "5"}, "not part of this survey"),
    ({"skip_area{used}": "maybe"}, "Tick the box or leave it empty."),
])
def test_invalid_values_are_refused_with_422_and_nothing_stored(client, survey, db, overrides, message):
    s = make_survey(survey)
    overrides = {key.replace("{used}", str(s.used.id)): value for key, value in overrides.items()}
    response = submit(client, s, **overrides)
    assert response.status_code == 422
    assert message in response.get_data(as_text=True)
    assert_nothing_stored(db, s)


def test_answers_for_an_area_the_person_does_not_use_are_refused(client, survey, db):
    s = make_survey(survey)
    response = submit(client, s, **{f"area{s.unused.id}__satisfaction": "1"})
    assert response.status_code == 422
    assert_nothing_stored(db, s)


# --- every bad request -----------------------------------------------------------------------------


def test_unknown_and_malformed_tokens_get_the_same_404(client, survey, db):
    s = make_survey(survey)
    unknown = client.get("/s/" + "A" * 32)
    malformed = client.get("/s/not-a-token")
    assert unknown.status_code == malformed.status_code == 404
    assert unknown.data == malformed.data
    assert "There is nothing at this address" in unknown.get_data(as_text=True)
    assert s.token not in unknown.get_data(as_text=True)
    assert client.post("/s/" + "A" * 32, data=answers(s.used)).status_code == 404
    assert_nothing_stored(db, s)


def test_repeated_404s_from_one_address_are_rate_limited_without_hurting_respondents(client, survey, db):
    s = make_survey(survey)
    for _ in range(30):  # a respondent reloading a working link is never counted
        assert client.get(s.url).status_code == 200
    statuses = [client.get(f"/s/guess{n:027d}").status_code for n in range(21)]
    assert statuses[:20] == [404] * 20
    assert statuses[20] == 429
    assert "Too many requests" in client.get("/s/another-guess").get_data(as_text=True)
    other_address = client.get(s.url, environ_base={"REMOTE_ADDR": "10.0.0.7"})
    assert other_address.status_code == 200


def test_closed_wave_is_410_and_says_when_it_closed(client, survey, db):
    s = make_survey(survey)
    _, token = open_form(client, s)
    s.wave.close()
    db.session.commit()
    closed_on = s.wave.closed_at.strftime("%d %B %Y").lstrip("0")
    page = client.get(s.url)
    assert page.status_code == 410
    assert f"This survey closed on {closed_on}" in page.get_data(as_text=True)
    late = client.post(s.url, data={**answers(s.used), "csrf_token": token})
    assert late.status_code == 410
    assert_nothing_stored(db, s)


def test_wave_past_its_close_date_is_410_even_before_the_dispatcher_closes_it(client, survey, db):
    s = make_survey(survey, opens_at=datetime.now(timezone.utc) - timedelta(days=20), days=14)
    assert s.wave.state == "open"
    response = client.get(s.url)
    assert response.status_code == 410 and "This survey closed on" in response.get_data(as_text=True)


def test_wave_not_open_yet_is_410_and_says_when_it_opens(client, survey, db):
    opens = datetime.now(timezone.utc) + timedelta(days=3)
    s = make_survey(survey, wave_state="scheduled", opens_at=opens)
    response = client.get(s.url)
    assert response.status_code == 410
    assert f"This survey opens on {opens.strftime('%d %B %Y').lstrip('0')}" in response.get_data(as_text=True)


def test_already_answered_link_shows_the_date_and_a_second_post_stores_nothing(client, survey, db):
    s = make_survey(survey)
    _, token = open_form(client, s)
    first = client.post(s.url, data={**answers(s.used), "csrf_token": token})
    assert first.status_code == 303
    again = client.get(s.url)
    assert again.status_code == 200
    today = datetime.now(timezone.utc).strftime("%d %B %Y").lstrip("0")
    assert f"Your answers were received on {today}" in again.get_data(as_text=True)
    second = client.post(s.url, data={**answers(s.used, satisfaction="1"), "csrf_token": token})
    assert second.status_code == 409
    assert "You have already answered this survey" in second.get_data(as_text=True)
    assert count(db, Response) == 1
    assert db.session.scalar(select(Answer.score).join(Answer.question).where(
        Answer.service_area_id == s.used.id).where(Answer.question.has(code="satisfaction"))) == 4


def test_opted_out_person_is_offered_to_opt_back_in(client, survey, db):
    s = make_survey(survey)
    s.stakeholder.opt_out()
    db.session.commit()
    page = client.get(s.url)
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "You have unsubscribed from these surveys" in html and "Opt back in" in html
    back_in = client.post(f"/s/{s.token}/opt-in", data={"csrf_token": extract_csrf(html)})
    assert back_in.status_code == 303
    db.session.expire_all()
    assert s.stakeholder.opted_out_at is None
    survey_page = client.get(back_in.headers["Location"])
    assert survey_page.status_code == 200
    assert "You will receive these surveys again" in survey_page.get_data(as_text=True)


def test_missing_csrf_token_keeps_the_answers_and_lets_the_person_submit_again(client, survey, db):
    s = make_survey(survey)
    client.get(s.url)
    data = answers(s.used, comment="Written slowly over lunch")
    expired = client.post(s.url, data=data)  # no token: as after the token expired
    html = expired.get_data(as_text=True)
    assert expired.status_code == 400
    assert "Your answers are still filled in below" in html
    assert "Written slowly over lunch</textarea>" in html
    assert f'name="area{s.used.id}__satisfaction" value="4" checked' in html
    assert_nothing_stored(db, s)
    again = client.post(s.url, data={**data, "csrf_token": extract_csrf(html)})
    assert again.status_code == 303
    assert count(db, Response) == 1


def test_expired_csrf_token_is_handled_like_a_missing_one(app, client, survey, db):
    s = make_survey(survey)
    _, token = open_form(client, s)
    previous = app.config["WTF_CSRF_TIME_LIMIT"]
    app.config["WTF_CSRF_TIME_LIMIT"] = -1  # every token is already too old
    try:
        response = client.post(s.url, data={**answers(s.used), "csrf_token": token})
    finally:
        app.config["WTF_CSRF_TIME_LIMIT"] = previous
    assert response.status_code == 400
    assert "open for a long time" in response.get_data(as_text=True)
    assert_nothing_stored(db, s)


def test_body_too_large_is_413_with_a_clear_page(app, client, survey, db):
    s = make_survey(survey)
    _, token = open_form(client, s)
    huge = "x" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = client.post(s.url, data={**answers(s.used, comment=huge), "csrf_token": token})
    assert response.status_code == 413
    assert "Your answers were too long to receive" in response.get_data(as_text=True)
    assert_nothing_stored(db, s)


# --- drafts -----------------------------------------------------------------------------------------


def test_partial_answers_can_be_saved_and_resumed_then_disappear_on_submit(client, survey, db):
    s = make_survey(survey)
    _, token = open_form(client, s)
    partial = {f"area{s.used.id}__satisfaction": "2", f"area{s.used.id}__comment": "Half a thought",
               "action": "save", "csrf_token": token}
    saved = client.post(s.url, data=partial)
    assert saved.status_code == 303
    assert count(db, Response) == 0
    draft = db.session.get(ResponseDraft, s.invitation.id)
    assert b"Half a thought" not in draft.sealed  # sealed with the link's key, see tests/test_anonymity.py
    kept = responses.load_draft(responses.load_survey_context(s.token).invitation, s.token)
    assert kept.data[f"area{s.used.id}__comment"] == ["Half a thought"]
    assert "csrf_token" not in kept.data and "action" not in kept.data

    resumed = client.get(saved.headers["Location"]).get_data(as_text=True)
    assert "Your answers are saved" in resumed
    assert "Half a thought</textarea>" in resumed
    assert f'name="area{s.used.id}__satisfaction" value="2" checked' in resumed

    other = make_stakeholder(areas=[s.used])
    _, other_token = make_invitation(s.wave, other)
    assert "Half a thought" not in client.get(f"/s/{other_token}").get_data(as_text=True)

    done = client.post(s.url, data={**answers(s.used, satisfaction="2", reasons=["slow_response"]),
                                    "csrf_token": extract_csrf(resumed)})
    assert done.status_code == 303
    assert count(db, ResponseDraft) == 0
    assert count(db, Response) == 1


def test_a_draft_saved_from_a_tab_opened_before_the_survey_was_submitted_is_refused_and_not_kept(
        app, client, survey, db):
    """Two tabs: the second loaded the survey before the first submitted it, then presses "save"."""
    s = make_survey(survey)
    now = datetime.now(timezone.utc)
    stale = responses.load_survey_context(s.token, now=now)
    assert submit(client, s).status_code == 303

    with pytest.raises(responses.AlreadyAnswered) as refused:
        responses.save_draft(stale, {f"area{s.used.id}__comment": "Second thoughts"}, token=s.token, now=now)
    assert refused.value.responded_at is not None
    assert count(db, ResponseDraft) == 0
    assert count(db, Response) == 1


def test_a_draft_opens_only_from_the_link_it_was_saved_from(client, survey, db):
    """Each email carries its own token and a draft is sealed with its link's key: the reminder's link
    finds a draft it cannot open, says so, and starts with an empty form."""
    from app.services.invitations import issue_token

    s = make_survey(survey)
    reminder_token = issue_token(s.invitation, purpose="reminder")
    db.session.commit()
    _, token = open_form(client, s)
    client.post(s.url, data={f"area{s.used.id}__comment": "Drafted from the first email", "action": "save",
                             "csrf_token": token})

    from_reminder = client.get(f"/s/{reminder_token}").get_data(as_text=True)
    assert "Drafted from the first email" not in from_reminder
    assert "open only from the link they were saved from" in from_reminder
    from_first = client.get(s.url).get_data(as_text=True)
    assert "Drafted from the first email</textarea>" in from_first
    assert "open only from the link they were saved from" not in from_first
