"""Computing and publishing one rule-set version (the caller holds the ledger's write lock).

:func:`allocate_ledger` is what ``costprism rules apply`` runs (through
:func:`costprism.capabilities.allocation.apply_rules`, which takes the lock) and what an
import runs after its commit when rules are in force, from the first billing period it
touched: new rows are then allocated at once, and the allocated rollup stays current.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from costprism.allocation.rules import UNALLOCATED, RuleSet, parse_rules
from costprism.engine.allocation import allocation
from costprism.engine.backends import open_ledger
from costprism.errors import InputError
from costprism.ledger import Ledger
from costprism.ledger.allocations import DAILY, AllocationStore, AllocationVersion
from costprism.ledger.rollups import write_allocated_daily

PART_FILE = "part-0.parquet"
KEPT_FILE = "part-kept.parquet"


def allocate_ledger(
    ledger: Ledger, rules: RuleSet, *, from_period: date | None = None, memory_limit: str = "2GB"
) -> AllocationVersion:
    """Allocate the newest ledger version under ``rules`` as the next rule-set version:
    every billing period, or those from ``from_period``'s month on (earlier ones keep the
    previous version's rows). The caller holds the write lock."""
    store = AllocationStore(ledger.root)
    view = open_ledger(ledger)
    spill = store.spill()  # DuckDB writes past the memory limit here
    view.backend.raw_sql(f"SET memory_limit = '{memory_limit}'")
    view.backend.raw_sql(f"SET temp_directory = '{spill}'")
    view.backend.raw_sql("SET preserve_insertion_order = false")
    previous = store.latest()
    if from_period is not None and previous is None:
        raise InputError(
            "--from needs an earlier rules version to keep the months before it; "
            "apply the rules once without --from",
            code="rules.no_previous",
        )
    costs = view.costs
    start = _month_start(from_period) if from_period else None
    if start is not None:
        costs = costs.filter(costs["BillingPeriodStart"] >= start)
    scratch = store.scratch()
    with allocation(costs, rules) as narrow:
        view.backend.to_parquet(narrow, scratch / PART_FILE)
    if previous is not None and start is not None and previous.files:
        _keep_earlier(view.backend, previous, rules, start, scratch)
    rows = _count(view.backend, scratch)
    costs_files, _ = ledger.costs.files(view.version)
    parts = sorted(str(f) for f in scratch.glob("*.parquet"))
    if costs_files and parts:
        (scratch / DAILY).mkdir()
        write_allocated_daily(
            view.backend.con, costs_files, parts, rules.dimensions, scratch / DAILY / PART_FILE
        )
    return store.publish(
        scratch,
        rules_text=rules.text,
        dimensions=rules.dimensions,
        digest=rules.digest,
        costs_version=view.version,
        recomputed_from=start.date().isoformat() if start else None,
        rows=rows,
    )


def reallocate(ledger: Ledger, periods: list[date]) -> AllocationVersion | None:
    """After an import: re-apply the rules in force from the first billing period it
    touched (None when no rules were ever applied). The caller holds the write lock."""
    latest = AllocationStore(ledger.root).latest()
    if latest is None or not periods:
        return None
    rules = parse_rules(latest.rules_text, f"rules version {latest.version}")
    return allocate_ledger(ledger, rules, from_period=min(periods))


def _month_start(day: date) -> datetime:
    return datetime(day.year, day.month, 1, tzinfo=UTC)


def _keep_earlier(
    backend: Any, previous: AllocationVersion, rules: RuleSet, start: datetime, scratch: Path
) -> None:
    """Copy the previous version's rows of billing periods before ``start``."""
    have = set(previous.dimensions)
    columns = [
        f'"x_{d}"' if d in have else f"'{UNALLOCATED}' AS \"x_{d}\"" for d in rules.dimensions
    ]
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in previous.files)
    target = str(scratch / KEPT_FILE).replace("'", "''")
    backend.raw_sql(
        "COPY (SELECT x_RowId, BillingPeriodStart, BillingCurrency, "
        f"{', '.join([*columns, 'x_Rule', 'x_Shared', 'x_Share'])} "
        f"FROM read_parquet([{listed}]) WHERE BillingPeriodStart < "
        f"TIMESTAMPTZ '{start.isoformat()}') TO '{target}' (FORMAT parquet)"
    )


def _count(backend: Any, scratch: Path) -> int:
    pattern = str(scratch / "*.parquet").replace("'", "''")
    result = backend.raw_sql(f"SELECT count(*) FROM read_parquet('{pattern}')").fetchone()
    return int(result[0]) if result else 0
