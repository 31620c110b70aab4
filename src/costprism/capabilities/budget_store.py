"""Budgets in the metadata database: apply a file, save one from the form, delete one,
release holdback, read them back. Every change is audited in the same unit of work
(``budgets.create``, ``budgets.update``, ``budgets.delete``, ``budgets.release-holdback``,
each with the budget's values before and after).

**Who sees a budget.** A budget's figures are sums over its scope; a caller sees a budget
only when that whole scope lies inside the caller's own scope (:func:`covers`: each
condition of the caller's scope is implied by a condition of the budget's, e.g. a caller
scoped to ``team=payments`` sees ``team=payments`` and ``team=payments`` +
``ServiceName=…`` budgets, not a company-wide one nor one on ``team in (payments,
data)``). The figures are computed under the caller's scope as well (the engine ANDs it
into every query), so they are the budget's own. Changing a budget needs
``manage-budgets`` and a budget the caller sees, before and after the change.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from costprism.budgets.periods import Period
from costprism.budgets.spec import NAME, BudgetFile, BudgetSpec, check_basis, check_period
from costprism.capabilities.access import scope_filters
from costprism.db import Database, record_event, utcnow
from costprism.db.models import Budget
from costprism.engine.filters import Filter, normalize_tag_key
from costprism.errors import AccessError, InputError, NotFound


@dataclass(frozen=True, kw_only=True)
class StoredBudget:
    """A budget as stored: its definition, the holdback released per period (the
    period's first day → amount) and who changed it last."""

    spec: BudgetSpec
    released: Mapping[date, Decimal] = field(default_factory=lambda: MappingProxyType({}))
    updated_at: datetime | None = None
    updated_by: str | None = None

    @property
    def name(self) -> str:
        return self.spec.name

    def released_in(self, period: Period) -> Decimal:
        return min(self.released.get(period.start, Decimal(0)), self.spec.holdback)

    def available(self, period: Period) -> Decimal:
        """What the owners may spend in ``period``: amount - holdback + released."""
        return self.spec.amount - self.spec.holdback + self.released_in(period)

    def record(self) -> dict[str, Any]:
        return {
            **self.spec.record(),
            "released": {d.isoformat(): float(v) for d, v in sorted(self.released.items())},
            "updated_at": self.updated_at.isoformat() + "Z" if self.updated_at else None,
            "updated_by": self.updated_by,
        }


@dataclass(frozen=True, kw_only=True)
class ApplyResult:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    deleted: tuple[str, ...]

    def record(self) -> dict[str, list[str]]:
        return {
            "created": list(self.created),
            "updated": list(self.updated),
            "unchanged": list(self.unchanged),
            "deleted": list(self.deleted),
        }


def apply_budgets(
    db: Database,
    budgets: BudgetFile,
    *,
    actor: str | None,
    prune: bool = False,
    scope: Sequence[Filter] = (),
    address: str = "",
) -> ApplyResult:
    """Create or update every budget of the file (one unit of work); with ``prune``, delete
    the stored budgets the file does not name. ``scope`` is the caller's."""
    created, updated, unchanged, deleted = [], [], [], []
    with db.session() as session:
        stored = {b.name: b for b in session.scalars(select(Budget)).all()}
        for spec in budgets.budgets:
            row = stored.get(spec.name)
            _check_sees(spec, scope)
            if row is None:
                _create(session, spec, actor, address)
                created.append(spec.name)
            elif _update(session, row, spec, actor, address, scope):
                updated.append(spec.name)
            else:
                unchanged.append(spec.name)
        if prune:
            named = {b.name for b in budgets.budgets}
            for name, row in sorted(stored.items()):
                if name not in named:
                    _delete(session, row, actor, address, scope)
                    deleted.append(name)
    return ApplyResult(
        created=tuple(created),
        updated=tuple(updated),
        unchanged=tuple(unchanged),
        deleted=tuple(deleted),
    )


def save_budget(
    db: Database,
    spec: BudgetSpec,
    *,
    actor: str | None,
    scope: Sequence[Filter] = (),
    address: str = "",
    replace: str | None = None,
) -> StoredBudget:
    """Create ``spec``, or change the budget named ``replace`` (default: ``spec.name``) into
    it (a rename keeps the released holdback)."""
    _check_sees(spec, scope)
    with db.session() as session:
        row = _row(session, replace or spec.name, required=replace is not None)
        if row is None:
            row = _create(session, spec, actor, address)
        else:
            if replace is not None and spec.name != replace and _row(session, spec.name):
                raise InputError(
                    f"a budget named {spec.name!r} exists already; pick another name",
                    code="budgets.exists",
                )
            _update(session, row, spec, actor, address, scope)
        return stored_budget(row)


def delete_budget(
    db: Database, name: str, *, actor: str | None, scope: Sequence[Filter] = (), address: str = ""
) -> None:
    with db.session() as session:
        row = _row(session, name, required=True)
        assert row is not None
        _delete(session, row, actor, address, scope)


def release_holdback(
    db: Database,
    name: str,
    period: Period,
    *,
    actor: str | None,
    amount: Decimal | None = None,
    scope: Sequence[Filter] = (),
    address: str = "",
) -> StoredBudget:
    """Release ``amount`` (default: all that is still held back) of the budget's holdback
    in ``period``; audited as ``budgets.release-holdback`` with the amounts before and
    after."""
    with db.session() as session:
        row = _row(session, name, required=True)
        assert row is not None
        budget = stored_budget(row)
        _check_sees(budget.spec, scope)
        if budget.spec.period != period.kind:
            raise InputError(
                f"budget {name!r} is per {budget.spec.period}, not per {period.kind}",
                code="budgets.bad_period",
            )
        held = budget.spec.holdback - budget.released_in(period)
        chosen = held if amount is None else amount
        if held <= 0:
            raise InputError(
                f"budget {name!r} holds nothing back in {period.label} (holdback "
                f"{budget.spec.holdback}, all released)",
                code="budgets.nothing_held",
            )
        if not chosen.is_finite() or chosen <= 0 or chosen > held:
            raise InputError(
                f"release amount {chosen} must be above 0 and at most the {held} still held "
                f"back in {period.label}",
                code="budgets.bad_amount",
            )
        before = {"period": period.label, "released": str(budget.released_in(period)),
                  "held": str(held)}  # fmt: skip
        released = dict(row.released or {})
        released[period.start.isoformat()] = str(budget.released_in(period) + chosen)
        row.released = released
        row.updated_at, row.updated_by = utcnow(), actor
        after = {"period": period.label, "released": released[period.start.isoformat()],
                 "held": str(held - chosen)}  # fmt: skip
        record_event(
            session, actor=actor, action="budgets.release-holdback", target=name,
            before=before, after=after, address=address,
        )  # fmt: skip
        return stored_budget(row)


def release_amount(text: str | None, what: str = "--amount") -> Decimal | None:
    """A release amount as typed (None: release all still held back)."""
    if text is None or not text.strip():
        return None
    try:
        return Decimal(text.strip())
    except InvalidOperation:
        raise InputError(
            f"{what} {text!r} is not a number; write e.g. 500 or 1250.50",
            code="budgets.bad_amount",
        ) from None


def list_budgets(db: Database, scope: Sequence[Filter] = ()) -> tuple[StoredBudget, ...]:
    """The budgets ``scope`` sees, by name."""
    with db.session() as session:
        rows = session.scalars(select(Budget).order_by(Budget.name)).all()
        found = tuple(stored_budget(row) for row in rows)
    return tuple(b for b in found if covers(b.spec.scope, scope))


def get_budget(db: Database, name: str, scope: Sequence[Filter] = ()) -> StoredBudget:
    """One budget the caller sees (else :class:`NotFound`, as if it did not exist)."""
    with db.session() as session:
        row = _row(session, name, required=True)
        assert row is not None
        found = stored_budget(row)
    if not covers(found.spec.scope, scope):
        raise _unknown(name)
    return found


def stored_budget(row: Budget) -> StoredBudget:
    spec = BudgetSpec(
        name=row.name,
        scope=scope_filters(row.scope),
        period=check_period(row.period),
        amount=Decimal(row.amount),
        currency=row.currency,
        basis=check_basis(row.basis),
        actual_thresholds=tuple(Decimal(t) for t in row.actual_thresholds),
        forecast_thresholds=tuple(Decimal(t) for t in row.forecast_thresholds),
        owners=tuple(row.owners),
        holdback=Decimal(row.holdback),
    )
    released = {date.fromisoformat(k): _decimal(v) for k, v in (row.released or {}).items()}
    return StoredBudget(
        spec=spec,
        released=MappingProxyType(released),
        updated_at=row.updated_at,
        updated_by=row.updated_by,
    )


# --- who sees what ----------------------------------------------------------------------


def covers(budget_scope: Sequence[Filter], caller_scope: Sequence[Filter]) -> bool:
    """Whether every row the budget's scope selects lies in the caller's scope: each
    condition of the caller's is implied by one of the budget's (a syntactic check that
    errs on the side of hiding)."""
    return all(any(_implies(b, c) for b in budget_scope) for c in caller_scope)


def _implies(given: Filter, wanted: Filter) -> bool:
    if _column_key(given.column) != _column_key(wanted.column):
        return False
    if given.op == wanted.op and set(given.values) == set(wanted.values):
        return True
    chosen = _chosen_values(given)
    if wanted.op == "is not null":
        return chosen is not None or given.op in ("like", "is not null")
    if chosen is None:  # the given condition admits an open set of values
        if given.op == "not in" and wanted.op in ("!=", "not in"):
            return set(wanted.values) <= set(given.values)
        return (
            given.op == "!=" and wanted.op == "not in" and set(wanted.values) <= {given.values[0]}
        )
    if wanted.op in ("=", "in"):
        return chosen <= set(wanted.values)
    if wanted.op in ("!=", "not in"):
        return not (chosen & set(wanted.values))
    if wanted.op == "like":
        pattern = _like(wanted.values[0])
        return all(pattern.fullmatch(v) for v in chosen)
    return False


def _chosen_values(condition: Filter) -> set[str] | None:
    """The values a ``=`` or ``in`` condition admits (None: an open set)."""
    return set(condition.values) if condition.op in ("=", "in") else None


def _column_key(column: str) -> str:
    if column.startswith("tag:"):
        return "tag:" + normalize_tag_key(column[4:])
    return column.removeprefix("x_") if column != "x_SourceId" else column


def _like(pattern: str) -> re.Pattern[str]:
    parts = (".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.compile("".join(parts), re.DOTALL)


def _check_sees(spec: BudgetSpec, scope: Sequence[Filter]) -> None:
    if not covers(spec.scope, scope):
        mine = " and ".join(str(f) for f in scope)
        raise AccessError(
            f"budget {spec.name!r} reaches beyond your scope ({mine}); give it a scope inside "
            "yours, e.g. one that repeats your scope's conditions",
            code="access.denied",
            status=403,
        )


# --- rows -------------------------------------------------------------------------------


def _row(session: Session, name: str, *, required: bool = False) -> Budget | None:
    if not NAME.match(name):  # no such name can be stored (nor sent to every database)
        if required:
            raise _unknown(name)
        return None
    row = session.scalars(select(Budget).where(Budget.name == name)).one_or_none()
    if row is None and required:
        raise _unknown(name)
    return row


def _unknown(name: str) -> NotFound:
    return NotFound(
        f"no budget named {name!r} (in your scope); costprism budgets list shows them",
        code="budgets.unknown",
    )


def _create(session: Session, spec: BudgetSpec, actor: str | None, address: str) -> Budget:
    row = Budget(name=spec.name, released={}, created_at=utcnow(), updated_by=actor)
    _fill(row, spec)
    session.add(row)
    session.flush()
    record_event(
        session, actor=actor, action="budgets.create", target=spec.name,
        after=_snapshot(row), address=address,
    )  # fmt: skip
    return row


def _update(
    session: Session,
    row: Budget,
    spec: BudgetSpec,
    actor: str | None,
    address: str,
    scope: Sequence[Filter],
) -> bool:
    """Change ``row`` into ``spec``; False (nothing audited) when nothing differs."""
    _check_sees(stored_budget(row).spec, scope)
    before = _snapshot(row)
    _fill(row, spec)
    after = _snapshot(row)
    if before == after:
        return False
    row.updated_at, row.updated_by = utcnow(), actor
    record_event(
        session, actor=actor, action="budgets.update", target=spec.name,
        before=before, after=after, address=address,
    )  # fmt: skip
    return True


def _delete(
    session: Session, row: Budget, actor: str | None, address: str, scope: Sequence[Filter]
) -> None:
    _check_sees(stored_budget(row).spec, scope)
    record_event(
        session, actor=actor, action="budgets.delete", target=row.name,
        before=_snapshot(row), address=address,
    )  # fmt: skip
    session.delete(row)


def _fill(row: Budget, spec: BudgetSpec) -> None:
    row.name = spec.name
    row.scope = "\n".join(str(f) for f in spec.scope)
    row.period = spec.period
    row.amount = str(spec.amount)
    row.currency = spec.currency
    row.basis = spec.basis
    row.actual_thresholds = [str(t) for t in spec.actual_thresholds]
    row.forecast_thresholds = [str(t) for t in spec.forecast_thresholds]
    row.owners = list(spec.owners)
    row.holdback = str(spec.holdback)


def _snapshot(row: Budget) -> dict[str, Any]:
    return {
        "name": row.name,
        "scope": row.scope.splitlines(),
        "period": row.period,
        "amount": row.amount,
        "currency": row.currency,
        "basis": row.basis,
        "actual_thresholds": list(row.actual_thresholds),
        "forecast_thresholds": list(row.forecast_thresholds),
        "owners": list(row.owners),
        "holdback": row.holdback,
        "released": dict(row.released or {}),
    }


def _decimal(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        return Decimal(0)
