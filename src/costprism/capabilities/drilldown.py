"""From a figure to the ledger rows behind it: the explorer's cell click and ``/costs/rows``.

A cell is the group keys of one result row (``ServiceName``, ``tag:team``,
``BillingCurrency``, ``period``); :func:`cell_rows` turns it into filters and a date range
within the original query and reads one page of rows.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any

from costprism.capabilities.paging import (
    Page,
    checked_limit,
    cursor_key,
    decode_cursor,
    encode_cursor,
)
from costprism.capabilities.reporting import plain
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import OTHER, CostQuery, Granularity
from costprism.engine.rows import RowQuery, row_expression
from costprism.errors import QueryError

_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def cost_rows(
    view: LedgerView,
    query: CostQuery,
    scope: Sequence[Filter] = (),
    *,
    cell: Mapping[str, str | None] | None = None,
    limit: int | None = None,
    cursor: str | None = None,
) -> Page[dict[str, Any]]:
    """One page of the rows behind ``query`` (narrowed to ``cell`` when given)."""
    size = checked_limit(limit)
    after = cursor_key(decode_cursor(cursor), "after")
    filters, start, end = _narrowed(query, cell or {})
    rows_query = RowQuery(
        filters=filters,
        start=start,
        end=end,
        after=after,
        limit=size,
    )
    found = row_expression(view.costs, rows_query, scope).to_pyarrow().to_pylist()
    items = tuple({k: _value(v) for k, v in row.items()} for row in found[:size])
    more = len(found) > size
    return Page(items=items, next=encode_cursor({"after": items[-1]["x_RowId"]}) if more else None)


def _narrowed(
    query: CostQuery, cell: Mapping[str, str | None]
) -> tuple[tuple[Filter, ...], date | None, date | None]:
    filters = list(query.filters)
    for key in (*query.group_by, "BillingCurrency"):
        if key in cell:
            filters.append(_key_filter(key, cell[key]))
    start, end = query.start, query.end
    period = cell.get("period")
    if period and query.granularity == "billing-period":
        filters.append(Filter(column="BillingPeriodStart", op="=", values=(period,)))
    elif period and query.granularity != "total":
        first = _day(period)
        start = max(start, first) if start else first
        last = _period_end(first, query.granularity)
        end = min(end, last) if end else last
    return tuple(filters), start, end


def _key_filter(key: str, value: str | None) -> Filter:
    if value is None:
        return Filter(column=key, op="is null")
    if value == OTHER:
        raise QueryError(
            f"{key} {OTHER!r} folds many groups; drill into one of them, or query without --top",
            code="query.bad_drill",
        )
    return Filter(column=key, op="=", values=(value,))


def _period_end(first: date, granularity: Granularity) -> date:
    if granularity == "day":
        return first + timedelta(days=1)
    if granularity == "week":
        return first + timedelta(days=7)
    months = first.year * 12 + first.month - 1 + _MONTHS[granularity]
    return date(months // 12, months % 12 + 1, 1)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text[:10])
    except ValueError as error:
        raise QueryError(
            f"period {text!r} is not an ISO date like 2026-03-01", code="query.bad_drill"
        ) from error


def _value(value: Any) -> Any:
    if isinstance(value, list) and all(isinstance(i, tuple) for i in value):
        return dict(value)  # a map (Tags) arrives as key/value pairs
    return plain(value)
