"""``/me``, ``/users``, ``/tokens`` and ``/audit``: what the access capabilities hold, paged,
audited, in one error shape."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from costprism.capabilities import access
from costprism.capabilities.paging import encode_cursor
from costprism.cli import app as cli_app
from costprism.roles import ACTIONS, ROLES
from tests.api.demo_server import CC110_SCOPE, PASSWORD, DemoServer


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def all_pages(client: TestClient, url: str, limit: int) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": limit, **({"cursor": cursor} if cursor else {})}
        response = client.get(url, params=params)
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        items.extend(body["items"])
        if body["next"] is None:
            return items
        assert len(body["items"]) == limit
        cursor = body["next"]


def error_of(response: Any, status: int) -> dict[str, Any]:
    """The one error shape, checked; returns its body."""
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert set(error) == {"code", "message", "status"}
    assert error["status"] == status
    assert error["message"]
    return error


# --- /me --------------------------------------------------------------------------------------


@pytest.mark.parametrize("username", ["admin", "finance", "fin-cc110", "security"])
def test_me_names_roles_scope_and_actions(demo: DemoServer, username: str) -> None:
    me = demo.api(username).get("/api/v1/me").json()
    user = access.get_user(demo.db, username)
    assert me["username"] == username
    assert me["roles"] == list(user.roles)
    assert me["scope"] == list(user.scope)
    granted = set().union(*(ROLES[r].actions for r in user.roles))
    assert set(me["actions"]) == granted
    assert set(me["actions"]) <= set(ACTIONS)


def test_me_shows_the_scope_as_stored(demo: DemoServer) -> None:
    assert demo.api("fin-cc110").get("/api/v1/me").json()["scope"] == [CC110_SCOPE]
    assert demo.api("finance").get("/api/v1/me").json()["scope"] == []


# --- /users -----------------------------------------------------------------------------------


def test_users_pages_hold_every_user_once(demo: DemoServer) -> None:
    for _ in range(3):
        access.add_user(demo.db, actor=None, username=unique("paged"), roles=["itam"])
    paged = all_pages(demo.api("admin"), "/api/v1/users", limit=2)
    names = [u["username"] for u in paged]
    assert names == sorted(names)
    assert len(names) == len(set(names))
    everyone = access.list_users(demo.db, limit=1000)
    assert everyone.next is None
    assert paged == [u.record() for u in everyone.items]
    assert all("password" not in str(key) for u in paged for key in u)


def cli_json(demo: DemoServer, *args: str) -> Any:
    result = CliRunner().invoke(cli_app, [*args, "--home", str(demo.home), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_users_equal_the_cli(demo: DemoServer) -> None:
    paged = all_pages(demo.api("admin"), "/api/v1/users", limit=3)
    assert paged == cli_json(demo, "users", "list")
    assert {"admin", "finance", "fin-cc110", "security"} <= {u["username"] for u in paged}


def test_tokens_equal_the_cli(demo: DemoServer) -> None:
    owner = demo.api("finance")
    made = owner.post("/api/v1/tokens", json={"name": unique("listed")})
    assert made.status_code == 201
    listed = owner.get("/api/v1/tokens").json()
    assert listed == cli_json(demo, "tokens", "list", "finance")
    assert len(listed) >= 2


def test_security_may_list_users_but_not_change_them(demo: DemoServer) -> None:
    client = demo.api("security")
    assert client.get("/api/v1/users").status_code == 200
    refused = client.post("/api/v1/users", json={"username": unique("x"), "roles": ["itam"]})
    assert error_of(refused, 403)["code"] == "access.denied"
    assert "manage-users" in refused.json()["error"]["message"]


def test_add_and_change_a_user_is_audited(demo: DemoServer) -> None:
    name = unique("new")
    client = demo.api("admin")
    created = client.post(
        "/api/v1/users",
        json={"username": name, "roles": ["product"], "scope": ["ProviderName=AWS"]},
    )
    assert created.status_code == 201, created.text
    assert created.json() == access.get_user(demo.db, name).record()
    assert created.json()["roles"] == ["product"]
    changed = client.patch(
        f"/api/v1/users/{name}", json={"roles": ["engineering", "product"], "scope": []}
    )
    assert changed.status_code == 200, changed.text
    assert changed.json()["roles"] == ["engineering", "product"]
    assert changed.json()["scope"] == []
    events = [e for e in access.audit_log(demo.db, limit=1000).items if e.target == name]
    assert [(e.action, e.actor) for e in events] == [
        ("user.update", "admin"),
        ("user.create", "admin"),
    ]
    assert events[0].before == {
        "roles": ["product"],
        "scope": ["ProviderName=AWS"],
        "disabled": False,
    }
    assert events[0].after == {"roles": ["engineering", "product"], "scope": [], "disabled": False}


def test_a_new_user_can_sign_in_and_is_scoped(demo: DemoServer) -> None:
    name = unique("scoped")
    body = {"username": name, "roles": ["engineering"], "scope": ["ProviderName=Microsoft"]}
    created = demo.api("admin").post("/api/v1/users", json={**body, "password": PASSWORD})
    assert created.status_code == 201
    browser = demo.browser(name)
    rows = browser.client.get("/api/v1/costs", params={"by": "ProviderName"}).json()
    assert {r["ProviderName"] for r in rows} == {"Microsoft"}


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"username": "admin", "roles": ["itam"]}, 409, "user.exists"),
        ({"username": "{name}", "roles": ["wizard"]}, 400, "user.bad_role"),
        ({"username": "has space", "roles": ["itam"]}, 400, "user.bad_name"),
        ({"username": "{name}", "roles": ["itam"], "password": "short"}, 400, "user.weak_password"),
        (
            {"username": "{name}", "roles": ["itam"], "scope": ["no operator"]},
            400,
            "query.bad_filter",
        ),
        ({"username": "{name}", "roles": []}, 422, "request.invalid"),
        ({"username": "{name}"}, 422, "request.invalid"),
        ({"username": "", "roles": ["itam"]}, 422, "request.invalid"),
        ({"username": "{name}", "roles": "itam"}, 422, "request.invalid"),
    ],
    ids=lambda v: str(v)[:40],
)
def test_bad_new_users_are_refused_and_not_stored(
    demo: DemoServer, body: dict[str, Any], status: int, code: str
) -> None:
    name = unique("bad")
    sent = {k: (name if v == "{name}" else v) for k, v in body.items()}
    before = len(access.list_users(demo.db, limit=1000).items)
    response = demo.api("admin").post("/api/v1/users", json=sent)
    assert error_of(response, status)["code"] == code
    assert len(access.list_users(demo.db, limit=1000).items) == before


def test_changing_an_unknown_user_is_404(demo: DemoServer) -> None:
    response = demo.api("admin").patch("/api/v1/users/nobody-here", json={"disabled": True})
    error = error_of(response, 404)
    assert error["code"] == "user.unknown"
    assert "nobody-here" in error["message"]


def test_a_bad_change_changes_nothing(demo: DemoServer) -> None:
    name = unique("kept")
    access.add_user(demo.db, actor=None, username=name, roles=["itam"], scope=["RegionId=x"])
    response = demo.api("admin").patch(
        f"/api/v1/users/{name}", json={"roles": ["itam", "wizard"], "scope": ["nonsense"]}
    )
    assert error_of(response, 400)["code"] in ("user.bad_role", "query.bad_filter")
    user = access.get_user(demo.db, name)
    assert (user.roles, user.scope) == (("itam",), ("RegionId=x",))


# --- /tokens ----------------------------------------------------------------------------------


def test_token_life_cycle(demo: DemoServer) -> None:
    name = unique("ci")
    owner = demo.api("finance")
    created = owner.post("/api/v1/tokens", json={"name": name, "expires_in_days": 7})
    assert created.status_code == 201, created.text
    secret = created.json()["secret"]
    assert secret.startswith(created.json()["prefix"])
    assert demo.client(secret).get("/api/v1/me").json()["username"] == "finance"

    listed = owner.get("/api/v1/tokens").json()
    mine = [t for t in listed if t["name"] == name]
    assert len(mine) == 1
    assert "secret" not in mine[0]
    assert secret not in str(listed)
    assert {t["username"] for t in listed} == {"finance"}
    assert name not in str(demo.api("admin").get("/api/v1/tokens").json())

    revoked = owner.delete(f"/api/v1/tokens/{name}")
    assert revoked.status_code == 200
    assert revoked.json()["revoked_at"] is not None
    gone = demo.client(secret).get("/api/v1/me")
    assert error_of(gone, 401)["code"] == "access.unauthenticated"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"name": "tests"}, 409, "token.exists"),
        ({"name": ""}, 422, "request.invalid"),
        ({"name": "x" * 101}, 422, "request.invalid"),
        ({"name": "{name}", "expires_in_days": 0}, 422, "request.invalid"),
        ({"name": "{name}", "expires_in_days": "soon"}, 422, "request.invalid"),
        ({"name": "   "}, 400, "token.bad_name"),
    ],
    ids=str,
)
def test_bad_tokens_are_refused(
    demo: DemoServer, body: dict[str, Any], status: int, code: str
) -> None:
    sent = {k: (unique("t") if v == "{name}" else v) for k, v in body.items()}
    before = access.list_tokens(demo.db, "security")
    response = demo.api("security").post("/api/v1/tokens", json=sent)
    assert error_of(response, status)["code"] == code
    assert access.list_tokens(demo.db, "security") == before


def test_revoking_an_unknown_token_is_404(demo: DemoServer) -> None:
    response = demo.api("security").delete("/api/v1/tokens/never-made")
    assert error_of(response, 404)["code"] == "token.unknown"


# --- /audit -----------------------------------------------------------------------------------


def test_audit_pages_newest_first_each_event_once(demo: DemoServer) -> None:
    access.add_user(demo.db, actor="admin", username=unique("audited"), roles=["itam"])
    paged = all_pages(demo.api("security"), "/api/v1/audit", limit=2)
    ids = [e["id"] for e in paged]
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids))
    assert paged == [e.record() for e in access.audit_log(demo.db, limit=1000).items]
    assert paged[0]["action"] == "user.create"


def test_finance_may_not_read_the_audit_log(demo: DemoServer) -> None:
    error = error_of(demo.api("finance").get("/api/v1/audit"), 403)
    assert error["code"] == "access.denied"
    assert "view-audit" in error["message"]


@pytest.mark.parametrize("url", ["/api/v1/users", "/api/v1/audit"])
@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"cursor": "***"}, 400, "query.bad_cursor"),
        ({"cursor": encode_cursor({"before": 10**30, "after": 10**30})}, 400, "query.bad_cursor"),
        ({"limit": 0}, 422, "request.invalid"),
        ({"limit": "lots"}, 422, "request.invalid"),
    ],
    ids=str,
)
def test_bad_paging(
    demo: DemoServer, url: str, params: dict[str, Any], status: int, code: str
) -> None:
    assert error_of(demo.api("admin").get(url, params=params), status)["code"] == code


# --- inputs -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "url", "kwargs", "where"),
    [
        ("GET", "/api/v1/costs", {"params": {"where": "RegionId=a\x00"}}, "where"),
        ("GET", "/api/v1/costs", {"params": {"by": "tag:a\x00b"}}, "by"),
        ("GET", "/api/v1/quarantine", {"params": {"source": "\x00"}}, "source"),
        ("GET", "/api/v1/history", {"params": {"source": "demo\x00"}}, "source"),
        ("PATCH", "/api/v1/users/a%00b", {"json": {}}, "path"),
        ("DELETE", "/api/v1/tokens/t%00", {}, "path"),
        ("POST", "/api/v1/tokens", {"json": {"name": "t\x00"}}, "name"),
        ("POST", "/api/v1/users", {"json": {"username": "n", "roles": ["\x00"]}}, "roles"),
        (
            "POST",
            "/api/v1/users",
            {"json": {"username": "n", "roles": ["itam"], "a\x00": 1}},
            "request body",
        ),
    ],
    ids=lambda v: str(v)[:30],
)
def test_a_nul_character_anywhere_is_422(
    demo: DemoServer, method: str, url: str, kwargs: dict[str, Any], where: str
) -> None:
    """PostgreSQL text and DuckDB literals cannot hold NUL: refused before any query."""
    before = len(access.audit_log(demo.db, limit=1000).items)
    response = demo.api("admin").request(method, url, **kwargs)
    error = error_of(response, 422)
    assert error["code"] == "request.invalid"
    assert error["message"].startswith(f"{where}: a NUL character is not allowed")
    assert len(access.audit_log(demo.db, limit=1000).items) == before


def test_a_nul_in_a_password_is_not_echoed(demo: DemoServer) -> None:
    body = {"username": unique("p"), "roles": ["itam"], "password": "secret-\x00-secret"}
    error = error_of(demo.api("admin").post("/api/v1/users", json=body), 422)
    assert "secret" not in error["message"]
