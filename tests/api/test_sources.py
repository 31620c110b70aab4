"""``/sources``, ``/history`` and ``/quarantine`` answer what ``costprism sources``,
``history`` and ``quarantine`` answer; their pages hold every item once."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from costprism.capabilities.paging import encode_cursor
from costprism.cli import app as cli_app
from tests.api.demo_server import DemoServer


def cli_json(demo: DemoServer, *args: str) -> Any:
    result = CliRunner().invoke(cli_app, [*args, "--home", str(demo.home), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def all_pages(client: TestClient, url: str, **params: Any) -> list[dict[str, Any]]:
    """Follow ``next`` until it is null; every page but the last is full."""
    items: list[dict[str, Any]] = []
    cursor: str | None = None
    limit = params.get("limit")
    while True:
        response = client.get(url, params={**params, **({"cursor": cursor} if cursor else {})})
        assert response.status_code == 200, response.text[:300]
        body = response.json()
        items.extend(body["items"])
        cursor = body["next"]
        if cursor is None:
            return items
        assert len(body["items"]) == limit
        assert len(items) < 10_000


def test_sources_pages_equal_the_cli(demo: DemoServer) -> None:
    paged = all_pages(demo.api("admin"), "/api/v1/sources", limit=3)
    expected = cli_json(demo, "sources")
    assert paged == expected
    assert len(expected) > 3 * 2, "the list must span several pages"
    keys = [
        (s["source"], s["BillingAccountId"], s["BillingPeriodStart"], s["BillingCurrency"])
        for s in expected
    ]
    assert len(keys) == len(set(keys))
    assert {s["source"] for s in expected} == {"demo", "uploads"}


def test_one_page_is_the_whole_list(demo: DemoServer) -> None:
    response = demo.api("admin").get("/api/v1/sources", params={"limit": 1000})
    assert response.json() == {"items": cli_json(demo, "sources"), "next": None}


def test_source_totals_are_the_ledgers(demo: DemoServer) -> None:
    slices = all_pages(demo.api("admin"), "/api/v1/sources", limit=1000)
    expected = demo.ledger_sql(
        "SELECT x_SourceId, BillingAccountId, BillingPeriodStart::DATE::VARCHAR, "
        "BillingCurrency, count(*), sum(BilledCost), sum(EffectiveCost) FROM costs "
        "GROUP BY ALL ORDER BY ALL"
    )
    got = [
        (
            s["source"],
            s["BillingAccountId"],
            s["BillingPeriodStart"],
            s["BillingCurrency"],
            s["rows"],
            Decimal(str(s["BilledCost"])).quantize(Decimal("0.01")),
            Decimal(str(s["EffectiveCost"])).quantize(Decimal("0.01")),
        )
        for s in slices
    ]
    cents = [
        (*row[:5], *(Decimal(v).quantize(Decimal("0.01")) for v in row[5:])) for row in expected
    ]
    assert sorted(got) == cents


@pytest.mark.parametrize(
    "params",
    [{}, {"source": "demo"}, {"source": "uploads"}, {"period": "first"}, {"source": "nonesuch"}],
    ids=str,
)
def test_history_pages_equal_the_cli(demo: DemoServer, params: dict[str, str]) -> None:
    if params.get("period") == "first":
        [(first,)] = demo.ledger_sql("SELECT strftime(min(BillingPeriodStart), '%Y-%m') FROM costs")
        params = {"period": first}
    paged = all_pages(demo.api("admin"), "/api/v1/history", limit=2, **params)
    args = [a for key, value in params.items() for a in (f"--{key}", value)]
    assert paged == cli_json(demo, "history", *args)
    if params.get("source") != "nonesuch":
        assert paged
        assert all(v["source"] == params.get("source", v["source"]) for v in paged)


def test_history_has_each_ingest_as_a_version(demo: DemoServer) -> None:
    history = all_pages(demo.api("admin"), "/api/v1/history", limit=1000)
    assert {(v["version"], v["source"]) for v in history} == {(1, "demo"), (2, "uploads")}
    assert all(v["current"] for v in history)


def test_quarantine_equals_the_cli(demo: DemoServer) -> None:
    response = demo.api("admin").get("/api/v1/quarantine")
    assert response.status_code == 200
    rows = response.json()
    assert rows == cli_json(demo, "quarantine")
    assert [(r["source"], r["line"]) for r in rows] == [("uploads", 5)]
    assert "BilledCost" in rows[0]["findings"]
    empty = demo.api("admin").get("/api/v1/quarantine", params={"source": "demo"})
    assert empty.json() == cli_json(demo, "quarantine", "--source", "demo") == []


def test_quarantine_needs_its_action(demo: DemoServer) -> None:
    response = demo.api("finance").get("/api/v1/quarantine")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "access.denied"
    assert "view-quarantine" in response.json()["error"]["message"]


@pytest.mark.parametrize("url", ["/api/v1/sources", "/api/v1/history"])
@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"cursor": "%%%"}, 400, "query.bad_cursor"),
        ({"cursor": encode_cursor({"offset": -3})}, 400, "query.bad_cursor"),
        ({"cursor": encode_cursor({"offset": "3"})}, 400, "query.bad_cursor"),
        ({"limit": 0}, 422, "request.invalid"),
        ({"limit": 1001}, 422, "request.invalid"),
        ({"limit": "all"}, 422, "request.invalid"),
    ],
    ids=str,
)
def test_bad_paging(
    demo: DemoServer, url: str, params: dict[str, Any], status: int, code: str
) -> None:
    response = demo.api("admin").get(url, params=params)
    assert response.status_code == status, response.text[:300]
    error = response.json()["error"]
    assert (error["code"], error["status"]) == (code, status)
    assert error["message"]


def test_a_cursor_past_the_end_is_an_empty_last_page(demo: DemoServer) -> None:
    cursor = encode_cursor({"offset": 10**6})
    response = demo.api("admin").get("/api/v1/sources", params={"cursor": cursor})
    assert response.json() == {"items": [], "next": None}
