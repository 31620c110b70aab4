"""Budget vs actual vs forecast: the figures behind ``costprism budgets list|show``, the
API's ``/budgets``, the ``/budgets`` pages and the budgets panel of the home pages.

For one budget and one period (:mod:`costprism.budgets.periods`):

* **actual**: the budget's measure (``EffectiveCost`` or ``BilledCost``) over the rows whose
  ``BillingPeriodStart`` is one of the period's months, in the budget's currency and scope,
  read through the engine (:func:`~costprism.capabilities.reporting.cost_report`: the daily
  rollup when it can answer) **under the caller's scope** as well; see
  :mod:`~costprism.capabilities.budget_store` for which budgets a caller sees;
* **available**: ``amount - holdback + released`` (what the owners may spend);
* **variance** ``available - actual`` and **variance %** ``(available - actual) /
  available`` (positive: under budget);
* **burn rate**: the actual per elapsed day of the period (days up to ``through``, the last
  complete day of the ledger in the caller's scope), against the **budget rate**,
  ``available / days in the period``; their ratio above 1 means spending faster than
  the budget allows. ``run_rate_total`` is the actual per day times the period's days;
* **forecast** to the period's end: the actual of the days up to the forecast's last
  complete day plus the forecast of each later day of the period from
  :func:`costprism.capabilities.forecast.forecast` (MSTL, daily, by ``ChargePeriodStart``
  day, same scope and basis); a finished period's forecast is its actual; None when
  nothing can be forecast;
* **thresholds**: an actual threshold ``t`` is crossed when ``actual >= t% x available``,
  a forecast one when ``forecast >= t% x available``;
* **status**: ``over`` (actual above available), ``at-risk`` (a forecast threshold
  crossed), ``warning`` (an actual threshold crossed), else ``ok``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from costprism.budgets.periods import Period, fiscal_year_start, period_containing, shifted
from costprism.capabilities.budget_store import StoredBudget
from costprism.capabilities.forecast import forecast, last_complete_day
from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery
from costprism.errors import UserError

STATUSES = ("ok", "warning", "at-risk", "over")
HISTORY = 12  # periods of history on a budget's detail
_DAY = timedelta(days=1)
Forecaster = Callable[
    [LedgerView, StoredBudget, Period, Sequence[Filter], date], "tuple[date, Decimal] | None"
]
"""``(view, budget, period, scope, through)`` → ``(last, remaining)``: the forecast of the
budget's cost on each day after ``last`` (the last day the forecast takes as actual, at
most ``through``) to the period's end, summed; None when it can't be forecast."""


@dataclass(frozen=True, kw_only=True)
class BudgetStatus:
    """One budget in one period: budget vs actual vs forecast (module docstring)."""

    budget: StoredBudget
    period: Period
    through: date | None
    actual: Decimal
    forecast: Decimal | None
    daily: tuple[tuple[date, Decimal], ...]  # the actual per charge day

    @property
    def available(self) -> Decimal:
        return self.budget.available(self.period)

    @property
    def held_back(self) -> Decimal:
        return self.budget.spec.holdback - self.budget.released_in(self.period)

    @property
    def variance(self) -> Decimal:
        return self.available - self.actual

    @property
    def variance_percent(self) -> float | None:
        return _percent(self.variance, self.available)

    @property
    def elapsed_days(self) -> int:
        return self.period.elapsed_days(self.through)

    @property
    def burn_rate(self) -> Decimal | None:
        """The actual per elapsed day (None before the period starts)."""
        return self.actual / self.elapsed_days if self.elapsed_days else None

    @property
    def budget_rate(self) -> Decimal:
        return self.available / self.period.days

    @property
    def burn_ratio(self) -> float | None:
        rate = self.burn_rate
        return float(rate / self.budget_rate) if rate is not None and self.budget_rate else None

    @property
    def run_rate_total(self) -> Decimal | None:
        rate = self.burn_rate
        return rate * self.period.days if rate is not None else None

    @property
    def crossed_actual(self) -> tuple[Decimal, ...]:
        return _crossed(self.actual, self.available, self.budget.spec.actual_thresholds)

    @property
    def crossed_forecast(self) -> tuple[Decimal, ...]:
        if self.forecast is None:
            return ()
        return _crossed(self.forecast, self.available, self.budget.spec.forecast_thresholds)

    @property
    def status(self) -> str:
        if self.actual > self.available:
            return "over"
        if self.crossed_forecast:
            return "at-risk"
        return "warning" if self.crossed_actual else "ok"

    def record(self, *, daily: bool = False) -> dict[str, Any]:
        spec = self.budget.spec
        found: dict[str, Any] = {
            "name": spec.name,
            "scope": [str(f) for f in spec.scope],
            "owners": list(spec.owners),
            "period": self.period.record(),
            "BillingCurrency": spec.currency,
            "basis": spec.basis,
            "measure": spec.measure,
            "through": self.through.isoformat() if self.through else None,
            "elapsed_days": self.elapsed_days,
            "days": self.period.days,
            "amount": float(spec.amount),
            "holdback": float(spec.holdback),
            "released": float(self.budget.released_in(self.period)),
            "held_back": float(self.held_back),
            "available": float(self.available),
            "actual": float(self.actual),
            "forecast": _float(self.forecast),
            "variance": float(self.variance),
            "variance_percent": self.variance_percent,
            "forecast_variance_percent": (
                _percent(self.available - self.forecast, self.available)
                if self.forecast is not None
                else None
            ),
            "actual_percent": _percent(self.actual, self.available),
            "forecast_percent": _percent(self.forecast, self.available),
            "burn_rate": _float(self.burn_rate),
            "budget_rate": float(self.budget_rate),
            "burn_ratio": self.burn_ratio,
            "run_rate_total": _float(self.run_rate_total),
            "thresholds": {
                "actual": [float(t) for t in spec.actual_thresholds],
                "forecast": [float(t) for t in spec.forecast_thresholds],
            },
            "crossed": {
                "actual": [float(t) for t in self.crossed_actual],
                "forecast": [float(t) for t in self.crossed_forecast],
            },
            "status": self.status,
        }
        if daily:
            found["daily"] = [{"day": d.isoformat(), "actual": float(v)} for d, v in self.daily]
        return found


def status_row(status: BudgetStatus) -> dict[str, Any]:
    """One flat row per budget, for tables and CSV (the JSON form is ``record()``)."""
    found = status.record()
    return {
        "name": found["name"],
        "period": found["period"]["label"],
        "BillingCurrency": found["BillingCurrency"],
        "basis": found["basis"],
        "available": found["available"],
        "actual": found["actual"],
        "forecast": found["forecast"],
        "variance": found["variance"],
        "variance_percent": found["variance_percent"],
        "burn_ratio": found["burn_ratio"],
        "crossed_actual": " ".join(f"{t:g}%" for t in found["crossed"]["actual"]),
        "crossed_forecast": " ".join(f"{t:g}%" for t in found["crossed"]["forecast"]),
        "status": found["status"],
    }


@dataclass(frozen=True, kw_only=True)
class PeriodActual:
    period: Period
    available: Decimal
    actual: Decimal

    def record(self) -> dict[str, Any]:
        return {
            **self.period.record(),
            "available": float(self.available),
            "actual": float(self.actual),
            "variance": float(self.available - self.actual),
            "variance_percent": _percent(self.available - self.actual, self.available),
        }


@dataclass(frozen=True, kw_only=True)
class BudgetDetail:
    """A budget's status in one period, with the periods before it."""

    status: BudgetStatus
    history: tuple[PeriodActual, ...]  # oldest first, the status's period last

    def record(self) -> dict[str, Any]:
        return {
            **self.status.record(daily=True),
            "definition": self.status.budget.record(),
            "history": [p.record() for p in self.history],
        }


