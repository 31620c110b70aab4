"""A role's home page: the panels its workspace names, computed over the caller's scope.

Every figure comes from :func:`~costprism.capabilities.reporting.cost_report` (so from the
daily rollup whenever it can answer) and freshness from the ledger's commit history; this
module writes no SQL and applies no filter of its own beyond a ``BillingCurrency=`` query
filter (the scope is handed to the engine with every query).

"This month" is the month of the newest ``ChargePeriodStart`` the caller can see, on or
before ``today`` (demo data and late exports end in the past), compared with the month
before it. A month may be partial: ``through`` says the newest day it holds.

Panel kinds are a registry, :data:`PANELS`: a kind is a builder taking the shared
:class:`HomeContext` and the :class:`~costprism.roles.workspaces.PanelSpec`. Amounts are
never summed across currencies: every panel keeps one figure per ``BillingCurrency``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

from costprism.capabilities.allocation import AllocationKpis, allocation_kpis
from costprism.capabilities.datasources import slice_history
from costprism.capabilities.reporting import CostReport, cost_report
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import OTHER, Basis, CostQuery
from costprism.errors import InternalError, NotFound
from costprism.focus import MEASURES
from costprism.ledger import Ledger
from costprism.roles.workspaces import TREND_MONTHS, WORKSPACES, PanelSpec

if TYPE_CHECKING:
    from costprism.capabilities.budget_store import StoredBudget
    from costprism.capabilities.tag_governance import MonthCompliance

SOURCE = "x_SourceId"


class Panel(Protocol):
    @property
    def spec(self) -> PanelSpec: ...

    def record(self) -> dict[str, Any]: ...


@dataclass(frozen=True, kw_only=True)
class HomeContext:
    """What every panel of one page shares: the view, the scope and the months compared."""

    view: LedgerView
    ledger: Ledger
    scope: tuple[Filter, ...]
    basis: Basis
    today: date
    now: datetime
    charge_days: CostReport  # the total by source, currency and day, up to today
    budgets: tuple[StoredBudget, ...] = ()  # the budgets the caller sees (metadata DB)

    @property
    def measure(self) -> str:
        return MEASURES[self.basis]

    @property
    def through(self) -> date | None:
        """The newest charge day in scope (None when the caller sees no charges)."""
        days = [_day(row["period"]) for row in self.charge_days.rows]
        return max(days) if days else None

    @property
    def this_month(self) -> date | None:
        return self.through.replace(day=1) if self.through else None

    @property
    def last_month(self) -> date | None:
        return add_months(self.this_month, -1) if self.this_month else None

    def currencies(self, start: date, end: date) -> tuple[str, ...]:
        """The currencies charged in ``[start, end)``, the largest spend first (each
        currency's amounts summed on their own, for the order only)."""
        spent: dict[str, Decimal] = {}
        for row in self.charge_days.rows:
            if start <= _day(row["period"]) < end:
                currency = row["BillingCurrency"]
                spent[currency] = spent.get(currency, Decimal(0)) + (row[self.measure] or 0)
        return tuple(sorted(spent, key=lambda c: (-spent[c], c)))

    def report(self, query: CostQuery) -> CostReport:
        return cost_report(self.view, query, self.scope)

    def query(self, **fields: Any) -> CostQuery:
        return CostQuery(basis=(self.basis,), **fields)


@dataclass(frozen=True, kw_only=True)
class HomePage:
    role: str
    title: str
    purpose: str
    basis: Basis
    measure: str
    today: date
    this_month: date | None
    last_month: date | None
    through: date | None
    version: int | None
    scope: tuple[str, ...]
    panels: tuple[Panel, ...]

    def record(self) -> dict[str, Any]:
        return {
            "role": self.role,
            "title": self.title,
            "purpose": self.purpose,
            "basis": self.basis,
            "measure": self.measure,
            "today": self.today.isoformat(),
            "this_month": _month(self.this_month),
            "last_month": _month(self.last_month),
            "through": self.through.isoformat() if self.through else None,
            "version": self.version,
            "scope": list(self.scope),
            "panels": [panel.record() for panel in self.panels],
        }


PanelBuilder = Callable[[HomeContext, PanelSpec], Panel]
PANELS: dict[str, PanelBuilder] = {}
"""Panel kind → the function computing it (a new kind registers with :func:`panel`)."""


def panel(kind: str) -> Callable[[PanelBuilder], PanelBuilder]:
    def register(builder: PanelBuilder) -> PanelBuilder:
        PANELS[kind] = builder
        return builder

    return register


def home_page(
    view: LedgerView,
    ledger: Ledger,
    role: str,
    scope: Sequence[Filter] = (),
    *,
    today: date | None = None,
    now: datetime | None = None,
    budgets: Sequence[StoredBudget] = (),
) -> HomePage:
    """The home page of ``role`` over the rows ``scope`` allows.

    ``now`` (default: the current time) is what import ages are measured from; ``today``
    (default: ``now``'s UTC date) is the last day a charge may have to count as "this
    month" (later, future-dated charges are left out of the choice). ``budgets`` are the
    budgets the caller sees, for the ``budgets`` panel."""
    workspace = WORKSPACES.get(role)
    if workspace is None:
        known = ", ".join(WORKSPACES)
        raise NotFound(f"role {role!r} has no home page; roles: {known}", code="role.unknown")
    moment = now or datetime.now(UTC)
    day = today or moment.astimezone(UTC).date()
    context = _context(view, ledger, tuple(scope), workspace.basis, day, moment)
    context = replace(context, budgets=tuple(budgets))
    return HomePage(
        role=role,
        title=workspace.title,
        purpose=workspace.purpose,
        basis=workspace.basis,
        measure=context.measure,
        today=context.today,
        this_month=context.this_month,
        last_month=context.last_month,
        through=context.through,
        version=view.version,
        scope=tuple(str(f) for f in scope),
        panels=tuple(_build(context, spec) for spec in workspace.panels),
    )


def _context(
    view: LedgerView,
    ledger: Ledger,
    scope: tuple[Filter, ...],
    basis: Basis,
    today: date,
    now: datetime,
) -> HomeContext:
    days = CostQuery(basis=(basis,), group_by=(SOURCE,), granularity="day", end=today + _DAY)
    return HomeContext(
        view=view,
        ledger=ledger,
        scope=scope,
        basis=basis,
        today=today,
        now=now,
        charge_days=cost_report(view, days, scope),
    )


def _build(context: HomeContext, spec: PanelSpec) -> Panel:
    builder = PANELS.get(spec.kind)
    if builder is None:
        raise InternalError(f"panel kind {spec.kind!r} has no builder; known: {sorted(PANELS)}")
    return builder(context, spec)


# --- spend-summary ----------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CurrencySpend:
    currency: str
    this_month: Decimal
    last_month: Decimal

    @property
    def change(self) -> float | None:
        """This month over last month, minus one (None when last month was zero)."""
        if not self.last_month:
            return None
        return float((self.this_month - self.last_month) / abs(self.last_month))

    def record(self) -> dict[str, Any]:
        return {
            "BillingCurrency": self.currency,
            "this_month": float(self.this_month),
            "last_month": float(self.last_month),
            "change": self.change,
        }


@dataclass(frozen=True, kw_only=True)
class SpendSummary:
    spec: PanelSpec
    measure: str
    this_month: date | None
    last_month: date | None
    currencies: tuple[CurrencySpend, ...]

    def record(self) -> dict[str, Any]:
        return {
            **panel_head(self.spec),
            "measure": self.measure,
            "this_month": _month(self.this_month),
            "last_month": _month(self.last_month),
            "currencies": [c.record() for c in self.currencies],
        }


@panel("spend-summary")
def spend_summary(context: HomeContext, spec: PanelSpec) -> SpendSummary:
    this, last = context.this_month, context.last_month
    found: tuple[CurrencySpend, ...] = ()
    if this and last:
        query = context.query(granularity="month", start=last, end=add_months(this, 1))
        amounts = _by_currency_and_month(context.report(query), context.measure)
        found = tuple(
            CurrencySpend(
                currency=currency,
                this_month=amounts.get((currency, this), Decimal(0)),
                last_month=amounts.get((currency, last), Decimal(0)),
            )
            for currency in context.currencies(last, add_months(this, 1))
        )
    return SpendSummary(
        spec=spec, measure=context.measure, this_month=this, last_month=last, currencies=found
    )


def _by_currency_and_month(report: CostReport, measure: str) -> dict[tuple[str, date], Decimal]:
    return {
        (row["BillingCurrency"], _day(row["period"])): row[measure] or Decimal(0)
        for row in report.rows
    }


# --- trend ------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TrendSeries:
    name: str | None  # a dimension value, None for rows without one, or "(other)"
    values: tuple[Decimal, ...]  # one per month of the trend

    def record(self) -> dict[str, Any]:
        return {"name": self.name, "values": [float(v) for v in self.values]}


@dataclass(frozen=True, kw_only=True)
class CurrencyTrend:
    currency: str
    series: tuple[TrendSeries, ...]

    def record(self) -> dict[str, Any]:
        return {"BillingCurrency": self.currency, "series": [s.record() for s in self.series]}


@dataclass(frozen=True, kw_only=True)
class Trend:
    spec: PanelSpec
    measure: str
    months: tuple[date, ...]
    currencies: tuple[CurrencyTrend, ...]

    def record(self) -> dict[str, Any]:
        return {
            **panel_head(self.spec),
            "measure": self.measure,
            "months": [_month(m) for m in self.months],
            "currencies": [c.record() for c in self.currencies],
        }


@panel("trend")
def trend(context: HomeContext, spec: PanelSpec) -> Trend:
    """Monthly spend over the last :data:`TREND_MONTHS` months, one stack per currency."""
    if context.this_month is None or spec.dimension is None:
        return Trend(spec=spec, measure=context.measure, months=(), currencies=())
    first = add_months(context.this_month, 1 - TREND_MONTHS)
    months = tuple(add_months(first, i) for i in range(TREND_MONTHS))
    end = add_months(context.this_month, 1)
    per_currency = tuple(
        _currency_trend(context, spec, spec.dimension, currency, months)
        for currency in context.currencies(first, end)
    )
    return Trend(spec=spec, measure=context.measure, months=months, currencies=per_currency)


def _currency_trend(
    context: HomeContext, spec: PanelSpec, dimension: str, currency: str, months: tuple[date, ...]
) -> CurrencyTrend:
    query = context.query(
        group_by=(dimension,),
        filters=(_currency(currency),),
        granularity="month",
        start=months[0],
        end=add_months(months[-1], 1),
        top=spec.limit,
    )
    cells: dict[str | None, dict[date, Decimal]] = {}
    for row in context.report(query).rows:
        cells.setdefault(row[dimension], {})[_day(row["period"])] = row[context.measure]
    ordered = sorted(cells, key=lambda name: _series_order(name, cells[name]))
    series = tuple(
        TrendSeries(name=n, values=tuple(cells[n].get(m) or Decimal(0) for m in months))
        for n in ordered
    )
    return CurrencyTrend(currency=currency, series=series)


def _series_order(name: str | None, values: dict[date, Decimal]) -> tuple[bool, Decimal, str]:
    return (name == OTHER, -sum((v or Decimal(0) for v in values.values()), Decimal(0)), name or "")


# --- top --------------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class TopItem:
    value: str | None  # None: rows without the dimension; "(other)": the rest folded
    currency: str
    this_month: Decimal
    last_month: Decimal | None  # None for "(other)", whose members differ month to month

    def record(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "BillingCurrency": self.currency,
            "this_month": float(self.this_month),
            "last_month": None if self.last_month is None else float(self.last_month),
        }


@dataclass(frozen=True, kw_only=True)
class TopList:
    spec: PanelSpec
    measure: str
    this_month: date | None
    items: tuple[TopItem, ...]  # by currency, then largest first, "(other)" last

    def record(self) -> dict[str, Any]:
        return {
            **panel_head(self.spec),
            "measure": self.measure,
            "this_month": _month(self.this_month),
            "items": [item.record() for item in self.items],
        }


@panel("top")
def top_list(context: HomeContext, spec: PanelSpec) -> TopList:
    """The ``spec.limit`` largest values of the dimension this month, ranked per currency."""
    this, last = context.this_month, context.last_month
    if this is None or last is None or spec.dimension is None:
        return TopList(spec=spec, measure=context.measure, this_month=this, items=())
    dimension, end = spec.dimension, add_months(this, 1)
    before = _totals(context, dimension, start=last, end=this)
    items: list[TopItem] = []
    for currency in context.currencies(this, end):
        query = context.query(
            group_by=(dimension,),
            filters=(_currency(currency),),
            granularity="total",
            start=this,
            end=end,
            top=spec.limit,
        )
        rows = context.report(query).rows
        ranked = sorted(rows, key=lambda r: _rank(r[dimension], r[context.measure]))
        items.extend(_top_item(row, dimension, context.measure, before) for row in ranked)
    return TopList(spec=spec, measure=context.measure, this_month=this, items=tuple(items))


def _totals(
    context: HomeContext, dimension: str, *, start: date, end: date
) -> dict[tuple[str | None, str], Decimal]:
    query = context.query(group_by=(dimension,), granularity="total", start=start, end=end)
    return {
        (row[dimension], row["BillingCurrency"]): row[context.measure] or Decimal(0)
        for row in context.report(query).rows
    }


def _rank(value: str | None, amount: Decimal | None) -> tuple[bool, Decimal]:
    return (value == OTHER, -(amount or Decimal(0)))


def _top_item(
    row: dict[str, Any],
    dimension: str,
    measure: str,
    before: dict[tuple[str | None, str], Decimal],
) -> TopItem:
    value, currency = row[dimension], row["BillingCurrency"]
    previous = None if value == OTHER else before.get((value, currency), Decimal(0))
    return TopItem(
        value=value, currency=currency, this_month=row[measure] or Decimal(0), last_month=previous
    )


# --- freshness --------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class SourceAge:
    """One source the caller sees: its newest charge day and its newest import."""

    source: str
    newest_charge: date
    last_import_at: datetime | None
    version: int | None
    now: datetime

    def record(self) -> dict[str, Any]:
        age = self.now - self.last_import_at if self.last_import_at else None
        return {
            "source": self.source,
            "newest_charge": self.newest_charge.isoformat(),
            "last_import_at": self.last_import_at.isoformat() if self.last_import_at else None,
            "age_hours": round(age.total_seconds() / 3600, 1) if age is not None else None,
            "version": self.version,
        }


@dataclass(frozen=True, kw_only=True)
class Freshness:
    spec: PanelSpec
    today: date
    newest_charge: date | None
    sources: tuple[SourceAge, ...]

    def record(self) -> dict[str, Any]:
        newest = self.newest_charge
        return {
            **panel_head(self.spec),
            "today": self.today.isoformat(),
            "newest_charge": newest.isoformat() if newest else None,
            "days_behind": (self.today - newest).days if newest else None,
            "sources": [s.record() for s in self.sources],
        }


@panel("freshness")
def freshness(context: HomeContext, spec: PanelSpec) -> Freshness:
    """Per source the caller sees: the newest charge day (from the page's daily totals, no
    further query) and the newest commit, up to the viewed version, that wrote one of its
    slices (from the commit history)."""
    newest: dict[str, date] = {}
    for row in context.charge_days.rows:
        day, source = _day(row["period"]), row[SOURCE]
        newest[source] = max(day, newest.get(source, day))
    imports = _newest_imports(context.ledger, context.view.version)
    sources = tuple(
        SourceAge(
            source=source,
            newest_charge=day,
            last_import_at=imports[source][1] if source in imports else None,
            version=imports[source][0] if source in imports else None,
            now=context.now,
        )
        for source, day in sorted(newest.items())
    )
    return Freshness(spec=spec, today=context.today, newest_charge=context.through, sources=sources)


def _newest_imports(ledger: Ledger, version: int | None) -> dict[str, tuple[int, datetime]]:
    """Source → (version, time) of the newest commit up to ``version`` that wrote a slice."""
    found: dict[str, tuple[int, datetime]] = {}
    for written in slice_history(ledger):
        if version is None or written.version > version:
            continue
        seen = found.get(written.source)
        if seen is None or written.version > seen[0]:
            found[written.source] = (written.version, written.committed_at)
    return found


# --- allocation -------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class AllocationPanel:
    """The allocation KPIs of this month (see
    :class:`~costprism.capabilities.allocation.AllocationKpis`), per currency."""

    spec: PanelSpec
    this_month: date | None
    kpis: AllocationKpis

    def record(self) -> dict[str, Any]:
        return {
            **panel_head(self.spec),
            "this_month": _month(self.this_month),
            "rules_version": self.kpis.rules_version,
            "dimensions": list(self.kpis.dimensions),
            "currencies": [
                {k: float(v) if isinstance(v, Decimal) else v for k, v in row.items()}
                for row in self.kpis.currencies
            ],
        }


@panel("allocation")
def allocation_panel(context: HomeContext, spec: PanelSpec) -> AllocationPanel:
    this = context.this_month
    end = add_months(this, 1) if this else None
    kpis = allocation_kpis(context.view, context.scope, start=this, end=end)
    return AllocationPanel(spec=spec, this_month=this, kpis=kpis)


# --- shared -----------------------------------------------------------------------------

_DAY = timedelta(days=1)


def add_months(first: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``first``'s month."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _currency(currency: str) -> Filter:
    return Filter(column="BillingCurrency", op="=", values=(currency,))


def panel_head(spec: PanelSpec) -> dict[str, Any]:
    """What every panel record starts with (the page template needs ``kind``, ``key`` and
    ``title``)."""
    return {"kind": spec.kind, "key": spec.key, "title": spec.title, "dimension": spec.dimension}


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _month(value: date | None) -> str | None:
    return value.strftime("%Y-%m") if value else None


# --- tag-compliance ---------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class CurrencyCompliance:
    currency: str
    this_month: MonthCompliance | None
    last_month: MonthCompliance | None

    def record(self) -> dict[str, Any]:
        this, last = self.this_month, self.last_month
        return {
            "BillingCurrency": self.currency,
            "taggable_cost": float(this.taggable_cost) if this else 0.0,
            "untagged_cost": float(this.untagged_cost) if this else 0.0,
            "compliant_cost": float(this.compliant_cost) if this else 0.0,
            "untagged_percent": this.untagged_percent if this else None,
            "compliant_percent": this.compliant_percent if this else None,
            "last_untagged_percent": last.untagged_percent if last else None,
            "last_compliant_percent": last.compliant_percent if last else None,
        }


@dataclass(frozen=True, kw_only=True)
class TagCompliance:
    spec: PanelSpec
    policy: str | None  # the active tag policy's digest; None when no policy is set
    this_month: date | None
    last_month: date | None
    currencies: tuple[CurrencyCompliance, ...]

    def record(self) -> dict[str, Any]:
        return {
            **panel_head(self.spec),
            "policy": self.policy,
            "measure": "EffectiveCost",
            "this_month": _month(self.this_month),
            "last_month": _month(self.last_month),
            "currencies": [c.record() for c in self.currencies],
        }


@panel("tag-compliance")
def tag_compliance(context: HomeContext, spec: PanelSpec) -> TagCompliance:
    """% untagged and % tag-policy compliant of this month's (and last month's) taggable
    EffectiveCost, per currency, by :func:`~costprism.capabilities.tag_governance.tag_report`
    over the page's scope; nothing to compute while no tag policy is set."""
    from costprism.capabilities.tag_governance import active_policy, tag_report

    policy = active_policy(context.ledger)
    this, last = context.this_month, context.last_month
    found: tuple[CurrencyCompliance, ...] = ()
    if policy is not None and this is not None and last is not None:
        report = tag_report(context.view, policy, context.scope, month=this, months=2, top=0)
        months = {(m.currency, m.month): m for m in report.trend}
        charged = context.currencies(this, add_months(this, 1))
        found = tuple(
            CurrencyCompliance(
                currency=currency,
                this_month=months.get((currency, this)),
                last_month=months.get((currency, last)),
            )
            for currency in (*charged, *sorted({c for c, _ in months} - set(charged)))
        )
    return TagCompliance(
        spec=spec,
        policy=policy.digest if policy else None,
        this_month=this,
        last_month=last,
        currencies=found,
    )


# --- budgets ----------------------------------------------------------------------------


@dataclass(frozen=True, kw_only=True)
class BudgetsPanel:
    """Each budget the caller sees in its current period (see
    :mod:`costprism.capabilities.budgets`), the most urgent first."""

    spec: PanelSpec
    budgets: tuple[dict[str, Any], ...]

    def record(self) -> dict[str, Any]:
        counts = {s: sum(1 for b in self.budgets if b["status"] == s) for s in _URGENCY}
        return {**panel_head(self.spec), "counts": counts, "budgets": list(self.budgets)}


_URGENCY = ("over", "at-risk", "warning", "ok")


@panel("budgets")
def budgets_panel(context: HomeContext, spec: PanelSpec) -> BudgetsPanel:
    """Budget vs actual vs forecast of the page's budgets, under the page's scope, at most
    ``spec.limit`` of them (over budget, then at risk, then warning, by actual %)."""
    from costprism.capabilities.budgets import budget_statuses

    statuses = budget_statuses(context.view, context.budgets, context.scope)
    records = sorted(
        (s.record() for s in statuses),
        key=lambda r: (_URGENCY.index(r["status"]), -(r["actual_percent"] or 0.0), r["name"]),
    )
    return BudgetsPanel(spec=spec, budgets=tuple(records[: spec.limit]))
