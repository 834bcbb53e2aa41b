"""What the comments say, as a manager and a provider meet it: aspects on the area page, the overview, the
comments page and the scorecard; aspect corrections; the aspects CSV; and the minimum group size and the
provider's shared-only copy holding for all of them."""
from __future__ import annotations

import csv
import io
import re

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from app.models import Answer
from app.services.comment_scores import Thresholds, rescore_comments
from app.services.reporting.aspects import area_aspects
from app.services.reporting.scope import resolve_scope
from tests.factories import extract_csrf, login, make_user, share_comments
from tests.reporting_seed import AreaAnswers, add_wave, make_reporting_campaign

CALM = ["The network has been rock solid all quarter.", "VPN connects first time, no complaints.",
        "Wi-Fi in the office is fast and stable.", "Video calls are smooth, great work.",
        "The connection is reliable now."] * 2
INCIDENT = ["VPN keeps dropping every afternoon and nobody told us why.",
            "Outage on Tuesday lasted four hours with no status updates.",
            "vpn keeps dropping when I join calls, really annoying.",
            "The VPN keeps dropping, terrible.", "No updates during the outage, we were in the dark.",
            "VPN keeps dropping since the change.", "Another outage this week, unacceptable.",
            "Wi-Fi has been unusable for weeks.", "vpn keeps dropping all day", "Outages every week now."]


@pytest.fixture
def incident(db, survey):
    """A network area calm for two waves, then an incident wave; a second area with too few comments."""
    campaign, (network, small) = make_reporting_campaign(survey)
    network.code, network.name = "network", "Network & Connectivity"
    for index, (label, comments, score) in enumerate((("2025-Q1", CALM, 4), ("2025-Q2", CALM[::-1], 4),
                                                      ("2025-Q3", INCIDENT, 2))):
        add_wave(campaign, survey, label, {
            network: AreaAnswers([score] * 10, comments=comments),
            small: AreaAnswers([4] * 10, comments=["Great service, thank you."] * 3),
        }, index=index)
    db.session.commit()
    return campaign, network, small


def _manager(client):
    login(client, make_user(role="manager"))
    return client


def test_the_area_page_says_which_aspect_moved_with_the_writers_words(client, incident):
    _, network, _ = incident
    page = _manager(client).get(f"/dashboard/areas/{network.id}").get_data(as_text=True)
    section = page[page.index('id="what-people-talk-about"'):]
    section = section[:section.index("</section>")]
    availability = section[section.index("Availability and performance"):].split("</tr>")[0]
    assert "changed" in availability
    assert "VPN keeps dropping" in availability or "vpn keeps dropping" in availability
    assert "Communication and updates" in section
    assert "new this wave: &#39;vpn keeps dropping&#39;" in section or "new this wave: 'vpn keeps dropping'" in section


def test_an_area_with_fewer_comments_than_the_minimum_says_so_and_shows_no_example(client, incident):
    _, _, small = incident
    page = _manager(client).get(f"/dashboard/areas/{small.id}").get_data(as_text=True)
    section = page[page.index('id="what-people-talk-about"'):]
    assert "Not enough comments" in section and "Great service" not in section.split("</section>")[0]


def test_the_overview_lists_the_aspects_that_moved_across_areas(client, incident):
    page = _manager(client).get("/dashboard/").get_data(as_text=True)
    movers = page[page.index('id="aspects-that-moved"'):].split("</section>")[0]
    assert "Network &amp; Connectivity: <strong>Availability and performance</strong>" in movers


def test_no_aspect_figures_under_a_department_filter(client, incident):
    _, network, _ = incident
    page = _manager(client).get(f"/dashboard/areas/{network.id}?department=Finance").get_data(as_text=True)
    section = page[page.index('id="what-people-talk-about"'):].split("</section>")[0]
    assert "not shown by department" in section and "dropping" not in section


def test_comments_filter_by_aspect_and_what_is_said_about_it(client, incident):
    _, network, _ = incident
    _manager(client)
    about = client.get(f"/dashboard/comments?area={network.id}&aspect=communication&aspect_label=negative")
    text = about.get_data(as_text=True)
    assert about.status_code == 200
    shown = text.count('class="comment-text"')
    assert shown == 3 and "nobody told us" in text and "rock solid" not in text
    assert "Communication and updates <span" in text  # each comment shows its aspects
    praise = client.get(f"/dashboard/comments?area={network.id}&aspect=availability&aspect_label=positive")
    quoted = re.findall(r'<blockquote class="comment-text">(.*?)</blockquote>', praise.get_data(as_text=True))
    assert quoted and any("rock solid" in q for q in quoted) and not any("dropping" in q for q in quoted)
    # An unknown aspect is refused by the form and ignored, never put into SQL.
    assert client.get("/dashboard/comments?aspect=%25%27--").status_code == 200


def test_a_manager_corrects_a_comments_aspects_and_the_correction_survives_rescoring(client, db, incident):
    _, network, _ = incident
    _manager(client)
    answer = db.session.scalars(select(Answer).where(Answer.text == "Another outage this week, unacceptable.")).first()
    assert {a["aspect"] for a in answer.sentiment_aspects} == {"availability"}
    page = client.get(f"/dashboard/comments?area={network.id}").get_data(as_text=True)
    response = client.post(f"/dashboard/comments/{answer.id}/aspects", data={
        "csrf_token": extract_csrf(page), "aspect_availability": "negative", "aspect_communication": "negative",
        "next": f"/dashboard/comments?area={network.id}"})
    assert response.status_code == 302
    db.session.expire_all()
    assert sorted(answer.aspects_override, key=lambda a: a["aspect"]) == [
        {"aspect": "availability", "label": "negative"}, {"aspect": "communication", "label": "negative"}]
    assert answer.aspects_override_by_id is not None and answer.aspects_override_at is not None
    list(rescore_comments(Thresholds()))
    db.session.expire_all()
    assert len(answer.aspects_override) == 2, "rescoring kept the manager's aspects"
    filtered = client.get(f"/dashboard/comments?area={network.id}&aspect=communication&aspect_label=negative")
    assert "unacceptable" in filtered.get_data(as_text=True) and "corrected by" in filtered.get_data(as_text=True)

    client.post(f"/dashboard/comments/{answer.id}/aspects", data={"csrf_token": extract_csrf(page), "reset": "1"})
    db.session.expire_all()
    assert answer.aspects_override is None