def budget_statuses(
    view: LedgerView,
    budgets: Sequence[StoredBudget],
    scope: Sequence[Filter] = (),
    *,
    month: date | None = None,
    through: date | None = None,
    forecaster: Forecaster | None = None,
) -> tuple[BudgetStatus, ...]:
    """Each budget in the period holding ``month``; by default the period **in progress**:
    the one holding the day after ``through`` (the last complete day in ``scope``), so
    that a ledger complete to a period's last day shows the next period, its actual so far
    and its forecast; the current month when the scope has no charges."""
    last = through if through is not None else ledger_through(view, scope)
    chosen = month or (last + _DAY if last else datetime.now(UTC).date())
    fiscal = fiscal_year_start()
    pairs = [(b, period_containing(b.spec.period, chosen, fiscal)) for b in budgets]
    if forecaster is None and last is not None:
        forecaster = _batched(view, pairs, scope, last)
    return tuple(
        budget_status(view, budget, period, scope, through=last, forecaster=forecaster)
        for budget, period in pairs
    )


def _batched(
    view: LedgerView,
    pairs: Sequence[tuple[StoredBudget, Period]],
    scope: Sequence[Filter],
    through: date,
) -> Forecaster:
    """:func:`forecast_remaining` for many budgets at once: budgets whose scope is one
    ``COLUMN=VALUE`` (one per team, say) with the same column, currency, basis and period
    end are forecast by one call grouped by that column (the same series, so the same
    forecasts, read and fitted together); the others one by one."""
    groups: dict[tuple[str, str, str, date], dict[str, str]] = {}
    for budget, period in pairs:
        spec = budget.spec
        if len(spec.scope) == 1 and spec.scope[0].op == "=" and through < period.end - _DAY:
            key = (spec.scope[0].column, spec.currency, spec.basis, period.end)
            groups.setdefault(key, {})[spec.scope[0].values[0]] = spec.name
    found: dict[str, tuple[date, Decimal]] = {}
    starts = {b.spec.name: p.start for b, p in pairs}
    for (column, currency, basis, end), names in groups.items():
        if len(names) < 2:
            continue
        values = Filter(column=column, op="in", values=tuple(names))
        billing = Filter(column="BillingCurrency", op="=", values=(currency,))
        try:
            result = forecast(
                view, group_by=(column,), horizon=(end - through).days - 1,
                filters=(values, billing), scope=scope, basis=basis,
            )  # fmt: skip
        except UserError:
            continue
        for name in names.values():
            found[name] = (result.last_complete_day, Decimal(0))
        for series in result.series:
            chosen = names.get(str(series.key[0]))
            if chosen is None:
                continue
            first = max(result.start, starts[chosen])
            total = sum(float(v) for d, v in zip(series.days, series.point, strict=True)
                        if first <= d < end)  # fmt: skip
            found[chosen] = (result.last_complete_day, Decimal(str(round(total, 6))))

    def forecaster(
        view: LedgerView,
        budget: StoredBudget,
        period: Period,
        scope: Sequence[Filter],
        through: date,
    ) -> tuple[date, Decimal] | None:
        if budget.spec.name in found:
            return found[budget.spec.name]
        return forecast_remaining(view, budget, period, scope, through)

    return forecaster


