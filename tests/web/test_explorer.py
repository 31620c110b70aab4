"""The cost explorer: the page and its JSON twin, the CSV download, and drill-down to rows."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

import pytest
from fastapi.testclient import TestClient

from costprism.capabilities.cost_request import parse_cost_query
from costprism.capabilities.reporting import cost_report
from costprism.engine.query import OTHER
from tests.web.conftest import RoleSite, user_of

FIGURE = re.compile(r"<div class=\"chart\" data-currency=\"(\w+)\" data-figure='([^']+)'>")
QUESTION = [
    ("by", "ServiceName"),
    ("where", "ChargeCategory=Usage"),
    ("from", "2026-04-01"),
    ("to", "2026-06-01"),
    ("granularity", "month"),
    ("top", "5"),
]


def explorer_json(client: TestClient, params: Sequence[tuple[str, str]]) -> dict[str, Any]:
    response = client.get("/explorer?" + urlencode([*params, ("format", "json")]))
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def report_records(
    site: RoleSite, username: str, params: Sequence[tuple[str, str]]
) -> list[dict[str, Any]]:
    """The rows ``cost_report`` gives for the same words, computed apart from the app."""
    words = dict(params)
    query = parse_cost_query(
        by=[v for k, v in params if k == "by"],
        where=[v for k, v in params if k == "where"],
        start=words.get("from"),
        end=words.get("to"),
        granularity=words.get("granularity", "month"),
        basis=words.get("basis", "effective"),
        top=int(words["top"]) if "top" in words else None,
    )
    return cost_report(site.view(), query, site.scope_of(username)).records()


def cents(value: Any) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"))


def test_the_first_visit_shows_cost_by_provider_with_a_chart_and_a_table(
    role_site: RoleSite,
) -> None:
    response = role_site.signed_in(user_of("practitioner")).get("/explorer")
    assert response.status_code == 200
    html = response.text
    assert 'name="by" list="known-columns" value="ProviderName"' in html
    assert "<th>ProviderName</th>" in html
    figures = [json.loads(raw) for _, raw in FIGURE.findall(html)]
    assert {f["currency"] for f in figures} == {"USD", "EUR"}
    assert all(f["layout"]["barmode"] == "stack" for f in figures)
    assert 'href="/explorer.csv?by=ProviderName&amp;top=10&amp;granularity=month' in html
    assert "Download CSV" in html


@pytest.mark.parametrize("role", ["practitioner", "engineering", "finance"])
def test_the_json_twin_equals_cost_report_over_the_callers_scope(
    role_site: RoleSite, role: str
) -> None:
    username = user_of(role)
    body = explorer_json(role_site.signed_in(username), QUESTION)
    assert body["rows"] == report_records(role_site, username, QUESTION)
    assert body["columns"] == ["ServiceName", "BillingCurrency", "period", "EffectiveCost"]
    assert body["query"]["by"] == ["ServiceName"]
    assert body["error"] is None


def test_where_takes_one_condition_per_line(role_site: RoleSite) -> None:
    client = role_site.signed_in(user_of("practitioner"))
    lines = explorer_json(
        client, [("by", "RegionId"), ("where", "ProviderName=AWS\r\nRegionId=us-east-1")]
    )
    repeated = explorer_json(
        client, [("by", "RegionId"), ("where", "ProviderName=AWS"), ("where", "RegionId=us-east-1")]
    )
    assert lines["rows"] == repeated["rows"]
    assert {r["RegionId"] for r in lines["rows"]} == {"us-east-1"}


def test_changing_the_group_by_changes_the_chart_and_the_table(role_site: RoleSite) -> None:
    client = role_site.signed_in(user_of("practitioner"))
    by_service = client.get("/explorer?by=ServiceName&top=4").text
    by_region = client.get("/explorer?by=RegionId&top=4").text
    assert "<th>ServiceName</th>" in by_service
    assert "<th>RegionId</th>" in by_region
    assert "<th>ServiceName</th>" not in by_region
    traces = {
        n: {t["name"] for _, raw in FIGURE.findall(html) for t in json.loads(raw)["data"]}
        for n, html in (("service", by_service), ("region", by_region))
    }
    assert "Amazon Elastic Compute Cloud" in traces["service"]
    assert "us-east-1" in traces["region"]


def test_the_csv_is_the_same_query_and_its_totals_equal_the_api_to_the_cent(
    role_site: RoleSite,
) -> None:
    client = role_site.signed_in(user_of("finance"))
    download = client.get("/explorer.csv?" + urlencode(QUESTION))
    assert download.status_code == 200
    assert download.headers["content-type"] == "text/csv; charset=utf-8"
    assert download.headers["content-disposition"] == ('attachment; filename="costprism-costs.csv"')
    rows = list(csv.DictReader(io.StringIO(download.text)))
    api = client.get("/api/v1/costs?" + urlencode(QUESTION))
    assert api.status_code == 200
    assert len(rows) == len(api.json()) > 0
    for currency in {r["BillingCurrency"] for r in rows}:
        from_csv = sum(
            Decimal(r["EffectiveCost"]) for r in rows if r["BillingCurrency"] == currency
        )
        from_api = sum(
            Decimal(str(r["EffectiveCost"])) for r in api.json() if r["BillingCurrency"] == currency
        )
        assert cents(from_csv) == cents(from_api)
    page = explorer_json(client, QUESTION)
    assert [r["ServiceName"] for r in rows] == [r["ServiceName"] for r in page["rows"]]
    assert {c: cents(a) for c, a in page["totals"].items()} == {
        c: cents(sum(Decimal(r["EffectiveCost"]) for r in rows if r["BillingCurrency"] == c))
        for c in page["totals"]
    }


@pytest.mark.parametrize(
    ("name", "value", "code", "message"),
    [
        (
            "by",
            "NoSuchColumn",
            "query.unknown_column",
            "column 'NoSuchColumn' is not in the ledger",
        ),
        ("where", "ProviderName ~ AWS", "query.bad_filter", "ProviderName ~ AWS"),
        ("granularity", "fortnight", "usage", "granularity 'fortnight' is not one of"),
        ("top", "ten", "usage", "top 'ten' is not a whole number"),
        ("from", "2026-13-01", "usage", "from '2026-13-01' is not an ISO date"),
        ("basis", "imagined", "usage", "basis 'imagined' is not one of"),
    ],
)
def test_bad_words_are_shown_in_the_form(
    role_site: RoleSite, name: str, value: str, code: str, message: str
) -> None:
    client = role_site.signed_in(user_of("practitioner"))
    params = urlencode([("by", "ServiceName"), (name, value)])
    page = client.get(f"/explorer?{params}")
    assert page.status_code == 400
    assert re.search(r'<p class="error" role="alert" id="explorer-error">([^<]+)</p>', page.text)
    assert message.replace("'", "&#39;") in page.text
    assert 'id="explorer-form"' in page.text
    twin = client.get(f"/explorer?{params}&format=json")
    assert twin.status_code == 400
    assert twin.json()["error"]["code"] == code


def drill_urls(
    client: TestClient, params: Sequence[tuple[str, str]]
) -> list[tuple[dict[str, Any], str | None]]:
    body = explorer_json(client, params)
    return list(zip(body["rows"], body["rows_urls"], strict=True))


def all_rows(client: TestClient, url: str) -> list[dict[str, Any]]:
    """Every row behind a cell, following ``next`` page by page."""
    found: list[dict[str, Any]] = []
    next_url: str | None = url + "&limit=1000"
    while next_url:
        page = client.get(next_url + "&format=json").json()
        found.extend(page["items"])
        next_url = page["next_url"]
    return found


@pytest.mark.parametrize("role", ["practitioner", "engineering"])
def test_a_cell_drills_down_to_rows_that_add_up_to_it(role_site: RoleSite, role: str) -> None:
    client = role_site.signed_in(user_of(role))
    cells = [(r, u) for r, u in drill_urls(client, QUESTION) if u and r["BillingCurrency"] == "USD"]
    row, url = min(cells, key=lambda cell: cell[0]["EffectiveCost"])
    assert url is not None
    rows = all_rows(client, url)
    assert cents(sum(Decimal(str(r["EffectiveCost"])) for r in rows)) == cents(row["EffectiveCost"])
    assert {r["ServiceName"] for r in rows} == {row["ServiceName"]}
    assert {r["ChargeCategory"] for r in rows} == {"Usage"}
    assert {r["ChargePeriodStart"][:7] for r in rows} == {row["period"][:7]}
    if role == "engineering":
        assert {r["Tags"].get("team") for r in rows} == {"payments"}


def test_the_rows_partial_pages_with_a_next_button(role_site: RoleSite) -> None:
    client = role_site.signed_in(user_of("practitioner"))
    _, url = next((r, u) for r, u in drill_urls(client, QUESTION) if u)
    assert url is not None
    first = client.get(url + "&limit=5", headers={"HX-Request": "true"})
    assert first.status_code == 200
    assert "<html" not in first.text
    assert first.text.count("<tr>") == 1 + 5  # the header and five rows
    button = re.search(r'class="next-page" hx-get="([^"]+)" hx-target="#rows"', first.text)
    assert button is not None
    second_url = button.group(1).replace("&amp;", "&")
    first_ids = [r["x_RowId"] for r in client.get(url + "&limit=5&format=json").json()["items"]]
    second_ids = [r["x_RowId"] for r in client.get(second_url + "&format=json").json()["items"]]
    assert len(second_ids) == 5
    assert min(second_ids) > max(first_ids)
    full_page = client.get(url + "&limit=5")
    assert full_page.text.startswith("<!doctype html>")
    assert 'id="rows"' in full_page.text


def test_other_folds_many_groups_so_it_has_no_link(role_site: RoleSite) -> None:
    client = role_site.signed_in(user_of("practitioner"))
    cells = drill_urls(client, [("by", "ServiceName"), ("top", "3"), ("granularity", "total")])
    assert [u is None for r, u in cells] == [r["ServiceName"] == OTHER for r, u in cells]
    assert any(r["ServiceName"] == OTHER for r, _ in cells)


def test_a_bad_drill_is_a_message_in_the_rows_panel(role_site: RoleSite) -> None:
    client = role_site.signed_in(user_of("practitioner"))
    params = urlencode([("by", "ServiceName"), ("cell.ServiceName", OTHER)])
    partial = client.get(f"/explorer/rows?{params}", headers={"HX-Request": "true"})
    assert partial.status_code == 400
    assert "folds many groups" in partial.text
    assert "<html" not in partial.text
    twin = client.get(f"/explorer/rows?{params}&format=json")
    assert twin.json()["error"]["code"] == "query.bad_drill"
    limit = client.get(f"/explorer/rows?{params}&limit=5000&format=json")
    assert limit.json()["error"]["code"] == "query.bad_limit"


@pytest.mark.parametrize("path", ["/explorer", "/explorer.csv?by=ServiceName", "/explorer/rows"])
def test_signed_out_callers_are_sent_to_sign_in(role_site: RoleSite, path: str) -> None:
    response = role_site.client().get(path)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=%2Fexplorer")