def test_aspect_corrections_refuse_bad_input_and_other_roles(client, db, incident):
    _, network, _ = incident
    answer_id = db.session.scalar(select(Answer.id).where(Answer.text.is_not(None)))
    _manager(client)
    page = client.get(f"/dashboard/comments?area={network.id}").get_data(as_text=True)
    token = extract_csrf(page)
    assert client.post(f"/dashboard/comments/{answer_id}/aspects",
                       data={"csrf_token": token, "aspect_availability": "furious"}).status_code == 422
    assert client.post(f"/dashboard/comments/{answer_id}/aspects", data={"aspect_availability": "negative"}
                       ).status_code in (400, 422)  # no CSRF token
    assert client.post("/dashboard/comments/999999/aspects",
                       data={"csrf_token": token, "aspect_availability": "negative"}).status_code == 404
    db.session.expire_all()
    assert db.session.get(Answer, answer_id).aspects_override is None


def test_the_aspects_csv_has_a_row_per_wave_area_and_aspect(client, incident):
    _, network, _ = incident
    _manager(client)
    response = client.get("/exports/aspects.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    incident_rows = {r["aspect"]: r for r in rows if r["wave"] == "2025-Q3" and r["service_area_code"] == "network"}
    availability = incident_rows["availability"]
    assert availability["aspect_name"] == "Availability and performance" and availability["changed"] == "yes"
    assert int(availability["mentions"]) >= 8 and float(availability["net_sentiment"]) < 0
    assert {r["wave"] for r in rows} == {"2025-Q1", "2025-Q2", "2025-Q3"}
    assert not [r for r in rows if r["service_area_code"] != "network"], "groups under the minimum are left out"
    assert client.get("/exports/aspects.csv?department=Finance").status_code == 422


def test_the_provider_sees_aspects_and_examples_only_from_shared_comments(client, db, incident):
    campaign, network, _ = incident
    share_comments(Answer.text.like("%keeps dropping%"))
    db.session.commit()
    login(client, make_user(role="provider", provider=campaign.provider))
    page = client.get("/dashboard/scorecard").get_data(as_text=True)
    talk = page[page.index("What people talk about"):].split("</section>")[0]
    assert "keeps dropping" in talk.lower()
    assert "Outage on Tuesday" not in talk and "in the dark" not in talk, "an unshared example reached the provider"
    scope = resolve_scope(provider_id=campaign.provider_id, campaign_id=campaign.id, first_wave_id=None,
                          last_wave_id=None, department=None)
    shared = area_aspects(scope, network.id, for_provider=True)
    assert shared.comments == 5 and {r.aspect for r in shared.rows} == {"availability", "communication"}


def test_the_pack_has_a_page_of_what_people_talk_about_from_shared_comments_only(client, db, incident):
    _, network, _ = incident
    share_comments(Answer.text.like("%keeps dropping%"))
    db.session.commit()
    _manager(client)
    pdf = client.get("/exports/review-pack.pdf")
    assert pdf.status_code == 200
    pages = [page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages]
    talk = [p for p in pages if "Network & Connectivity: what people talk about" in p and "Contents" not in p]
    assert len(talk) == 1
    assert "Availability and performance" in talk[0] and "keeps dropping" in talk[0].lower()
    assert "New or fading this wave" in talk[0]
    everything = "\n".join(pages)
    assert "Outage on Tuesday" not in everything and "in the dark" not in everything


def test_what_did_the_people_who_rated_it_low_say(client, db, survey):
    campaign, (area, _) = make_reporting_campaign(survey)
    add_wave(campaign, survey, "2025-Q1", {area: AreaAnswers(
        [1, 2, 3, 4, 5, 5], comments=["Awful week of outages.", "Slow and unhelpful.", "It was fine.",
                                      "Good service.", "Excellent, fixed at once.", "Brilliant team."])}, index=0)
    db.session.commit()
    _manager(client)

    def said(rating: str) -> list[str]:
        page = client.get(f"/dashboard/comments?area={area.id}&rating={rating}").get_data(as_text=True)
        return sorted(re.findall(r'<blockquote class="comment-text">(.*?)</blockquote>', page))

    assert said("low") == ["Awful week of outages.", "Slow and unhelpful."]
    assert said("middle") == ["It was fine."]
    assert said("high") == ["Brilliant team.", "Excellent, fixed at once.", "Good service."]
    assert len(said("")) == 6 and len(said("nonsense")) == 6  # an unknown band is ignored, not an error


def test_an_example_clause_is_shown_for_one_aspect_only(db, incident):
    campaign, network, _ = incident
    scope = resolve_scope(provider_id=campaign.provider_id, campaign_id=campaign.id, first_wave_id=None,
                          last_wave_id=None, department=None)
    talk = area_aspects(scope, network.id)
    examples = [e.text for row in talk.rows for e in row.examples]
    assert len(talk.rows) >= 2 and examples and len(examples) == len(set(examples))
