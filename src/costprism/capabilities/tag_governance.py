"""Tag governance: set the ledger's tag policy, and report compliance with it per scope.

One function per capability; ``costprism tags``, ``GET /api/v1/tags/report``, the ``/tags``
page and the home pages' ``tag-compliance`` panel call these. The figures are money-weighted
(``EffectiveCost``), per ``BillingCurrency`` and month of ``ChargePeriodStart``, with row
counts beside them; :mod:`costprism.engine.tagging` defines taggable, untagged and
compliant. The KPIs, in percent of the month's taggable cost:

- **% untagged** = untagged cost / taggable cost × 100
- **% tag-policy compliant** = compliant cost / taggable cost × 100

(None when the month has no taggable cost.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from costprism.allocation.tag_policy import TagPolicy, save_policy, saved_policy
from costprism.capabilities.home import add_months
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.tagging import (
    compliance_rows,
    key_checks,
    monthly_compliance,
    noncompliant_resources,
)
from costprism.errors import NotFound, UserError
from costprism.ledger import Ledger

MONTHS = 13
TOP = 20
MAX_MONTHS = 120
MAX_TOP = 1000
MEASURE = "EffectiveCost"


def apply_policy(ledger: Ledger, policy: TagPolicy) -> Path:
    """Make ``policy`` the ledger's active tag policy (replacing the one before)."""
    return save_policy(ledger.root, policy)


def active_policy(ledger: Ledger) -> TagPolicy | None:
    """The ledger's tag policy, None when none is set."""
    return saved_policy(ledger.root)


def require_policy(ledger: Ledger) -> TagPolicy:
    """The ledger's tag policy; a :class:`NotFound` saying how to set one if there is none."""
    policy = active_policy(ledger)
    if policy is None:
        raise NotFound(
            "no tag policy is set; write one (see docs/how-to/tag-governance.md) and run "
            "costprism tags policy apply FILE",
            code="tags.no_policy",
        )
    return policy


@dataclass(frozen=True, kw_only=True)
class MonthCompliance:
    """One month and currency: the cost (and rows) in total, taggable, untagged, compliant."""

    month: date
    currency: str
    total_cost: Decimal
    taggable_cost: Decimal
    untagged_cost: Decimal
    compliant_cost: Decimal
    rows: int
    taggable_rows: int
    untagged_rows: int
    compliant_rows: int

    @property
    def untagged_percent(self) -> float | None:
        return _percent(self.untagged_cost, self.taggable_cost)

    @property
    def compliant_percent(self) -> float | None:
        return _percent(self.compliant_cost, self.taggable_cost)

    def record(self) -> dict[str, Any]:
        return {
            "month": _month(self.month),
            "BillingCurrency": self.currency,
            "total_cost": float(self.total_cost),
            "taggable_cost": float(self.taggable_cost),
            "untagged_cost": float(self.untagged_cost),
            "untagged_percent": self.untagged_percent,
            "compliant_cost": float(self.compliant_cost),
            "compliant_percent": self.compliant_percent,
            "rows": self.rows,
            "taggable_rows": self.taggable_rows,
            "untagged_rows": self.untagged_rows,
            "compliant_rows": self.compliant_rows,
        }


@dataclass(frozen=True, kw_only=True)
class NoncompliantResource:
    """A resource with non-compliant taggable cost in the report's month."""

    currency: str
    resource_id: str | None
    resource_name: str | None
    sub_account: str | None
    owner: str | None
    owner_source: str | None  # "tag" (the policy's owner tag) or "sub-account"
    cost: Decimal
    rows: int
    missing: tuple[str, ...]  # required keys absent on at least one of its rows
    invalid: tuple[str, ...]  # keys with a value the policy does not allow

    def record(self) -> dict[str, Any]:
        return {
            "BillingCurrency": self.currency,
            "ResourceId": self.resource_id,
            "ResourceName": self.resource_name,
            "SubAccountName": self.sub_account,
            "owner": self.owner,
            "owner_source": self.owner_source,
            "cost": float(self.cost),
            "rows": self.rows,
            "missing": list(self.missing),
            "invalid": list(self.invalid),
        }


