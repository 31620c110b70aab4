"""The cost query: a frozen spec compiled to one Ibis expression, on any engine.

This module is the one place that applies a caller's scope: :func:`cost_expression` ANDs
the scope filters into every query it builds. Amounts are never summed across currencies:
``BillingCurrency`` is always a group key.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from costprism.engine.filters import Filter, normalize_tag_key
from costprism.errors import QueryError
from costprism.focus import MEASURES
from costprism.ledger.rollups import ROW_COUNT

Granularity = Literal["day", "week", "month", "quarter", "year", "total", "billing-period"]
Basis = Literal["billed", "effective", "list", "contracted"]
GRANULARITIES: tuple[Granularity, ...] = (
    "day",
    "week",
    "month",
    "quarter",
    "year",
    "total",
    "billing-period",
)
OTHER = "(other)"
_TRUNCATE = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}


@dataclass(frozen=True, kw_only=True)
class CostQuery:
    """What to sum, by what, over which rows and dates (``start`` inclusive, ``end`` not)."""

    basis: tuple[Basis, ...] = ("effective",)
    group_by: tuple[str, ...] = ()
    filters: tuple[Filter, ...] = ()
    start: date | None = None
    end: date | None = None
    granularity: Granularity = "month"
    top: int | None = None

    @property
    def measures(self) -> tuple[str, ...]:
        return tuple(MEASURES[b] for b in self.basis)

    @property
    def keys(self) -> tuple[str, ...]:
        """The output's key columns, in order."""
        period = () if self.granularity == "total" else ("period",)
        return (*self.group_by, "BillingCurrency", *period)


def cost_expression(costs: ir.Table, query: CostQuery, scope: Sequence[Filter] = ()) -> ir.Table:
    """One Ibis expression answering ``query`` over the rows ``scope`` allows."""
    _check(costs, query)
    rows = restrict(costs, (*scope, *query.filters))
    rows = cost_rows_in_range(rows, query)
    keyed = rows.mutate(
        **{name: dimension(rows, name) for name in query.group_by},
        **({} if query.granularity == "total" else {"period": _period(rows, query.granularity)}),
    )
    measures = {m: keyed[m].sum() for m in query.measures}
    totals = keyed.group_by(list(query.keys)).aggregate(**measures)
    if query.top is not None:
        totals = _top(totals, query)
    order = [c for c in ("period",) if c in query.keys] + [ibis.desc(query.measures[0])]
    return totals.order_by([*order, *query.group_by, "BillingCurrency"])


def restrict(costs: ir.Table, filters: Sequence[Filter]) -> ir.Table:
    """The rows matching every filter (the engine's only filtering path, scopes included)."""
    if not filters:
        return costs
    return costs.filter([filter_expression(costs, f) for f in filters])


def dimension(costs: ir.Table, name: str) -> ir.Value:
    """A FOCUS column, an ``x_`` column, or ``tag:KEY`` as a string expression."""
    if "\x00" in name:
        raise QueryError(f"column {name!r} has a NUL character", code="query.unknown_column")
    if name.startswith("tag:"):
        return tag_value(costs, name[len("tag:") :])
    if name not in costs.columns and f"x_{name}" in costs.columns:
        return costs[f"x_{name}"]  # an allocation dimension by its own name: team → x_team
    _known(costs, name)
    return costs[name]


def tag_value(costs: ir.Table, key: str) -> ir.Value:
    """The value of tag ``key``, keys compared ignoring case, ``-`` and ``_``.

    The daily rollup stores its tag keys already in that form (one map lookup); the raw
    ledger keeps them as exported, so each row's keys are normalized and searched."""
    tags = costs["Tags"]
    if ROW_COUNT in costs.columns:
        return tags.get(normalize_tag_key(key))
    normalized = tags.keys().map(lambda k: k.lower().replace("-", "").replace("_", ""))
    position = normalized.index(normalize_tag_key(key)).cast("int32")
    return ibis.ifelse(position >= 0, tags.values()[position], ibis.null("string"))


def filter_expression(costs: ir.Table, condition: Filter) -> ir.BooleanValue:
    column = dimension(costs, condition.column)
    op = condition.op
    if op == "is null":
        return column.isnull()
    if op == "is not null":
        return column.notnull()
    _comparable(column, condition)
    values = [_literal(column, v, condition) for v in condition.values]
    if op == "=":
        return column == values[0]
    if op == "!=":
        return (column != values[0]) | column.isnull()
    if op == "in":
        return column.isin(values)
    if op == "not in":
        return column.notin(values) | column.isnull()
    return column.cast("string").like(condition.values[0])


