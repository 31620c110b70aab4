"""``GET /home``: each role's workspace over the caller's scope, its JSON twin, the switcher."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

import pytest
from markupsafe import escape

from costprism.capabilities.home import home_page
from costprism.capabilities.reporting import cost_report
from costprism.engine.query import CostQuery
from costprism.roles import ROLES
from costprism.roles.workspaces import WORKSPACES
from costprism.web.pages.charts import money
from tests.web.conftest import TWO_ROLES, RoleSite, user_of

FIGURE = re.compile(r"<div class=\"chart\" data-currency=\"(\w+)\" data-figure='([^']+)'>")


def home_json(site: RoleSite, username: str, query: str = "") -> dict[str, Any]:
    response = site.signed_in(username).get(f"/home?format=json{query}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def without_ages(record: dict[str, Any]) -> dict[str, Any]:
    """The page record less the import ages, which grow between two calls."""
    panels = [
        {**p, "sources": [{**s, "age_hours": None} for s in p["sources"]]}
        if p["kind"] == "freshness"
        else p
        for p in record["panels"]
    ]
    return {**record, "panels": panels}


@pytest.mark.parametrize("role", list(ROLES))
def test_each_role_sees_its_workspace_with_a_trend_chart(role_site: RoleSite, role: str) -> None:
    response = role_site.signed_in(user_of(role)).get("/home")
    assert response.status_code == 200, response.text
    html = response.text
    workspace = WORKSPACES[role]
    assert f"<h1>{workspace.title}</h1>" in html
    assert str(escape(workspace.purpose)) in html
    for spec in workspace.panels:
        assert f'data-panel="{spec.key}"' in html
    figures = [json.loads(raw) for _, raw in FIGURE.findall(html)]
    assert figures, "no chart"
    assert all(f["layout"]["barmode"] == "stack" and f["data"] for f in figures)
    assert '<script src="/static-vendor/plotly.min.js" defer></script>' in html


@pytest.mark.parametrize("role", ["engineering", "finance", "practitioner"])
def test_the_json_twin_is_the_capability_over_the_callers_scope(
    role_site: RoleSite, role: str
) -> None:
    username = user_of(role)
    body = home_json(role_site, username)
    expected = home_page(
        role_site.view(), role_site.ledger, role, role_site.scope_of(username)
    ).record()
    assert without_ages(body["home"]) == without_ages(expected)
    assert body["role"] == role
    assert body["roles"] == [{"name": role, "title": ROLES[role].title, "current": True}]


def test_a_scoped_user_sees_only_their_spend(role_site: RoleSite) -> None:
    username = user_of("engineering")
    body = home_json(role_site, username)
    [summary] = [p for p in body["home"]["panels"] if p["kind"] == "spend-summary"]
    query = CostQuery(granularity="total", start=date(2026, 5, 1), end=date(2026, 6, 1))
    scoped = cost_report(role_site.view(), query, role_site.scope_of(username)).totals()
    whole = cost_report(role_site.view(), query).totals()
    for row in summary["currencies"]:
        amount = scoped[row["BillingCurrency"]]["EffectiveCost"]
        assert round(row["this_month"], 2) == round(float(amount), 2)
        assert amount < whole[row["BillingCurrency"]]["EffectiveCost"]
    assert body["home"]["scope"] == ["tag:team=payments"]


def test_amounts_show_thousands_separators_and_their_currency(role_site: RoleSite) -> None:
    client = role_site.signed_in(user_of("management"))
    body = client.get("/home?format=json").json()
    html = client.get("/home").text
    [summary] = [p for p in body["home"]["panels"] if p["kind"] == "spend-summary"]
    assert {c["BillingCurrency"] for c in summary["currencies"]} == {"USD", "EUR"}
    for row in summary["currencies"]:
        shown = money(row["this_month"], row["BillingCurrency"])
        assert re.fullmatch(r"\d{1,3}(,\d{3})+\.\d\d (USD|EUR)", shown), shown
        assert f'<div class="value">{shown}</div>' in html


def test_a_user_with_two_roles_switches_between_their_homes(role_site: RoleSite) -> None:
    client = role_site.signed_in(TWO_ROLES)
    first = client.get("/home")
    assert "<h1>Management</h1>" in first.text
    assert 'href="/home?role=procurement"' in first.text
    second = client.get("/home?role=procurement")
    assert second.status_code == 200
    assert "<h1>Procurement</h1>" in second.text
    body = client.get("/home?role=procurement&format=json").json()
    assert [r["current"] for r in body["roles"]] == [False, True]
    assert body["home"]["role"] == "procurement"


def test_a_role_the_user_does_not_hold_is_refused_with_the_reason(role_site: RoleSite) -> None:
    client = role_site.signed_in(user_of("finance"))
    page = client.get("/home?role=admin")
    assert page.status_code == 403
    assert "home-finance does not hold the role &#39;admin&#39;" in page.text
    twin = client.get("/home?role=admin&format=json")
    assert twin.status_code == 403
    assert twin.json()["error"]["code"] == "access.denied"
    assert "has finance" in twin.json()["error"]["message"]


def test_signed_out_callers_are_sent_to_sign_in(role_site: RoleSite) -> None:
    response = role_site.client().get("/home?role=finance")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fhome%3Frole%3Dfinance"


def test_panels_link_to_the_explorer_with_the_same_question(role_site: RoleSite) -> None:
    client = role_site.signed_in(user_of("product"))
    body = client.get("/home?format=json").json()
    link = body["explore"]["top:tag:product"]
    assert link.startswith("/explorer?by=tag%3Aproduct&from=2026-05-01&to=2026-06-01")
    explorer = client.get(link + "&format=json").json()
    [top] = [p for p in body["home"]["panels"] if p["key"] == "top:tag:product"]
    named = {(i["value"], i["BillingCurrency"]): i["this_month"] for i in top["items"]}
    listed = {
        (r["tag:product"], r["BillingCurrency"]): r["EffectiveCost"] for r in explorer["rows"]
    }
    assert named == listed  # one product in this scope: the same groups either way
