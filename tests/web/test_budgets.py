"""The ``/budgets`` pages: the list with status bars, a budget's detail with its charts,
the create/edit form and the holdback release (CSRF-protected, audited), each page's JSON
twin equal to the API's records, scopes, and the budgets panel on the home pages."""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING

import pytest

from costprism.capabilities.access import audit_log
from costprism.capabilities.budget_store import list_budgets
from costprism.engine.filters import parse_filters
from tests.budgets_site import PASSWORD, BudgetSite, budgets_site, csrf
from tests.web.conftest import serving

if TYPE_CHECKING:
    from playwright.sync_api import Page


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> BudgetSite:
    return budgets_site(tmp_path_factory)


def test_the_list_page_and_its_json_twin(site: BudgetSite) -> None:
    client = site.signed_in("bg-finance")
    page = client.get("/budgets")
    assert page.status_code == 200
    for name in ("payments-monthly", "platform-monthly", "company-quarter"):
        assert f'data-budget="{name}"' in page.text
    assert page.text.count('class="budget-bar"') == 3
    twin = client.get("/budgets?format=json").json()
    api = site.api("bg-finance").get("/api/v1/budgets").json()
    assert twin["budgets"] == api["budgets"]
    assert 'href="/budgets/new"' in page.text
    bad = client.get("/budgets?month=May")
    assert (bad.status_code, "is not a month" in bad.text) == (400, True)


def test_a_scoped_reader_sees_their_budget_and_no_form(site: BudgetSite) -> None:
    client = site.signed_in("bg-engineer")
    twin = client.get("/budgets?format=json").json()
    assert [b["name"] for b in twin["budgets"]] == ["payments-monthly"]
    page = client.get("/budgets")
    assert 'href="/budgets/new"' not in page.text
    assert client.get("/budgets/new").status_code == 403
    assert client.get("/budgets/company-quarter").status_code == 404
    detail = client.get("/budgets/payments-monthly")
    assert detail.status_code == 200
    assert 'id="release-form"' not in detail.text


def test_the_detail_page_has_the_charts_and_the_figures(site: BudgetSite) -> None:
    client = site.signed_in("bg-finance")
    page = client.get("/budgets/payments-monthly?month=2026-05")
    assert page.status_code == 200
    figures = [json.loads(f.replace("&#39;", "'")) for f in
               re.findall(r"data-figure='([^']+)'", page.text)]  # fmt: skip
    assert len(figures) == 2
    names = [t["name"] for t in figures[0]["data"]]
    assert names[:2] == ["actual (running total)", "available budget"]
    twin = client.get("/budgets/payments-monthly?month=2026-05&format=json").json()
    api = site.api("bg-finance").get("/api/v1/budgets/payments-monthly?month=2026-05").json()
    assert twin["budget"] == api
    assert figures[0]["data"][0]["y"][-1] == pytest.approx(api["actual"])
    assert figures[1]["data"][0]["x"][-1] == "2026-05"
    assert 'id="release-form"' in page.text


