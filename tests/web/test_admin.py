"""``/admin``: users, roles, every user's tokens and the audit log, on a real app and database.

Each change goes through the login form, the CSRF token and the same capability the API
calls; refused changes store nothing and write no audit event.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from costprism.capabilities.access import (
    audit_log,
    create_token,
    get_user,
    list_tokens,
    list_users,
)
from costprism.db import Database
from costprism.roles import ACTIONS, ROLES, Action, Principal, Role, authorize
from tests.web.fixtures_admin import (
    ENG_ACCOUNT,
    Site,
    admin_home,
    csrf_of,
    password_of,
    seeded_database,
    signed_in,
    site,
)

__all__ = ["admin_home", "seeded_database", "site"]


def reason(username: str, role: str, action: str) -> str:
    return authorize(Principal(user_id=0, username=username, roles=(role,)), action).reason


def events(db: Database) -> list[dict[str, Any]]:
    return [e.record() for e in audit_log(db, limit=1000).items]


def post_form(client: TestClient, path: str, form: dict[str, Any]) -> Any:
    """POST ``form`` as the page's own form would, with the CSRF token the page carries."""
    token = csrf_of(client.get("/admin/users").text)
    return client.post(path, data={**form, "csrf_token": token})


def new_user_form(**change: Any) -> dict[str, Any]:
    form = {
        "username": "bob",
        "display_name": "Bob Ray",
        "roles": ["finance", "itam"],
        "scope": "tag:CostCenter in (CC-110, cc-110)\n\nBillingAccountId=1",
        "password": password_of("bob"),
    }
    return {**form, **change}


def test_the_landing_page_links_only_what_the_caller_may_see(site: Site) -> None:
    with signed_in(site, "ada") as client:
        everything = client.get("/admin?format=json").json()["sections"]
        html = client.get("/admin").text
    with signed_in(site, "sec") as client:
        security = client.get("/admin?format=json").json()["sections"]
    paths = ["/admin/users", "/admin/roles", "/admin/tokens", "/admin/audit"]
    assert [s["path"] for s in everything] == paths
    assert all(f'href="{path}"' in html for path in paths)
    assert [s["path"] for s in security] == ["/admin/users", "/admin/roles", "/admin/audit"]


def test_the_landing_page_refuses_a_caller_who_may_see_none_of_it(site: Site) -> None:
    with signed_in(site, "eng") as client:
        response = client.get("/admin?format=json")
    assert response.status_code == 403
    message = response.json()["error"]["message"]
    assert reason("eng", "engineering", "view-users") in message
    assert reason("eng", "engineering", "view-audit") in message


def test_users_page_lists_users_with_roles_and_scopes(site: Site) -> None:
    with signed_in(site, "sec") as client:
        body = client.get("/admin/users?format=json").json()
        html = client.get("/admin/users").text
    assert body["users"] == {"items": [u.record() for u in list_users(site.db).items], "next": None}
    assert [u["username"] for u in body["users"]["items"]] == ["ada", "eng", "pat", "sec"]
    assert f"<code>BillingAccountId={ENG_ACCOUNT}</code>" in html
    assert 'id="add-user"' not in html  # security may look, not change


def test_users_are_paged(site: Site) -> None:
    names: list[str] = []
    query = "limit=3"
    with signed_in(site, "ada") as client:
        while query:
            page = client.get(f"/admin/users?format=json&{query}").json()["users"]
            names.extend(u["username"] for u in page["items"])
            query = f"limit=3&cursor={page['next']}" if page["next"] else ""
        html = client.get("/admin/users?limit=3").text
    assert names == ["ada", "eng", "pat", "sec"]
    assert 'hx-select="#users"' in html
    assert "next page" in html


