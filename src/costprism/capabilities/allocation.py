"""Allocation: apply a rule set to the ledger as a new version, list versions, explain a row.

One function per capability; the CLI, the API and the pages call these. Applying holds the
ledger's write lock (no import changes ``costs`` meanwhile), computes the narrow table with
:func:`costprism.engine.allocation.allocation` on DuckDB and publishes it as the next
rule-set version. With ``from_period`` only billing periods from that month on are
recomputed; earlier ones keep the rows of the previous version (a dimension the previous
version lacked reads ``(unallocated)`` there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import ibis

from costprism.allocation.apply import allocate_ledger
from costprism.allocation.rules import UNALLOCATED, RuleSet, dimension_column, parse_rules
from costprism.engine.allocation import (
    RULE,
    SHARE,
    SHARED,
    allocated_costs,
    condition_expression,
)
from costprism.engine.backends import open_ledger
from costprism.engine.filters import Filter
from costprism.engine.query import restrict
from costprism.errors import InputError
from costprism.ledger import Ledger
from costprism.ledger.allocations import AllocationStore, AllocationVersion


@dataclass(frozen=True, kw_only=True)
class ApplyResult:
    version: AllocationVersion
    totals: list[dict[str, Any]]  # per currency: EffectiveCost allocated and unallocated

    def record(self) -> dict[str, Any]:
        return {**self.version.record(), "totals": self.totals}


def apply_rules(ledger: Ledger, rules: RuleSet, *, from_period: date | None = None) -> ApplyResult:
    """Allocate the ledger under ``rules`` as the next rule-set version (holding the write
    lock, so no import changes ``costs`` meanwhile)."""
    with ledger.lock.hold():
        version = allocate_ledger(ledger, rules, from_period=from_period)
    return ApplyResult(version=version, totals=allocation_totals(ledger, version.version))


def rule_versions(ledger: Ledger) -> list[AllocationVersion]:
    return AllocationStore(ledger.root).versions()


def allocation_totals(
    ledger: Ledger, rules_version: int | None = None, scope: Sequence[Filter] = ()
) -> list[dict[str, Any]]:
    """Per billing currency: EffectiveCost in total, allocated (a rule or a shared step
    placed it on at least one dimension value) and unallocated, in the caller's scope."""
    view = open_ledger(ledger, rules_version=rules_version)
    rows = restrict(allocated_costs(view), scope)
    if view.allocation is None:
        return []
    columns = [dimension_column(d) for d in view.allocation.dimensions]
    placed = ibis.or_(*(rows[c] != UNALLOCATED for c in columns)) if columns else ibis.false
    cost = rows["EffectiveCost"]
    totals = rows.group_by("BillingCurrency").aggregate(
        total=cost.sum(),
        allocated=cost.sum(where=placed).fill_null(0),
        unallocated=cost.sum(where=~placed).fill_null(0),
    )
    return list(totals.order_by("BillingCurrency").to_pyarrow().to_pylist())


@dataclass(frozen=True, kw_only=True)
class RuleVerdict:
    """How one rule judged one row: each condition with the row's value and the outcome."""

    name: str
    line: int
    matched: bool
    conditions: list[dict[str, Any]]


@dataclass(frozen=True, kw_only=True)
class Explanation:
    row_id: int
    rules_version: int
    verdicts: list[RuleVerdict]  # the rules tried, in order, up to the one that matched
    parts: list[dict[str, Any]]  # the stored allocation of the row

    def record(self) -> dict[str, Any]:
        return {
            "x_RowId": self.row_id,
            "rules_version": self.rules_version,
            "rules": [
                {"name": v.name, "line": v.line, "matched": v.matched, "conditions": v.conditions}
                for v in self.verdicts
            ],
            "parts": self.parts,
        }


def explain_row(
    ledger: Ledger,
    row_id: int,
    *,
    rules_version: int | None = None,
    scope: Sequence[Filter] = (),
) -> Explanation:
    """Which rule placed ledger row ``row_id`` and why each earlier rule did not, with the
    row's stored allocation parts. A row outside ``scope`` is reported as not found."""
    view = open_ledger(ledger, rules_version=rules_version)
    if view.allocation is None:
        raise InputError(
            "no allocation rules have been applied; run costprism rules apply FILE",
            code="rules.none",
        )
    rules = parse_rules(view.allocation.rules_text, f"rules version {view.allocation.version}")
    costs = restrict(view.costs, scope)
    row = costs.filter(costs["x_RowId"] == row_id)
    checks: dict[str, Any] = {}
    for i, rule in enumerate(rules.rules):
        for j, condition in enumerate(rule.match):
            checks[f"c{i}_{j}"] = condition_expression(row, condition, rules)
            checks[f"v{i}_{j}"] = _shown_value(row, condition)
    found = row.select(**checks).to_pyarrow().to_pylist() if checks else []
    if not found and not row.count().to_pyarrow().as_py():
        raise InputError(
            f"ledger row {row_id} is not in the ledger (or not in your scope); "
            "take x_RowId from a drill-down or costprism rows",
            code="rules.unknown_row",
        )
    values = found[0] if found else {}
    verdicts = []
    for i, rule in enumerate(rules.rules):
        conditions = [
            {
                "condition": str(condition),
                "value": values[f"v{i}_{j}"],
                "holds": bool(values[f"c{i}_{j}"]),
            }
            for j, condition in enumerate(rule.match)
        ]
        matched = all(c["holds"] for c in conditions)
        verdicts.append(
            RuleVerdict(name=rule.name, line=rule.line, matched=matched, conditions=conditions)
        )
        if matched:
            break
    return Explanation(
        row_id=row_id,
        rules_version=view.allocation.version,
        verdicts=verdicts,
        parts=_parts(view, row_id, rules),
    )


def _parts(view: Any, row_id: int, rules: RuleSet) -> list[dict[str, Any]]:
    table = allocated_costs(view)
    mine = table.filter(table["x_RowId"] == row_id)
    columns = [dimension_column(d) for d in rules.dimensions]
    parts = mine.select(*columns, RULE, SHARED, SHARE, "EffectiveCost", "BillingCurrency")
    return list(parts.order_by([SHARED, *columns]).to_pyarrow().to_pylist())


def _shown_value(row: Any, condition: Filter) -> Any:
    from costprism.engine.query import dimension

    return dimension(row, condition.column).cast("string")
