"""Accounts and sessions: what ends a session (and a remember-me cookie), the forced change of a one-time
password on every route, the password policy on every form that sets one, and redirect targets that can
never crash a request.

Cookies are taken from a signed-in browser and replayed in a fresh client, the way someone who copied
them would: before the event they sign in, after it they must land on the sign-in page.
"""
from __future__ import annotations

import logging
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select, update

from app.extensions import db as _db
from app.models import User
from tests.factories import PASSWORD, extract_csrf, make_provider, make_user
from tests.security_support import build_world
from tests.test_authorization_matrix import ASKED_LAST, MATRIX, url_arguments

NEW_PASSWORD = "violet submarine orchestra lantern"
REMEMBER_COOKIE = "remember_token"
SESSION_COOKIE = "session"


# --- helpers -------------------------------------------------------------------------------------------

def sign_in(app, user: User, password: str = PASSWORD, remember: bool = True):
    """A fresh browser signed in as `user` through the real form, with "keep me signed in" when asked."""
    client = app.test_client()
    token = extract_csrf(client.get("/auth/login").get_data(as_text=True))
    data = {"email": user.email, "password": password, "csrf_token": token}
    if remember:
        data["remember"] = "y"
    response = client.post("/auth/login", data=data)
    assert response.status_code == 302, response.status_code
    return client


def cookies_of(client) -> dict[str, str]:
    jar = {}
    for name in (SESSION_COOKIE, REMEMBER_COOKIE):
        cookie = client.get_cookie(name)
        if cookie is not None:
            jar[name] = cookie.value
    return jar


def replayed(app, name: str, value: str):
    """A fresh browser holding nothing but one copied cookie."""
    client = app.test_client()
    client.set_cookie(name, value)
    return client


def is_signed_in(client) -> bool:
    response = client.get("/home")
    if response.status_code == 200:
        return True
    assert response.status_code == 302 and urlsplit(response.headers["Location"]).path == "/auth/login", (
        response.status_code, response.headers.get("Location"))
    return False


def csrf_from(client, url: str = "/auth/password") -> str:
    return extract_csrf(client.get(url).get_data(as_text=True))


def location_path(response) -> str:
    return urlsplit(response.headers.get("Location", "")).path


def field_error(html: str, field_id: str) -> str:
    """The error text shown next to the field (the forms macro's `<p id="<field>-error">`)."""
    marker = f'id="{field_id}-error">'
    start = html.find(marker)
    assert start >= 0, f"no error next to {field_id}"
    start += len(marker)
    return html[start:html.index("</p>", start)]


# --- what ends sessions ---------------------------------------------------------------------------------

def _logout(app, user, here):
    assert here.post("/auth/logout", data={"csrf_token": csrf_from(here)}).status_code == 302


