"""Cost reports: the shape of ``records()`` (the JSON and CSV output) and ``totals()``."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import LedgerView
from costprism.engine.filters import parse_filters
from costprism.engine.query import CostQuery

SqlRunner = Callable[[str], list[tuple[Any, ...]]]


@pytest.mark.parametrize(
    ("query", "columns"),
    [
        (
            CostQuery(group_by=("ProviderName", "tag:owner")),
            ["ProviderName", "tag:owner", "BillingCurrency", "period", "EffectiveCost"],
        ),
        (
            CostQuery(basis=("billed", "effective"), group_by=("RegionId",), granularity="day"),
            ["RegionId", "BillingCurrency", "period", "BilledCost", "EffectiveCost"],
        ),
        (
            CostQuery(basis=("contracted", "list"), granularity="total"),
            ["BillingCurrency", "ContractedCost", "ListCost"],
        ),
    ],
    ids=["two-keys", "two-measures-daily", "total"],
)
def test_records_columns_are_keys_currency_period_measures(
    sample_view: LedgerView, query: CostQuery, columns: list[str]
) -> None:
    report = cost_report(sample_view, query)
    assert list(report.columns) == columns
    records = report.records()
    assert records
    assert all(list(record) == columns for record in records)


def test_records_are_json_ready_floats_and_iso_dates(sample_view: LedgerView) -> None:
    report = cost_report(sample_view, CostQuery(group_by=("ServiceCategory",)))
    records = report.records()
    assert json.loads(json.dumps(records)) == records
    for record, row in zip(records, report.rows, strict=True):
        assert isinstance(row["EffectiveCost"], Decimal)
        assert isinstance(record["EffectiveCost"], float)
        assert record["EffectiveCost"] == float(row["EffectiveCost"])
        assert isinstance(row["period"], date)
        assert record["period"] == row["period"].isoformat()
        assert date.fromisoformat(record["period"]).day == 1


def test_records_keep_null_groups_as_none(sample_view: LedgerView) -> None:
    records = cost_report(sample_view, CostQuery(group_by=("RegionId",))).records()
    assert any(record["RegionId"] is None for record in records)
    assert "null" in json.dumps(records)


def test_total_granularity_has_no_period(sample_view: LedgerView) -> None:
    report = cost_report(sample_view, CostQuery(group_by=("ProviderName",), granularity="total"))
    assert "period" not in report.columns
    assert all("period" not in record for record in report.records())


def test_totals_per_currency_equal_sql(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    query = CostQuery(basis=("billed", "effective"), group_by=("ServiceName",))
    [(billed, effective)] = sample_sql("SELECT sum(BilledCost), sum(EffectiveCost) FROM costs")
    assert cost_report(sample_view, query).totals() == {
        "USD": {"BilledCost": billed, "EffectiveCost": effective}
    }


def test_scope_restricts_the_report(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    report = cost_report(
        sample_view,
        CostQuery(group_by=("ProviderName",), granularity="total"),
        scope=parse_filters(["ProviderName in (AWS, 'Google Cloud')"]),
    )
    expected = sample_sql(
        "SELECT ProviderName, sum(EffectiveCost) FROM costs "
        "WHERE ProviderName IN ('AWS', 'Google Cloud') GROUP BY 1"
    )
    assert {(r["ProviderName"], r["EffectiveCost"]) for r in report.rows} == set(expected)


def test_report_carries_the_ledger_version(sample_view: LedgerView) -> None:
    assert cost_report(sample_view, CostQuery()).version == sample_view.version == 2
