"""Admin pages for providers, service areas with targets, and accounts."""
from __future__ import annotations

import pytest

from app.models import Provider, ServiceArea, User
from tests.factories import extract_csrf, login, make_area, make_provider, make_user


def _logout(client):
    # Tests run inside one app context, so `g` (and Flask-Login's user) outlives a request: sign out properly.
    token = extract_csrf(client.get("/auth/password").get_data(as_text=True))
    client.post("/auth/logout", data={"csrf_token": token})


def _post(client, url, data):
    token = extract_csrf(client.get(url).get_data(as_text=True))
    return client.post(url, data={**data, "csrf_token": token})


@pytest.mark.parametrize("url", ["/admin/providers", "/admin/users"])
def test_only_admins_reach_account_pages(client, db, url):
    assert client.get(url).status_code == 302
    for role, status in (("provider", 403), ("manager", 403), ("admin", 200)):
        login(client, make_user(role=role))
        assert client.get(url).status_code == status, role
        _logout(client)


def test_manager_cannot_post_to_admin_pages(manager_client, db):
    page = manager_client.get("/dashboard/").get_data(as_text=True)
    response = manager_client.post("/admin/providers", data={"name": "Sneaky", "csrf_token": extract_csrf(page)})
    assert response.status_code == 403
    assert db.session.scalar(db.select(Provider).where(Provider.name == "Sneaky")) is None


def test_create_and_rename_provider(admin_client, db):
    response = _post(admin_client, "/admin/providers", {"name": "Contoso Services", "contract_reference": "C-1"})
    assert response.status_code == 302
    provider = db.session.scalar(db.select(Provider).where(Provider.name == "Contoso Services"))
    assert provider.contract_reference == "C-1"
    assert "Contoso Services" in admin_client.get("/admin/providers").get_data(as_text=True)
    duplicate = _post(admin_client, "/admin/providers", {"name": "contoso services"})
    assert duplicate.status_code == 422 and "already exists" in duplicate.get_data(as_text=True)
    renamed = _post(admin_client, f"/admin/providers/{provider.id}", {"name": "Contoso IT", "contract_reference": ""})
    assert renamed.status_code == 302
    db.session.refresh(provider)
    assert provider.name == "Contoso IT" and provider.contract_reference is None


def test_service_area_targets_are_validated_and_typed_values_kept(admin_client, db):
    provider = make_provider("Fabrikam")
    url = f"/admin/providers/{provider.id}/areas/new"
    bad = _post(admin_client, url, {"code": "service-desk", "name": "Service Desk",
                                     "target_satisfaction": "5.5", "target_happiness": "-120"})
    assert bad.status_code == 422
    page = bad.get_data(as_text=True)
    assert 'value="5.5"' in page and 'value="-120"' in page and 'value="service-desk"' in page
    assert "from 1 to 5" in page and "from -100 to 100" in page
    assert db.session.scalar(db.select(ServiceArea).where(ServiceArea.code == "service-desk")) is None
    not_a_number = _post(admin_client, url, {"code": "service-desk", "name": "Service Desk",
                                              "target_satisfaction": "four"})
    assert not_a_number.status_code == 422 and 'value="four"' in not_a_number.get_data(as_text=True)
    good = _post(admin_client, url, {"code": "service-desk", "name": "Service Desk", "target_satisfaction": "4.2",
                                      "target_happiness": "-10", "active": "y"})
    assert good.status_code == 302
    area = db.session.scalar(db.select(ServiceArea).where(ServiceArea.code == "service-desk"))
    assert (area.target_satisfaction, area.target_happiness, area.provider_id) == (4.2, -10, provider.id)


def test_edit_area_targets_and_keep_code(admin_client, db):
    area = make_area(code="network", target_satisfaction=4.0)
    url = f"/admin/areas/{area.id}"
    assert 'value="network"' in admin_client.get(url).get_data(as_text=True)
    changed = _post(admin_client, url, {"code": "net", "name": "Network", "target_satisfaction": "3.5"})
    assert changed.status_code == 422 and "cannot change" in changed.get_data(as_text=True)
    saved = _post(admin_client, url, {"code": "network", "name": "Network", "target_satisfaction": "3.5",
                                      "target_happiness": ""})
    assert saved.status_code == 302
    db.session.refresh(area)
    assert area.target_satisfaction == 3.5 and area.target_happiness is None and area.active is False


def test_create_users_with_roles(admin_client, db):
    provider = make_provider("Northwind")
    ok = _post(admin_client, "/admin/users", {"email": "Pat@Example.com", "role": "provider",
                                              "provider": str(provider.id), "password": "a long password 1"})
    assert ok.status_code == 302
    user = db.session.scalar(db.select(User).where(User.email == "pat@example.com"))
    assert user.role == "provider" and user.provider_id == provider.id and user.must_change_password
    no_provider = _post(admin_client, "/admin/users", {"email": "sam@example.com", "role": "provider",
                                                       "password": "a long password 1"})
    assert no_provider.status_code == 422 and "must belong to a provider" in no_provider.get_data(as_text=True)
    short = _post(admin_client, "/admin/users", {"email": "sam@example.com", "role": "manager", "password": "short"})
    assert short.status_code == 422
    taken = _post(admin_client, "/admin/users", {"email": "pat@example.com", "role": "manager",
                                                 "password": "a long password 1"})
    assert taken.status_code == 422 and "already exists" in taken.get_data(as_text=True)


def test_deactivate_user_but_not_yourself(admin_client, admin_user, db):
    other = make_user(role="manager")
    token = extract_csrf(admin_client.get("/admin/users").get_data(as_text=True))
    assert admin_client.post(f"/admin/users/{other.id}/active/0", data={"csrf_token": token}).status_code == 302
    db.session.refresh(other)
    assert other.active is False
    admin_client.post(f"/admin/users/{admin_user.id}/active/0", data={"csrf_token": token})
    db.session.refresh(admin_user)
    assert admin_user.active is True
    _logout(admin_client)
    assert login(admin_client, other).status_code == 401
