"""Who is calling: tokens, signed session cookies, CSRF, and the permission dependency."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import Depends, FastAPI
from fastapi.testclient import TestClient

from costprism.capabilities.access import add_user, create_token
from costprism.roles import Principal
from costprism.server import create_app
from costprism.server.auth import CSRF_COOKIE, SESSION_COOKIE, allowed, bearer_of
from costprism.server.config import ServerConfig

PASSWORD = "a long enough password"


@pytest.fixture
def app(tmp_path: Path) -> Iterator[FastAPI]:
    app = create_app(ServerConfig.load(tmp_path))
    db = app.state.services.db
    add_user(db, actor=None, username="fin", roles=["finance"], password=PASSWORD)

    @app.get("/api/v1/test-audit")
    def needs_audit(p: Principal = Depends(allowed("view-audit"))) -> dict[str, str]:
        return {"user": p.username}

    yield app
    app.state.services.close()


def sign_in(client: TestClient) -> str:
    """Sign in as fin; returns this browser's CSRF token."""
    form = client.get("/login").text
    token = re.search(r'name="csrf_token" value="([^"]+)"', form)
    assert token
    response = client.post(
        "/login",
        data={"username": "fin", "password": PASSWORD, "csrf_token": token[1]},
        follow_redirects=False,
    )
    assert response.status_code == 303
    return token[1]


def test_bearer_parsing() -> None:
    from starlette.requests import Request

    def request(header: str) -> Request:
        return Request({"type": "http", "headers": [(b"authorization", header.encode())]})

    assert bearer_of(request("Bearer abc")) == "abc"
    assert bearer_of(request("bearer  abc ")) == "abc"
    assert bearer_of(request("Basic abc")) is None
    assert bearer_of(request("Bearer ")) is None


def test_a_token_identifies_its_user(app: FastAPI) -> None:
    _, secret = create_token(app.state.services.db, "fin", actor=None, name="t")
    client = TestClient(app)
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert me.json()["username"] == "fin"
    wrong = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}x"})
    assert wrong.status_code == 401


def test_the_session_cookie_is_signed_http_only_and_lax(app: FastAPI) -> None:
    client = TestClient(app)
    sign_in(client)
    assert client.get("/api/v1/me").json()["username"] == "fin"
    cookie = next(c for c in client.cookies.jar if c.name == SESSION_COOKIE)
    assert cookie.has_nonstandard_attr("HttpOnly")
    assert cookie.get_nonstandard_attr("SameSite", "").lower() == "lax"
    assert not cookie.secure
    forged = TestClient(app, cookies={SESSION_COOKIE: cookie.value[:-2] + "xx"})
    assert forged.get("/api/v1/me").status_code == 401


def test_cookies_are_secure_over_https(app: FastAPI) -> None:
    client = TestClient(app, base_url="https://testserver")
    client.get("/login")
    cookie = next(c for c in client.cookies.jar if c.name == CSRF_COOKIE)
    assert cookie.secure


def test_cookie_authenticated_api_changes_need_the_csrf_header(app: FastAPI) -> None:
    client = TestClient(app)
    csrf = sign_in(client)
    refused = client.post("/api/v1/tokens", json={"name": "x"})
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "access.csrf"
    assert client.get("/api/v1/tokens").json() == []
    forged = client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": "x"})
    assert forged.status_code == 403
    made = client.post("/api/v1/tokens", json={"name": "x"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 201


def test_allowed_refuses_with_the_resolvers_reason(app: FastAPI) -> None:
    _, secret = create_token(app.state.services.db, "fin", actor=None, name="t")
    response = TestClient(app).get(
        "/api/v1/test-audit", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "access.denied"
    assert "view-audit" in error["message"]
    assert "security" in error["message"]