def budget_status(
    view: LedgerView,
    budget: StoredBudget,
    period: Period,
    scope: Sequence[Filter] = (),
    *,
    through: date | None,
    forecaster: Forecaster | None = None,
) -> BudgetStatus:
    """``budget`` in ``period`` (module docstring); ``forecaster`` defaults to
    :func:`forecast_remaining`."""
    query = _query(budget, period.billing_periods, "day")
    report = cost_report(view, query, scope)
    measure = budget.spec.measure
    daily = tuple(sorted((_day(r["period"]), r[measure] or Decimal(0)) for r in report.rows))
    actual = sum((v for _, v in daily), Decimal(0))
    forecast = None
    if through is not None and through >= period.end - _DAY:
        forecast = actual
    elif through is not None:
        found = (forecaster or forecast_remaining)(view, budget, period, scope, through)
        if found is not None:
            last, remaining = found
            forecast = sum((v for d, v in daily if d <= last), Decimal(0)) + remaining
    return BudgetStatus(
        budget=budget, period=period, through=through, actual=actual, forecast=forecast,
        daily=daily,
    )  # fmt: skip


def budget_detail(
    view: LedgerView,
    budget: StoredBudget,
    scope: Sequence[Filter] = (),
    *,
    month: date | None = None,
    through: date | None = None,
    periods: int = HISTORY,
    forecaster: Forecaster | None = None,
) -> BudgetDetail:
    """The budget's status (as :func:`budget_statuses`) and the actual of the ``periods``
    periods up to it (one query, by billing period)."""
    (status,) = budget_statuses(
        view, [budget], scope, month=month, through=through, forecaster=forecaster
    )
    chosen = [shifted(status.period, -i) for i in range(periods - 1, -1, -1)]
    months = tuple(m for p in chosen for m in p.billing_periods)
    report = cost_report(view, _query(budget, months, "billing-period"), scope)
    by_month: dict[date, Decimal] = {}
    for row in report.rows:
        day = _day(row["period"])
        by_month[day] = by_month.get(day, Decimal(0)) + (row[budget.spec.measure] or Decimal(0))
    history = tuple(
        PeriodActual(
            period=p,
            available=budget.available(p),
            actual=sum((by_month.get(m, Decimal(0)) for m in p.billing_periods), Decimal(0)),
        )
        for p in chosen
    )
    return BudgetDetail(status=status, history=history)


