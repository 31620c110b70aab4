"""``/rules``: the rule set in force for everyone; the editor's preview (diff), apply and
audit for ``manage-rules``; 403 for others; YAML errors with line:column and nothing applied.
The explorer's explain link and the home KPI panel under the applied rules."""

from __future__ import annotations

from html import unescape

from costprism.capabilities.access import audit_log
from costprism.capabilities.allocation import rule_versions
from tests.allocation.test_rules import EXAMPLE
from tests.web.fixtures_rules import RulesSite, rules_site

__all__ = ["rules_site"]

FIRST = """\
dimensions: [team]
rules:
  - name: data by tag
    match: {tag:Owner: [team-data]}
    set: {team: data}
"""


def test_before_any_rules_everyone_sees_an_empty_page_and_only_managers_an_editor(
    rules_site: RulesSite,
) -> None:
    fin, _ = rules_site.signed_in("fin")
    page = fin.get("/rules")
    assert page.status_code == 200
    assert "No allocation rules have been applied yet" in page.text
    assert 'action="/rules/preview"' not in page.text
    body = fin.get("/rules?format=json").json()
    assert body["current"] is None
    assert body["versions"] == []

    pat, _ = rules_site.signed_in("pat")
    assert 'action="/rules/preview"' in pat.get("/rules").text
    assert 'href="/rules"' in pat.get("/home").text  # the nav link


def test_a_manager_previews_the_diff_then_applies_and_the_change_is_audited(
    rules_site: RulesSite,
) -> None:
    pat, csrf = rules_site.signed_in("pat")
    form = {"rules": FIRST, "from_month": "", "csrf_token": csrf}
    preview = pat.post("/rules/preview", data=form)
    assert preview.status_code == 200, preview.text
    assert "+dimensions: [team]" in unescape(preview.text)
    assert 'action="/rules/apply"' in preview.text
    assert rule_versions(rules_site.ledger) == []  # a preview applies nothing

    applied = pat.post("/rules/apply", data=form)
    assert applied.status_code == 303
    assert applied.headers["location"] == "/rules?applied=1"
    page = pat.get("/rules?format=json").json()
    assert page["current"]["rules_version"] == 1
    assert page["rules_text"] == FIRST
    (usd,) = [t for t in page["current"]["totals"] if t["BillingCurrency"] == "USD"]
    assert usd["allocated"] > 0
    assert usd["unallocated"] > 0

    form = {"rules": EXAMPLE, "from_month": "2026-05", "csrf_token": csrf}
    preview = unescape(pat.post("/rules/preview", data=form).text)
    assert "--- rules version 1" in preview
    assert "-dimensions: [team]" in preview
    assert "+dimensions: [team, cost_center]" in preview
    assert "Recompute billing periods from <strong>2026-05</strong>" in preview
    assert pat.post("/rules/apply", data=form).status_code == 303
    assert [v.version for v in rule_versions(rules_site.ledger)] == [1, 2]
    assert rule_versions(rules_site.ledger)[1].recomputed_from == "2026-05-01"

    event = audit_log(rules_site.services.db).items[0]
    assert (event.actor, event.action, event.target) == ("pat", "rules.apply", "rules version 2")
    assert event.after is not None
    assert "+dimensions: [team, cost_center]\n" in event.after["diff"]
    assert event.before is not None
    assert event.before["rules_version"] == 1

    text = pat.get("/rules").text
    assert "Applied" not in text
    assert "cost_center" in text
    assert "payments by tag" in text


def test_a_yaml_error_names_line_and_column_and_applies_nothing(rules_site: RulesSite) -> None:
    pat, csrf = rules_site.signed_in("pat")
    before = len(rule_versions(rules_site.ledger))
    broken = "dimensions: [team]\nrules:\n  - name: x\n    match: {tag:Owner: [a]\n"
    for path in ("/rules/preview", "/rules/apply"):
        response = pat.post(path, data={"rules": broken, "csrf_token": csrf})
        assert response.status_code == 400
        assert "rules.bad_yaml" in response.text
        assert "rules:5:1: not valid YAML" in response.text  # line:column
        assert "match: {tag:Owner: [a]" in unescape(response.text)  # the text is kept
    assert len(rule_versions(rules_site.ledger)) == before
    bad_month = pat.post(
        "/rules/preview", data={"rules": FIRST, "from_month": "May", "csrf_token": csrf}
    )
    assert bad_month.status_code == 400
    assert "not a month" in bad_month.text


def test_without_manage_rules_posting_is_refused(rules_site: RulesSite) -> None:
    fin, csrf = rules_site.signed_in("fin")
    before = len(rule_versions(rules_site.ledger))
    for path in ("/rules/preview", "/rules/apply"):
        response = fin.post(path, data={"rules": FIRST, "csrf_token": csrf})
        assert response.status_code == 403
        assert "manage-rules" in response.text
    pat, _ = rules_site.signed_in("pat")
    no_csrf = pat.post("/rules/apply", data={"rules": FIRST})
    assert no_csrf.status_code == 403
    assert len(rule_versions(rules_site.ledger)) == before


def test_the_drill_down_explains_a_row(rules_site: RulesSite) -> None:
    eng, _ = rules_site.signed_in("eng")
    rows = eng.get(
        "/explorer/rows", params={"by": "ServiceName", "format": "json", "limit": "5"}
    ).json()
    assert rows["explainable"] is True
    row_id = rows["items"][0]["x_RowId"]
    fragment = eng.get(f"/explorer/explain/{row_id}", headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert "<html" not in fragment.text
    assert "payments by tag" in fragment.text
    assert "✗" in fragment.text
    assert "Allocated parts" in fragment.text
    listing = eng.get("/explorer/rows", params={"by": "ServiceName"}).text
    assert f'hx-get="/explorer/explain/{row_id}"' in listing

    body = eng.get(f"/explorer/explain/{row_id}?format=json").json()["explanation"]
    assert body["x_RowId"] == row_id
    assert sum(float(p["x_Share"]) for p in body["parts"]) == 1
    # a row outside eng's scope is not found (as in costprism explain)
    ledger = rules_site.services
    with ledger.view() as view:
        costs = view.costs
        other = costs.filter(costs["SubAccountName"] != "data-analytics").limit(1)
        outside = int(other.select("x_RowId").to_pyarrow().column(0)[0].as_py())
    assert eng.get(f"/explorer/explain/{outside}?format=json").status_code == 400


def test_practitioner_and_finance_homes_show_the_allocation_kpis(rules_site: RulesSite) -> None:
    for user in ("pat", "fin"):
        client, _ = rules_site.signed_in(user)
        home = client.get("/home?format=json").json()["home"]
        (panel,) = [p for p in home["panels"] if p["kind"] == "allocation"]
        assert panel["rules_version"] == len(rule_versions(rules_site.ledger))
        (usd,) = [c for c in panel["currencies"] if c["BillingCurrency"] == "USD"]
        assert usd["apportionment_percent"] == 100.0
        assert 0 < usd["allocated_percent"] < 100
        page = client.get("/home").text
        assert 'id="panel-allocation"' in page
        assert "Apportionment" in page
    eng, _ = rules_site.signed_in("eng")
    home = eng.get("/home?format=json").json()["home"]
    assert not [p for p in home["panels"] if p["kind"] == "allocation"]
