"""``/api/v1/costs`` answers what ``costprism cost --format json`` answers; ``/costs/rows``
pages through exactly the rows behind a figure; errors come in one shape with stable codes."""

from __future__ import annotations

import json
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from typer.testing import CliRunner

from costprism.capabilities.paging import encode_cursor
from costprism.cli import app as cli_app
from costprism.errors import CostPrismError
from tests.api.demo_server import DemoServer

Params = dict[str, Any]

# Each case: the query words, shared by the CLI (--by, --where, …) and the API (by=, where=, …).
# Dates are days after the ledger's first day (see ``_dated``).
CASES: list[Params] = [
    {"by": ["ServiceName"]},
    {"by": ["tag:team"], "granularity": "total"},
    {"by": ["ServiceName"], "top": 5},
    {"by": ["ProviderName"], "basis": "billed"},
    {"by": ["RegionId"], "basis": "list", "granularity": "quarter"},
    {"by": ["SubAccountName"], "basis": "contracted", "granularity": "billing-period"},
    {"by": ["ProviderName"], "granularity": "day", "from": 9, "to": 35},
    {"by": ["RegionId"], "where": ["ProviderName=AWS"], "granularity": "week"},
    {"by": ["tag:team"], "where": ["tag:CostCenter in (CC-110, cc-110)"], "top": 3},
    {"by": ["ProviderName", "tag:Environment"], "where": ["ChargeCategory!=Tax"], "from": 20},
    {"where": ["ServiceName like Amazon%", "RegionId is not null"], "granularity": "total"},
    {},
]


def api_params(case: Params) -> list[tuple[str, str]]:
    params: list[tuple[str, str]] = []
    for key, value in case.items():
        params.extend((key, str(v)) for v in (value if isinstance(value, list) else [value]))
    return params


def cli_args(case: Params) -> list[str]:
    args: list[str] = []
    for key, value in case.items():
        for v in value if isinstance(value, list) else [value]:
            args += [f"--{key}", str(v)]
    return args


def cli_json(demo: DemoServer, *args: str) -> Any:
    result = CliRunner().invoke(cli_app, [*args, "--home", str(demo.home), "--format", "json"])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def first_day(demo: DemoServer) -> date:
    [(first,)] = demo.ledger_sql(
        "SELECT min(ChargePeriodStart)::DATE FROM costs WHERE x_SourceId = 'demo'"
    )
    assert isinstance(first, date)
    return first


def _dated(case: Params, first_day: date) -> Params:
    return {
        k: (first_day + timedelta(days=v)).isoformat() if k in ("from", "to") else v
        for k, v in case.items()
    }


@pytest.mark.parametrize("case", CASES, ids=[json.dumps(c) for c in CASES])
def test_costs_equal_the_cli(demo: DemoServer, first_day: date, case: Params) -> None:
    query = _dated(case, first_day)
    response = demo.api("admin").get("/api/v1/costs", params=api_params(query))
    assert response.status_code == 200, response.text
    expected = cli_json(demo, "cost", *cli_args(query))
    assert response.json() == expected
    assert expected, "a parity case with no rows proves little"


def test_costs_sum_to_the_ledger(demo: DemoServer) -> None:
    """The parity above could hold for two equally wrong answers: the total is checked too."""
    response = demo.api("admin").get("/api/v1/costs", params={"granularity": "total"})
    got = {r["BillingCurrency"]: Decimal(str(r["EffectiveCost"])) for r in response.json()}
    expected = dict(
        demo.ledger_sql("SELECT BillingCurrency, sum(EffectiveCost) FROM costs GROUP BY 1")
    )
    assert got.keys() == expected.keys()
    for currency, total in expected.items():
        assert abs(got[currency] - total) < Decimal("0.01")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"where": "ProviderName"}, "query.bad_filter"),
        ({"where": "BilledCost=lots"}, "query.bad_filter"),
        ({"by": "ServiceNme"}, "query.unknown_column"),
        ({"where": "Nonesuch=1"}, "query.unknown_column"),
        ({"granularity": "fortnight"}, "usage"),
        ({"basis": "amortized"}, "usage"),
        ({"from": "2026-13-01"}, "usage"),
        ({"from": "2026-10-01", "to": "2026-09-01"}, "query.bad_range"),
        ({"top": "3"}, "query.bad_top"),
        ({"by": "period"}, "query.bad_group"),
    ],
)
def test_bad_queries_are_400_with_the_clis_code(
    demo: DemoServer, params: Params, code: str
) -> None:
    response = demo.api("admin").get("/api/v1/costs", params=params)
    assert response.status_code == 400
    assert response.json() == {
        "error": {"code": code, "message": _message(response), "status": 400}
    }
    with pytest.raises(CostPrismError) as raised:
        cli_json(demo, "cost", *cli_args(params))
    assert raised.value.code == code