def test_adding_a_user_stores_it_and_audits_it(site: Site) -> None:
    with signed_in(site, "ada") as client:
        response = post_form(client, "/admin/users", new_user_form())
        shown = client.get(response.headers["location"]).text
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/admin/users/bob?saved=created",
    )
    assert "Saved: user added." in shown
    bob = get_user(site.db, "bob")
    expected_scope = ("tag:CostCenter in (CC-110, cc-110)", "BillingAccountId=1")
    assert (bob.display_name, bob.roles, bob.scope) == (
        "Bob Ray",
        ("finance", "itam"),
        expected_scope,
    )
    [event] = [e for e in events(site.db) if e["action"] == "user.create" and e["target"] == "bob"]
    assert (event["actor"], event["target"], event["before"]) == ("ada", "bob", None)
    assert event["after"] == {
        "roles": ["finance", "itam"],
        "scope": list(expected_scope),
        "disabled": False,
    }
    with signed_in(site, "bob") as client:  # the initial password works
        assert client.get("/sources").status_code == 200


@pytest.mark.parametrize(
    ("change", "status", "code"),
    [
        ({"roles": ["wizard"]}, 400, "user.bad_role"),
        ({"roles": []}, 400, "user.bad_role"),
        ({"scope": "RegionId ~ eu"}, 400, "query.bad_filter"),
        ({"password": "short"}, 400, "user.weak_password"),
        ({"username": "bad name!"}, 400, "user.bad_name"),
        ({"username": "eng"}, 409, "user.exists"),
    ],
)
def test_a_refused_new_user_is_shown_in_the_form_and_nothing_is_stored(
    site: Site, change: dict[str, Any], status: int, code: str
) -> None:
    with signed_in(site, "ada") as client:
        before = events(site.db)
        page = post_form(client, "/admin/users", new_user_form(**change))
        data = post_form(client, "/admin/users?format=json", new_user_form(**change))
    assert page.status_code == data.status_code == status
    assert f"<code>{code}</code>" in page.text
    assert data.json()["error"]["code"] == code
    assert data.json()["form"]["scope"] == new_user_form(**change)["scope"]
    assert "password" not in data.json()["form"]
    assert [u.username for u in list_users(site.db).items] == ["ada", "eng", "pat", "sec"]
    assert events(site.db) == before


def test_changing_roles_and_scope_is_audited_with_before_and_after(site: Site) -> None:
    form = {"intent": "access", "roles": ["engineering", "finance"], "scope": "tag:team=payments"}
    with signed_in(site, "ada") as client:
        response = post_form(client, "/admin/users/eng", form)
    assert (response.status_code, response.headers["location"]) == (
        303,
        "/admin/users/eng?saved=access",
    )
    eng = get_user(site.db, "eng")
    assert (eng.roles, eng.scope) == (("engineering", "finance"), ("tag:team=payments",))
    event = events(site.db)[0]
    assert (event["action"], event["actor"], event["target"]) == ("user.update", "ada", "eng")
    assert event["before"] == {
        "roles": ["engineering"],
        "scope": [f"BillingAccountId={ENG_ACCOUNT}"],
        "disabled": False,
    }
    assert event["after"] == {
        "roles": ["engineering", "finance"],
        "scope": ["tag:team=payments"],
        "disabled": False,
    }


@pytest.mark.parametrize(
    ("form", "code"),
    [
        (
            {"intent": "access", "roles": ["engineering"], "scope": "tag:team in ("},
            "query.bad_filter",
        ),
        ({"intent": "access", "scope": ""}, "user.bad_role"),
        ({"intent": "password", "password": "too-short"}, "user.weak_password"),
    ],
)
def test_a_refused_change_keeps_the_user_as_it_was(
    site: Site, form: dict[str, Any], code: str
) -> None:
    with signed_in(site, "ada") as client:
        before = events(site.db)
        response = post_form(client, "/admin/users/eng", form)
    assert response.status_code == 400
    assert f"<code>{code}</code>" in response.text
    eng = get_user(site.db, "eng")
    assert (eng.roles, eng.scope) == (("engineering",), (f"BillingAccountId={ENG_ACCOUNT}",))
    assert events(site.db) == before
    with signed_in(site, "eng") as client:  # the old password still works
        assert client.get("/sources").status_code == 200


