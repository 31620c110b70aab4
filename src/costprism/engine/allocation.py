"""Allocation as Ibis expressions: rules, then shared-cost steps, into the narrow table.

:func:`allocate` turns a rule set and the ledger's ``costs`` into one row per (ledger row,
dimension values, shared step) with the ``x_Share`` of the ledger row it holds; the shares
of each ledger row sum to exactly 1. Everything is one Ibis expression, so DuckDB and Spark
run the same plan:

1. Rules: the index of the first rule whose ``match`` holds (a ``CASE``), then each
   dimension's value from that rule, ``(unallocated)`` where no rule sets it.
2. Each shared step, in order: the *pool* is the rows its ``match`` selects (ledger columns,
   tags, and the dimension values so far). Its targets get weights per billing period and
   currency — ``even``: 1 each; ``fixed``: the file's weights; ``proportional``: the
   EffectiveCost already allocated to each target outside the pool (a target below zero
   counts as zero; if all are zero the split is even). A pool row's share ``s`` becomes
   ``s × w / Σw`` per target, rounded to 12 decimals; the last target (in the file's order)
   takes ``s`` minus the others, so nothing is lost to rounding. Rows that now agree on
   every column are merged.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from decimal import Decimal

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from costprism.allocation.rules import UNALLOCATED, RuleSet, SharedStep, dimension_column
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter, normalize_tag_key
from costprism.engine.query import filter_expression, tag_value
from costprism.focus import MEASURES

SHARE = "x_Share"
RULE = "x_Rule"
SHARED = "x_Shared"
SHARE_TYPE = dt.Decimal(38, 12)
PERIOD = "BillingPeriodStart"
CURRENCY = "BillingCurrency"
_COST = "EffectiveCost"
_TARGETS = dt.Array(dt.Struct({"target": "string", "position": "int64", "fixed": "float64"}))


@contextmanager
def allocation(costs: ir.Table, rules: RuleSet) -> Iterator[ir.Table]:
    """The narrow allocation table of ``costs`` under ``rules``: ``x_RowId``,
    ``BillingPeriodStart``, ``BillingCurrency``, ``x_<dimension>``…, ``x_Rule`` (the rule that
    placed the row, null if none), ``x_Shared`` (the last shared step that moved this part,
    null if none) and ``x_Share``. The input of each shared step is materialized in the
    backend while the context is open (a step reads it three times)."""
    dimensions = [dimension_column(d) for d in rules.dimensions]
    tagged = _with_tags(costs, rules)
    slim = tagged.select(
        "x_RowId",
        PERIOD,
        CURRENCY,
        _COST,
        x_RuleIndex=_first_rule(tagged, rules),
        **{
            _flag(k): _ledger_match(tagged, step.match, rules)
            for k, step in enumerate(rules.shared)
        },
        **{
            _within(k): tagged[step.within].cast("string").fill_null("")
            for k, step in enumerate(rules.shared)
            if step.within
        },
    )
    with ExitStack() as stack:
        # Each rule's condition is evaluated once per row into x_RuleIndex, materialized; the
        # dimension values are then CASEs on that column (on the unmaterialized expression
        # a CASE per dimension would repeat the rules' CASE in every branch).
        indexed = stack.enter_context(materialized(slim))
        chosen = indexed["x_RuleIndex"]
        current = indexed.select(
            "x_RowId",
            PERIOD,
            CURRENCY,
            _COST,
            **{
                c: _assigned(chosen, rules, name)
                for name, c in zip(rules.dimensions, dimensions, strict=True)
            },
            **{RULE: _rule_name(chosen, rules)},
            **{SHARED: ibis.null("string")},
            **{SHARE: ibis.literal(Decimal(1), type=SHARE_TYPE)},
            **{c: indexed[c] for c in indexed.columns if c.startswith(("x_pool", "x_within"))},
        )
        # The allocation so far is a union of parts: the rules' result and what each shared
        # step moved (materialized; small beside the ledger). A step splits every part into
        # pool and rest by filters, so the big part is only scanned.
        parts = [current]
        for k, step in enumerate(rules.shared):
            conditions = [_in_pool(part, step, k, rules) for part in parts]
            pool = _union([part.filter(c) for part, c in zip(parts, conditions, strict=True)])
            rests = [part.filter(~c) for part, c in zip(parts, conditions, strict=True)]
            moved = _spread(pool, _union(rests), step, k)
            parts = [*rests, stack.enter_context(materialized(moved))]
        result = _union(parts)
        yield result.select("x_RowId", PERIOD, CURRENCY, *dimensions, RULE, SHARED, SHARE)


@contextmanager
def materialized(table: ir.Table) -> Iterator[ir.Table]:
    """``table`` computed once into a temporary table of its backend, dropped on exit.

    (On DuckDB, Ibis's own ``cache().release()`` emits an empty DROP with this sqlglot.)"""
    backend = table.get_backend()
    if backend.name != "duckdb":
        cached = table.cache()
        try:
            yield cached
        finally:
            cached.release()
        return
    name = f"costprism_step_{uuid.uuid4().hex[:12]}"
    stored = backend.create_table(name, table, temp=True)
    try:
        yield stored
    finally:
        backend.raw_sql(f'DROP TABLE IF EXISTS "{name}"')


def _flag(k: int) -> str:
    return f"x_pool{k}"


def _within(k: int) -> str:
    return f"x_within{k}"


def _tag_column(key: str) -> str:
    return f"x_tag:{normalize_tag_key(key)}"


def _with_tags(costs: ir.Table, rules: RuleSet) -> ir.Table:
    """``costs`` with each tag a rule or step reads as a column, trimmed and lower-cased:
    one map lookup per tag and row, however many conditions read it."""
    keys = {
        normalize_tag_key(f.tag_key): f.tag_key
        for match in [*(r.match for r in rules.rules), *(s.match for s in rules.shared)]
        for f in match
        if f.is_tag
    }
    if not keys:
        return costs
    return costs.mutate(
        **{_tag_column(k): tag_value(costs, key).strip().lower() for k, key in keys.items()}
    )


def _assigned(chosen: ir.IntegerValue, rules: RuleSet, dimension: str) -> ir.StringValue:
    branches = [
        (chosen == i, r.values[dimension])
        for i, r in enumerate(rules.rules)
        if dimension in r.values
    ]
    return ibis.cases(*branches, else_=UNALLOCATED) if branches else ibis.literal(UNALLOCATED)


def _rule_name(chosen: ir.IntegerValue, rules: RuleSet) -> ir.StringValue:
    if not rules.rules:
        return ibis.null("string")
    return ibis.cases(*((chosen == i, r.name) for i, r in enumerate(rules.rules)), else_=None)


def _first_rule(costs: ir.Table, rules: RuleSet) -> ir.IntegerValue:
    if not rules.rules:
        return ibis.literal(-1, type="int64")
    branches = [(_ledger_match(costs, rule.match, rules), i) for i, rule in enumerate(rules.rules)]
    return ibis.cases(*branches, else_=-1).cast("int64")


def _ledger_match(costs: ir.Table, match: Sequence[Filter], rules: RuleSet) -> ir.BooleanValue:
    """The part of a match on ledger columns and tags, null-safe."""
    parts = [
        condition_expression(costs, f, rules) for f in match if f.column not in rules.dimensions
    ]
    combined = ibis.and_(*parts) if parts else ibis.literal(True)
    return combined.fill_null(False)


def condition_expression(costs: ir.Table, condition: Filter, rules: RuleSet) -> ir.BooleanValue:
    """One condition of a rule on ledger columns or tags (tag values trimmed, compared
    without regard to case, aliases expanded)."""
    if not condition.is_tag:
        return filter_expression(costs, condition)
    column = _tag_column(condition.tag_key)
    value = (
        costs[column]
        if column in costs.columns
        else tag_value(costs, condition.tag_key).strip().lower()
    )
    op = condition.op
    if op == "is null":
        return value.isnull()
    if op == "is not null":
        return value.notnull()
    if op == "like":
        return value.like(condition.values[0].lower())
    spellings = [s for v in condition.values for s in rules.spellings(v)]
    if op == "not in":
        return value.notin(spellings) | value.isnull()
    return value.isin(spellings)


def _dimension_match(rows: ir.Table, match: Sequence[Filter], rules: RuleSet) -> ir.BooleanValue:
    parts = []
    for condition in match:
        if condition.column not in rules.dimensions:
            continue
        column = rows[dimension_column(condition.column)]
        if condition.op == "in":
            parts.append(column.isin(list(condition.values)))
        elif condition.op == "not in":
            parts.append(column.notin(list(condition.values)))
        elif condition.op == "like":
            parts.append(column.like(condition.values[0]))
        elif condition.op == "is null":
            parts.append(column == UNALLOCATED)
        else:
            parts.append(column != UNALLOCATED)
    return ibis.and_(*parts) if parts else ibis.literal(True)


def _in_pool(rows: ir.Table, step: SharedStep, k: int, rules: RuleSet) -> ir.BooleanValue:
    return (rows[_flag(k)] & _dimension_match(rows, step.match, rules)).fill_null(False)


def _union(tables: Sequence[ir.Table]) -> ir.Table:
    return tables[0] if len(tables) == 1 else ibis.union(*tables)


def _spread(pool: ir.Table, rest: ir.Table, step: SharedStep, k: int) -> ir.Table:
    """The pool's rows split over the step's targets (their parts with a share)."""
    groups = [PERIOD, CURRENCY, *([_within(k)] if step.within else [])]
    ratios = _ratios(pool, rest, step, dimension_column(step.to), groups)
    numbered = pool.mutate(x_PoolRow=ibis.row_number())
    joined = numbered.join(ratios, groups)
    # decimal × decimal is exact; ROUND then gives 12 places (a float would drift)
    rounded = (joined[SHARE] * joined["ratio"].cast(SHARE_TYPE)).round(12).cast(SHARE_TYPE)
    spread = joined.mutate(rounded=rounded)
    others = spread.rounded.sum().over(group_by=[spread["x_PoolRow"]])
    last = spread["position"] == len(step.targets) - 1
    moved = spread.mutate(
        **{
            SHARE: ibis.ifelse(last, spread[SHARE] - (others - spread.rounded), spread.rounded),
            dimension_column(step.to): spread["target"],
            SHARED: ibis.literal(step.name),
        }
    ).select(*pool.columns)
    return moved.filter(moved[SHARE] != 0)


def _ratios(
    pool: ir.Table, rest: ir.Table, step: SharedStep, to: str, groups: Sequence[str]
) -> ir.Table:
    """``(*groups, target, position, ratio)`` for every group of the pool (billing period,
    currency and, with ``within``, the value of that column); one group's ratios sum to 1."""
    listed = ibis.literal(
        [
            {"target": t, "position": i, "fixed": float(step.weights.get(t, 1))}
            for i, t in enumerate(step.targets)
        ],
        type=_TARGETS,
    )  # an array unnested, not a memtable: the same SQL runs on Spark
    unnested = pool.select(*groups).distinct().mutate(t=listed).unnest("t")
    grid = unnested.select(
        *groups,
        target=unnested.t["target"],
        position=unnested.t["position"],
        fixed=unnested.t["fixed"],
    )
    if step.split == "proportional":
        basis = (
            rest.filter(rest[to].isin(list(step.targets)))
            .group_by([*groups, rest[to].name("target")])
            .aggregate(weight=(rest[_COST] * rest[SHARE]).sum().cast("float64"))
        )
        grid = grid.left_join(basis, [*groups, "target"]).select(
            *groups, "target", "position", "fixed", "weight"
        )
        weight = ibis.greatest(grid["weight"].fill_null(0.0), 0.0)
    else:
        weight = grid["fixed"]
    weighted = grid.mutate(weight=weight)
    total = weighted.weight.sum().over(group_by=[weighted[g] for g in groups])
    count = weighted.target.count().over(group_by=[weighted[g] for g in groups])
    ratio = ibis.ifelse(total > 0, weighted.weight / total, 1.0 / count.cast("float64"))
    return weighted.mutate(ratio=ratio).select(*groups, "target", "position", "ratio")


def allocated_costs(view: LedgerView) -> ir.Table:
    """The ledger with its allocation: one row per (ledger row, allocated part), the
    dimensions as ``x_<dimension>`` columns and the four costs scaled by the part's share
    (so every sum is the allocated amount and the parts of a row add up to the row). Rows
    the allocation has not seen (imported after it) are ``(unallocated)`` in full."""
    costs = view.costs
    if view.allocations is None or view.allocation is None:
        return costs
    columns = [dimension_column(d) for d in view.allocation.dimensions]
    parts = view.allocations.select(
        view.allocations["x_RowId"].name("x_PartRowId"), *columns, RULE, SHARED, SHARE
    )
    joined = costs.left_join(parts, costs["x_RowId"] == parts["x_PartRowId"])
    share = joined[SHARE].fill_null(ibis.literal(Decimal(1), type=SHARE_TYPE))
    return joined.drop("x_PartRowId").mutate(
        **{m: _scaled(joined[m], share) for m in MEASURES.values() if m in costs.columns},
        **{c: joined[c].fill_null(UNALLOCATED) for c in columns},
        **{SHARE: share},
    )


def _scaled(cost: ir.Value, share: ir.Value) -> ir.Value:
    """``cost × share`` at the ledger's 12 decimals (the exact product has 24)."""
    return (cost * share).round(12).cast(SHARE_TYPE)
