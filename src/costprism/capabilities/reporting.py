"""Cost reports: the numbers behind ``costprism cost``, the API's ``/costs`` and the explorer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery, cost_expression
from costprism.engine.rollups import cost_source


@dataclass(frozen=True, kw_only=True)
class CostReport:
    """Rows of a cost query: the group keys, ``BillingCurrency``, ``period``, the measures."""

    columns: tuple[str, ...]
    rows: tuple[dict[str, Any], ...]
    measures: tuple[str, ...]
    version: int | None

    def records(self) -> list[dict[str, Any]]:
        """JSON-ready rows: amounts as unrounded numbers, dates as ISO strings."""
        return [{c: plain(row[c]) for c in self.columns} for row in self.rows]

    def totals(self) -> dict[str, dict[str, Decimal]]:
        """Per currency, the sum of each measure over all rows."""
        sums: dict[str, dict[str, Decimal]] = {}
        for row in self.rows:
            per = sums.setdefault(row["BillingCurrency"], dict.fromkeys(self.measures, Decimal(0)))
            for m in self.measures:
                per[m] += row[m] or Decimal(0)
        return sums


def cost_report(view: LedgerView, query: CostQuery, scope: Sequence[Filter] = ()) -> CostReport:
    """Run ``query`` on one ledger version, restricted to ``scope`` (on the daily rollup
    when it can answer, see :func:`~costprism.engine.rollups.cost_source`)."""
    table = cost_expression(cost_source(view, query, scope), query, scope).to_pyarrow()
    return CostReport(
        columns=(*query.group_by, "BillingCurrency", *_period(query), *query.measures),
        rows=tuple(table.to_pylist()),
        measures=query.measures,
        version=view.version,
    )


def _period(query: CostQuery) -> tuple[str, ...]:
    return () if query.granularity == "total" else ("period",)


def plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
