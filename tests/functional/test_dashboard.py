"""Dashboard pages through the client: roles, suppression, significance, chart caching, corrections."""
from __future__ import annotations

import re

import pytest

from app.models import Answer
from app.services import reporting
from tests.factories import extract_csrf, login, make_user, make_wave
from tests.reporting_seed import NEGATIVE, AreaAnswers, add_wave, make_reporting_campaign, story


@pytest.fixture
def seeded(db, survey):
    return story(survey)


def _pages(seeded):
    area = seeded.areas[0].id
    return {
        "overview": "/dashboard/",
        "area": f"/dashboard/areas/{area}",
        "comments": "/dashboard/comments",
        "scorecard": "/dashboard/scorecard",
        "chart": f"/dashboard/charts/trend.svg?area={area}",
        "admin_providers": "/admin/providers",
        "admin_users": "/admin/users",
    }


def _first_comment_id(html: str) -> int:
    return int(re.search(r'id="comment-(\d+)"', html).group(1))


def _provider_client(client, seeded):
    user = make_user(role="provider", provider=seeded.campaign.provider)
    login(client, user)
    return client


def test_anonymous_users_are_sent_to_login(client, seeded):
    for name, url in _pages(seeded).items():
        response = client.get(url)
        assert response.status_code == 302, name
        assert "/auth/login" in response.headers["Location"], name


@pytest.mark.parametrize("role", ["manager", "admin"])
def test_managers_and_admins_see_every_dashboard_page(client, seeded, role):
    login(client, make_user(role=role))
    for name in ("overview", "area", "comments", "scorecard", "chart"):
        response = client.get(_pages(seeded)[name])
        assert response.status_code == 200, name
    admin_status = client.get("/admin/providers").status_code
    assert admin_status == (200 if role == "admin" else 403)


def test_provider_gets_scorecard_only(client, seeded):
    _provider_client(client, seeded)
    pages = _pages(seeded)
    overview = client.get(pages["overview"])
    assert overview.status_code == 302 and "/dashboard/scorecard" in overview.headers["Location"]
    assert client.get(pages["scorecard"]).status_code == 200
    assert client.get(pages["chart"]).status_code == 200
    for name in ("area", "comments", "admin_providers", "admin_users"):
        assert client.get(pages[name]).status_code == 403, name
    assert client.get("/dashboard/scorecard?department=Finance").status_code == 403
    page = client.get(pages["scorecard"]).get_data(as_text=True)
    assert "Department" not in page and NEGATIVE not in page  # nothing shared yet


def test_provider_cannot_read_another_providers_figures(client, db, survey, seeded):
    other, (other_area,) = make_reporting_campaign(survey, area_count=1)
    add_wave(other, survey, "X1", {other_area: AreaAnswers([5] * 6)})
    _provider_client(client, seeded)
    page = client.get(f"/dashboard/scorecard?campaign={other.id}").get_data(as_text=True)
    assert other_area.name not in page and seeded.areas[0].name in page
    assert client.get(f"/dashboard/charts/trend.svg?area={other_area.id}&campaign={other.id}").status_code == 404


def test_overview_shows_targets_and_significance(manager_client, seeded):
    last_two = f"?first={seeded.waves[0].id}&last={seeded.waves[1].id}"
    page = manager_client.get("/dashboard/" + last_two).get_data(as_text=True)
    assert "4.40" in page and "2025-Q2" in page
    assert page.count('class="sig-mark">significant<') == 2  # satisfaction and happiness of the improved area
    assert 'class="nosig-mark">not significant<' in page  # the noisy area
    assert "50%" in page  # response rate: 20 of 40
    assert "Welch" in page


