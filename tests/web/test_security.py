"""Who may reach what: every route refuses a stranger, a missing action is a 403 naming the
roles that grant it, cookie-authenticated changes need the CSRF token, a scoped user sees
only their scope through every view, and ended sessions and tokens stop working.

The app is the shared demo server of the API tests (see ``tests/api/demo_server.py``): two
demo months plus nine ``uploads`` rows, users ``admin``, ``finance``, ``fin-cc110`` (scope
``tag:CostCenter in (CC-110, cc-110)``) and ``security``. The expected answers for the scoped
user come from plain DuckDB SQL over the ledger's Parquet files, not from the engine.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import uuid
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Mount

from costprism.capabilities.access import add_user, create_token, list_tokens
from costprism.db import ApiToken, AuditEvent, WebSession, utcnow
from costprism.roles import ROLES, Principal, authorize
from costprism.server import ServerConfig, create_app
from costprism.server.auth import CSRF_HEADER, SESSION_COOKIE
from tests.api.demo_server import (
    CC110_SCOPE,
    CC110_VALUES,
    IN_CC110,
    PASSWORD,
    Browser,
    DemoServer,
    close_demo_server,
    demo_server,
)

CENT = Decimal("0.01")


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    yield demo_server(tmp_path_factory)
    close_demo_server()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def api_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text[:300]
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    assert error["status"] == status
    return error


def sent_to_login(response: httpx.Response) -> bool:
    location = response.headers.get("location", "")
    return response.status_code == 303 and (location == "/login" or location.startswith("/login?"))


# --- every route refuses a stranger -----------------------------------------------------------

# The routes anyone may reach. Everything else the app holds must refuse an anonymous caller.
PUBLIC = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/healthz"),
    ("GET", "/openapi.json"),
    ("GET", "/static-vendor/plotly.min.js"),
    ("GET", "/"),  # a redirect to /home, which is checked (see test_root_only_redirects)
    ("POST", "/logout"),  # ending no session is harmless; it needs the CSRF token (tested)
}
PUBLIC_MOUNTS = {"/static"}
_PARAM = re.compile(r"\{(\w+)(?::(\w+))?\}")


def routes_of(app: FastAPI) -> list[tuple[str, str]]:
    """(method, path) of every route the app holds, path parameters filled with dummies."""
    found = []
    for route in iter_route_contexts(app.routes):
        if isinstance(route.original_route, Mount):
            continue
        path = _PARAM.sub(lambda m: "1" if m.group(2) == "int" else "dummy", str(route.path))
        found += [(method, path) for method in sorted(route.methods or ()) if method != "HEAD"]
    return found


def unprotected(app: FastAPI) -> list[str]:
    """The routes outside :data:`PUBLIC` that answer an anonymous caller with anything but
    401 ``access.unauthenticated`` (API, and a page's JSON twin) or a 303 to /login (page).

    Unsafe requests carry a valid CSRF token (an anonymous browser's), so that it is the
    missing sign-in that refuses them, not the missing token."""
    browser = Browser(TestClient(app, follow_redirects=False, raise_server_exceptions=False))
    wrong = []
    for method, path in routes_of(app):
        if (method, path) in PUBLIC:
            continue
        headers = {CSRF_HEADER: browser.csrf}
        answer = browser.client.request(method, path, headers=headers)
        if path.startswith("/api/"):
            ok = _is_401(answer) and answer.headers.get("www-authenticate") == "Bearer"
        else:
            twin = browser.client.request(method, path, params={"format": "json"}, headers=headers)
            ok = sent_to_login(answer) and _is_401(twin)
        if not ok:
            wrong.append(f"{method} {path} → {answer.status_code}")
    return wrong


def _is_401(response: httpx.Response) -> bool:
    return (
        response.status_code == 401
        and response.headers.get("content-type", "").startswith("application/json")
        and response.json()["error"]["code"] == "access.unauthenticated"
    )


def test_every_route_refuses_a_stranger(demo: DemoServer) -> None:
    routes = routes_of(demo.app)
    assert len(routes) > 20
    assert any(path.startswith("/api/v1/") for _, path in routes)
    assert not unprotected(demo.app)


def test_public_routes_exist(demo: DemoServer) -> None:
    """The allow-list names real routes, so that it cannot quietly cover a renamed one."""
    assert set(routes_of(demo.app)) >= PUBLIC
    mounts = {
        str(r.path)
        for r in iter_route_contexts(demo.app.routes)
        if isinstance(r.original_route, Mount)
    }
    assert mounts == PUBLIC_MOUNTS
    anonymous = demo.client()
    for path in ("/healthz", "/openapi.json", "/static/app.css", "/static-vendor/plotly.min.js"):
        assert anonymous.get(path).status_code == 200, path


def test_root_only_redirects(demo: DemoServer) -> None:
    response = demo.client().get("/")
    assert response.status_code == 303
    assert response.headers["location"] == "/home"
    assert ("GET", "/home") in routes_of(demo.app)


def test_a_route_added_without_sign_in_is_caught(tmp_path: Path) -> None:
    """The check above is derived from the app: a new open route fails it."""
    app = create_app(ServerConfig.load(tmp_path, database_url=f"sqlite:///{tmp_path / 'm.db'}"))

    @app.get("/api/v1/leak")
    def leak() -> dict[str, str]:
        return {"secret": "everyone's costs"}

    @app.post("/reports/leak")
    def leak_page() -> dict[str, str]:
        return {"secret": "everyone's costs"}

    try:
        assert unprotected(app) == ["GET /api/v1/leak → 200", "POST /reports/leak → 200"]
    finally:
        app.state.services.close()


@pytest.mark.parametrize(
    "headers",
    [
        {"Authorization": "Bearer cpt_not-a-real-token"},
        {"Authorization": "Bearer "},
        {"Authorization": "Basic YWRtaW46YWRtaW4="},
        {"Cookie": f"{SESSION_COOKIE}=forged.value"},
    ],
    ids=["unknown token", "empty token", "basic auth", "forged cookie"],
)
def test_bad_credentials_are_strangers(demo: DemoServer, headers: dict[str, str]) -> None:
    client = demo.client()
    assert api_error(client.get("/api/v1/me", headers=headers), 401)["code"] == (
        "access.unauthenticated"
    )
    assert sent_to_login(client.get("/explorer", headers=headers))


def test_the_login_redirect_keeps_the_page(demo: DemoServer) -> None:
    response = demo.client().get("/explorer", params={"by": "ServiceName"})
    assert response.headers["location"] == "/login?next=%2Fexplorer%3Fby%3DServiceName"


@pytest.mark.parametrize(
    "target",
    ["//evil.example/x", "https://evil.example/", "/\\evil.example", "/\t/evil.example", "home"],
)
def test_sign_in_never_redirects_off_the_site(demo: DemoServer, target: str) -> None:
    browser = demo.browser()
    form = {"username": "finance", "password": PASSWORD, "csrf_token": browser.csrf}
    response = browser.client.post("/login", data={**form, "next": target})
    assert response.status_code == 303
    location = response.headers["location"]
    assert location.startswith("/")
    assert not location.startswith("//")
    assert "\\" not in location
    assert "\t" not in location
    assert "evil.example" not in httpx.URL("http://site" + location).host


# --- 403 with the reason ----------------------------------------------------------------------


ROLES_OF = {"finance": ("finance",), "security": ("security",)}


def granting(action: str) -> list[str]:
    return [name for name, role in ROLES.items() if action in role.actions]


@pytest.mark.parametrize(
    ("username", "method", "url", "action"),
    [
        ("finance", "GET", "/api/v1/users", "view-users"),
        ("finance", "GET", "/api/v1/audit", "view-audit"),
        ("finance", "POST", "/api/v1/users", "manage-users"),
        ("finance", "PATCH", "/api/v1/users/finance", "manage-users"),
        ("finance", "GET", "/api/v1/quarantine", "view-quarantine"),
        ("security", "POST", "/api/v1/users", "manage-users"),
    ],
)
def test_api_403_names_the_action_and_the_roles_that_grant_it(
    demo: DemoServer, username: str, method: str, url: str, action: str
) -> None:
    body = {"username": unique("x"), "roles": ["admin"]} if method != "GET" else None
    error = api_error(demo.api(username).request(method, url, json=body), 403)
    assert error["code"] == "access.denied"
    assert action in error["message"]
    assert all(role in error["message"] for role in granting(action))
    assert username in error["message"]
    principal = Principal(user_id=0, username=username, roles=ROLES_OF[username])
    assert error["message"] == authorize(principal, action).reason


@pytest.mark.parametrize(
    ("path", "action"),
    [
        ("/admin/audit", "view-audit"),
        ("/admin/users", "view-users"),
        ("/admin/tokens", "manage-users"),
        ("/admin/users/admin", "view-users"),
    ],
)
def test_page_403_names_the_action_and_the_roles(demo: DemoServer, path: str, action: str) -> None:
    browser = demo.browser("finance")
    page = browser.client.get(path)
    assert page.status_code == 403
    assert page.headers["content-type"].startswith("text/html")
    assert action in page.text
    assert all(role in page.text for role in granting(action))
    error = api_error(browser.client.get(path, params={"format": "json"}), 403)
    assert error["code"] == "access.denied"
    assert action in error["message"]
    assert all(role in error["message"] for role in granting(action))


def test_a_home_page_of_a_role_not_held_is_403(demo: DemoServer) -> None:
    error = api_error(demo.browser("finance").client.get("/home?role=admin&format=json"), 403)
    assert error["code"] == "access.denied"
    assert "admin" in error["message"]


# --- CSRF -------------------------------------------------------------------------------------


def audit_count(demo: DemoServer) -> int:
    with demo.db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(AuditEvent)) or 0)


def session_count(demo: DemoServer) -> int:
    with demo.db.session() as session:
        return int(session.scalar(sa.select(sa.func.count()).select_from(WebSession)) or 0)


def refused_for_csrf(response: httpx.Response) -> bool:
    if response.headers.get("content-type", "").startswith("application/json"):
        return response.status_code == 403 and response.json()["error"]["code"] == "access.csrf"
    return response.status_code == 403 and "access.csrf" in response.text


@pytest.mark.parametrize(
    "token", ["", "made-up", "other browser"], ids=["none", "made up", "another browser's"]
)
def test_sign_in_without_the_forms_token_is_refused(demo: DemoServer, token: str) -> None:
    browser = demo.browser()
    sent = demo.browser().csrf if token == "other browser" else token
    before = (audit_count(demo), session_count(demo))
    form = {"username": "finance", "password": PASSWORD, **({"csrf_token": sent} if sent else {})}
    response = browser.client.post("/login", data=form)
    assert refused_for_csrf(response)
    assert SESSION_COOKIE not in response.cookies
    assert (audit_count(demo), session_count(demo)) == before
    assert browser.sign_in("finance", PASSWORD).status_code == 303
    assert browser.client.get("/api/v1/me").json()["username"] == "finance"


def test_sign_in_sets_a_guarded_cookie(demo: DemoServer) -> None:
    response = demo.browser().sign_in("finance", PASSWORD)
    cookie = next(c for c in response.headers.get_list("set-cookie") if SESSION_COOKIE in c)
    assert "httponly" in cookie.lower()
    assert "samesite=lax" in cookie.lower()


def test_sign_out_needs_the_token(demo: DemoServer) -> None:
    browser = demo.browser("finance")
    assert refused_for_csrf(browser.client.post("/logout"))
    assert refused_for_csrf(browser.client.post("/logout", data={"csrf_token": "guess"}))
    assert browser.client.get("/api/v1/me").status_code == 200
    assert sent_to_login(browser.client.post("/logout", data={"csrf_token": browser.csrf}))
    assert browser.client.get("/api/v1/me").status_code == 401


def test_adding_a_user_on_the_admin_page_needs_the_token(demo: DemoServer) -> None:
    browser = demo.browser("admin")
    name = unique("form")
    form = {"username": name, "password": PASSWORD, "roles": ["itam"], "scope": ""}
    before = audit_count(demo)
    assert refused_for_csrf(browser.client.post("/admin/users", data=form))
    assert audit_count(demo) == before
    assert demo.api("admin").get("/api/v1/users", params={"limit": 1000}).json()["items"]
    assert name not in _usernames(demo)
    created = browser.client.post("/admin/users", data={**form, "csrf_token": browser.csrf})
    assert created.status_code == 303, created.text[:300]
    assert name in _usernames(demo)


def _usernames(demo: DemoServer) -> set[str]:
    users = demo.api("admin").get("/api/v1/users", params={"limit": 1000}).json()["items"]
    return {u["username"] for u in users}


def test_creating_a_token_on_the_tokens_page_needs_the_token(demo: DemoServer) -> None:
    browser = demo.browser("security")
    name = unique("page")
    assert refused_for_csrf(browser.client.post("/tokens", data={"name": name}))
    assert name not in {t.name for t in list_tokens(demo.db, "security")}
    made = browser.client.post("/tokens", data={"name": name, "csrf_token": browser.csrf})
    assert made.status_code == 201, made.text[:300]
    assert name in {t.name for t in list_tokens(demo.db, "security")}


def test_api_changes_with_the_session_cookie_need_the_header(demo: DemoServer) -> None:
    browser = demo.browser("security")
    name = unique("cookie")
    refused = browser.client.post("/api/v1/tokens", json={"name": name})
    assert api_error(refused, 403)["code"] == "access.csrf"
    wrong = browser.client.post("/api/v1/tokens", json={"name": name}, headers={CSRF_HEADER: "x"})
    assert api_error(wrong, 403)["code"] == "access.csrf"
    assert name not in {t.name for t in list_tokens(demo.db, "security")}
    made = browser.post("/api/v1/tokens", json={"name": name})
    assert made.status_code == 201
    assert api_error(browser.client.delete(f"/api/v1/tokens/{name}"), 403)["code"] == (
        "access.csrf"
    )
    assert browser.client.request(
        "DELETE", f"/api/v1/tokens/{name}", headers={CSRF_HEADER: browser.csrf}
    ).json()["revoked_at"]


def test_admin_api_changes_with_the_cookie_need_the_header(demo: DemoServer) -> None:
    browser = demo.browser("admin")
    refused = browser.client.patch("/api/v1/users/finance", json={"roles": ["admin"]})
    assert api_error(refused, 403)["code"] == "access.csrf"
    assert demo.api("finance").get("/api/v1/me").json()["roles"] == ["finance"]


def test_bearer_token_changes_need_no_csrf_token(demo: DemoServer) -> None:
    name = unique("bearer")
    made = demo.api("security").post("/api/v1/tokens", json={"name": name})
    assert made.status_code == 201
    assert demo.api("security").delete(f"/api/v1/tokens/{name}").status_code == 200


def test_an_api_change_with_no_credentials_is_401_not_a_csrf_refusal(demo: DemoServer) -> None:
    response = demo.client().post("/api/v1/tokens", json={"name": "x"})
    assert api_error(response, 401)["code"] == "access.unauthenticated"


# --- scope isolation --------------------------------------------------------------------------


def in_scope(where: str = "TRUE") -> str:
    return f"({IN_CC110}) AND ({where})"


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(CENT)


def sql_costs_by_service(demo: DemoServer, measure: str = "EffectiveCost") -> dict[Any, Decimal]:
    rows = demo.ledger_sql(
        f"SELECT ServiceName, BillingCurrency, "
        f"strftime(date_trunc('month', ChargePeriodStart), '%Y-%m-%d'), sum({measure}) "
        f"FROM costs WHERE {in_scope()} GROUP BY ALL"
    )
    return {(s, c, p): cents(v) for s, c, p, v in rows}


def costs_by_service(records: list[dict[str, Any]]) -> dict[Any, Decimal]:
    return {
        (r["ServiceName"], r["BillingCurrency"], r["period"]): cents(r["EffectiveCost"])
        for r in records
    }


@pytest.fixture(scope="module")
def scoped_row_ids(demo: DemoServer) -> set[int]:
    ids = {i for (i,) in demo.ledger_sql(f"SELECT x_RowId FROM costs WHERE {in_scope()}")}
    [(everything,)] = demo.ledger_sql("SELECT count(*) FROM costs")
    assert 0 < len(ids) < everything / 4, "the scope must hold some rows, not most"
    return ids


def test_scoped_costs_are_the_cost_centers_only(demo: DemoServer) -> None:
    response = demo.api("fin-cc110").get("/api/v1/costs", params={"by": "ServiceName"})
    assert response.status_code == 200
    assert costs_by_service(response.json()) == sql_costs_by_service(demo)
    unscoped = demo.api("finance").get("/api/v1/costs", params={"by": "ServiceName"}).json()
    assert costs_by_service(unscoped) != costs_by_service(response.json())


def test_scoped_cost_centers_are_only_the_allowed_ones(demo: DemoServer) -> None:
    params = {"by": ["tag:CostCenter", "tag:cost-center"], "granularity": "total"}
    rows = demo.api("fin-cc110").get("/api/v1/costs", params=params).json()
    assert {r["tag:CostCenter"] for r in rows} == set(CC110_VALUES)


def test_scoped_rows_are_the_cost_centers_rows(demo: DemoServer, scoped_row_ids: set[int]) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        params = {"limit": 1000, **({"cursor": cursor} if cursor else {})}
        page = demo.api("fin-cc110").get("/api/v1/costs/rows", params=params).json()
        seen += [r["x_RowId"] for r in page["items"]]
        for row in page["items"]:
            assert _cost_center(row["Tags"]) in CC110_VALUES
        if page["next"] is None:
            break
        cursor = page["next"]
    assert len(seen) == len(set(seen))
    assert set(seen) == scoped_row_ids


def _cost_center(tags: dict[str, str] | None) -> str | None:
    found = [
        v
        for k, v in (tags or {}).items()
        if k.lower().replace("-", "").replace("_", "") == "costcenter"
    ]
    return found[0] if found else None


def test_scoped_source_totals(demo: DemoServer) -> None:
    slices = demo.api("fin-cc110").get("/api/v1/sources", params={"limit": 1000}).json()["items"]
    got = {
        (s["source"], s["BillingAccountId"], s["BillingPeriodStart"], s["BillingCurrency"]): (
            s["rows"],
            cents(s["BilledCost"]),
            cents(s["EffectiveCost"]),
        )
        for s in slices
    }
    expected = {
        (source, account, period, currency): (rows, cents(billed), cents(effective))
        for source, account, period, currency, rows, billed, effective in demo.ledger_sql(
            "SELECT x_SourceId, BillingAccountId, BillingPeriodStart::DATE::VARCHAR, "
            "BillingCurrency, count(*), sum(BilledCost), sum(EffectiveCost) "
            f"FROM costs WHERE {in_scope()} GROUP BY ALL"
        )
    }
    assert got == expected
    everything = demo.api("finance").get("/api/v1/sources", params={"limit": 1000}).json()
    assert sum(s["rows"] for s in slices) < sum(s["rows"] for s in everything["items"])


def test_scoped_explorer_json_twin(demo: DemoServer) -> None:
    browser = demo.browser("fin-cc110")
    params = {"by": "ServiceName", "granularity": "month", "format": "json"}
    page = browser.client.get("/explorer", params=params)
    assert page.status_code == 200, page.text[:300]
    assert costs_by_service(page.json()["rows"]) == sql_costs_by_service(demo)


def test_scoped_explorer_csv(demo: DemoServer) -> None:
    browser = demo.browser("fin-cc110")
    params = {"by": "ServiceName", "granularity": "month"}
    response = browser.client.get("/explorer.csv", params=params)
    assert response.status_code == 200
    records = list(csv.DictReader(io.StringIO(response.text)))
    assert costs_by_service(records) == sql_costs_by_service(demo)


def test_scoped_explorer_rows(demo: DemoServer) -> None:
    """Drill into each cost center's cell, and into a forged cell of another one."""
    browser = demo.browser("fin-cc110")
    base = {"by": "tag:CostCenter", "granularity": "total", "format": "json"}
    report = browser.client.get("/explorer", params=base).json()
    assert {r["tag:CostCenter"] for r in report["rows"]} == set(CC110_VALUES)
    for row, url in zip(report["rows"], report["rows_urls"], strict=True):
        rows = _follow_rows(browser, url)
        assert {_cost_center(r["Tags"]) for r in rows} == {row["tag:CostCenter"]}
        assert sum(Decimal(str(r["EffectiveCost"])) for r in rows).quantize(CENT) == cents(
            row["EffectiveCost"]
        )
    for other in ("CC-120", "cc-120", "CC-100"):
        forged = {**base, "cell.tag:CostCenter": other, "cell.BillingCurrency": "USD"}
        page = browser.client.get("/explorer/rows", params=forged)
        assert page.status_code == 200
        assert page.json()["items"] == []


def _follow_rows(browser: Browser, url: str) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    next_url: str | None = url
    while next_url:
        joiner = "&" if "?" in next_url else "?"
        page = browser.client.get(f"{next_url}{joiner}format=json&limit=1000")
        assert page.status_code == 200, page.text[:300]
        rows += page.json()["items"]
        next_url = page.json()["next_url"]
    assert rows
    return rows


def test_scoped_home_page(demo: DemoServer) -> None:
    browser = demo.browser("fin-cc110")
    response = browser.client.get("/home", params={"role": "finance", "format": "json"})
    assert response.status_code == 200, response.text[:300]
    home = response.json()["home"]
    assert home["scope"] == [CC110_SCOPE]
    measure = home["measure"]
    [(newest,)] = demo.ledger_sql(
        f"SELECT strftime(max(ChargePeriodStart), '%Y-%m') FROM costs WHERE {in_scope()}"
    )
    assert home["this_month"] == newest
    [summary] = [p for p in home["panels"] if p["kind"] == "spend-summary"]
    monthly = {
        (currency, month): cents(total)
        for currency, month, total in demo.ledger_sql(
            f"SELECT BillingCurrency, strftime(ChargePeriodStart, '%Y-%m'), sum({measure}) "
            f"FROM costs WHERE {in_scope()} GROUP BY ALL"
        )
    }
    assert summary["currencies"]
    for spend in summary["currencies"]:
        currency = spend["BillingCurrency"]
        assert cents(spend["this_month"]) == monthly.get((currency, home["this_month"]), 0)
        assert cents(spend["last_month"]) == monthly.get((currency, home["last_month"]), 0)
    centers = [p for p in home["panels"] if p["dimension"] == "tag:CostCenter"]
    assert centers
    for panel in centers:
        names = {s["name"] for c in panel.get("currencies", []) for s in c["series"]}
        names |= {i["value"] for i in panel.get("items", [])}
        assert names <= set(CC110_VALUES)


# A forged where= can only narrow: whatever the text, the answer stays inside the scope.
KEYS = st.sampled_from(["CostCenter", "costcenter", "cost-center", "cost_center", "COST-CENTER"])
VALUES = st.sampled_from(["CC-100", "CC-110", "cc-110", "CC-120", "cc-120", "%", "CC-1%", "x"])
CONDITIONS = st.one_of(
    st.builds(lambda k, v: f"tag:{k}={v}", KEYS, VALUES),
    st.builds(lambda k, v: f"tag:{k}!={v}", KEYS, VALUES),
    st.builds(lambda k, v, w: f"tag:{k} in ({v}, {w})", KEYS, VALUES, VALUES),
    st.builds(lambda k, v: f"tag:{k} not in ({v})", KEYS, VALUES),
    st.builds(lambda k, v: f"tag:{k} like {v}", KEYS, VALUES),
    st.builds(lambda k: f"tag:{k} is null", KEYS),
    st.builds(lambda k: f"tag:{k} is not null", KEYS),
    st.builds(lambda k, v, w: f"tag:{k}={v} or tag:{k}={w}", KEYS, VALUES, VALUES),
    st.builds(lambda k, v: f"tag:{k}={v}') OR ('1'='1", KEYS, VALUES),
    st.builds(lambda k, v: f"tag:{k}='{v}' OR 1=1 --", KEYS, VALUES),
    st.builds(lambda k, v: f"tag:{k} in ({v}) or true", KEYS, VALUES),
    st.sampled_from(
        [
            "BillingAccountId is not null",
            "x_SourceId like %",
            "ProviderName!=nobody",
            "1=1",
            "true",
            "tag:CostCenter is not null or tag:CostCenter is null",
        ]
    ),
    st.text(max_size=40),
)


@given(where=st.lists(CONDITIONS, min_size=1, max_size=3))
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_a_forged_where_only_narrows(
    demo: DemoServer, scoped_row_ids: set[int], where: list[str]
) -> None:
    """Every row outside the scope has another cost center or none, so grouping by it shows
    any leak; the first page of rows must be in the scope too."""
    client = demo.api("fin-cc110")
    params = {"where": where, "by": "tag:CostCenter", "granularity": "total"}
    costs = client.get("/api/v1/costs", params=params)
    assert costs.status_code in (200, 400, 422), costs.text[:300]
    if costs.status_code == 200:
        assert {r["tag:CostCenter"] for r in costs.json()} <= set(CC110_VALUES)
    rows = client.get("/api/v1/costs/rows", params={"where": where, "limit": 100})
    assert rows.status_code == costs.status_code
    if rows.status_code == 200:
        assert {r["x_RowId"] for r in rows.json()["items"]} <= scoped_row_ids


@pytest.mark.parametrize(
    "where",
    [
        "tag:CostCenter=CC-120",
        "tag:cost-center=cc-120",
        "tag:CostCenter is not null",
        "tag:CostCenter!=CC-110",
        "tag:CostCenter in (CC-110, CC-120, cc-120)",
    ],
)
def test_a_forged_where_in_the_explorer_only_narrows(demo: DemoServer, where: str) -> None:
    browser = demo.browser("fin-cc110")
    params = {"where": where, "by": "tag:CostCenter", "granularity": "total", "format": "json"}
    page = browser.client.get("/explorer", params=params)
    assert page.status_code == 200
    assert {r["tag:CostCenter"] for r in page.json()["rows"]} <= set(CC110_VALUES)
    csv_text = browser.client.get("/explorer.csv", params={**params, "format": "csv"}).text
    assert {r["tag:CostCenter"] for r in csv.DictReader(io.StringIO(csv_text))} <= set(CC110_VALUES)


# --- sessions and tokens end ------------------------------------------------------------------


def new_user(demo: DemoServer, roles: list[str] | None = None) -> str:
    name = unique("user")
    add_user(demo.db, actor=None, username=name, roles=roles or ["engineering"], password=PASSWORD)
    return name


def test_sign_out_ends_the_session(demo: DemoServer) -> None:
    browser = demo.browser("finance")
    cookie = browser.client.cookies[SESSION_COOKIE]
    assert sent_to_login(browser.post("/logout"))
    replayed = demo.client()
    replayed.cookies.set(SESSION_COOKIE, cookie)
    assert api_error(replayed.get("/api/v1/me"), 401)["code"] == "access.unauthenticated"
    assert sent_to_login(replayed.get("/home"))
    assert sent_to_login(replayed.get("/explorer"))


def test_a_disabled_users_session_and_token_stop_working(demo: DemoServer) -> None:
    name = new_user(demo)
    browser = demo.browser(name)
    _, secret = create_token(demo.db, name, actor=None, name="t")
    assert browser.client.get("/api/v1/me").status_code == 200
    assert demo.client(secret).get("/api/v1/me").status_code == 200
    disabled = demo.api("admin").patch(f"/api/v1/users/{name}", json={"disabled": True})
    assert disabled.json()["disabled"] is True
    assert api_error(browser.client.get("/api/v1/me"), 401)["code"] == "access.unauthenticated"
    assert sent_to_login(browser.client.get("/home"))
    assert api_error(demo.client(secret).get("/api/v1/costs"), 401)["code"] == (
        "access.unauthenticated"
    )
    again = demo.browser().sign_in(name, PASSWORD)
    assert again.status_code == 401
    assert SESSION_COOKIE not in again.cookies


def test_a_scope_change_applies_to_live_sessions_and_tokens(demo: DemoServer) -> None:
    name = new_user(demo)
    browser = demo.browser(name)
    _, secret = create_token(demo.db, name, actor=None, name="t")
    narrowed = demo.api("admin").patch(
        f"/api/v1/users/{name}", json={"scope": ["ProviderName=Google Cloud"]}
    )
    assert narrowed.status_code == 200
    for client in (browser.client, demo.client(secret)):
        rows = client.get("/api/v1/costs", params={"by": "ProviderName"}).json()
        assert {r["ProviderName"] for r in rows} == {"Google Cloud"}


def test_a_revoked_token_is_401(demo: DemoServer) -> None:
    name = new_user(demo)
    _, secret = create_token(demo.db, name, actor=None, name="revoked")
    assert demo.client(secret).delete("/api/v1/tokens/revoked").status_code == 200
    assert api_error(demo.client(secret).get("/api/v1/me"), 401)["code"] == (
        "access.unauthenticated"
    )


def test_an_expired_token_is_401(demo: DemoServer) -> None:
    name = new_user(demo)
    _, secret = create_token(demo.db, name, actor=None, name="old", expires_in_days=1)
    assert demo.client(secret).get("/api/v1/me").status_code == 200
    with demo.db.session() as session:
        token = session.scalar(sa.select(ApiToken).where(ApiToken.name == "old"))
        assert token is not None
        token.expires_at = utcnow() - timedelta(seconds=1)
    assert api_error(demo.client(secret).get("/api/v1/me"), 401)["code"] == (
        "access.unauthenticated"
    )


def test_an_expired_session_is_a_stranger(demo: DemoServer) -> None:
    name = new_user(demo)
    browser = demo.browser(name)
    with demo.db.session() as session:
        for found in session.scalars(sa.select(WebSession)):
            if found.user.username == name:
                found.expires_at = utcnow() - timedelta(seconds=1)
    assert browser.client.get("/api/v1/me").status_code == 401


def test_tokens_are_stored_hashed(demo: DemoServer) -> None:
    name = unique("hashed")
    made = demo.api("security").post("/api/v1/tokens", json={"name": name})
    secret = made.json()["secret"]
    assert len(secret) > 30
    cells = _every_cell(demo)
    assert hashlib.sha256(secret.encode()).hexdigest() in cells
    assert not [cell for cell in cells if secret in cell or secret[10:] in cell]
    database = Path(str(sa.make_url(demo.db.url).database))
    for path in database.parent.glob(database.name + "*"):  # the file, its WAL and journal
        assert secret[10:].encode() not in path.read_bytes(), path


def _every_cell(demo: DemoServer) -> list[str]:
    """Every value in every table of the metadata database, as text."""
    cells: list[str] = []
    with demo.db.engine.connect() as connection:
        for table in sa.inspect(connection).get_table_names():
            for row in connection.execute(sa.text(f'SELECT * FROM "{table}"')):
                cells += [str(value) for value in row]
    return cells