def test_disabling_a_user_ends_their_session_and_enabling_restores_it(site: Site) -> None:
    with signed_in(site, "eng") as eng, signed_in(site, "ada") as ada:
        assert eng.get("/sources?format=json").status_code == 200
        assert post_form(ada, "/admin/users/eng", {"intent": "disable"}).status_code == 303
        assert eng.get("/sources?format=json").status_code == 401
        assert get_user(site.db, "eng").disabled
        assert "(disabled)" in ada.get("/admin/users/eng").text
        assert post_form(ada, "/admin/users/eng", {"intent": "enable"}).status_code == 303
        assert eng.get("/sources?format=json").status_code == 200
    enable, disable = events(site.db)[:2]
    assert (disable["before"]["disabled"], disable["after"]["disabled"]) == (False, True)
    assert (enable["before"]["disabled"], enable["after"]["disabled"]) == (True, False)


def test_a_password_reset_is_audited_without_the_password(site: Site) -> None:
    new_password = "a-brand-new-passphrase"
    with signed_in(site, "ada") as client:
        response = post_form(
            client, "/admin/users/pat", {"intent": "password", "password": new_password}
        )
    assert response.status_code == 303
    event = events(site.db)[0]
    assert event["after"]["password"] == "changed"
    assert new_password not in str(event)
    with TestClient(site.app, follow_redirects=False) as client:
        token = csrf_of(client.get("/login").text)
        form = {"username": "pat", "password": new_password, "csrf_token": token}
        assert client.post("/login", data=form).status_code == 303


def test_the_user_page_and_its_json_twin(site: Site) -> None:
    with signed_in(site, "sec") as client:
        body = client.get("/admin/users/eng?format=json").json()
        html = client.get("/admin/users/eng").text
        missing = client.get("/admin/users/nobody?format=json")
    assert body == {"user": get_user(site.db, "eng").record(), "saved": None}
    assert "<h2>Change roles and scope</h2>" not in html  # view-users only
    assert (missing.status_code, missing.json()["error"]["code"]) == (404, "user.unknown")


def test_changes_need_manage_users(site: Site) -> None:
    with signed_in(site, "sec") as client:
        before = events(site.db)
        added = post_form(client, "/admin/users?format=json", new_user_form())
        changed = post_form(client, "/admin/users/eng?format=json", {"intent": "disable"})
    for response in (added, changed):
        assert response.status_code == 403
        assert response.json()["error"]["message"] == reason("sec", "security", "manage-users")
    assert not get_user(site.db, "eng").disabled
    assert events(site.db) == before


def test_posts_without_the_csrf_token_are_refused(site: Site) -> None:
    with signed_in(site, "ada") as client:
        before = events(site.db)
        missing = client.post("/admin/users?format=json", data=new_user_form())
        wrong = client.post(
            "/admin/users/eng?format=json", data={"intent": "disable", "csrf_token": "forged"}
        )
    for response in (missing, wrong):
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "access.csrf"
    assert [u.username for u in list_users(site.db).items] == ["ada", "eng", "pat", "sec"]
    assert not get_user(site.db, "eng").disabled
    assert events(site.db) == before


