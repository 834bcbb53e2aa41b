"""Security headers on a sample of every blueprint's responses, survey links kept out of Referer
headers, and the session cookies' flags."""
from __future__ import annotations

import io
from html.parser import HTMLParser

import pytest

from app.extensions import limiter
from tests.factories import PASSWORD, extract_csrf, make_user
from tests.respond_support import answers
from tests.security_support import build_world, client_for, csrf_token


def csp_directives(response) -> dict[str, list[str]]:
    policy = response.headers.get("Content-Security-Policy", "")
    directives = {}
    for part in policy.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = [w.lower() for w in words[1:]]
    return directives


class _InlineCode(HTMLParser):
    """Collects what a CSP without 'unsafe-inline' would block: inline scripts and event handlers."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    def handle_starttag(self, tag, attrs):
        attributes = dict(attrs)
        if tag == "script" and not attributes.get("src"):
            self.found.append("<script> without src")
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith(
                    "javascript:"):
                self.found.append(f"<{tag} {name}=javascript:...>")


def header_problems(response) -> list[str]:
    problems = []
    directives = csp_directives(response)
    if not directives:
        problems.append("no Content-Security-Policy")
    else:
        scripts = directives.get("script-src", directives.get("default-src"))
        if scripts is None:
            problems.append("CSP limits neither script-src nor default-src")
        elif {"'unsafe-inline'", "'unsafe-eval'", "*", "data:"} & set(scripts):
            problems.append(f"CSP script-src allows {' '.join(scripts)}")
    if response.headers.get("X-Content-Type-Options", "").lower() != "nosniff":
        problems.append("X-Content-Type-Options is not nosniff")
    framing_refused = (directives.get("frame-ancestors") == ["'none'"]
                       or response.headers.get("X-Frame-Options", "").upper() == "DENY")
    if not framing_refused:
        problems.append("neither frame-ancestors 'none' nor X-Frame-Options DENY")
    if response.mimetype == "text/html":
        parser = _InlineCode()
        parser.feed(response.get_data(as_text=True))
        problems += [f"inline code in the page: {found}" for found in parser.found]
    return problems


def check(responses: dict[str, object], *, statuses: dict[str, int] | None = None) -> None:
    problems = []
    for name, response in responses.items():
        expected = (statuses or {}).get(name)
        if expected is not None and response.status_code != expected:
            problems.append(f"{name}: status {response.status_code}, expected {expected}")
        problems += [f"{name} ({response.status_code}): {problem}" for problem in header_problems(response)]
    assert not problems, "\n".join(problems)


@pytest.fixture
def world(db, survey):
    return build_world(survey)


def test_core_auth_and_error_pages(app, world):
    client = client_for(app, "anonymous", world)
    token = extract_csrf(client.get("/auth/login").get_data(as_text=True))
    check({
        "healthz": client.get("/healthz"),
        "index": client.get("/"),
        "login": client.get("/auth/login"),
        "failed login": client.post("/auth/login", data={"csrf_token": token, "email": "nobody@example.com",
                                                         "password": "wrong password"}),
        "login without CSRF token": client.post("/auth/login", data={"email": "a@example.com", "password": "x"}),
        "404": client.get("/no/such/page"),
        "405": client.get("/auth/logout"),
        "JSON 404": client.get("/no/such/page", headers={"Accept": "application/json"}),
    }, statuses={"healthz": 200, "index": 302, "login": 200, "failed login": 401, "login without CSRF token": 400,
                 "404": 404, "405": 405, "JSON 404": 404})


def test_too_many_sign_in_attempts_page(app, world):
    client = client_for(app, "anonymous", world)
    data = {"csrf_token": csrf_token(client, "anonymous"), "email": "a@example.com", "password": "x"}
    limiter.reset()
    for _ in range(10):
        assert client.post("/auth/login", data=data).status_code == 401
    check({"429": client.post("/auth/login", data=data)}, statuses={"429": 429})


def test_dashboard_and_export_pages(app, world):
    manager = client_for(app, "manager", world)
    provider = client_for(app, "provider", world)
    area = world.area.id
    check({
        "overview": manager.get("/dashboard/"),
        "area": manager.get(f"/dashboard/areas/{area}"),
        "comments": manager.get("/dashboard/comments"),
        "chart": manager.get(f"/dashboard/charts/trend.svg?area={area}"),
        "password page": manager.get("/auth/password"),
        "scorecard": provider.get("/dashboard/scorecard"),
        "403 for a provider": provider.get("/dashboard/comments"),
        "CSV export": manager.get("/exports/answers.csv"),
        "PDF review pack": manager.get("/exports/review-pack.pdf"),
    }, statuses={"overview": 200, "area": 200, "comments": 200, "chart": 200, "password page": 200,
                 "scorecard": 200, "403 for a provider": 403, "CSV export": 200, "PDF review pack": 200})


def test_export_downloads_are_attachments(app, world):
    manager = client_for(app, "manager", world)
    response = manager.get("/exports/answers.csv")
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert response.headers["Cache-Control"] == "no-store"


def test_admin_pages(app, world):
    admin = client_for(app, "admin", world)
    token = csrf_token(admin, "admin")
    check({
        "users": admin.get("/admin/users"),
        "providers": admin.get("/admin/providers"),
        "campaign": admin.get(f"/admin/campaigns/{world.campaign.id}"),
        "new campaign": admin.get("/admin/campaigns/new"),
        "stakeholders": admin.get("/admin/stakeholders"),
        "import": admin.get("/admin/stakeholders/import"),
        "import refused": admin.post("/admin/stakeholders/import", content_type="multipart/form-data", data={
            "csrf_token": token, "file": (io.BytesIO(b"name\nAnn\n"), "hr.csv")}),
        "404 for an unknown campaign": admin.get("/admin/campaigns/999999"),
    }, statuses={"users": 200, "providers": 200, "campaign": 200, "new campaign": 200, "stakeholders": 200,
                 "import": 200, "import refused": 422, "404 for an unknown campaign": 404})


def survey_link_responses(app, world) -> dict[str, object]:
    """Everything a respondent's browser can receive at a /s/<token> address."""
    client = client_for(app, "respondent", world)
    link = f"/s/{world.token}"
    page = client.get(link)
    token = extract_csrf(page.get_data(as_text=True))
    responses = {
        "survey": page,
        "thanks before answering": client.get(f"{link}/thanks"),
        "expired form": client.post(link, data=answers(world.area)),
        "invalid answers": client.post(link, data=answers(world.area, satisfaction="9", csrf_token=token)),
        "draft saved": client.post(link, data=answers(world.area, action="save", csrf_token=token)),
        "too large": client.post(link, data={"csrf_token": token, "x": "a" * (3 * 1024 * 1024)}),
        "unsubscribe page": client.get(f"{link}/unsubscribe"),
        "unsubscribed": client.post(f"{link}/unsubscribe", data={"csrf_token": token}),
        "opted out survey": client.get(link),
        "one-click unsubscribe": client.post(f"{link}/unsubscribe", data={"List-Unsubscribe": "One-Click"}),
        "opt in again": client.post(f"{link}/opt-in", data={"csrf_token": token}),
        "opt in with GET": client.get(f"{link}/opt-in"),
        "submitted": client.post(link, data=answers(world.area, csrf_token=token)),
        "thanks": client.get(f"{link}/thanks"),
        "answered again": client.get(link),
        "unknown token": client.get(f"/s/{world.unknown_token}"),
        "unknown token, thanks": client.get(f"/s/{world.unknown_token}/thanks"),
        "unknown token, unsubscribe": client.post(f"/s/{world.unknown_token}/unsubscribe", data={}),
        "no such page under a link": client.get(f"{link}/no-such-page"),
    }
    return responses


