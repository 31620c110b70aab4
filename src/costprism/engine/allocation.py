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
   counts as zero; if all are zero the split is even), or with ``usage:`` the target's
   metric in that billing month (none for the month: an even split). A pool row's share
   ``s`` becomes ``s × w / Σw`` per target, rounded to 12 decimals; the last target (in
   the file's order) takes ``s`` minus the others, so nothing is lost to rounding. Rows
   that now agree on every column are merged.

Rules and steps only read a few columns (their *keys*), so :func:`keyed_allocation` runs
:func:`allocation` once per distinct key — read from the daily rollup when it holds every
key column, about a hundredth of the ledger's rows — and stores that *allocation map*; a
ledger row's parts are the map's rows of its key (:func:`allocated_costs`).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from decimal import Decimal
from typing import Any

import ibis
import ibis.expr.datatypes as dt
import ibis.expr.types as ir

from costprism.allocation.rules import UNALLOCATED, RuleSet, SharedStep, dimension_column
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter, normalize_tag_key
from costprism.engine.query import filter_expression, tag_value
from costprism.focus import LEDGER_SCHEMA, MEASURES
from costprism.ledger.rollups import DAY_COLUMN, ROW_COUNT
from costprism.ledger.rollups import DIMENSIONS as ROLLUP_DIMENSIONS

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
    return f"{_TAG_PREFIX}{normalize_tag_key(key)}"


_TAG_PREFIX = "x_tag:"


def _matches(rules: RuleSet) -> list[Sequence[Filter]]:
    return [*(r.match for r in rules.rules), *(s.match for s in rules.shared)]


def key_columns(rules: RuleSet) -> tuple[str, ...]:
    """What the rules read of a row: billing period, currency, the ledger columns their
    conditions and ``within:`` name, and one ``x_tag:<key>`` column per tag they read.
    Rows that agree on these are allocated alike."""
    columns = {
        f.column
        for match in _matches(rules)
        for f in match
        if not f.is_tag and f.column not in rules.dimensions
    }
    columns |= {step.within for step in rules.shared if step.within}
    tags = {_tag_column(f.tag_key) for match in _matches(rules) for f in match if f.is_tag}
    return (PERIOD, CURRENCY, *sorted(columns - {PERIOD, CURRENCY}), *sorted(tags))


def source_columns(keys: Sequence[str]) -> set[str]:
    """The ledger (or rollup) columns ``keys`` are computed from."""
    return {"Tags" if k.startswith(_TAG_PREFIX) else k for k in keys}


def with_keys(rows: ir.Table, keys: Sequence[str]) -> ir.Table:
    """``rows`` with the ``x_tag:<key>`` columns of ``keys`` (values trimmed, lower-cased)."""
    tags = [k for k in keys if k.startswith(_TAG_PREFIX) and k not in rows.columns]
    if not tags:
        return rows
    return rows.mutate(
        **{k: tag_value(rows, k.removeprefix(_TAG_PREFIX)).strip().lower() for k in tags}
    )


@contextmanager
def keyed_allocation(
    rows: ir.Table, rules: RuleSet, keys: Sequence[str] | None = None
) -> Iterator[ir.Table]:
    """The allocation map of ``rows`` (ledger rows or daily-rollup rows) under ``rules``:
    one row per (key, part) with the ``keys`` (by default :func:`key_columns`; more keys
    only make the map finer), the ``x_<dimension>`` columns, ``x_Rule``, ``x_Shared`` and
    ``x_Share``. The rules run once per distinct key, each key weighted by its summed
    EffectiveCost (what proportional splits weigh)."""
    keys = list(keys or key_columns(rules))
    grouped = with_keys(rows, keys).group_by(list(keys)).aggregate(**{_COST: rows[_COST].sum()})
    with (
        materialized(grouped.mutate(x_RowId=ibis.row_number())) as distinct,
        allocation(distinct, rules) as narrow,
    ):
        key_of = distinct.select(*keys, x_KeyId=distinct["x_RowId"])
        placed = narrow.drop(PERIOD, CURRENCY).join(key_of, narrow["x_RowId"] == key_of["x_KeyId"])
        dimensions = [dimension_column(d) for d in rules.dimensions]
        yield placed.select(*keys, *dimensions, RULE, SHARED, SHARE)


def _with_tags(costs: ir.Table, rules: RuleSet) -> ir.Table:
    """``costs`` with each tag a rule or step reads as a column, trimmed and lower-cased:
    one map lookup per tag and row, however many conditions read it."""
    return with_keys(costs, [k for k in key_columns(rules) if k.startswith(_TAG_PREFIX)])


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
    if step.usage is not None:
        # the metric of (billing month, target), a map literal (no memtable: Spark runs it)
        usage = ibis.literal(
            {f"{month}|{target}": float(q) for (month, target), q in step.usage.weights.items()},
            type=dt.Map(dt.string, dt.float64),
        )
        month = grid[PERIOD].strftime("%Y-%m")
        grid = grid.mutate(weight=usage.get(month.concat("|", grid["target"])))
        weight = grid["weight"].fill_null(0.0)
    elif step.split == "proportional":
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
    (so every sum is the allocated amount and the parts of a row add up to the row). A
    row's parts are the allocation map's rows of its key; rows whose key the allocation has
    not seen (imported after it) are ``(unallocated)`` in full."""
    costs = view.costs
    if view.allocations is None or view.allocation is None:
        return costs
    return allocated_rows(costs, view.allocations, view.allocation.keys, view.allocation.dimensions)


def allocated_rows(
    rows: ir.Table, allocations: ir.Table, keys: Sequence[str], dimensions: Sequence[str]
) -> ir.Table:
    """``rows`` joined to an allocation map on its ``keys`` (nulls match nulls), each cost
    scaled by the part's share at the ledger's 12 decimals."""
    joined = _joined(rows, allocations, keys, dimensions)
    return joined.mutate(
        **{m: _scaled(joined[m], joined[SHARE]) for m in MEASURES.values() if m in rows.columns}
    )


def _joined(
    rows: ir.Table, allocations: ir.Table, keys: Sequence[str], dimensions: Sequence[str]
) -> ir.Table:
    """``rows`` with their parts: dimensions, rule, shared step and share (1 and
    ``(unallocated)`` for a row whose key the map lacks); costs not yet scaled."""
    columns = [dimension_column(d) for d in dimensions]
    keyed = with_keys(rows, keys)
    parts = allocations.select(
        **{f"x_Key{i}": allocations[k] for i, k in enumerate(keys)},
        **{c: allocations[c] for c in [*columns, RULE, SHARED, SHARE]},
    )
    joined = keyed.left_join(
        parts, [keyed[k].identical_to(parts[f"x_Key{i}"]) for i, k in enumerate(keys)]
    )
    added = [k for k in keys if k not in rows.columns]
    return joined.drop(*added, *(f"x_Key{i}" for i in range(len(keys)))).mutate(
        **{c: joined[c].fill_null(UNALLOCATED) for c in columns},
        **{SHARE: joined[SHARE].fill_null(ibis.literal(Decimal(1), type=SHARE_TYPE))},
    )


def allocated_daily(
    rows: ir.Table, allocations: ir.Table, keys: Sequence[str], dimensions: Sequence[str]
) -> ir.Table:
    """The daily rollup of the allocated ledger: ``rows`` (ledger rows, or the ledger's
    daily rollup) joined to the allocation map and summed by day × the rollup's columns ×
    the ``x_<dimension>`` columns × ``x_Shared``, in the order of
    :func:`~costprism.ledger.rollups.allocated_daily_schema`. ``Tags`` is left out: a
    query by a tag and an allocation dimension reads the allocated ledger itself."""
    # each sum of exact products (scale 24) is rounded once, not each product: DuckDB's
    # rounding of 38-digit decimals costs about a microsecond a value
    placed = _joined(rows, allocations, keys, dimensions)
    from_rollup = ROW_COUNT in rows.columns
    day = placed[DAY_COLUMN] if from_rollup else placed[DAY_COLUMN].truncate("D")
    kept = [d for d in ROLLUP_DIMENSIONS if d != "Tags"]
    columns = [dimension_column(d) for d in dimensions]
    count = placed[ROW_COUNT].sum() if from_rollup else placed.count()
    return placed.group_by([day.name(DAY_COLUMN), *kept, *columns, SHARED]).aggregate(
        **{
            m: (placed[m] * placed[SHARE]).sum().cast(_decimal(LEDGER_SCHEMA.field(m).type))
            for m in MEASURES.values()
        },
        **{ROW_COUNT: count.cast("int64")},
    )


def _scaled(cost: ir.Value, share: ir.Value) -> ir.Value:
    """``cost × share`` at the ledger's 12 decimals (the exact product has 24)."""
    return (cost * share).round(12).cast(SHARE_TYPE)


def _decimal(kind: Any) -> dt.Decimal:
    return dt.Decimal(kind.precision, kind.scale)
