"""Who may open what: every route of `app.url_map`, and the status each role must get from it.

Roles: `anonymous` (no session; on survey links an unknown token of the right shape), `respondent`
(no session, the real survey token), and signed-in `provider`, `manager` and `admin` users (who use the
real token on survey links: the link is the credential, a login adds nothing and takes nothing away).

Every route is asked with GET. Routes that take POST are also asked with a POST carrying a valid CSRF
token, so a refusal is the access check and not CSRFProtect's 400; POST-only routes must answer GET
with 405. A route added to the app without a row here fails `test_every_route_is_in_the_matrix`.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest

from tests.security_support import ROLES, World, build_world, client_for, csrf_token


@dataclass(frozen=True)
class Redirect:
    """A 302/303 whose Location path is `to` (formatted with the URL arguments)."""

    to: str

    def __str__(self) -> str:
        return f"redirect to {self.to}"


LOGIN = Redirect("/auth/login")
Expected = int | Redirect


def row(anonymous: Expected, respondent: Expected, provider: Expected, manager: Expected,
        admin: Expected) -> dict[str, Expected]:
    return dict(zip(ROLES, (anonymous, respondent, provider, manager, admin)))


def everyone(expected: Expected) -> dict[str, Expected]:
    return dict.fromkeys(ROLES, expected)


def staff(provider: Expected, manager: Expected, admin: Expected) -> dict[str, Expected]:
    """A signed-in page: visitors without a session are sent to sign in."""
    return row(LOGIN, LOGIN, provider, manager, admin)


def token_holders(unknown: Expected, holder: Expected) -> dict[str, Expected]:
    """A survey-link page: the unknown token gets `unknown`, everyone holding the real one gets `holder`."""
    return row(unknown, holder, holder, holder, holder)


ADMIN_PAGE = staff(403, 403, 200)
ADMIN_FORM_POST = staff(403, 403, 422)  # a valid CSRF token and nothing else: the form is re-shown


@dataclass(frozen=True)
class Route:
    path: str  # formatted with url_arguments(); may carry a query string
    get: dict[str, Expected] | None  # None: a POST-only route, GET must be 405 for everyone
    post: dict[str, Expected] | None = None
    post_data: dict[str, str] = field(default_factory=dict)


MATRIX: dict[str, Route] = {
    # core
    "core.index": Route("/", get=row(LOGIN, LOGIN, Redirect("/dashboard/"), Redirect("/dashboard/"),
                                     Redirect("/dashboard/"))),
    "core.home": Route("/home", get=staff(200, 200, 200)),
    "core.healthz": Route("/healthz", get=everyone(200)),
    # auth
    "auth.login": Route("/auth/login", get=row(200, 200, Redirect("/"), Redirect("/"), Redirect("/")),
                        post=row(422, 422, Redirect("/"), Redirect("/"), Redirect("/"))),
    "auth.change_password": Route("/auth/password", get=staff(200, 200, 200), post=staff(422, 422, 422)),
    "auth.logout": Route("/auth/logout", get=None, post=everyone(LOGIN)),  # always asked last
    # ends the account's other sessions; this one is signed in again at the new session version
    "auth.end_other_sessions": Route("/auth/sessions/end-others", get=None,
                                     post=staff(Redirect("/auth/password"), Redirect("/auth/password"),
                                                Redirect("/auth/password"))),
    # respondent: the token is the only credential
    "respond.survey": Route("/s/{token}", get=token_holders(404, 200), post=token_holders(404, 422)),
    "respond.thanks": Route("/s/{token}/thanks", get=token_holders(404, Redirect("/s/{token}"))),
    "respond.unsubscribe": Route("/s/{token}/unsubscribe", get=token_holders(404, 200),
                                 post=token_holders(404, 200)),
    "respond.opt_in": Route("/s/{token}/opt-in", get=None, post=token_holders(404, Redirect("/s/{token}"))),
    # dashboard: providers get their own scorecard and charts, never comments or department breakdowns
    "dashboard.overview": Route("/dashboard/", get=staff(Redirect("/dashboard/scorecard"), 200, 200)),
    "dashboard.scorecard": Route("/dashboard/scorecard", get=staff(200, 200, 200)),
    "dashboard.chart": Route("/dashboard/charts/trend.svg?area={area}", get=staff(200, 200, 200)),
    "dashboard.area": Route("/dashboard/areas/{area}", get=staff(403, 200, 200)),
    "dashboard.comments": Route("/dashboard/comments", get=staff(403, 200, 200)),
    "dashboard.relationship": Route("/dashboard/relationship", get=staff(403, 200, 200)),
    "dashboard.correct_label": Route("/dashboard/comments/{comment}/label", get=None,
                                     post=staff(403, Redirect("/dashboard/comments"),
                                                Redirect("/dashboard/comments")),
                                     post_data={"label": "positive"}),
    "dashboard.correct_aspects": Route("/dashboard/comments/{comment}/aspects", get=None,
                                       post=staff(403, Redirect("/dashboard/comments"),
                                                  Redirect("/dashboard/comments")),
                                       post_data={"aspect_availability": "negative"}),
    "dashboard.set_shareable": Route("/dashboard/comments/{comment}/shareable", get=None,
                                     post=staff(403, Redirect("/dashboard/comments"),
                                                Redirect("/dashboard/comments")),
                                     post_data={"shareable": "1"}),
    # exports
    "exports.download": Route("/exports/answers.csv", get=staff(403, 200, 200)),
    "exports.review_pack": Route("/exports/review-pack.pdf", get=staff(403, 200, 200)),
    # admin: admins only
    "admin.stakeholders": Route("/admin/stakeholders", get=ADMIN_PAGE),
    "admin.stakeholders_import": Route("/admin/stakeholders/import", get=ADMIN_PAGE, post=ADMIN_FORM_POST),
    "admin.stakeholder_opt_in": Route("/admin/stakeholders/{stakeholder}/opt-in", get=None,
                                      post=staff(403, 403, Redirect("/admin/stakeholders"))),
    "admin.stakeholder_clear_undeliverable": Route("/admin/stakeholders/{stakeholder}/deliverable", get=None,
                                                   post=staff(403, 403, Redirect("/admin/stakeholders"))),
    "admin.campaigns": Route("/admin/campaigns", get=ADMIN_PAGE),
    "admin.campaign_new": Route("/admin/campaigns/new", get=ADMIN_PAGE, post=ADMIN_FORM_POST),
    "admin.campaign_detail": Route("/admin/campaigns/{campaign}", get=ADMIN_PAGE),
    # the wave is closed and its invitation answered: the admin's request is refused with a flash
    # message, which keeps the world unchanged for the requests after it
    "admin.wave_open": Route("/admin/waves/{closed_wave}/open", get=None,
                             post=staff(403, 403, Redirect("/admin/campaigns/{campaign}"))),
    "admin.wave_close": Route("/admin/waves/{closed_wave}/close", get=None,
                              post=staff(403, 403, Redirect("/admin/campaigns/{campaign}"))),
    # no address given: refused with a flash message, nothing is sent
    # only the CSRF token: no baseline and no hourly cost, as the world's campaign already has (a no-op save)
    "admin.campaign_report_settings": Route("/admin/campaigns/{campaign}/report-settings", get=None,
                                            post=staff(403, 403, Redirect("/admin/campaigns/{campaign}"))),
    # only the CSRF token: no sender name and no reply-to, as the world's campaign already has (a no-op save)
    "admin.campaign_sender": Route("/admin/campaigns/{campaign}/sender", get=None,
                                   post=staff(403, 403, Redirect("/admin/campaigns/{campaign}"))),
    "admin.campaign_test_message": Route("/admin/campaigns/{campaign}/test-message", get=None,
                                         post=staff(403, 403, Redirect("/admin/campaigns/{campaign}"))),
    "admin.invitation_resend": Route("/admin/invitations/{closed_invitation}/resend", get=None,
                                     post=staff(403, 403, Redirect("/admin/campaigns/{campaign}"))),
    "admin.providers": Route("/admin/providers", get=ADMIN_PAGE, post=ADMIN_FORM_POST),
    # edit forms filled from the stored row keep its values for fields the POST leaves out: a no-op save
    "admin.provider": Route("/admin/providers/{provider}", get=ADMIN_PAGE,
                            post=staff(403, 403, Redirect("/admin/providers/{provider}"))),
    "admin.area_new": Route("/admin/providers/{provider}/areas/new", get=ADMIN_PAGE, post=ADMIN_FORM_POST),
    "admin.area_edit": Route("/admin/areas/{area}", get=ADMIN_PAGE,
                             post=staff(403, 403, Redirect("/admin/providers/{provider}"))),
    "admin.users": Route("/admin/users", get=ADMIN_PAGE, post=ADMIN_FORM_POST),
    # a POST with nothing but the CSRF token keeps the account's stored values: a no-op save
    "admin.user": Route("/admin/users/{other_user}", get=ADMIN_PAGE,
                        post=staff(403, 403, Redirect("/admin/users/{other_user}"))),
    "admin.user_password": Route("/admin/users/{other_user}/password", get=None, post=ADMIN_FORM_POST),
    "admin.user_active": Route("/admin/users/{other_user}/active/1", get=None,
                               post=staff(403, 403, Redirect("/admin/users"))),
}

ASKED_LAST = ("auth.logout",)  # it ends the session the other requests need
ID_ARGUMENTS = ("area", "campaign", "closed_wave", "closed_invitation", "comment", "provider", "stakeholder",
                "other_user")


def url_arguments(world: World, role: str) -> dict[str, object]:
    return {
        "token": world.unknown_token if role == "anonymous" else world.token,
        "area": world.area.id,
        "campaign": world.campaign.id,
        "closed_wave": world.closed_wave.id,
        "closed_invitation": world.closed_invitation.id,
        "comment": world.comment.id,
        "provider": world.provider.id,
        "stakeholder": world.stakeholder.id,
        "other_user": world.other_user.id,
    }


def outcome(response) -> str:
    if response.status_code in (301, 302, 303, 307, 308):
        return f"{response.status_code} to {response.headers.get('Location')}"
    return str(response.status_code)


def matches(expected: Expected, response, arguments: dict) -> bool:
    if isinstance(expected, Redirect):
        location = response.headers.get("Location", "")
        return response.status_code in (302, 303) and urlsplit(location).path == expected.to.format(**arguments)
    return response.status_code == expected


def requests_in_order() -> list[tuple[str, str, Route]]:
    """Every GET first (none changes who may see what), then the POSTs, then logout."""
    gets = [("GET", endpoint, route) for endpoint, route in MATRIX.items()]
    posts = [("POST", endpoint, route) for endpoint, route in MATRIX.items()
             if route.post is not None and endpoint not in ASKED_LAST]
    last = [("POST", endpoint, MATRIX[endpoint]) for endpoint in ASKED_LAST]
    return gets + posts + last


def test_every_route_is_in_the_matrix(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    endpoints = {rule.endpoint for rule in rules}
    missing = sorted(endpoints - MATRIX.keys())
    assert not missing, ("routes without a row in the authorization matrix (add who may open them to MATRIX in "
                         f"tests/test_authorization_matrix.py): {', '.join(missing)}")
    stale = sorted(MATRIX.keys() - endpoints)
    assert not stale, f"the matrix lists endpoints the app no longer has: {', '.join(stale)}"

    adapter = app.url_map.bind("vendorpulse.test")
    problems = []
    for rule in rules:
        route = MATRIX[rule.endpoint]
        methods = set(rule.methods) - {"HEAD", "OPTIONS"}
        covered = ({"GET"} if route.get is not None else set()) | ({"POST"} if route.post is not None else set())
        if methods != covered:
            problems.append(f"{rule.endpoint} ({rule.rule}) accepts {sorted(methods)}, "
                            f"the matrix checks {sorted(covered)}")
        path = urlsplit(route.path.format(token="x" * 32, **dict.fromkeys(ID_ARGUMENTS, 1))).path
        endpoint, _ = adapter.match(path, method=sorted(methods)[0])
        if endpoint != rule.endpoint:
            problems.append(f"{rule.endpoint}: the matrix path {route.path} reaches {endpoint}")
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_the_status_the_matrix_says(app, db, survey, role):
    world = build_world(survey)
    client = client_for(app, role, world)
    arguments = url_arguments(world, role)
    token = csrf_token(client, role)
    mismatches = []
    for method, endpoint, route in requests_in_order():
        path = route.path.format(**arguments)
        if method == "GET":
            response = client.get(path)
            expected = route.get[role] if route.get is not None else 405
        else:
            response = client.post(path, data={"csrf_token": token, **route.post_data})
            expected = route.post[role]
        if not matches(expected, response, arguments):
            shown = expected.to.format(**arguments) if isinstance(expected, Redirect) else expected
            mismatches.append(f"{method} {path} ({endpoint}): expected {shown}, got {outcome(response)}")
    assert not mismatches, f"{role}: {len(mismatches)} route(s) answer wrongly:\n" + "\n".join(mismatches)


def test_a_post_without_csrf_token_is_refused_before_any_role_check(app, db, survey):
    """The other half of the POST column: without the token even the admin's request does nothing."""
    world = build_world(survey)
    client = client_for(app, "admin", world)
    arguments = url_arguments(world, "admin")
    for endpoint, route in MATRIX.items():
        if route.post is None or endpoint.startswith("respond.") or endpoint in ASKED_LAST:
            continue  # survey links check their token themselves (respond tests cover a missing one)
        path = route.path.format(**arguments)
        response = client.post(path, data=route.post_data)
        assert response.status_code == 400, (endpoint, response.status_code)


def test_ids_beyond_64_bits_are_refused_not_crashed(app, db, survey):
    """Every route taking a numeric id, asked by an admin with an id no database integer can hold."""
    world = build_world(survey)
    client = client_for(app, "admin", world)
    token = csrf_token(client, "admin")
    arguments = {**url_arguments(world, "admin"), **dict.fromkeys(ID_ARGUMENTS, "99999999999999999999")}
    failures = []
    for endpoint, route in MATRIX.items():
        path = route.path.format(**arguments)
        if "99999999999999999999" not in path or endpoint in ASKED_LAST:
            continue
        response = (client.get(path) if route.get is not None
                    else client.post(path, data={"csrf_token": token, **route.post_data}))
        if response.status_code not in (400, 404):
            failures.append(f"{endpoint} {path}: {response.status_code}")
    assert not failures, "\n".join(failures)