SURVEY_LINK_STATUSES = {
    "survey": 200, "thanks before answering": 302, "expired form": 400, "invalid answers": 422, "draft saved": 303,
    "too large": 413, "unsubscribe page": 200, "unsubscribed": 200, "opted out survey": 200,
    "one-click unsubscribe": 200, "opt in again": 303, "opt in with GET": 405, "submitted": 303, "thanks": 200,
    "answered again": 200, "unknown token": 404, "unknown token, thanks": 404, "unknown token, unsubscribe": 404,
    "no such page under a link": 404,
}


def test_survey_link_pages_have_the_security_headers(app, world):
    check(survey_link_responses(app, world), statuses=SURVEY_LINK_STATUSES)


def test_survey_links_never_leak_through_the_referer_header(app, world):
    """A page at /s/<token> must tell the browser to send no Referer, whatever it answers: the URL
    is the respondent's credential."""
    responses = survey_link_responses(app, world)
    leaky = {name: (response.status_code, response.headers.get("Referrer-Policy"))
             for name, response in responses.items() if response.headers.get("Referrer-Policy") != "no-referrer"}
    assert not leaky, f"survey-link responses without Referrer-Policy: no-referrer: {leaky}"
    uncached = {name for name, response in responses.items() if "no-store" not in response.headers.get(
        "Cache-Control", "")}
    assert not uncached, f"survey-link responses a cache may keep: {sorted(uncached)}"