@dataclass(frozen=True, kw_only=True)
class TagReport:
    policy: TagPolicy
    month: date | None  # the month the KPIs and the resources are of
    months: tuple[date, ...]  # the trend's months, oldest first
    trend: tuple[MonthCompliance, ...]  # by month, then currency
    resources: tuple[NoncompliantResource, ...]  # by currency, then cost, largest first
    top: int
    version: int | None
    scope: tuple[str, ...]

    @property
    def kpis(self) -> tuple[MonthCompliance, ...]:
        """The report month's figures, one per currency."""
        return tuple(m for m in self.trend if m.month == self.month)

    def record(self) -> dict[str, Any]:
        return {
            "policy": self.policy.record(),
            "measure": MEASURE,
            "month": _month(self.month),
            "months": [_month(m) for m in self.months],
            "kpis": [m.record() for m in self.kpis],
            "trend": [m.record() for m in self.trend],
            "top": self.top,
            "resources": [r.record() for r in self.resources],
            "version": self.version,
            "scope": list(self.scope),
        }


def tag_report(
    view: LedgerView,
    policy: TagPolicy,
    scope: Sequence[Filter] = (),
    *,
    month: date | None = None,
    months: int = MONTHS,
    top: int = TOP,
    today: date | None = None,
) -> TagReport:
    """Compliance with ``policy`` over the rows ``scope`` allows: per currency, the figures
    of ``month`` and of the ``months`` months ending with it (the trend), and the ``top``
    resources per currency with the most non-compliant cost in ``month``.

    ``month`` defaults to the newest month with charges in scope, on or before ``today``
    (default: the current UTC date), as on the home pages."""
    if not 1 <= months <= MAX_MONTHS:
        raise UserError(f"months {months} is out of range; give 1 to {MAX_MONTHS}", code="usage")
    if not 0 <= top <= MAX_TOP:
        raise UserError(f"top {top} is out of range; give 0 to {MAX_TOP}", code="usage")
    first = None if month is None else add_months(month, 1 - months)
    end = None if month is None else add_months(month, 1)
    status = compliance_rows(view, policy, scope, start=first, end=end)
    found = [_month_compliance(r) for r in monthly_compliance(status).to_pyarrow().to_pylist()]
    if month is None:
        newest = (today or datetime.now(UTC).date()).replace(day=1)
        month = max((m.month for m in found if m.month <= newest), default=None)
    window = (
        () if month is None else tuple(add_months(month, i - months + 1) for i in range(months))
    )
    resources: tuple[NoncompliantResource, ...] = ()
    if month is not None and top:
        in_month = compliance_rows(view, policy, scope, start=month, end=add_months(month, 1))
        table = noncompliant_resources(in_month, policy, top)
        resources = tuple(_resource(r, policy) for r in table.to_pyarrow().to_pylist())
    return TagReport(
        policy=policy,
        month=month,
        months=window,
        trend=tuple(m for m in found if m.month in window),
        resources=resources,
        top=top,
        version=view.version,
        scope=tuple(str(f) for f in scope),
    )


def _month_compliance(row: dict[str, Any]) -> MonthCompliance:
    month = row["month"]
    return MonthCompliance(
        month=month.date() if isinstance(month, datetime) else month,
        currency=row["BillingCurrency"],
        total_cost=row["total_cost"] or Decimal(0),
        taggable_cost=row["taggable_cost"] or Decimal(0),
        untagged_cost=row["untagged_cost"] or Decimal(0),
        compliant_cost=row["compliant_cost"] or Decimal(0),
        rows=row["rows"],
        taggable_rows=row["taggable_rows"],
        untagged_rows=row["untagged_rows"],
        compliant_rows=row["compliant_rows"],
    )


def _resource(row: dict[str, Any], policy: TagPolicy) -> NoncompliantResource:
    checks = key_checks(policy)
    return NoncompliantResource(
        currency=row["BillingCurrency"],
        resource_id=row["ResourceId"],
        resource_name=row["ResourceName"],
        sub_account=row["SubAccountName"],
        owner=row["owner"],
        owner_source=row["owner_source"],
        cost=row["cost"] or Decimal(0),
        rows=row["rows"],
        missing=tuple(c.key for c in checks if row[c.missing]),
        invalid=tuple(c.key for c in checks if row[c.invalid]),
    )


def _percent(part: Decimal, whole: Decimal) -> float | None:
    return None if not whole else round(float(part / whole * 100), 2)


def _month(value: date | None) -> str | None:
    return value.strftime("%Y-%m") if value else None