def test_the_roles_page_is_generated_from_the_registry(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_action = Action(name="approve-widgets", description="approve widget purchases")
    monkeypatch.setitem(ACTIONS, new_action.name, new_action)
    monkeypatch.setitem(
        ROLES,
        "widgeteer",
        Role(
            name="widgeteer",
            title="Widgeteer",
            responsibilities="widgets",
            actions=frozenset({"approve-widgets"}),
        ),
    )
    with signed_in(site, "sec") as client:
        body = client.get("/admin/roles?format=json").json()
        html = client.get("/admin/roles").text
    assert [a["name"] for a in body["actions"]] == list(ACTIONS)
    assert {r["name"]: set(r["actions"]) for r in body["roles"]} == {
        name: set(role.actions) for name, role in ROLES.items()
    }
    assert len(body["roles"]) == 13
    assert "approve widget purchases" in html
    assert "Widgeteer" in html
    assert all(role.title in html for role in ROLES.values())


def test_every_users_tokens_are_listed_and_an_admin_can_revoke_one(site: Site) -> None:
    _, secret = create_token(site.db, "eng", actor="eng", name="nightly export")
    create_token(site.db, "pat", actor="pat", name="ci")
    with signed_in(site, "ada") as client:
        body = client.get("/admin/tokens?format=json").json()
        listed = [t.record() for t in list_tokens(site.db)]
        only_eng = client.get("/admin/tokens?format=json&user=eng").json()
        assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"}).is_success
        revoked = post_form(client, "/admin/tokens/eng/nightly export/revoke", {})
        refused = client.get("/api/v1/me", headers={"Authorization": f"Bearer {secret}"})
    assert body["tokens"] == {"items": listed, "next": None}
    assert [(t["username"], t["name"]) for t in body["tokens"]["items"]] == [
        ("pat", "ci"),
        ("eng", "nightly export"),
    ]
    assert [t["name"] for t in only_eng["tokens"]["items"]] == ["nightly export"]
    assert (revoked.status_code, revoked.headers["location"]) == (303, "/admin/tokens")
    assert refused.status_code == 401
    [token] = list_tokens(site.db, "eng")
    assert token.revoked_at is not None
    event = events(site.db)[0]
    assert (event["action"], event["actor"], event["target"]) == (
        "token.revoke",
        "ada",
        "eng/nightly export",
    )
    assert event["before"] == {"revoked_at": None}
    assert secret not in str(body)


def test_the_tokens_of_every_user_need_manage_users(site: Site) -> None:
    with signed_in(site, "sec") as client:
        response = client.get("/admin/tokens?format=json")
    assert response.status_code == 403
    assert response.json()["error"]["message"] == reason("sec", "security", "manage-users")


def test_the_audit_log_pages_newest_first_with_before_and_after(site: Site) -> None:
    with signed_in(site, "ada") as client:
        post_form(
            client,
            "/admin/users/eng",
            {"intent": "access", "roles": ["engineering"], "scope": "tag:team=payments"},
        )
        first = client.get("/admin/audit?format=json&limit=2").json()["events"]
        seen = list(first["items"])
        cursor = first["next"]
        while cursor:
            page = client.get(f"/admin/audit?format=json&limit=2&cursor={cursor}").json()
            seen.extend(page["events"]["items"])
            cursor = page["events"]["next"]
        html = client.get("/admin/audit").text
    everything = events(site.db)
    assert first["items"] == everything[:2]
    assert seen == everything
    assert [e["id"] for e in seen] == sorted((e["id"] for e in seen), reverse=True)
    assert everything[0]["action"] == "user.update"
    assert (
        '<code>scope</code>: <span class="before">["BillingAccountId=741852963094"]</span>'
        ' → <span class="after">["tag:team=payments"]</span>'
    ) in html.replace("&#34;", '"')


def test_the_audit_log_needs_view_audit(site: Site) -> None:
    with signed_in(site, "pat") as client:
        response = client.get("/admin/audit?format=json")
        page = client.get("/admin/audit")
    assert response.status_code == page.status_code == 403
    assert response.json()["error"]["message"] == reason("pat", "practitioner", "view-audit")


def test_a_change_asked_for_as_json_lands_on_the_json_twin(site: Site) -> None:
    with signed_in(site, "ada") as client:
        response = post_form(client, "/admin/users/pat?format=json", {"intent": "disable"})
        landed = client.get(response.headers["location"])
    assert response.headers["location"] == "/admin/users/pat?saved=disable&format=json"
    assert landed.json() == {"user": get_user(site.db, "pat").record(), "saved": "disable"}
    assert landed.json()["user"]["disabled"] is True