def test_survey_link_rate_limit_page_keeps_the_link_private(app, world):
    client = client_for(app, "anonymous", world)
    configured = app.config["SURVEY_NOT_FOUND_LIMIT"]
    app.config["SURVEY_NOT_FOUND_LIMIT"] = "2 per minute"
    try:
        guesses = [client.get(f"/s/{world.unknown_token}") for _ in range(3)]
        own_link = client.get(f"/s/{world.token}")
    finally:
        app.config["SURVEY_NOT_FOUND_LIMIT"] = configured
        limiter.reset()
    assert [r.status_code for r in guesses] == [404, 404, 429] and own_link.status_code == 429
    check({"429 on a guessed link": guesses[2], "429 on a real link": own_link})
    assert {r.headers.get("Referrer-Policy") for r in guesses + [own_link]} == {"no-referrer"}


def test_other_pages_keep_a_same_origin_referrer(app, world):
    """Outside survey links the Referer may go to this site (useful in its logs), never elsewhere."""
    client = client_for(app, "anonymous", world)
    assert client.get("/auth/login").headers["Referrer-Policy"] == "same-origin"


def _set_cookies(response) -> dict[str, str]:
    cookies = {}
    for header in response.headers.getlist("Set-Cookie"):
        name = header.split("=", 1)[0].strip()
        cookies[name] = header
    return cookies


def _attributes(set_cookie: str) -> dict[str, str]:
    attributes = {}
    for part in set_cookie.split(";")[1:]:
        key, _, value = part.strip().partition("=")
        attributes[key.lower()] = value
    return attributes


@pytest.mark.parametrize("remember", [False, True], ids=["session", "remember-me"])
def test_sign_in_cookies_are_http_only_and_same_site_lax(app, db, remember):
    user = make_user(role="manager")
    client = app.test_client()
    token = extract_csrf(client.get("/auth/login").get_data(as_text=True))
    data = {"csrf_token": token, "email": user.email, "password": PASSWORD}
    if remember:
        data["remember"] = "y"
    response = client.post("/auth/login", data=data)
    assert response.status_code == 302
    cookies = _set_cookies(response)
    names = [app.config["SESSION_COOKIE_NAME"]] + ([app.config.get("REMEMBER_COOKIE_NAME", "remember_token")]
                                                   if remember else [])
    for name in names:
        assert name in cookies, f"no {name} cookie set at sign-in: {list(cookies)}"
        attributes = _attributes(cookies[name])
        assert "httponly" in attributes, f"{name} cookie is readable by scripts: {cookies[name]}"
        assert attributes.get("samesite", "").lower() == "lax", f"{name} cookie is not SameSite=Lax: {cookies[name]}"


def test_cookies_are_secure_when_the_site_is_served_over_https(tmp_path, monkeypatch):
    from app.config import Config

    monkeypatch.setenv("BASE_URL", "https://vendorpulse.example.org")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    config = Config(tmp_path)
    assert config.SESSION_COOKIE_SECURE and config.REMEMBER_COOKIE_SECURE