def _comparable(column: ir.Value, condition: Filter) -> None:
    """Refuse what no engine can compare: a map or list column, a NUL character."""
    if column.type().is_nested():
        raise QueryError(
            f"filter {condition}: {condition.column} is a {column.type()}; filter on one "
            f"of its keys with tag:KEY, or test it with 'is null'",
            code="query.bad_filter",
        )
    if any("\x00" in value for value in condition.values):
        raise QueryError(
            f"filter {condition.column} {condition.op}: a value has a NUL character",
            code="query.bad_filter",
        )


def _literal(column: ir.Value, value: str, condition: Filter) -> Any:
    kind = column.type()
    try:
        if kind.is_decimal() or kind.is_floating() or kind.is_integer():
            return ibis.literal(Decimal(value), type=kind)
        if kind.is_timestamp():
            parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
        if kind.is_date():
            return date.fromisoformat(value)
    except (ValueError, InvalidOperation) as error:
        raise QueryError(
            f"filter {condition}: {value!r} is not a {kind} value for {condition.column}",
            code="query.bad_filter",
        ) from error
    return value


def cost_rows_in_range(rows: ir.Table, query: CostQuery) -> ir.Table:
    """The rows whose ChargePeriodStart is in ``[query.start, query.end)``."""
    start = rows["ChargePeriodStart"]
    conditions = []
    if query.start is not None:
        conditions.append(start >= _midnight(query.start))
    if query.end is not None:
        conditions.append(start < _midnight(query.end))
    return rows.filter(conditions) if conditions else rows


def _period(rows: ir.Table, granularity: Granularity) -> ir.Value:
    if granularity == "billing-period":
        return rows["BillingPeriodStart"].date()
    return rows["ChargePeriodStart"].truncate(_TRUNCATE[granularity]).date()


def _top(totals: ir.Table, query: CostQuery) -> ir.Table:
    """Keep the ``top`` largest groups over the whole range; fold the rest into (other)."""
    group = [*query.group_by, "BillingCurrency"]
    measure = query.measures[0]
    with_total = totals.mutate(_group_total=totals[measure].sum().over(group_by=group))
    ranked = with_total.mutate(
        _rank=ibis.dense_rank().over(
            order_by=[ibis.desc("_group_total"), *(ibis.asc(k) for k in group)]
        )
    )
    kept = ranked._rank < query.top
    folded = ranked.mutate(
        **{k: ibis.ifelse(kept, ranked[k].cast("string"), OTHER) for k in query.group_by}
    )
    sums = {m: folded[m].sum() for m in query.measures}
    return folded.group_by(list(query.keys)).aggregate(**sums)


def _check(costs: ir.Table, query: CostQuery) -> None:
    if query.granularity not in GRANULARITIES:
        raise QueryError(
            f"granularity {query.granularity!r} is not known; use one of "
            f"{', '.join(GRANULARITIES)}",
            code="query.bad_granularity",
        )
    if query.top is not None and (query.top < 1 or not query.group_by):
        raise QueryError(
            "--top needs a positive number and at least one --by to rank groups by",
            code="query.bad_top",
        )
    if query.start and query.end and query.start >= query.end:
        raise QueryError(
            f"--from {query.start} is not before --to {query.end} (--to is exclusive)",
            code="query.bad_range",
        )
    for position, name in enumerate(query.group_by):
        if name in ("BillingCurrency", "period"):
            raise QueryError(
                f"--by {name}: results are always split by BillingCurrency and period",
                code="query.bad_group",
            )
        if name in query.measures or name in query.group_by[:position]:
            raise QueryError(
                f"--by {name}: it is {'the measure' if name in query.measures else 'already'} "
                "in the result; give each --by once and not the --basis column",
                code="query.bad_group",
            )
        dimension(costs, name)


def _known(costs: ir.Table, name: str) -> None:
    if name in costs.columns:
        return
    close = difflib.get_close_matches(name, costs.columns, n=3)
    hint = f"did you mean {', '.join(close)}?" if close else "use a FOCUS column or tag:KEY"
    raise QueryError(f"column {name!r} is not in the ledger; {hint}", code="query.unknown_column")


def _midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)
