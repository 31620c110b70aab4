"""From a result cell to the ledger rows behind it, paged, under the caller's scope."""

from __future__ import annotations

from decimal import Decimal

import pytest

from costprism.capabilities.drilldown import cost_rows
from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import LedgerView
from costprism.engine.filters import parse_filters
from costprism.engine.query import CostQuery
from costprism.errors import QueryError
from tests.conftest import SqlRunner


def all_rows(view: LedgerView, query: CostQuery, **kwargs: object) -> list[dict[str, object]]:
    rows: list[dict[str, object]] = []
    cursor = None
    while True:
        page = cost_rows(view, query, cursor=cursor, limit=97, **kwargs)  # type: ignore[arg-type]
        rows.extend(page.items)
        if page.next is None:
            return rows
        cursor = page.next


def test_cell_rows_sum_to_the_cell(sample_view: LedgerView) -> None:
    query = CostQuery(group_by=("ServiceName",), granularity="month")
    report = cost_report(sample_view, query)
    cell = max(report.rows, key=lambda r: r["EffectiveCost"])
    keys = {"ServiceName": cell["ServiceName"], "BillingCurrency": cell["BillingCurrency"]}
    rows = all_rows(sample_view, query, cell={**keys, "period": cell["period"].isoformat()})
    assert rows
    assert all(r["ServiceName"] == cell["ServiceName"] for r in rows)
    total = sum(Decimal(str(r["EffectiveCost"])) for r in rows)
    assert total == pytest.approx(cell["EffectiveCost"], abs=Decimal("0.01"))


def test_pages_hold_each_row_once_in_row_id_order(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    query = CostQuery(filters=parse_filters(["ProviderName=AWS"]), granularity="total")
    rows = all_rows(sample_view, query)
    ids = [r["x_RowId"] for r in rows]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)
    [(count,)] = sample_sql("SELECT count(*) FROM costs WHERE ProviderName = 'AWS'")
    assert len(ids) == count


def test_scope_bounds_the_rows(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    scope = parse_filters(["ProviderName='Google Cloud'"])
    forged = CostQuery(filters=parse_filters(["ProviderName=AWS"]), granularity="total")
    assert cost_rows(sample_view, forged, scope).items == ()
    rows = all_rows(sample_view, CostQuery(granularity="total"), scope=scope)
    [(count,)] = sample_sql("SELECT count(*) FROM costs WHERE ProviderName = 'Google Cloud'")
    assert len(rows) == count
    assert {r["ProviderName"] for r in rows} == {"Google Cloud"}


def test_null_group_drills_into_missing_values(sample_view: LedgerView) -> None:
    query = CostQuery(group_by=("RegionId",), granularity="total")
    rows = cost_rows(sample_view, query, cell={"RegionId": None}, limit=20).items
    assert rows
    assert all(r["RegionId"] is None for r in rows)


def test_tags_arrive_as_an_object(sample_view: LedgerView) -> None:
    rows = cost_rows(sample_view, CostQuery(granularity="total"), limit=50).items
    assert any(isinstance(r["Tags"], dict) and r["Tags"] for r in rows)


def test_other_group_is_refused_with_a_hint(sample_view: LedgerView) -> None:
    query = CostQuery(group_by=("ServiceName",), top=3)
    with pytest.raises(QueryError) as raised:
        cost_rows(sample_view, query, cell={"ServiceName": "(other)"})
    assert raised.value.code == "query.bad_drill"


def test_period_must_be_a_date(sample_view: LedgerView) -> None:
    with pytest.raises(QueryError, match="not an ISO date"):
        cost_rows(sample_view, CostQuery(), cell={"period": "March"})


@pytest.mark.parametrize("granularity", ["day", "week", "quarter", "year", "billing-period"])
def test_every_granularity_drills_to_its_period(sample_view: LedgerView, granularity: str) -> None:
    query = CostQuery(group_by=("ProviderName",), granularity=granularity)  # type: ignore[arg-type]
    cell = max(cost_report(sample_view, query).rows, key=lambda r: r["EffectiveCost"])
    keys = {k: cell[k] for k in ("ProviderName", "BillingCurrency")}
    rows = all_rows(sample_view, query, cell={**keys, "period": cell["period"].isoformat()})
    total = sum(Decimal(str(r["EffectiveCost"])) for r in rows)
    assert total == pytest.approx(cell["EffectiveCost"], abs=Decimal("0.01"))
