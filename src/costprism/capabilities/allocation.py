"""Allocation: apply a rule set to the ledger as a new version, list versions, explain a row.

One function per capability; the CLI, the API and the pages call these. Applying holds the
ledger's write lock (no import changes ``costs`` meanwhile), computes the narrow table with
:func:`costprism.engine.allocation.allocation` on DuckDB and publishes it as the next
rule-set version. With ``from_period`` only billing periods from that month on are
recomputed; earlier ones keep the rows of the previous version (a dimension the previous
version lacked reads ``(unallocated)`` there).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import ibis

from costprism.allocation.apply import allocate_ledger
from costprism.allocation.rules import UNALLOCATED, RuleSet, dimension_column, parse_rules
from costprism.capabilities.reporting import cost_report
from costprism.engine.allocation import (
    RULE,
    SHARE,
    SHARED,
    allocated_costs,
    condition_expression,
)
from costprism.engine.backends import open_ledger
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery, cost_rows_in_range, restrict
from costprism.engine.rollups import cost_source
from costprism.errors import InputError
from costprism.ledger import Ledger
from costprism.ledger.allocations import AllocationStore, AllocationVersion

if TYPE_CHECKING:
    from costprism.db import Database
    from costprism.engine.backends import LedgerView

AUDIT_ACTION = "rules.apply"


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
    return view_allocation_totals(view, scope)


def view_allocation_totals(view: LedgerView, scope: Sequence[Filter] = ()) -> list[dict[str, Any]]:
    """:func:`allocation_totals` over an open view (its rule-set version)."""
    if view.allocation is None:
        return []
    columns = [dimension_column(d) for d in view.allocation.dimensions]
    # the allocated rollup when it can answer (it holds every dimension), else the rows
    rows = restrict(cost_source(view, CostQuery(group_by=tuple(columns)), scope), scope)
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
    rules = parse_rules(
        view.allocation.rules_text,
        f"rules version {view.allocation.version}",
        folder=view.allocation.path,
    )
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


# --- applying edited rules text (the web editor and POST /api/v1/rules) -----------------


def rules_diff(before: str, after: str, *, version: int | None = None) -> str:
    """A unified diff from the rules text of ``version`` (empty when none) to ``after``."""
    old = f"rules version {version}" if version is not None else "no rules"
    lines = difflib.unified_diff(
        before.splitlines(keepends=True),
        after.splitlines(keepends=True),
        fromfile=old,
        tofile="new rules",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def current_rules_text(ledger: Ledger) -> tuple[int | None, str]:
    """The newest rule-set version and its rules text (``(None, "")`` before any)."""
    latest = AllocationStore(ledger.root).latest()
    return (latest.version, latest.rules_text) if latest else (None, "")


def parse_rules_text(ledger: Ledger, text: str) -> RuleSet:
    """Rules edited in the web app: their ``usage:`` files are read from the newest
    version's folder (where the last ``costprism rules apply`` kept them)."""
    latest = AllocationStore(ledger.root).latest()
    return parse_rules(text, "rules", folder=latest.path if latest else None)


def apply_rules_text(
    ledger: Ledger,
    db: Database,
    text: str,
    *,
    actor: str | None,
    from_period: date | None = None,
    address: str = "",
) -> ApplyResult:
    """Parse ``text`` (an :class:`InputError` with line:column, nothing applied, if it is
    wrong), apply it as the next rule-set version and record an audit event ``rules.apply``
    whose before/after hold the versions, digests and the unified diff between the texts."""
    rules = parse_rules_text(ledger, text)
    previous, before = current_rules_text(ledger)
    result = apply_rules(ledger, rules, from_period=from_period)
    from costprism.db import record_event

    with db.session() as session:
        record_event(
            session,
            actor=actor,
            action=AUDIT_ACTION,
            target=f"rules version {result.version.version}",
            before={"rules_version": previous, "digest": _digest_of(ledger, previous)},
            after={
                "rules_version": result.version.version,
                "digest": result.version.digest,
                "recomputed_from": result.version.recomputed_from,
                "diff": rules_diff(before, text, version=previous),
            },
            address=address,
        )
    return result


def _digest_of(ledger: Ledger, version: int | None) -> str | None:
    if version is None:
        return None
    found = AllocationStore(ledger.root).get(version)
    return found.digest if found else None


