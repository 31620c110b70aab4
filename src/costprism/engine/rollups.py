"""Which table answers a cost query: the daily rollup when it can, else the raw ledger.

The rollup (``costs_daily``, see :mod:`costprism.ledger.rollups`) holds the ledger's rows
summed by UTC day and the common dimensions. :func:`cost_expression` gives the same answer
on it as on ``costs`` whenever every column the query and the scope name is one of those
dimensions: measures are sums of sums, ``Tags`` keeps every entry (its keys already in the
form ``tag:KEY`` compares, so a lookup reads the same value), periods truncate
``ChargePeriodStart`` to a day or coarser, and the dates of a :class:`CostQuery` are whole
UTC days. ``ChargePeriodStart`` itself is not a dimension
here: a filter or group on it sees the hour, which the rollup no longer has.

This is the one place that chooses; a view without a fresh rollup (``view.daily`` is None)
always reads ``costs``. Both engines read the rollup the same way.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis.expr.types as ir

from costprism.engine.allocation import allocated_costs
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery, restrict
from costprism.ledger.rollups import DIMENSIONS, ROW_COUNT

TAGS = "Tags"
TAG_PREFIX = "tag:"


def cost_source(view: LedgerView, query: CostQuery, scope: Sequence[Filter] = ()) -> ir.Table:
    """The rollup when it holds every column ``query`` and ``scope`` use, else ``costs``
    (joined to the allocation results when they use an allocation dimension)."""
    referenced = referenced_columns(query, scope)
    if uses_dimensions(view, referenced):
        daily = view.allocated_daily
        if daily is not None and {_column(daily, n) for n in referenced} <= set(daily.columns):
            return daily
        return allocated_costs(view)
    daily = view.daily
    if daily is None:
        return view.costs
    available = set(DIMENSIONS) & set(daily.columns)
    return daily if referenced_columns(query, scope) <= available else view.costs


def referenced_columns(query: CostQuery, scope: Sequence[Filter] = ()) -> set[str]:
    """The ledger columns a query reads to group and filter (``tag:KEY`` reads ``Tags``)."""
    names = [*query.group_by, *(f.column for f in (*scope, *query.filters))]
    return {TAGS if name.startswith(TAG_PREFIX) else name for name in names}


def uses_dimensions(view: LedgerView, names: set[str]) -> bool:
    """Whether any of ``names`` is one of the view's allocation dimensions."""
    dimensions = set(view.dimensions)
    return any(name in dimensions or name.removeprefix("x_") in dimensions for name in names)


def row_source(view: LedgerView, filters: Sequence[Filter]) -> ir.Table:
    """The ledger rows, allocated when ``filters`` use an allocation dimension (drill-downs
    and exports read single rows, never the rollup)."""
    names = {f.column for f in filters}
    return allocated_costs(view) if uses_dimensions(view, names) else view.costs


def scoped_rows(view: LedgerView, scope: Sequence[Filter] = ()) -> ir.Table:
    """The rows ``scope`` allows, from the rollup when it can tell (for questions about
    slices, sources and days rather than single charges)."""
    return restrict(cost_source(view, CostQuery(), scope), scope)


def row_count(rows: ir.Table) -> ir.IntegerScalar:
    """How many ledger rows ``rows`` stands for (a rollup row counts ``x_Rows`` of them)."""
    return rows[ROW_COUNT].sum() if ROW_COUNT in rows.columns else rows.count()


def _column(table: ir.Table, name: str) -> str:
    """The column a query name reads (a dimension ``team`` is ``x_team``)."""
    return f"x_{name}" if name not in table.columns and f"x_{name}" in table.columns else name
