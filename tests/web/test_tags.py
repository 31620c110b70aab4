"""``GET /tags`` and the home pages' ``tag-compliance`` panel: the capability's figures over
the caller's scope, the JSON twin, errors on the page, and a ledger without a policy."""

from __future__ import annotations

import json
import re
from datetime import date
from typing import TYPE_CHECKING

import pytest

from costprism.capabilities.tag_governance import tag_report
from costprism.engine.backends import open_ledger
from costprism.engine.filters import parse_filters
from tests.engine.test_tagging import STRICT
from tests.web.conftest import serving
from tests.web.fixtures_tags import PASSWORD, TagsSite, tags_site  # noqa: F401 (the fixture)

if TYPE_CHECKING:
    from playwright.sync_api import Page

FIGURE = re.compile(r"<div class=\"chart\" data-currency=\"(\w+)\" data-figure='([^']+)'>")
MAY = date(2026, 5, 1)


def test_the_page_shows_kpis_trend_and_resources(tags_site: TagsSite) -> None:  # noqa: F811
    client = tags_site.signed_in("pat")
    html = client.get("/tags?month=2026-05&top=5").text
    report = tag_report(open_ledger(tags_site.ledger), STRICT, month=MAY, top=5).record()
    [kpi] = report["kpis"]
    assert f'<div class="value" data-kpi="compliant">{kpi["compliant_percent"]:.2f} %</div>' in html
    assert f'<strong data-kpi="untagged">{kpi["untagged_percent"]:.2f} %</strong>' in html
    [(currency, raw)] = FIGURE.findall(html)
    figure = json.loads(raw)
    assert currency == "USD"
    assert [t["name"] for t in figure["data"]] == [
        "compliant", "tagged, not compliant", "untagged", "% compliant", "% untagged",
    ]  # fmt: skip
    table = html[html.index('id="resources"') :]
    assert table.count("<tr>") == 1 + 5  # the head and five resources
    first = report["resources"][0]
    assert f'title="{first["ResourceId"]}"' in table
    assert "/explorer?by=ServiceName&amp;where=ResourceId%3D" in table
    assert '<a href="/tags">Tag governance</a>' in html
    assert "<code>DataClassification</code>" in html  # the policy as read


def test_the_json_twin_is_the_capability_over_the_callers_scope(
    tags_site: TagsSite,  # noqa: F811
) -> None:
    body = tags_site.signed_in("fin").get("/tags?format=json").json()
    scope = parse_filters(["tag:Owner=team-data"])
    expected = tag_report(open_ledger(tags_site.ledger), STRICT, scope)
    assert body["report"] == expected.record()
    assert body["policy"]["text"] == STRICT.text
    assert len(body["explore"]) == len(body["report"]["resources"])
    assert {r["owner"] for r in body["report"]["resources"]} == {"team-data"}


def test_bad_fields_are_shown_on_the_page(tags_site: TagsSite) -> None:  # noqa: F811
    client = tags_site.signed_in("pat")
    page = client.get("/tags?month=may")
    assert page.status_code == 400
    assert "month &#39;may&#39; is not a month; write YYYY-MM" in page.text
    assert 'value="may"' in page.text
    twin = client.get("/tags?top=ten&format=json")
    assert twin.status_code == 400
    assert twin.json()["error"]["code"] == "usage"


def test_without_a_policy_the_page_says_how_to_set_one(tags_site: TagsSite) -> None:  # noqa: F811
    client = tags_site.signed_in("pat", bare=True)
    page = client.get("/tags")
    assert page.status_code == 200
    assert "No tag policy is set" in page.text
    assert "costprism tags policy apply FILE" in page.text
    assert client.get("/tags?format=json").json()["policy"] is None
    home = client.get("/home?format=json").json()
    [panel] = [p for p in home["home"]["panels"] if p["kind"] == "tag-compliance"]
    assert (panel["policy"], panel["currencies"]) == (None, [])
    assert "costprism tags policy apply FILE" in client.get("/home").text


def test_practitioner_and_finance_homes_show_the_kpis_per_scope(
    tags_site: TagsSite,  # noqa: F811
) -> None:
    view = open_ledger(tags_site.ledger)
    for username, scope in (("pat", ()), ("fin", ("tag:Owner=team-data",))):
        client = tags_site.signed_in(username)
        home = client.get("/home?format=json").json()["home"]
        [panel] = [p for p in home["panels"] if p["kind"] == "tag-compliance"]
        assert panel["policy"] == STRICT.digest
        assert (panel["this_month"], panel["last_month"]) == ("2026-05", "2026-04")
        [kpi] = tag_report(view, STRICT, parse_filters(scope), month=MAY, months=1).kpis
        [usd] = panel["currencies"]
        assert usd["untagged_percent"] == kpi.untagged_percent
        assert usd["compliant_percent"] == kpi.compliant_percent
        assert usd["taggable_cost"] == float(kpi.taggable_cost)
        assert usd["last_compliant_percent"] is None  # nothing charged in April
        html = client.get("/home").text
        assert 'data-panel="tag-compliance"' in html
        assert f"{kpi.compliant_percent:.2f} %" in html
    engineer = tags_site.signed_in("eng").get("/home?format=json").json()["home"]
    assert "tag-compliance" not in [p["kind"] for p in engineer["panels"]]


@pytest.mark.browser
def test_in_the_browser_the_chart_is_drawn_and_a_resource_opens_the_explorer(
    page: Page,
    tags_site: TagsSite,  # noqa: F811
) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(60_000)
    with serving(tags_site.app) as base:
        page.goto(f"{base}/login")
        page.fill("input[name=username]", "pat")
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/login'] button[type=submit]")
        page.wait_for_url(f"{base}/home")
        page.wait_for_selector("[data-panel='tag-compliance'] table.tag-kpis")
        page.click("header nav a[href='/tags']")
        page.wait_for_selector("#trend .chart.js-plotly-plot svg.main-svg")
        legend = page.locator("#trend .chart .legendtext").all_text_contents()
        assert {"compliant", "tagged, not compliant", "untagged", "% compliant"} <= set(legend)
        assert page.inner_text("[data-kpi='untagged']") == "0.00 %"
        page.click("#resources table a >> nth=0")
        page.wait_for_url("**/explorer?by=ServiceName*")
        assert page.locator("table.result tbody tr").count() >= 1
    assert errors == []