def test_a_wave_with_four_responses_shows_no_figure_anywhere(client, db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    secret = "Only my manager and I know about the printer in room 4.12"
    add_wave(campaign, survey, "2026-Q1", {area: AreaAnswers([1, 1, 1, 2], recommend=[0, 0, 7, 9],
                                                             comments=[secret] * 4, hours=[7.5] * 4,
                                                             reasons=[["slow_response"]] * 4)}, invited=9)
    login(client, make_user(role="admin"))
    urls = ["/dashboard/", f"/dashboard/areas/{area.id}", "/dashboard/comments", f"/dashboard/comments?area={area.id}",
            "/dashboard/scorecard"]
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        page = response.get_data(as_text=True)
        for figure in ("1.25", "-25", "−25", "7.5", secret, "44%", "class=\"num\">4</td>", "n=4"):
            assert figure not in page, (url, figure, page[max(0, page.find(figure) - 300):page.find(figure) + 100])
        assert "fewer than 5 responses" in page or "n&lt;5" in page, url
    area_page = client.get(f"/dashboard/areas/{area.id}").get_data(as_text=True)
    assert "fewer than 5 responses" in area_page


def test_unchanged_chart_answers_304_without_body(manager_client, db, survey, seeded):
    url = f"/dashboard/charts/trend.svg?area={seeded.areas[0].id}&campaign={seeded.campaign.id}"
    first = manager_client.get(url)
    assert first.status_code == 200 and first.mimetype == "image/svg+xml"
    assert first.data.startswith(b"<?xml") and b"<svg" in first.data
    etag = first.headers["ETag"]
    assert etag.startswith('"') and not etag.startswith("W/")
    assert "private" in first.headers["Cache-Control"]
    again = manager_client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.data == b""
    assert again.headers["ETag"] == etag
    add_wave(seeded.campaign, survey, "2025-Q4", {seeded.areas[0]: AreaAnswers([1] * 10)}, index=3)
    changed = manager_client.get(url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["ETag"] != etag


def _scale_tallies(db, wave, area, factor: int = 0, add: dict[int, int] | None = None) -> None:
    """Make the area's satisfaction answers in the wave `factor` times as many, or add some per score, as
    stored submissions do (the reports read the tallies, and their version)."""
    from collections import Counter

    from app.models import ScoreTally
    from app.services.tallies import add_to_tallies

    delta = Counter()
    for tally in db.session.scalars(db.select(ScoreTally).where(
            ScoreTally.wave_id == wave.id, ScoreTally.area_key == area.id, ScoreTally.question_code == "satisfaction")):
        more = tally.answer_count * (factor - 1) if factor else 0
        key = (wave.id, "satisfaction", area.id, tally.department, tally.score)
        delta[key] += more + (add or {}).get(tally.score, 0)
    add_to_tallies(delta)
    db.session.commit()


def test_a_large_waves_chart_is_drawn_again_only_when_its_picture_changes(manager_client, db, seeded):
    area, wave = seeded.areas[0], seeded.waves[-1]
    urls = {kind: f"/dashboard/charts/{kind}.svg?area={area.id}&campaign={seeded.campaign.id}"
            for kind in ("distribution", "trend")}
    _scale_tallies(db, wave, area, factor=1000)  # 20,000 answers, as at a large organisation

    def etags() -> dict[str, str]:
        return {kind: manager_client.get(url).headers["ETag"] for kind, url in urls.items()}

    before = etags()
    assert b"n=20k" in manager_client.get(urls["trend"]).data  # a large wave's n, in thousands under the wave
    _scale_tallies(db, wave, area, add={5: 1})  # one more answer moves each share by 0.005 percentage points
    assert etags() == before
    assert manager_client.get(urls["distribution"], headers={"If-None-Match": before["distribution"]}).status_code == 304
    page = manager_client.get(f"/dashboard/areas/{area.id}?campaign={seeded.campaign.id}").get_data(as_text=True)
    assert "55%" not in page
    _scale_tallies(db, wave, area, add={4: 2000})  # a tenth more answers, all 4 out of 5: the bars move
    assert etags()["distribution"] != before["distribution"]
    page = manager_client.get(f"/dashboard/areas/{area.id}?campaign={seeded.campaign.id}").get_data(as_text=True)
    assert "55%" in page  # the data table beside the picture: 12,000 of 22,001 answers gave 4
    assert ">22001<" in page  # and the exact count of answers


def test_an_image_the_page_linked_is_the_picture_the_page_showed_without_building_the_report_again(
        manager_client, db, seeded):
    from unittest import mock

    from app.services.reporting import reports

    area, wave = seeded.areas[0], seeded.waves[-1]
    page = manager_client.get(f"/dashboard/areas/{area.id}?campaign={seeded.campaign.id}").get_data(as_text=True)
    links = re.findall(r'<img class="chart-img" src="([^"]+)"', page)
    assert len(links) >= 6 and all("v=" in link for link in links)
    distribution = next(link for link in links if "distribution" in link).replace("&amp;", "&")
    version = re.search(r"v=([0-9a-f]+)", distribution).group(1)
    _scale_tallies(db, wave, area, add={4: 30})  # answers arrive between the page and its images
    with mock.patch.object(reports, "area_report", side_effect=AssertionError("report built again")):
        image = manager_client.get(distribution)
        assert image.status_code == 200 and image.headers["ETag"] == f'"{version}"'
        assert "immutable" in image.headers["Cache-Control"]
        assert manager_client.get(distribution, headers={"If-None-Match": version}).status_code == 304
    again = manager_client.get(f"/dashboard/areas/{area.id}?campaign={seeded.campaign.id}").get_data(as_text=True)
    assert f"v={version}" not in again  # the next page load links the new picture
    # A provider's user asking for the staff's picture by its ETag gets nothing kept for the staff.
    provider = manager_client.application.test_client()
    login(provider, make_user(role="provider", provider=seeded.campaign.provider))
    theirs = provider.get(distribution)
    assert "immutable" not in theirs.headers.get("Cache-Control", "")


def test_a_small_waves_trend_shows_each_new_answer(manager_client, db, seeded):
    area, wave = seeded.areas[0], seeded.waves[-1]
    url = f"/dashboard/charts/trend.svg?area={area.id}&campaign={seeded.campaign.id}"
    before = manager_client.get(url)
    _scale_tallies(db, wave, area, add={5: 1})
    after = manager_client.get(url, headers={"If-None-Match": before.headers["ETag"]})
    assert after.status_code == 200 and after.headers["ETag"] != before.headers["ETag"]  # n=20 became n=21


@pytest.mark.parametrize("kind", ["trend", "distribution", "sentiment", "timelost", "reasons", "sparkline", "heatmap"])
def test_every_chart_kind_renders(manager_client, seeded, kind):
    response = manager_client.get(f"/dashboard/charts/{kind}.svg?area={seeded.areas[0].id}&metric=happiness")
    assert response.status_code == 200 and b"<svg" in response.data


def test_unknown_chart_or_metric_is_404(manager_client, seeded):
    assert manager_client.get(f"/dashboard/charts/pie.svg?area={seeded.areas[0].id}").status_code == 404
    assert manager_client.get(f"/dashboard/charts/trend.svg?area={seeded.areas[0].id}&metric=x").status_code == 404


def test_pages_have_alt_text_and_data_tables(manager_client, seeded):
    page = manager_client.get(f"/dashboard/areas/{seeded.areas[0].id}").get_data(as_text=True)
    assert page.count("<details class=\"chart-data\">") == page.count('class="chart-img"') >= 6
    assert 'alt=""' not in page
    assert "css/dashboard.css" in page and "http" not in page.split("<body")[0].replace("http-equiv", "")


def test_manager_corrects_a_label_and_it_shows_as_corrected(manager_client, db, seeded, manager_user):
    page = manager_client.get(f"/dashboard/comments?area={seeded.areas[0].id}&label=positive")
    html = page.get_data(as_text=True)
    answer_id = _first_comment_id(html)
    token = extract_csrf(html)
    assert manager_client.post(f"/dashboard/comments/{answer_id}/label", data={"label": "negative"}).status_code == 400
    response = manager_client.post(f"/dashboard/comments/{answer_id}/label",
                                   data={"label": "negative", "csrf_token": token, "next": "/dashboard/comments"})
    assert response.status_code == 302
    answer = db.session.get(Answer, answer_id)
    db.session.refresh(answer)
    assert answer.label_override == "negative" and answer.sentiment_label == "positive"
    assert answer.label_override_by_id == manager_user.id and answer.label_override_at is not None
    listed = manager_client.get("/dashboard/comments?label=negative").get_data(as_text=True)
    block = listed.split(f'id="comment-{answer_id}"')[1].split("</li>")[0]
    assert ">corrected<" in block and "computed: positive" in block
    assert manager_client.post(f"/dashboard/comments/{answer_id}/label",
                               data={"label": "furious", "csrf_token": token}).status_code == 422


def test_shared_comment_appears_on_the_provider_scorecard(client, db, seeded):
    manager = make_user(role="manager")
    login(client, manager)
    html = client.get(f"/dashboard/comments?area={seeded.areas[0].id}&label=positive").get_data(as_text=True)
    answer_id = _first_comment_id(html)
    response = client.post(f"/dashboard/comments/{answer_id}/shareable",
                           data={"shareable": "1", "csrf_token": extract_csrf(html), "next": "https://evil.example/"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/dashboard/comments")
    assert db.session.get(Answer, answer_id).shareable is True
    client.post("/auth/logout", data={"csrf_token": extract_csrf(client.get("/dashboard/").get_data(as_text=True))})
    _provider_client(client, seeded)
    scorecard = client.get("/dashboard/scorecard").get_data(as_text=True)
    assert db.session.get(Answer, answer_id).text in scorecard


def test_comment_filters_and_pagination(manager_client, seeded):
    page = manager_client.get("/dashboard/comments?q=terrible").get_data(as_text=True)
    assert "8 comments" in page and "Quick, friendly" not in page
    empty = manager_client.get("/dashboard/comments?label=neutral").get_data(as_text=True)
    assert "No comments match" in empty
    assert manager_client.get("/dashboard/comments?page=99").status_code == 200


def test_department_filter_narrows_figures(manager_client, db, survey):
    campaign, (area,) = make_reporting_campaign(survey, area_count=1)
    add_wave(campaign, survey, "W1", {area: AreaAnswers([5] * 6 + [1] * 6,
                                                        departments=["Finance"] * 6 + ["Sales"] * 6)})
    page = manager_client.get("/dashboard/?department=Sales").get_data(as_text=True)
    assert "1.00" in page and "5.00" not in page and "Sales" in page


def _shown_campaign(page: str) -> str:
    return re.search(r"</strong> · ([^<\n]+)", page).group(1).strip()


def test_overview_default_is_never_a_new_empty_campaign(manager_client, db, survey, seeded):
    empty, _ = make_reporting_campaign(survey, area_count=1, name="Brand new pilot")
    make_wave(empty, label="2026-Q1")  # open today, nobody has answered
    page = manager_client.get("/dashboard/").get_data(as_text=True)
    assert _shown_campaign(page) == seeded.campaign.name and "0 responses" not in page
    assert _shown_campaign(manager_client.get(f"/dashboard/?campaign={empty.id}").get_data(as_text=True)) \
        == "Brand new pilot"  # still there when asked for


def test_overview_default_is_the_campaign_last_viewed(manager_client, db, survey, seeded):
    other, (area,) = make_reporting_campaign(survey, area_count=1, name="Campaign B")
    add_wave(other, survey, "2024-Q1", {area: AreaAnswers([3] * 6)}, index=-4)
    def shown(url):
        return _shown_campaign(manager_client.get(url).get_data(as_text=True))

    assert shown("/dashboard/") == seeded.campaign.name  # its closed wave is the latest with data
    assert shown(f"/dashboard/?campaign={other.id}") == "Campaign B"
    assert shown("/dashboard/") == "Campaign B"
    assert shown("/dashboard/comments") == "Campaign B"


def test_a_remembered_campaign_of_another_provider_is_not_a_provider_users_default(client, db, survey, seeded):
    other, (area,) = make_reporting_campaign(survey, area_count=1, name="Someone else's campaign")
    add_wave(other, survey, "2026-Q1", {area: AreaAnswers([5] * 6)}, index=8)
    _provider_client(client, seeded)
    with client.session_transaction() as session:
        session["last_campaign_id"] = other.id
    page = client.get("/dashboard/scorecard").get_data(as_text=True)
    assert _shown_campaign(page) == seeded.campaign.name and area.name not in page
    client.get(f"/dashboard/scorecard?campaign={other.id}")
    with client.session_transaction() as session:
        assert session["last_campaign_id"] == other.id  # unchanged: never set to a campaign not shown


def test_an_open_wave_is_marked_provisional_on_every_page_that_shows_it(manager_client, db, seeded):
    last = seeded.waves[-1]
    last.state = "open"
    db.session.commit()
    reporting.clear_cache()
    note = f"Provisional: {last.label} is open until {last.closes_at:%d %B %Y}; figures will move"
    pages = _pages(seeded)
    for name in ("overview", "area", "scorecard"):
        assert note in manager_client.get(pages[name]).get_data(as_text=True), name

    last.state = "closed"
    db.session.commit()
    reporting.clear_cache()
    for name in ("overview", "area", "scorecard"):
        assert "Provisional:" not in manager_client.get(pages[name]).get_data(as_text=True), name
