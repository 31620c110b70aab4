"""``/tokens``: the caller's own API tokens: listed, created with the secret shown once, revoked."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from costprism.capabilities.access import audit_log, create_token, list_tokens
from costprism.db import Database, User, UserRole, utcnow
from costprism.roles import Principal, authorize
from tests.web.fixtures_admin import (
    Site,
    admin_home,
    csrf_of,
    seeded_database,
    signed_in,
    site,
)

__all__ = ["admin_home", "seeded_database", "site"]


def post_form(client: TestClient, path: str, form: dict[str, Any]) -> Any:
    token = csrf_of(client.get("/tokens").text)
    return client.post(path, data={**form, "csrf_token": token})


def newest_event(db: Database) -> dict[str, Any]:
    return audit_log(db, limit=1).items[0].record()


def whoami(client: TestClient, secret: str) -> Any:
    return client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})


def test_the_page_lists_only_the_callers_tokens(site: Site) -> None:
    create_token(site.db, "eng", actor="eng", name="nightly export")
    create_token(site.db, "pat", actor="pat", name="ci")
    with signed_in(site, "eng") as client:
        body = client.get("/tokens?format=json").json()
        html = client.get("/tokens").text
    assert body == {"tokens": [t.record() for t in list_tokens(site.db, "eng")]}
    assert [t["name"] for t in body["tokens"]] == ["nightly export"]
    assert "nightly export" in html
    assert ">ci<" not in html


def test_a_new_token_is_shown_once_and_works(site: Site) -> None:
    with signed_in(site, "eng") as client:
        created = post_form(client, "/tokens", {"name": "nightly export", "expires": "30"})
        secret = created.text.split('<code class="secret">')[1].split("</code>")[0]
        again = client.get("/tokens").text
        me = whoami(client, secret)
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    assert secret.startswith("cpt_")
    assert created.text.count(secret) == 1
    assert secret not in again
    assert secret[:10] in again  # the prefix, to tell tokens apart
    assert (me.status_code, me.json()["username"]) == (200, "eng")
    [token] = list_tokens(site.db, "eng")
    assert token.expires_at is not None
    assert abs(token.expires_at - (utcnow() + timedelta(days=30))) < timedelta(minutes=5)
    event = newest_event(site.db)
    assert (event["action"], event["actor"], event["target"]) == (
        "token.create",
        "eng",
        "eng/nightly export",
    )
    assert event["after"]["prefix"] == secret[:10]
    assert secret not in str(event)


def test_the_json_twin_of_a_creation_carries_the_secret(site: Site) -> None:
    with signed_in(site, "pat") as client:
        response = post_form(client, "/tokens?format=json", {"name": "ci", "expires": "never"})
        body = response.json()
        listed = [t.record() for t in list_tokens(site.db, "pat")]
        assert whoami(client, body["created"]["secret"]).json()["username"] == "pat"
    assert response.status_code == 201
    assert body["created"]["expires_at"] is None
    assert body["tokens"] == listed
    assert {k: v for k, v in body["created"].items() if k != "secret"} == body["tokens"][0]


@pytest.mark.parametrize(
    ("form", "status", "code"),
    [
        ({"name": "ci", "expires": "0"}, 400, "token.bad_expiry"),
        ({"name": "ci", "expires": "ten"}, 400, "token.bad_expiry"),
        ({"name": "ci", "expires": "5000"}, 400, "token.bad_expiry"),
        ({"name": "   ", "expires": "90"}, 400, "token.bad_name"),
        ({"name": "x" * 101, "expires": "90"}, 400, "token.bad_name"),
        ({"name": "taken", "expires": "90"}, 409, "token.exists"),
    ],
)
def test_a_refused_token_is_shown_in_the_form_and_nothing_is_stored(
    site: Site, form: dict[str, str], status: int, code: str
) -> None:
    create_token(site.db, "eng", actor="eng", name="taken")
    with signed_in(site, "eng") as client:
        events_before = audit_log(site.db, limit=1000).items
        page = post_form(client, "/tokens", form)
        data = post_form(client, "/tokens?format=json", form)
    assert page.status_code == data.status_code == status
    assert f"<code>{code}</code>" in page.text
    assert data.json()["error"]["code"] == code
    assert "created" not in data.json()
    assert [t.name for t in list_tokens(site.db, "eng")] == ["taken"]
    assert audit_log(site.db, limit=1000).items == events_before


def test_revoking_a_token_stops_it_and_is_audited(site: Site) -> None:
    _, secret = create_token(site.db, "eng", actor="eng", name="ci/export")
    with signed_in(site, "eng") as client:
        assert whoami(client, secret).status_code == 200
        response = post_form(client, "/tokens/ci/export/revoke", {})
        refused = whoami(client, secret)
        html = client.get("/tokens").text
    assert (response.status_code, response.headers["location"]) == (303, "/tokens")
    assert refused.status_code == 401
    [token] = list_tokens(site.db, "eng")
    assert isinstance(token.revoked_at, datetime)
    assert "revoked" in html
    event = newest_event(site.db)
    assert (event["action"], event["actor"], event["target"]) == (
        "token.revoke",
        "eng",
        "eng/ci/export",
    )
    assert (event["before"], event["after"]["revoked_at"] is not None) == (
        {"revoked_at": None},
        True,
    )


def test_one_cannot_revoke_another_users_token(site: Site) -> None:
    _, secret = create_token(site.db, "pat", actor="pat", name="ci")
    with signed_in(site, "eng") as client:
        response = post_form(client, "/tokens/ci/revoke?format=json", {})
        assert whoami(client, secret).status_code == 200
    assert (response.status_code, response.json()["error"]["code"]) == (404, "token.unknown")
    assert list_tokens(site.db, "pat")[0].revoked_at is None


def test_posts_without_the_csrf_token_are_refused(site: Site) -> None:
    _, secret = create_token(site.db, "eng", actor="eng", name="kept")
    with signed_in(site, "eng") as client:
        created = client.post("/tokens?format=json", data={"name": "sneaky", "expires": "90"})
        revoked = client.post("/tokens/kept/revoke?format=json", data={"csrf_token": "forged"})
        assert whoami(client, secret).status_code == 200
    for response in (created, revoked):
        assert (response.status_code, response.json()["error"]["code"]) == (403, "access.csrf")
    assert [t.name for t in list_tokens(site.db, "eng")] == ["kept"]


def test_a_user_whose_roles_grant_nothing_is_refused_with_the_reason(site: Site) -> None:
    with site.db.session() as session:
        user = session.scalar(select(User).where(User.username == "pat"))
        assert user is not None
        user.roles = [UserRole(role="retired-role")]
    with signed_in(site, "pat") as client:
        page = client.get("/tokens?format=json")
        created = post_form(client, "/tokens?format=json", {"name": "ci", "expires": "90"})
    expected = authorize(
        Principal(user_id=0, username="pat", roles=("retired-role",)), "manage-own-tokens"
    ).reason
    for response in (page, created):
        assert response.status_code == 403
        assert response.json()["error"]["message"] == expected
    assert list_tokens(site.db, "pat") == []
