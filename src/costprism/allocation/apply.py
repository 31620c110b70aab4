"""Computing and publishing one rule-set version (the caller holds the ledger's write lock).

:func:`allocate_ledger` is what ``costprism rules apply`` runs (through
:func:`costprism.capabilities.allocation.apply_rules`, which takes the lock) and what an
import runs after its commit when rules are in force, from the first billing period it
touched: new rows are then allocated at once, and the allocated rollup stays current.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime

import ibis
import ibis.expr.types as ir

from costprism.allocation.rules import UNALLOCATED, RuleSet, dimension_column, parse_rules
from costprism.engine.allocation import (
    PERIOD,
    RULE,
    SHARE,
    SHARE_TYPE,
    SHARED,
    allocated_daily,
    key_columns,
    keyed_allocation,
    source_columns,
    with_keys,
)
from costprism.engine.backends import LedgerView, open_ledger
from costprism.errors import InputError
from costprism.ledger import Ledger
from costprism.ledger.allocations import DAILY, AllocationStore, AllocationVersion

PART_FILE = "part-0.parquet"
KEPT_FILE = "part-kept.parquet"


def allocate_ledger(
    ledger: Ledger, rules: RuleSet, *, from_period: date | None = None, memory_limit: str = "2GB"
) -> AllocationVersion:
    """Allocate the newest ledger version under ``rules`` as the next rule-set version:
    every billing period, or those from ``from_period``'s month on (earlier ones keep the
    previous version's results). The rules run on the distinct keys of the daily rollup
    when it holds every key column, else of the ledger rows. The caller holds the write
    lock."""
    store = AllocationStore(ledger.root)
    view = open_ledger(ledger)
    spill = store.spill()  # DuckDB writes past the memory limit here
    view.backend.raw_sql(f"SET memory_limit = '{memory_limit}'")
    view.backend.raw_sql(f"SET temp_directory = '{spill}'")
    view.backend.raw_sql("SET preserve_insertion_order = false")
    view.backend.raw_sql("SET enable_progress_bar = false")
    previous = store.latest()
    if from_period is not None and previous is None:
        raise InputError(
            "--from needs an earlier rules version to keep the months before it; "
            "apply the rules once without --from",
            code="rules.no_previous",
        )
    start = _month_start(from_period) if from_period else None
    kept = previous if previous is not None and start is not None else None
    # keep the earlier months' keys too, so their rows still find their parts
    keys = _union(key_columns(rules), kept.keys if kept else ())
    rows = _rows(view, keys)
    scratch = store.scratch()
    recomputed = rows if start is None else rows.filter(rows[PERIOD] >= start)
    with keyed_allocation(recomputed, rules, keys) as mapped:
        view.backend.to_parquet(mapped, scratch / PART_FILE)
    if kept is not None and start is not None and kept.files:
        earlier = _earlier_parts(view, rows.filter(rows[PERIOD] < start), kept, keys, rules)
        view.backend.to_parquet(earlier, scratch / KEPT_FILE)
    parts = sorted(str(f) for f in scratch.glob("*.parquet"))
    count = 0
    if parts:
        (scratch / DAILY).mkdir()
        allocations = view.backend.read_parquet(parts)
        count = int(allocations.count().execute())
        daily = allocated_daily(rows, allocations, keys, rules.dimensions)
        view.backend.to_parquet(daily, scratch / DAILY / PART_FILE)
    return store.publish(
        scratch,
        rules_text=rules.text,
        dimensions=rules.dimensions,
        keys=keys,
        digest=rules.digest,
        costs_version=view.version,
        recomputed_from=start.date().isoformat() if start else None,
        rows=count,
        files=rules.files,
    )


def reallocate(ledger: Ledger, periods: list[date]) -> AllocationVersion | None:
    """After an import: re-apply the rules in force from the first billing period it
    touched (None when no rules were ever applied). The caller holds the write lock."""
    latest = AllocationStore(ledger.root).latest()
    if latest is None or not periods:
        return None
    rules = parse_rules(latest.rules_text, f"rules version {latest.version}", folder=latest.path)
    return allocate_ledger(ledger, rules, from_period=min(periods))


def _month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=UTC)


def _union(first: Sequence[str], second: Sequence[str]) -> tuple[str, ...]:
    return (*first, *(k for k in second if k not in first))


def _rows(view: LedgerView, keys: Sequence[str]) -> ir.Table:
    """What the rules read: the daily rollup when it holds every key column (about a
    hundredth of the ledger's rows, tag keys already in compared form), else the ledger."""
    daily = view.daily
    if daily is not None and source_columns(keys) <= set(daily.columns):
        return daily
    return view.costs


def _earlier_parts(
    view: LedgerView,
    rows: ir.Table,
    previous: AllocationVersion,
    keys: Sequence[str],
    rules: RuleSet,
) -> ir.Table:
    """The previous version's parts of the months before ``--from``, keyed by ``keys`` (a
    superset of the previous version's keys): each key's parts are its previous key's."""
    distinct = with_keys(rows, keys).select(*keys).distinct()
    old = view.backend.read_parquet(previous.files)
    have = set(previous.dimensions)
    renamed = old.select(
        **{f"x_Old{i}": old[k] for i, k in enumerate(previous.keys)},
        **{
            dimension_column(d): old[dimension_column(d)]
            if d in have
            else ibis.literal(UNALLOCATED)
            for d in rules.dimensions
        },
        **{c: old[c] for c in (RULE, SHARED, SHARE)},
    )
    joined = distinct.left_join(
        renamed,
        [distinct[k].identical_to(renamed[f"x_Old{i}"]) for i, k in enumerate(previous.keys)],
    )
    columns = [dimension_column(d) for d in rules.dimensions]
    return joined.select(
        *keys,
        *(joined[c].fill_null(UNALLOCATED).name(c) for c in columns),
        RULE,
        SHARED,
        joined[SHARE].fill_null(ibis.literal(1, type=SHARE_TYPE)).name(SHARE),
    )
