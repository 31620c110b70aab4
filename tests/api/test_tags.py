"""``/api/v1/tags/report`` answers the capability's record over the caller's scope (and
``where``); ``/tags/policy`` the active policy; a ledger without a policy says how to set
one."""

from __future__ import annotations

from datetime import date

from costprism.capabilities.tag_governance import tag_report
from costprism.engine.backends import open_ledger
from costprism.engine.filters import parse_filters
from tests.engine.test_tagging import STRICT
from tests.web.fixtures_tags import TagsSite, tags_site  # noqa: F401 (the fixture)

MAY = date(2026, 5, 1)


def test_the_report_is_the_capabilitys_record(tags_site: TagsSite) -> None:  # noqa: F811
    response = tags_site.api("pat").get("/api/v1/tags/report", params={"month": "2026-05"})
    assert response.status_code == 200, response.text
    body = response.json()
    expected = tag_report(open_ledger(tags_site.ledger), STRICT, month=MAY).record()
    assert body == expected
    assert body["kpis"][0]["BillingCurrency"] == "USD"
    assert len(body["resources"]) == 20


def test_the_callers_scope_and_where_narrow_it(tags_site: TagsSite) -> None:  # noqa: F811
    params = {"months": "30", "top": "3", "where": "SubAccountName like prod-%"}
    body = tags_site.api("fin").get("/api/v1/tags/report", params=params).json()
    scope = parse_filters(["tag:Owner=team-data", "SubAccountName like prod-%"])
    view = open_ledger(tags_site.ledger)
    expected = tag_report(view, STRICT, scope, months=30, top=3)
    assert body == expected.record()
    assert body["scope"] == ["tag:Owner=team-data", "SubAccountName like prod-%"]
    assert {r["owner"] for r in body["resources"]} == {"team-data"}
    whole = tag_report(view, STRICT, months=30, top=0).kpis[0]
    assert body["kpis"][0]["taggable_cost"] < float(whole.taggable_cost)


def test_the_policy_is_answered_as_written(tags_site: TagsSite) -> None:  # noqa: F811
    body = tags_site.api("eng").get("/api/v1/tags/policy").json()
    assert body["text"] == STRICT.text
    assert body["digest"] == STRICT.digest
    assert body["required"][0]["keys"] == ["Owner", "CostCenter", "Environment"]


def test_errors_say_how_to_fix(tags_site: TagsSite) -> None:  # noqa: F811
    client = tags_site.api("pat")
    bad = client.get("/api/v1/tags/report", params={"month": "May"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "input.bad_option"
    assert "write YYYY-MM" in bad.json()["error"]["message"]
    assert client.get("/api/v1/tags/report", params={"top": "5000"}).status_code == 422
    where = client.get("/api/v1/tags/report", params={"where": "Nope=1"})
    assert where.json()["error"]["code"] == "query.unknown_column"
    assert tags_site.client().get("/api/v1/tags/report").status_code == 401
    bare = tags_site.api("pat", bare=True)
    for path in ("/api/v1/tags/report", "/api/v1/tags/policy"):
        missing = bare.get(path)
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "tags.no_policy"
        assert "costprism tags policy apply FILE" in missing.json()["error"]["message"]
