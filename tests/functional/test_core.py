"""Health check, error pages and the baseline security headers."""
from __future__ import annotations

from sqlalchemy import text


def test_healthz_reports_database_ok(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    body = response.get_json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True
    assert body["database"]["backend"] in ("sqlite", "postgresql")


def test_healthz_reports_503_when_the_database_fails(client, db, monkeypatch):
    from app.services import health

    def broken_execute(*args, **kwargs):
        from sqlalchemy.exc import OperationalError

        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    monkeypatch.setattr(health.db.session, "execute", broken_execute)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] == {"ok": False, "backend": db.engine.dialect.name,
                                               "error": "OperationalError"}
    monkeypatch.undo()
    assert db.session.execute(text("SELECT 1")).scalar_one() == 1


def test_unknown_page_gets_a_helpful_404(client):
    response = client.get("/no-such-page")
    assert response.status_code == 404
    page = response.get_data(as_text=True)
    assert "Page not found" in page
    assert "Check the link" in page


def test_security_headers_on_every_page(client):
    response = client.get("/auth/login")
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert "unsafe-inline" not in response.headers["Content-Security-Policy"]


def test_anonymous_visitor_is_sent_to_login(client):
    response = client.get("/")
    assert response.status_code == 302
    assert "/auth/login" in response.headers["Location"]