def ledger_through(view: LedgerView, scope: Sequence[Filter] = ()) -> date | None:
    """The last complete day in ``scope`` (the forecast's, see
    :func:`costprism.capabilities.forecast.last_complete_day`)."""
    return last_complete_day(view, scope)


def day_in_progress(view: LedgerView, scope: Sequence[Filter] = ()) -> date:
    """The day after the last complete day in ``scope`` (today when it has no charges):
    the default periods are the ones holding it."""
    last = ledger_through(view, scope)
    return last + _DAY if last else datetime.now(UTC).date()


def forecast_remaining(
    view: LedgerView,
    budget: StoredBudget,
    period: Period,
    scope: Sequence[Filter],
    through: date,
) -> tuple[date, Decimal] | None:
    """The point forecast of the budget's daily cost from the forecast's first day (the day
    after the ledger's last complete day in ``scope``) to the period's last day, summed,
    with the day before that first day; None when the scope has nothing to forecast from."""
    horizon = (period.end - through).days - 1
    if horizon <= 0:
        return through, Decimal(0)
    try:
        found = forecast(
            view, horizon=horizon, filters=_filters(budget), scope=scope, basis=budget.spec.basis
        )
    except UserError:
        return None
    first = max(found.start, period.start)
    total = 0.0
    for series in found.series:
        for day, value in zip(series.days, series.point, strict=True):
            if first <= day < period.end:
                total += float(value)
    return found.last_complete_day, Decimal(str(round(total, 6)))


def _query(budget: StoredBudget, months: Sequence[date], granularity: str) -> CostQuery:
    periods = Filter(
        column="BillingPeriodStart",
        op="in",
        values=tuple(f"{m.isoformat()}T00:00:00+00:00" for m in months),
    )
    return CostQuery(
        basis=(budget.spec.basis,),
        filters=(*_filters(budget), periods),
        granularity=granularity,  # type: ignore[arg-type]
    )


def _filters(budget: StoredBudget) -> tuple[Filter, ...]:
    currency = Filter(column="BillingCurrency", op="=", values=(budget.spec.currency,))
    return (*budget.spec.scope, currency)


def _crossed(
    value: Decimal, available: Decimal, thresholds: Sequence[Decimal]
) -> tuple[Decimal, ...]:
    return tuple(t for t in thresholds if value >= available * t / 100)


def _percent(value: Decimal | None, of: Decimal) -> float | None:
    if value is None or not of:
        return None
    return float(value / of * 100)


def _float(value: Decimal | None) -> float | None:
    return float(value) if value is not None else None


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value