def _change_password(app, user, here):
    response = here.post("/auth/password", data={"csrf_token": csrf_from(here), "current_password": PASSWORD,
                                                 "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)


def _sign_out_everywhere_else(app, user, here):
    response = here.post("/auth/sessions/end-others", data={"csrf_token": csrf_from(here)})
    assert response.status_code == 303 and location_path(response) == "/auth/password"


def _admin(app):
    return sign_in(app, make_user(role="admin"), remember=False)


def _admin_reset(app, user, here):
    admin = _admin(app)
    url = f"/admin/users/{user.id}"
    response = admin.post(f"{url}/password", data={"reset-csrf_token": csrf_from(admin, url),
                                                   "reset-password": NEW_PASSWORD})
    assert response.status_code == 302 and location_path(response) == url


def _cli_reset(app, user, here):
    result = app.test_cli_runner().invoke(args=["users", "set-password", user.email])
    assert result.exit_code == 0 and "One-time password:" in result.output, result.output


def _deactivate(app, user, here):
    admin = _admin(app)
    response = admin.post(f"/admin/users/{user.id}/active/0", data={"csrf_token": csrf_from(admin)})
    assert response.status_code == 302
    _db.session.refresh(user)
    assert user.active is False
    # Reactivated later, the account signs in afresh: the cookies from before stay dead.
    admin.post(f"/admin/users/{user.id}/active/1", data={"csrf_token": csrf_from(admin)})
    _db.session.refresh(user)
    assert user.active is True


def _role_change(app, user, here):
    admin = _admin(app)
    url = f"/admin/users/{user.id}"
    response = admin.post(url, data={"csrf_token": csrf_from(admin, url), "name": user.name, "role": "admin",
                                     "provider_id": ""})
    assert response.status_code == 302, response.get_data(as_text=True)
    _db.session.refresh(user)
    assert user.role == "admin"


EVENTS = {
    "logout": _logout,
    "password change": _change_password,
    "sign out everywhere else": _sign_out_everywhere_else,
    "admin password reset": _admin_reset,
    "password reset on the command line": _cli_reset,
    "deactivation": _deactivate,
    "role change": _role_change,
}
KEEPS_THIS_BROWSER = {"password change", "sign out everywhere else"}


@pytest.mark.parametrize("event", EVENTS)
def test_event_ends_every_other_session_and_remember_me_cookie(app, db, event):
    user = make_user(role="manager")
    here = sign_in(app, user)
    elsewhere = sign_in(app, user)
    copied = [cookies_of(here), cookies_of(elsewhere)]
    for jar in copied:
        assert set(jar) == {SESSION_COOKIE, REMEMBER_COOKIE}
        for name, value in jar.items():
            assert is_signed_in(replayed(app, name, value)), f"the {name} cookie should sign in before the {event}"

    EVENTS[event](app, user, here)

    for jar in copied:
        for name, value in jar.items():
            assert not is_signed_in(replayed(app, name, value)), f"a copied {name} cookie survived the {event}"
    assert not is_signed_in(elsewhere)
    if event in KEEPS_THIS_BROWSER:
        assert is_signed_in(here), f"the browser that asked for the {event} should stay signed in"
        renewed = cookies_of(here)
        assert is_signed_in(replayed(app, REMEMBER_COOKIE, renewed[REMEMBER_COOKIE])), (
            "this browser's remember-me cookie should be renewed, not lost")
    else:
        assert not is_signed_in(here)


def test_sessions_of_other_accounts_are_untouched(app, db):
    user, other = make_user(role="manager"), make_user(role="manager")
    bystander = sign_in(app, other)
    _logout(app, user, sign_in(app, user))
    _change_password(app, user, sign_in(app, user))
    assert is_signed_in(bystander)


def test_sign_in_again_after_sign_out_works(app, db):
    user = make_user(role="manager")
    _logout(app, user, sign_in(app, user))
    assert is_signed_in(sign_in(app, user))


def test_logout_and_password_pages_say_what_ends(app, db):
    user = make_user(role="manager")
    here = sign_in(app, user)
    page = here.get("/auth/password").get_data(as_text=True)
    assert "Signing out signs you out everywhere" in page and "Sign out everywhere else" in page
    response = here.post("/auth/logout", data={"csrf_token": extract_csrf(page)}, follow_redirects=True)
    assert "every other one where you were signed in" in response.get_data(as_text=True)


def test_a_cookie_without_a_session_version_signs_nobody_in(app, db):
    """Cookies issued before session versions existed carried the bare id: they now sign nobody in."""
    user = make_user(role="manager")
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = str(user.id)
        session["_fresh"] = True
    assert not is_signed_in(client)


def test_two_raises_at_once_both_count(app, db):
    """A raise by another request in between (here a plain UPDATE the session does not see) is not lost."""
    user = make_user(role="manager")
    version = user.session_version
    db.session.execute(update(User).where(User.id == user.id).values(session_version=User.session_version + 1)
                       .execution_options(synchronize_session=False))
    user.end_sessions()
    db.session.commit()
    assert user.session_version == version + 2


# --- the forced change of a one-time password -----------------------------------------------------------

def test_every_route_leads_to_the_password_change_until_it_is_done(app, db, survey):
    world = build_world(survey)
    user = make_user(role="admin")
    user.must_change_password = True
    db.session.commit()
    client = app.test_client()
    token = extract_csrf(client.get("/auth/login").get_data(as_text=True))
    first = client.post("/auth/login", data={"email": user.email, "password": PASSWORD, "csrf_token": token})
    assert location_path(first) == "/auth/password"
    arguments = url_arguments(world, "admin")
    token = csrf_from(client)

    wrong = []
    for endpoint, route in MATRIX.items():
        if endpoint in ASKED_LAST:
            continue
        path = route.path.format(**arguments)
        asked = [("GET", client.get(path)), ("HEAD", client.head(path))]
        if route.post is not None:
            asked.append(("POST", client.post(path, data={"csrf_token": token, **route.post_data})))
        for method, response in asked:
            sent_to_password = response.status_code == 303 and location_path(response) == "/auth/password"
            if endpoint.startswith("respond."):
                ok = not sent_to_password  # survey links belong to the respondent, whoever is signed in
            elif endpoint == "auth.change_password":
                ok = response.status_code == (422 if method == "POST" else 200)
            else:
                ok = sent_to_password
            if not ok:
                wrong.append(f"{method} {path}: {response.status_code} {response.headers.get('Location', '')}")
    assert not wrong, "while the one-time password is unchanged:\n" + "\n".join(wrong)

    assert client.get("/static/css/app.css").status_code == 200
    _change_password(app, user, client)
    assert client.get("/admin/users").status_code == 200
    assert client.get("/exports/answers.csv").status_code == 200


def test_sign_out_works_before_the_password_is_changed(app, db):
    user = make_user(role="manager")
    user.must_change_password = True
    db.session.commit()
    client = sign_in(app, user)
    response = client.post("/auth/logout", data={"csrf_token": csrf_from(client)})
    assert response.status_code == 302 and location_path(response) == "/auth/login"
    assert not is_signed_in(client)


# --- the password policy --------------------------------------------------------------------------------

@pytest.mark.parametrize(("new_password", "message"), [
    ("short pass", "at least 12 characters"),
    ("password1234", "too easy to guess"),
    ("qwertyuiop12", "too easy to guess"),
    ("vendorpulse2026", "too easy to guess"),
    ("{email}", "Do not use your email address"),
    (PASSWORD, "different from your current one"),
])
def test_password_change_refuses_weak_passwords_next_to_the_field(app, db, new_password, message):
    user = make_user(role="manager", email="jordan.rivera@example.com")
    client = sign_in(app, user)
    new_password = new_password.format(email=user.email)
    response = client.post("/auth/password", data={"csrf_token": csrf_from(client), "current_password": PASSWORD,
                                                   "new_password": new_password, "confirm": new_password})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in field_error(html, "new_password")
    assert f'value="{new_password}"' not in html  # passwords are never sent back
    db.session.refresh(user)
    assert user.check_password(PASSWORD)


def test_the_users_name_makes_a_password_weak(app, db):
    user = make_user(role="manager", email="someone@example.com")
    user.name = "Marguerite Okonkwo"
    db.session.commit()
    client = sign_in(app, user)
    weak = "margueriteokonkwo"  # zxcvbn scores it 3 without the name, 1 with it
    response = client.post("/auth/password", data={"csrf_token": csrf_from(client), "current_password": PASSWORD,
                                                   "new_password": weak, "confirm": weak})
    assert response.status_code == 422
    assert "too easy to guess" in field_error(response.get_data(as_text=True), "new_password")


def test_wrong_current_password_is_shown_next_to_that_field(app, db):
    user = make_user(role="manager")
    client = sign_in(app, user)
    response = client.post("/auth/password", data={"csrf_token": csrf_from(client), "current_password": "not it",
                                                   "new_password": NEW_PASSWORD, "confirm": NEW_PASSWORD})
    assert response.status_code == 422
    assert "not right" in field_error(response.get_data(as_text=True), "current_password")


@pytest.mark.parametrize(("password", "message"), [
    ("password1234", "too easy to guess"),
    ("sam.taylor@example.com", "Do not use your email address"),
    ("Sam Taylor 1", "too easy to guess"),
])
def test_admin_account_creation_refuses_weak_passwords_and_keeps_what_was_typed(app, db, password, message):
    admin = _admin(app)
    provider = make_provider("Northwind")
    response = admin.post("/admin/users", data={"csrf_token": csrf_from(admin, "/admin/users"),
                                                "email": "sam.taylor@example.com", "name": "Sam Taylor",
                                                "role": "provider", "provider": str(provider.id),
                                                "password": password})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert message in field_error(html, "password")
    assert 'value="sam.taylor@example.com"' in html and 'value="Sam Taylor"' in html
    assert '<option selected value="provider">' in html and f'<option selected value="{provider.id}">' in html
    assert db.session.scalar(select(User).where(User.email == "sam.taylor@example.com")) is None


def test_admin_reset_refuses_weak_passwords_next_to_the_field(app, db):
    user = make_user(role="manager")
    admin = _admin(app)
    url = f"/admin/users/{user.id}"
    response = admin.post(f"{url}/password", data={"reset-csrf_token": csrf_from(admin, url),
                                                   "reset-password": "password1234"})
    assert response.status_code == 422
    assert "too easy to guess" in field_error(response.get_data(as_text=True), "reset-password")
    db.session.refresh(user)
    assert user.check_password(PASSWORD) and not user.must_change_password


def test_admin_reset_makes_the_password_temporary(app, db):
    user = make_user(role="manager")
    _admin_reset(app, user, None)
    db.session.refresh(user)
    assert user.check_password(NEW_PASSWORD) and user.must_change_password
    client = app.test_client()
    token = extract_csrf(client.get("/auth/login").get_data(as_text=True))
    response = client.post("/auth/login", data={"email": user.email, "password": NEW_PASSWORD, "csrf_token": token})
    assert location_path(response) == "/auth/password"


def test_admins_cannot_change_their_own_role_or_reset_their_own_password_there(app, db):
    admin_user = make_user(role="admin")
    admin = sign_in(app, admin_user, remember=False)
    url = f"/admin/users/{admin_user.id}"
    page = admin.get(url).get_data(as_text=True)
    assert "the password page" in page and "reset-password" not in page
    demoted = admin.post(url, data={"csrf_token": extract_csrf(page), "name": "", "role": "manager",
                                    "provider_id": ""})
    assert demoted.status_code == 422 and "cannot change your own role" in field_error(
        demoted.get_data(as_text=True), "role")
    reset = admin.post(f"{url}/password", data={"reset-csrf_token": extract_csrf(page),
                                                "reset-password": NEW_PASSWORD})
    assert reset.status_code == 422
    db.session.refresh(admin_user)
    assert admin_user.role == "admin" and admin_user.check_password(PASSWORD)
    assert is_signed_in(admin)


def test_role_change_to_provider_needs_a_provider_and_a_rename_keeps_sessions(app, db):
    user = make_user(role="manager")
    here = sign_in(app, user)
    admin = _admin(app)
    url = f"/admin/users/{user.id}"
    no_provider = admin.post(url, data={"csrf_token": csrf_from(admin, url), "name": "Pat", "role": "provider",
                                        "provider_id": ""})
    assert no_provider.status_code == 422
    assert "must belong to a provider" in field_error(no_provider.get_data(as_text=True), "provider_id")
    renamed = admin.post(url, data={"csrf_token": csrf_from(admin, url), "name": "Pat Doe", "role": "manager",
                                    "provider_id": ""})
    assert renamed.status_code == 302
    db.session.refresh(user)
    assert user.name == "Pat Doe" and user.role == "manager"
    assert is_signed_in(here)  # nothing it may see changed


@pytest.mark.parametrize("command", [
    ["users", "create", "casey@example.com", "--password", "password1234"],
    ["users", "create", "casey@example.com", "--password", "casey@example.com"],
    ["users", "set-password", "{email}", "--password", "qwertyuiop12"],
])
def test_cli_refuses_weak_passwords(app, db, runner, command):
    user = make_user(role="manager")
    result = runner.invoke(args=[part.format(email=user.email) for part in command])
    assert result.exit_code != 0
    assert "too easy to guess" in result.output or "email address" in result.output, result.output
    db.session.refresh(user)
    assert user.check_password(PASSWORD)
    assert db.session.scalar(select(User).where(User.email == "casey@example.com")) is None


def test_cli_generated_and_strong_passwords_pass(app, db, runner):
    created = runner.invoke(args=["users", "create", "casey@example.com"])
    assert created.exit_code == 0 and "One-time password:" in created.output, created.output
    given = runner.invoke(args=["users", "create", "robin@example.com", "--password", NEW_PASSWORD])
    assert given.exit_code == 0, given.output
    robin = db.session.scalar(select(User).where(User.email == "robin@example.com"))
    assert robin.check_password(NEW_PASSWORD) and not robin.must_change_password


@pytest.fixture
def loggers_kept():
    """`flask init` migrates, and Alembic's logging set-up disables every logger that exists by then
    (migrations/env.py `fileConfig`): put them back so later tests still see their log records."""
    loggers = [logger for logger in logging.Logger.manager.loggerDict.values() if isinstance(logger, logging.Logger)]
    disabled = {logger: logger.disabled for logger in loggers}
    yield
    for logger, was_disabled in disabled.items():
        logger.disabled = was_disabled


def test_flask_init_checks_a_given_admin_password(tmp_path, loggers_kept):
    """`flask init` creates the first admin with ADMIN_PASSWORD when given: it must meet the policy too."""
    from app import create_app
    from app.config import TestConfig

    app = create_app(TestConfig(tmp_path, f"sqlite:///{tmp_path / 'init.sqlite3'}"))
    runner = app.test_cli_runner()
    app.config["ADMIN_PASSWORD"] = "password1234"
    refused = runner.invoke(args=["init"])
    assert refused.exit_code != 0
    assert "ADMIN_PASSWORD: This password is too easy to guess" in refused.output
    app.config["ADMIN_PASSWORD"] = NEW_PASSWORD
    accepted = runner.invoke(args=["init"])
    assert accepted.exit_code == 0 and "Created admin" in accepted.output, accepted.output
    with app.app_context():
        admin = _db.session.scalar(select(User).where(User.role == "admin"))
        assert admin.check_password(NEW_PASSWORD) and not admin.must_change_password
        _db.engine.dispose()


# --- redirect targets -----------------------------------------------------------------------------------

NASTY_TARGETS = ["/dashboard/\r\nSet-Cookie: planted=1", "/home\n", "/\t/evil.example", "/home\x00",
                 "/home\u2028x", "/home\x85", "/\r/evil.example"]


@pytest.mark.parametrize("target", NASTY_TARGETS)
def test_sign_in_with_a_control_character_in_next_is_refused_before_signing_in(app, db, target):
    user = make_user(role="manager")
    client = app.test_client()
    page = client.get("/auth/login", query_string={"next": target})
    assert page.status_code == 400
    assert "control character" in page.get_data(as_text=True)
    clean = client.get("/auth/login")
    response = client.post("/auth/login", query_string={"next": target},
                           data={"email": user.email, "password": PASSWORD,
                                 "csrf_token": extract_csrf(clean.get_data(as_text=True))})
    assert response.status_code == 400
    assert "planted" not in response.headers.get("Set-Cookie", "")
    assert client.get("/dashboard/").status_code == 302, "the refused request did not sign anyone in"


@pytest.mark.parametrize("target", NASTY_TARGETS)
def test_dashboard_forms_with_a_control_character_in_next_are_refused_and_change_nothing(app, db, survey, target):
    world = build_world(survey)
    client = sign_in(app, make_user(role="manager"), remember=False)
    token = csrf_from(client)
    for action, data in (("label", {"label": "positive"}), ("shareable", {"shareable": "1"})):
        response = client.post(f"/dashboard/comments/{world.comment.id}/{action}",
                               data={"csrf_token": token, "next": target, **data})
        assert response.status_code == 400, (action, response.status_code)
    _db.session.refresh(world.comment)
    assert world.comment.label_override is None and not world.comment.shareable