def parse_month(text: str | None, field: str = "--from") -> date | None:
    """``YYYY-MM`` (or a date) as the first day of that month; None for empty text."""
    if text is None or not text.strip():
        return None
    text = text.strip()
    try:
        day = date.fromisoformat(f"{text}-01" if len(text) == 7 else text)
    except ValueError:
        raise InputError(
            f"{field} {text!r} is not a month; write YYYY-MM, e.g. 2024-09",
            code="input.bad_option",
        ) from None
    return day.replace(day=1)


# --- KPIs (finops-framework §1.8) over one view, in the caller's scope ------------------


@dataclass(frozen=True, kw_only=True)
class AllocationKpis:
    """Per billing currency, EffectiveCost in ``[start, end)`` (ChargePeriodStart):

    * ``ledger``: the ledger's total (the same cost query as every report);
    * ``parts``: the sum of the row's allocated parts (each cost × its share);
    * ``allocated``: parts placed on at least one dimension value other than
      ``(unallocated)`` — ``allocated_percent`` = allocated / parts;
    * ``shared``: parts a shared step moved (``x_Shared`` not null);
    * ``unallocated_shared``: of those, parts still ``(unallocated)`` on at least one
      dimension — ``unallocated_shared_percent`` = unallocated_shared / shared;
    * ``apportionment_percent`` = parts / ledger (must be 100.00).
    """

    rules_version: int | None
    dimensions: tuple[str, ...]
    currencies: list[dict[str, Any]]

    def record(self) -> dict[str, Any]:
        return {
            "rules_version": self.rules_version,
            "dimensions": list(self.dimensions),
            "currencies": self.currencies,
        }


def allocation_kpis(
    view: LedgerView,
    scope: Sequence[Filter] = (),
    *,
    start: date | None = None,
    end: date | None = None,
) -> AllocationKpis:
    """% allocated, % unallocated shared cost and apportionment validation per currency."""
    if view.allocation is None:
        return AllocationKpis(rules_version=None, dimensions=(), currencies=[])
    ledger_query = CostQuery(granularity="total", start=start, end=end)
    ledger_totals = {
        row["BillingCurrency"]: row["EffectiveCost"]
        for row in cost_report(view, ledger_query, scope).rows
    }
    columns = [dimension_column(d) for d in view.allocation.dimensions]
    source = cost_source(view, CostQuery(group_by=(*columns, SHARED)), scope)
    rows = cost_rows_in_range(restrict(source, scope), ledger_query)
    placed = ibis.or_(*(rows[c] != UNALLOCATED for c in columns)) if columns else ibis.false
    open_ = ibis.or_(*(rows[c] == UNALLOCATED for c in columns)) if columns else ibis.true
    shared = rows[SHARED].notnull()
    cost = rows["EffectiveCost"]
    sums = rows.group_by("BillingCurrency").aggregate(
        parts=cost.sum(),
        allocated=cost.sum(where=placed).fill_null(0),
        shared=cost.sum(where=shared).fill_null(0),
        unallocated_shared=cost.sum(where=shared & open_).fill_null(0),
    )
    found = {r["BillingCurrency"]: r for r in sums.to_pyarrow().to_pylist()}
    currencies = []
    for currency in sorted(set(found) | set(ledger_totals)):
        row = found.get(currency, {})
        parts = row.get("parts") or 0
        allocated = row.get("allocated") or 0
        moved = row.get("shared") or 0
        stuck = row.get("unallocated_shared") or 0
        ledger_total = ledger_totals.get(currency) or 0
        currencies.append(
            {
                "BillingCurrency": currency,
                "ledger": ledger_total,
                "parts": parts,
                "allocated": allocated,
                "allocated_percent": _percent(allocated, parts),
                "shared": moved,
                "unallocated_shared": stuck,
                "unallocated_shared_percent": _percent(stuck, moved),
                "apportionment_percent": _percent(parts, ledger_total),
            }
        )
    return AllocationKpis(
        rules_version=view.allocation.version,
        dimensions=tuple(view.allocation.dimensions),
        currencies=currencies,
    )


def _percent(part: Any, whole: Any) -> float | None:
    """``part / whole`` in percent, rounded to 2 decimals (None when ``whole`` is zero)."""
    return round(float(part) / float(whole) * 100, 2) if whole else None