def test_creating_and_editing_through_the_form(site: BudgetSite) -> None:
    client = site.signed_in("bg-payments")
    form = client.get("/budgets/new")
    assert form.status_code == 200
    assert "team=payments" in form.text  # the scope starts as the caller's
    fields = {"csrf_token": csrf(form.text), "original": "", "name": "payments-storage",
              "scope": "team=payments\nServiceCategory=Storage", "period": "quarter",
              "amount": "3000", "currency": "USD", "basis": "effective",
              "actual_thresholds": "50, 90", "forecast_thresholds": "100", "owners": "",
              "holdback": "0"}  # fmt: skip
    saved = client.post("/budgets/save", data=fields)
    assert (saved.status_code, saved.headers["location"]) == (
        303, "/budgets/payments-storage?saved=1",
    )  # fmt: skip
    assert audit_log(site.db, limit=1).items[0].action == "budgets.create"
    edit = client.get("/budgets/payments-storage/edit")
    assert 'value="3000"' in edit.text
    changed = client.post("/budgets/save", data={**fields, "csrf_token": csrf(edit.text),
                                                 "original": "payments-storage",
                                                 "amount": "3500"})  # fmt: skip
    assert changed.status_code == 303
    event = audit_log(site.db, limit=1).items[0]
    assert (event.action, (event.after or {})["amount"]) == ("budgets.update", "3500")
    wrong = client.post("/budgets/save", data={**fields, "csrf_token": csrf(edit.text),
                                               "amount": "-1"})  # fmt: skip
    assert wrong.status_code == 400
    assert "must be a positive amount" in wrong.text
    outside = client.post("/budgets/save", data={**fields, "csrf_token": csrf(edit.text),
                                                 "name": "all", "scope": ""})  # fmt: skip
    assert outside.status_code == 403
    no_csrf = client.post("/budgets/save", data={**fields, "csrf_token": "forged"})
    assert no_csrf.status_code == 403


def test_releasing_holdback_through_the_form(site: BudgetSite) -> None:
    client = site.signed_in("bg-finance")
    page = client.get("/budgets/payments-monthly?month=2026-05")
    path = "/budgets/payments-monthly/release-holdback"
    data = {"csrf_token": csrf(page.text), "month": "2026-05", "amount": "1000"}
    released = client.post(path, data=data)
    assert released.status_code == 303
    assert released.headers["location"] == "/budgets/payments-monthly?released=1&month=2026-05"
    event = audit_log(site.db, limit=1).items[0]
    assert (event.action, event.actor, event.target) == (
        "budgets.release-holdback", "bg-finance", "payments-monthly",
    )  # fmt: skip
    twin = client.get("/budgets/payments-monthly?month=2026-05&format=json").json()
    assert twin["budget"]["released"] == 1000.0
    refused = client.post(path, data={**data, "amount": "100000"})
    assert refused.status_code == 400
    assert "still held back" in refused.text


def test_the_home_pages_show_the_budgets_of_their_scope(site: BudgetSite) -> None:
    whole = site.signed_in("bg-finance").get("/home?format=json").json()
    (panel,) = [p for p in whole["home"]["panels"] if p["kind"] == "budgets"]
    assert {b["name"] for b in panel["budgets"]} >= {"payments-monthly", "platform-monthly"}
    engineer = site.signed_in("bg-engineer").get("/home?format=json").json()
    (scoped,) = [p for p in engineer["home"]["panels"] if p["kind"] == "budgets"]
    mine = {b.name for b in list_budgets(site.db, parse_filters(["team=payments"]))}
    assert {b["name"] for b in scoped["budgets"]} == mine
    assert "payments-monthly" in mine
    assert "platform-monthly" not in mine
    page = site.signed_in("bg-engineer").get("/home")
    assert 'data-budget="payments-monthly"' in page.text
    assert 'data-budget="platform-monthly"' not in page.text


@pytest.mark.browser
def test_in_chromium_the_list_links_to_a_drawn_chart_and_the_release_form_works(
    site: BudgetSite, page: Page
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(60_000)
    with serving(site.app) as base:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "bg-finance")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{base}/home")
        page.wait_for_selector("[data-panel='budgets'] [data-budget='payments-monthly']")
        page.click("nav a[href='/budgets']")
        assert page.locator("tr[data-budget] .budget-bar").count() >= 3
        page.click("a[href^='/budgets/payments-monthly']")
        page.wait_for_selector(".chart.js-plotly-plot svg.main-svg")
        assert page.locator(".chart.js-plotly-plot").count() == 2
        page.goto(f"{base}/budgets/payments-monthly?month=2026-05")
        page.fill("#release-form input[name=amount]", "10")
        page.click("#release-form button[type=submit]")
        page.wait_for_selector("p.notice")
        assert "Holdback released." in page.inner_text("p.notice")
    assert errors == []
