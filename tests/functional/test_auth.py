"""Signing in and out, password changes, and the login rate limit."""
from __future__ import annotations

from tests.factories import PASSWORD, extract_csrf, login, make_user


def test_login_with_right_password_signs_in(client, manager_user):
    response = login(client, manager_user)
    assert response.status_code == 302
    home = client.get("/", follow_redirects=True)
    assert manager_user.email in home.get_data(as_text=True)


def test_wrong_password_is_refused_and_email_kept(client, manager_user):
    response = login(client, manager_user, password="wrong password!!")
    assert response.status_code == 401
    page = response.get_data(as_text=True)
    assert "do not match an active account" in page
    assert f'value="{manager_user.email}"' in page


def test_login_without_csrf_token_is_rejected(client, manager_user):
    response = client.post("/auth/login", data={"email": manager_user.email, "password": PASSWORD})
    assert response.status_code == 400
    assert "form expired" in response.get_data(as_text=True)
    assert client.get("/home").status_code == 302  # still signed out


def test_inactive_account_cannot_sign_in(client, db):
    user = make_user()
    user.active = False
    db.session.commit()
    assert login(client, user).status_code == 401


def test_login_is_rate_limited(client, manager_user):
    statuses = [login(client, manager_user, password="wrong password!!").status_code for _ in range(11)]
    assert statuses[:10] == [401] * 10
    assert statuses[10] == 429


def test_logout_needs_post_and_signs_out(manager_client):
    assert manager_client.get("/auth/logout").status_code == 405
    page = manager_client.get("/home").get_data(as_text=True)
    token = extract_csrf(page)
    response = manager_client.post("/auth/logout", data={"csrf_token": token})
    assert response.status_code == 302
    assert manager_client.get("/home").status_code == 302


def test_password_change(manager_client, manager_user, db):
    page = manager_client.get("/auth/password").get_data(as_text=True)
    token = extract_csrf(page)
    short = manager_client.post("/auth/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                         "new_password": "short", "confirm": "short"})
    assert short.status_code == 422
    assert "at least 12 characters" in short.get_data(as_text=True)
    done = manager_client.post("/auth/password", data={"csrf_token": token, "current_password": PASSWORD,
                                                        "new_password": "a much longer passphrase",
                                                        "confirm": "a much longer passphrase"})
    assert done.status_code == 302
    db.session.refresh(manager_user)
    assert manager_user.check_password("a much longer passphrase")
    assert manager_user.password_hash.startswith("scrypt:")


def test_login_does_not_redirect_off_site(client, manager_user):
    page = client.get("/auth/login?next=https://evil.example/")
    token = extract_csrf(page.get_data(as_text=True))
    response = client.post("/auth/login?next=https://evil.example/",
                           data={"email": manager_user.email, "password": PASSWORD, "csrf_token": token})
    assert "evil.example" not in response.headers["Location"]
