"""``/api/v1/rules`` and ``/api/v1/explain``: versions, applying (audited, manage-rules only),
errors with line:column, explain under the caller's scope. On a site of their own (they
apply rule sets), not the shared demo server."""

from __future__ import annotations

from costprism.capabilities.access import audit_log
from costprism.capabilities.allocation import rule_versions
from tests.allocation.test_rules import EXAMPLE
from tests.web.fixtures_rules import RulesSite, rules_site

__all__ = ["rules_site"]


def test_rules_before_any_version(rules_site: RulesSite) -> None:
    body = rules_site.api("fin").get("/api/v1/rules").json()
    assert body == {"current": None, "versions": []}
    missing = rules_site.api("fin").get("/api/v1/rules/1")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "rules.unknown_version"
    explain = rules_site.api("fin").get("/api/v1/explain/1")
    assert explain.status_code == 400
    assert explain.json()["error"]["code"] == "rules.none"


def test_post_applies_a_version_and_audits_it(rules_site: RulesSite) -> None:
    refused = rules_site.api("fin").post("/api/v1/rules", json={"rules": EXAMPLE})
    assert refused.status_code == 403
    assert "manage-rules" in refused.json()["error"]["message"]

    broken = rules_site.api("pat").post("/api/v1/rules", json={"rules": "dimensions: [team\n"})
    assert broken.status_code == 400
    assert broken.json()["error"]["code"] == "rules.bad_yaml"
    assert broken.json()["error"]["message"].startswith("rules:2:1:")
    bad_month = rules_site.api("pat").post(
        "/api/v1/rules", json={"rules": EXAMPLE, "from_month": "soon"}
    )
    assert bad_month.status_code == 400
    assert rule_versions(rules_site.ledger) == []

    created = rules_site.api("pat").post("/api/v1/rules", json={"rules": EXAMPLE})
    assert created.status_code == 201, created.text
    record = created.json()
    assert record["rules_version"] == 1
    assert record["dimensions"] == ["team", "cost_center"]
    assert {t["BillingCurrency"] for t in record["totals"]} >= {"USD"}
    event = audit_log(rules_site.services.db).items[0]
    assert (event.actor, event.action) == ("pat", "rules.apply")
    assert event.after is not None
    assert "+dimensions: [team, cost_center]\n" in event.after["diff"]

    listed = rules_site.api("fin").get("/api/v1/rules").json()
    assert listed["current"]["rules_version"] == 1
    assert [v["rules_version"] for v in listed["versions"]] == [1]
    text = rules_site.api("fin").get("/api/v1/rules/1").json()
    assert text["rules_text"] == EXAMPLE


def test_totals_and_explain_follow_the_callers_scope(rules_site: RulesSite) -> None:
    whole = rules_site.api("fin").get("/api/v1/rules").json()["current"]["totals"]
    scoped = rules_site.api("eng").get("/api/v1/rules").json()["current"]["totals"]
    usd = float({t["BillingCurrency"]: t["total"] for t in whole}["USD"])  # decimal text
    assert 0 < float({t["BillingCurrency"]: t["total"] for t in scoped}["USD"]) < usd

    with rules_site.services.view() as view:
        costs = view.costs
        in_account = costs["SubAccountName"] == "data-analytics"
        inside, outside = (
            int(costs.filter(c).select("x_RowId").limit(1).to_pyarrow().column(0)[0].as_py())
            for c in (in_account, ~in_account)
        )
    body = rules_site.api("eng").get(f"/api/v1/explain/{inside}").json()
    assert body["x_RowId"] == inside
    assert body["rules"][0]["name"] == "payments by tag"
    assert all({"condition", "value", "holds"} <= set(c) for c in body["rules"][0]["conditions"])
    assert abs(sum(float(p["x_Share"]) for p in body["parts"]) - 1) < 1e-9
    hidden = rules_site.api("eng").get(f"/api/v1/explain/{outside}")
    assert hidden.status_code == 400
    assert hidden.json()["error"]["code"] == "rules.unknown_row"
    assert rules_site.api("fin").get(f"/api/v1/explain/{outside}").status_code == 200
    assert rules_site.api("fin").get("/api/v1/explain/-1").status_code == 422
