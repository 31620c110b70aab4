"""What drove an anomaly: the values of each dimension whose cost changed the most.

Inside the anomaly's scope (and the caller's), the engine sums ``EffectiveCost`` per value
of each driver dimension over the anomaly's days and over the baseline days (the 28 days
before it), in one query; a value's **change** is its average daily cost on the anomaly
days minus its average daily cost on the baseline days. A value's **share** is its change
over the sum of the positive changes in its dimension, so the shares of one dimension add
up to 1 (values whose cost fell are left out). A value's **lift** is its share of the rise
minus its share of the baseline cost: a region that holds all of the scope's cost holds all
of its rise too (share 1, lift 0) and explains nothing, a resource with a third of the cost
and nine tenths of the rise explains most of it (lift 0.6). The list is ordered by lift,
largest first, with dimensions in :data:`DIMENSIONS` order among near-equal lifts (the
broader dimension first), and keeps the top ``per_dimension`` values of each dimension
whose share is at least ``min_share``. Dimensions the scope already fixes are skipped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

import ibis
import ibis.expr.types as ir

from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery, cost_rows_in_range, dimension, restrict
from costprism.engine.rollups import row_source

DIMENSIONS = ("ServiceName", "SubAccountId", "RegionId", "ResourceId", "SkuId")
BASELINE_DAYS = 28


@dataclass(frozen=True, kw_only=True)
class Driver:
    dimension: str
    value: str
    share: float  # of the dimension's rise in cost
    change: float  # average daily cost on the anomaly days minus on the baseline days
    lift: float = 0.0  # share of the rise minus share of the baseline cost

    def record(self) -> dict[str, object]:
        return {
            "dimension": self.dimension,
            "value": self.value,
            "share": round(self.share, 4),
            "change": round(self.change, 4),
            "lift": round(self.lift, 4),
        }


def scope_filters(scope: Mapping[str, str]) -> tuple[Filter, ...]:
    """The filter conditions that select an anomaly's scope ("" stands for no value)."""
    return tuple(
        Filter(column=k, op="is null") if v == "" else Filter(column=k, op="=", values=(v,))
        for k, v in scope.items()
    )


def drivers(
    view: LedgerView,
    scope: Mapping[str, str],
    currency: str,
    start: date,
    end: date,
    *,
    caller: Sequence[Filter] = (),
    dimensions: Sequence[str] = DIMENSIONS,
    per_dimension: int = 3,
    min_share: float = 0.05,
) -> list[Driver]:
    """The drivers of the anomaly ``[start, end]`` (inclusive) in ``scope``."""
    wanted = [d for d in dimensions if d not in scope]
    if not wanted:
        return []
    filters = (
        *caller,
        *scope_filters(scope),
        Filter(column="BillingCurrency", op="=", values=(currency,)),
    )
    table = changes_expression(row_source(view, filters), filters, wanted, start, end)
    rows = table.to_pyarrow().to_pylist()
    return rank(rows, wanted, per_dimension, min_share)


def changes_expression(
    costs: ir.Table, filters: Sequence[Filter], wanted: Sequence[str], start: date, end: date
) -> ir.Table:
    """Per (dimension, value): the average daily cost on the anomaly and baseline days."""
    first = start - timedelta(days=BASELINE_DAYS)
    query = CostQuery(start=first, end=end + timedelta(days=1))
    rows = cost_rows_in_range(restrict(costs, filters), query)
    anomaly_days = (end - start).days + 1
    during = rows["ChargePeriodStart"] >= ibis.timestamp(
        f"{start.isoformat()} 00:00:00", timezone="UTC"
    )
    cost = rows["EffectiveCost"].cast("float64")
    parts = []
    for name in wanted:
        value = dimension(rows, name).cast("string").fill_null("")
        keyed = rows.mutate(
            dimension=ibis.literal(name), value=value,
            during=ibis.ifelse(during, cost, 0.0), before=ibis.ifelse(during, 0.0, cost),
        )  # fmt: skip
        parts.append(
            keyed.group_by(["dimension", "value"]).aggregate(
                change=keyed.during.sum() / anomaly_days - keyed.before.sum() / BASELINE_DAYS,
                baseline=keyed.before.sum() / BASELINE_DAYS,
            )
        )
    return ibis.union(*parts) if len(parts) > 1 else parts[0]


def rank(
    rows: Sequence[Mapping[str, object]],
    wanted: Sequence[str],
    per_dimension: int,
    min_share: float,
) -> list[Driver]:
    found: list[Driver] = []
    for name in wanted:
        mine = [r for r in rows if r["dimension"] == name]
        base = sum(max(_number(r["baseline"]), 0.0) for r in mine)
        rising = [r for r in mine if _number(r["change"]) > 0]
        total = sum(_number(r["change"]) for r in rising)
        drivers = [
            Driver(
                dimension=name, value=str(r["value"]), change=_number(r["change"]),
                share=_number(r["change"]) / total,
                lift=_number(r["change"]) / total - (_number(r["baseline"]) / base if base else 0),
            )
            for r in rising
        ]  # fmt: skip
        drivers.sort(key=lambda d: -d.lift)
        found += [d for d in drivers[:per_dimension] if d.share >= min_share]
    order = {name: i for i, name in enumerate(DIMENSIONS)}
    return sorted(found, key=lambda d: (-round(d.lift, 1), order.get(d.dimension, 99), -d.lift))


def _number(value: object) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