@pytest.mark.parametrize(
    "params",
    [
        {"by": ["ServiceName", "ServiceName"]},
        {"by": "EffectiveCost"},
        {"by": "BilledCost", "basis": "billed"},
        {"where": "Tags=1"},
        {"where": "Tags in (a, b)"},
    ],
    ids=str,
)
def test_queries_the_engine_cannot_run_are_400_not_500(demo: DemoServer, params: Params) -> None:
    response = demo.api("admin").get("/api/v1/costs", params=params)
    assert response.status_code == 400, response.text[:300]
    assert response.json()["error"]["code"].startswith("query.")


@pytest.mark.parametrize(
    "args",
    [["--where", "RegionId=\x00"], ["--where", "RegionId like \x00%"], ["--by", "tag:a\x00b"]],
    ids=str,
)
def test_nul_characters_are_query_errors_on_the_cli(demo: DemoServer, args: list[str]) -> None:
    """The API refuses a NUL before any query (see test_access); the engine refuses it too."""
    with pytest.raises(CostPrismError) as raised:
        cli_json(demo, "cost", *args)
    assert raised.value.code in ("query.bad_filter", "query.unknown_column")


@pytest.mark.parametrize(
    ("params", "field"),
    [({"top": "0"}, "top"), ({"top": "many"}, "top"), ({"top": "10001"}, "top")],
)
def test_parameters_of_the_wrong_type_are_422(demo: DemoServer, params: Params, field: str) -> None:
    response = demo.api("admin").get("/api/v1/costs", params=params)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "request.invalid"
    assert error["status"] == 422
    assert field in error["message"]


def _message(response: Any) -> str:
    message = response.json()["error"]["message"]
    assert isinstance(message, str)
    assert message
    return message


# --- drill-down rows ----------------------------------------------------------------------

ROWS_WHERE = ["ProviderName=AWS", "ServiceName=Amazon Simple Storage Service"]


def _all_pages(demo: DemoServer, url: str, params: list[tuple[str, str]]) -> list[Any]:
    items: list[Any] = []
    cursor: str | None = None
    pages = 0
    while True:
        page_params = [*params, *([("cursor", cursor)] if cursor else [])]
        response = demo.api("admin").get(url, params=page_params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert set(body) == {"items", "next"}
        items.extend(body["items"])
        pages += 1
        cursor = body["next"]
        if cursor is None:
            return items
        assert body["items"], "a page with more to come must not be empty"
        assert pages < 1000


def test_rows_pages_hold_every_row_once(demo: DemoServer) -> None:
    params = [*(("where", w) for w in ROWS_WHERE), ("limit", "97")]
    rows = _all_pages(demo, "/api/v1/costs/rows", params)
    ids = [r["x_RowId"] for r in rows]
    assert ids == sorted(ids)
    assert len(ids) == len(set(ids))
    conditions = "ProviderName = 'AWS' AND ServiceName = 'Amazon Simple Storage Service'"
    expected = demo.ledger_sql(f"SELECT x_RowId FROM costs WHERE {conditions} ORDER BY 1")
    assert ids == [i for (i,) in expected]
    assert len(ids) > 2 * 97, "the query must span several pages"


def test_rows_add_up_to_the_figure(demo: DemoServer, first_day: date) -> None:
    start, end = first_day + timedelta(days=3), first_day + timedelta(days=10)
    window = [("from", start.isoformat()), ("to", end.isoformat())]
    where = [("where", "ProviderName=Microsoft")]
    rows = _all_pages(demo, "/api/v1/costs/rows", [*where, *window, ("limit", "500")])
    report = demo.api("admin").get(
        "/api/v1/costs", params=[*where, *window, ("granularity", "total")]
    )
    figures = {r["BillingCurrency"]: r["EffectiveCost"] for r in report.json()}
    assert figures.keys() == {"USD", "EUR"}
    for currency, figure in figures.items():
        total = sum(
            Decimal(str(r["EffectiveCost"])) for r in rows if r["BillingCurrency"] == currency
        )
        assert abs(total - Decimal(str(figure))) < Decimal("0.01")
    assert all(start.isoformat() <= r["ChargePeriodStart"][:10] < end.isoformat() for r in rows)
    assert {r["ProviderName"] for r in rows} == {"Microsoft"}


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"cursor": "not-a-cursor!"}, 400, "query.bad_cursor"),
        ({"cursor": "WzFd"}, 400, "query.bad_cursor"),  # a JSON list, not a position
        ({"cursor": encode_cursor({"after": 10**22})}, 400, "query.bad_cursor"),
        ({"cursor": encode_cursor({"after": "text"})}, 400, "query.bad_cursor"),
        ({"cursor": encode_cursor({"after": True})}, 400, "query.bad_cursor"),
        ({"limit": "0"}, 422, "request.invalid"),
        ({"limit": "1001"}, 422, "request.invalid"),
        ({"limit": "ten"}, 422, "request.invalid"),
        ({"where": "tag:team = "}, 400, "query.bad_filter"),
    ],
    ids=str,
)
def test_bad_rows_requests(demo: DemoServer, params: Params, status: int, code: str) -> None:
    response = demo.api("admin").get("/api/v1/costs/rows", params=params)
    assert response.status_code == status, response.text[:300]
    assert response.json()["error"] == {
        "code": code,
        "message": _message(response),
        "status": status,
    }
