"""Drill-down: the ledger rows behind a figure, a page at a time, under the caller's scope.

Rows come in ``x_RowId`` order and pages are keyset pages (``x_RowId > last``), so a page
costs the same wherever it is in the result. Scope is applied through
:func:`costprism.engine.query.restrict`, the engine's one filtering path.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import ibis.expr.types as ir

from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery, cost_rows_in_range, restrict

DRILL_COLUMNS = (
    "x_RowId",
    "ChargePeriodStart",
    "ChargePeriodEnd",
    "ProviderName",
    "BillingAccountId",
    "SubAccountId",
    "SubAccountName",
    "ServiceName",
    "RegionId",
    "ResourceId",
    "ResourceName",
    "SkuId",
    "ChargeCategory",
    "ChargeDescription",
    "ConsumedQuantity",
    "ConsumedUnit",
    "BillingCurrency",
    "BilledCost",
    "EffectiveCost",
    "ListCost",
    "ContractedCost",
    "Tags",
)


@dataclass(frozen=True, kw_only=True)
class RowQuery:
    """Which rows: filters (e.g. the clicked cell's group keys), a date range, a page."""

    filters: tuple[Filter, ...] = ()
    start: date | None = None
    end: date | None = None
    after: int | None = None  # the last x_RowId of the previous page
    limit: int = 50


def row_expression(costs: ir.Table, query: RowQuery, scope: Sequence[Filter] = ()) -> ir.Table:
    """One page (plus one row, to tell if there is more) of the rows ``query`` selects."""
    rows = restrict(costs, (*scope, *query.filters))
    rows = cost_rows_in_range(rows, CostQuery(start=query.start, end=query.end))
    if query.after is not None:
        rows = rows.filter(rows.x_RowId > query.after)
    columns = [c for c in DRILL_COLUMNS if c in rows.columns]
    return rows.select(*columns).order_by("x_RowId").limit(query.limit + 1)
