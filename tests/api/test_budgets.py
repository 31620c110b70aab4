"""``/api/v1/budgets``: the records of the capability (figures checked against SQL in
tests/capabilities/test_budgets.py), who sees which budget, who may change them, audited
changes and the JSON shape."""

from __future__ import annotations

import pytest

from costprism.capabilities.access import audit_log
from tests.budgets_site import BUDGETS, BudgetSite, budgets_site

API = "/api/v1/budgets"
RECORD_KEYS = {
    "name", "scope", "owners", "period", "BillingCurrency", "basis", "measure", "through",
    "elapsed_days", "days", "amount", "holdback", "released", "held_back", "available",
    "actual", "forecast", "variance", "variance_percent", "forecast_variance_percent",
    "actual_percent", "forecast_percent", "burn_rate", "budget_rate", "burn_ratio",
    "run_rate_total", "thresholds", "crossed", "status",
}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> BudgetSite:
    return budgets_site(tmp_path_factory)


def test_the_list_has_every_budget_with_its_figures(site: BudgetSite) -> None:
    response = site.api("bg-finance").get(API, params={"month": "2026-05"})
    assert response.status_code == 200
    records = {r["name"]: r for r in response.json()["budgets"]}
    assert set(records) == {"company-quarter", "payments-monthly", "platform-monthly"}
    payments = records["payments-monthly"]
    assert set(payments) == RECORD_KEYS
    assert payments["period"] == {"label": "2026-05", "kind": "month", "start": "2026-05-01",
                                  "end": "2026-06-01"}  # fmt: skip
    assert (payments["available"], payments["held_back"]) == (90000.0, 10000.0)
    assert payments["variance"] == pytest.approx(90000.0 - payments["actual"])
    assert payments["status"] in ("over", "at-risk", "warning", "ok")
    assert records["company-quarter"]["measure"] == "BilledCost"
    assert records["company-quarter"]["period"]["kind"] == "quarter"


def test_a_scoped_caller_sees_only_budgets_inside_their_scope(site: BudgetSite) -> None:
    whole = {r["name"]: r for r in site.api("bg-finance").get(API).json()["budgets"]}
    scoped = site.api("bg-engineer").get(API).json()["budgets"]
    assert [r["name"] for r in scoped] == ["payments-monthly"]
    assert scoped[0]["actual"] == pytest.approx(whole["payments-monthly"]["actual"])
    assert site.api("bg-engineer").get(f"{API}/company-quarter").status_code == 404
    detail = site.api("bg-engineer").get(f"{API}/payments-monthly")
    assert detail.status_code == 200
    assert detail.json()["definition"]["owners"] == ["bg-payments"]
    assert len(detail.json()["history"]) == 12


def test_reading_needs_a_caller(site: BudgetSite) -> None:
    assert site.api().get(API).status_code == 401
    assert site.api().get(f"{API}/payments-monthly").status_code == 401


def test_changes_need_manage_budgets_and_are_audited(site: BudgetSite) -> None:
    body = {"scope": ["team=payments", "ServiceCategory=Compute"], "period": "month",
            "amount": "5000", "currency": "USD", "owners": ["bg-payments"]}  # fmt: skip
    denied = site.api("bg-engineer").put(f"{API}/payments-compute", json=body)
    assert (denied.status_code, denied.json()["error"]["code"]) == (403, "access.denied")
    created = site.api("bg-payments").put(f"{API}/payments-compute", json=body)
    assert created.status_code == 200, created.text
    assert created.json()["scope"] == ["team=payments", "ServiceCategory=Compute"]
    outside = site.api("bg-payments").put(f"{API}/everything", json={**body, "scope": []})
    assert (outside.status_code, outside.json()["error"]["code"]) == (403, "access.denied")
    bad = site.api("bg-payments").put(f"{API}/payments-compute", json={**body, "amount": "x"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "budgets.invalid")
    unknown = site.api("bg-finance").put(f"{API}/x", json={**body, "scope": ["squad=a"]})
    assert unknown.json()["error"]["code"] == "budgets.invalid"
    event = audit_log(site.db, limit=1).items[0]
    assert (event.action, event.target, event.actor) == (
        "budgets.create", "payments-compute", "bg-payments",
    )  # fmt: skip
    assert site.api("bg-payments").delete(f"{API}/payments-compute").status_code == 204
    assert audit_log(site.db, limit=1).items[0].action == "budgets.delete"
    assert site.api("bg-payments").delete(f"{API}/company-quarter").status_code == 404


def test_releasing_holdback(site: BudgetSite) -> None:
    path = f"{API}/payments-monthly/release-holdback"
    assert site.api("bg-engineer").post(path, json={"month": "2026-05"}).status_code == 403
    released = site.api("bg-payments").post(path, json={"month": "2026-05", "amount": "2500"})
    assert released.status_code == 200, released.text
    assert released.json()["released"] == {"2026-05-01": 2500.0}
    detail = site.api("bg-finance").get(f"{API}/payments-monthly", params={"month": "2026-05"})
    assert (detail.json()["available"], detail.json()["held_back"]) == (92500.0, 7500.0)
    too_much = site.api("bg-payments").post(path, json={"month": "2026-05", "amount": "9000"})
    assert too_much.json()["error"]["code"] == "budgets.bad_amount"
    event = audit_log(site.db, limit=1).items[0]
    assert (event.action, event.after) == (
        "budgets.release-holdback", {"period": "2026-05", "released": "2500", "held": "7500"},
    )  # fmt: skip


def test_applying_a_file(site: BudgetSite) -> None:
    text = BUDGETS.replace("amount: 1000000", "amount: 900000")
    applied = site.api("bg-finance").post(f"{API}/apply", json={"budgets": text})
    assert applied.status_code == 200, applied.text
    assert applied.json()["updated"] == ["platform-monthly"]
    broken = site.api("bg-finance").post(f"{API}/apply", json={"budgets": "budgets: ["})
    assert broken.json()["error"]["code"] == "budgets.bad_yaml"
    assert broken.json()["error"]["message"].startswith("budgets:1:11:")
    scoped = site.api("bg-payments").post(f"{API}/apply", json={"budgets": text})
    assert scoped.status_code == 403
