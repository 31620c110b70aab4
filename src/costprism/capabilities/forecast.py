"""Forecasts of daily cost per group, summed to days, months, quarters or years.

:func:`forecast` is the one function behind ``costprism forecast``, ``GET
/api/v1/forecasts``, the ``/forecast`` page and the budgets' forecast figures:

1. it reads the daily cost (``EffectiveCost`` by default: commitment purchases are already
   amortized in it) by the requested group-by and ``BillingCurrency`` through the engine
   (:func:`~costprism.capabilities.reporting.cost_report`, the daily rollup when it can
   answer), within the caller's scope;
2. it forecasts each (group, currency) series from the day after the **last complete day**
   (:func:`last_complete_day`) for ``horizon`` days with :mod:`costprism.forecasting`;
3. with a granularity other than ``day`` it extends the horizon to the end of the period
   holding its last day and sums days to calendar periods. The **current period's total
   is the actual cost so far plus the forecast of its remaining days** (each row's
   ``actual`` says how much of it is already in the ledger).

**The last complete day.** Providers deliver a day's charges late and in pieces, so the
forecast does not start after the newest row. For each billing account with charges in
the scope (a ``ProviderName`` × ``BillingAccountId`` pair, whatever import brought its rows)
the ledger covers every day before the day of its newest ``ChargePeriodEnd`` (a day ending
at midnight is covered; a day with charges up to 13:00 is not). The last complete day is
the earliest such day over the accounts still delivering: an account whose newest charge
ends more than :data:`QUIET_DAYS` days before the newest of all has stopped (a closed
account) and does not hold the forecast back.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import ibis
import numpy as np

from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery
from costprism.engine.rollups import scoped_rows
from costprism.errors import UserError
from costprism.focus import MEASURES
from costprism.forecasting.aggregate import GRANULARITIES, period_end, period_start, period_totals
from costprism.forecasting.models import (
    LEVELS,
    MAX_HISTORY_DAYS,
    Series,
    SeriesForecast,
    forecast_series,
)

DEFAULT_HORIZON = 90
MAX_HORIZON = 1100  # days: three years
QUIET_DAYS = 31
BASES = ("effective", "billed")
CURRENCY = "BillingCurrency"
BOUNDS = tuple(f"{side}{level}" for level in LEVELS for side in ("lo", "hi"))
_HORIZON = re.compile(r"^\s*(\d+)\s*([dwmy]?)\s*$")
_UNIT_DAYS = {"": 1, "d": 1, "w": 7, "m": 30, "y": 365}


@dataclass(frozen=True, kw_only=True)
class Forecast:
    """A forecast of each (group, currency) series and its rows at ``granularity``."""

    group_by: tuple[str, ...]
    granularity: str
    measure: str
    horizon: int  # days asked for
    start: date  # the first forecast day: the day after last_complete_day
    end: date  # the last forecast day (the end of its period for coarser granularities)
    last_complete_day: date
    version: int | None  # the ledger version read
    rules_version: int | None
    filters: tuple[Filter, ...]
    scope: tuple[Filter, ...]
    series: tuple[SeriesForecast, ...]
    history: tuple[Series, ...]  # the actual daily cost the models saw, same order
    rows: tuple[dict[str, Any], ...] = field(default=())

    @property
    def columns(self) -> tuple[str, ...]:
        return (
            *self.group_by, CURRENCY, "period", self.measure, *BOUNDS, "actual", "baseline",
            "model",
        )  # fmt: skip

    @property
    def models(self) -> dict[str, int]:
        """How many series each model forecast."""
        counts: dict[str, int] = {}
        for one in self.series:
            counts[one.model] = counts.get(one.model, 0) + 1
        return dict(sorted(counts.items()))

    def records(self) -> list[dict[str, Any]]:
        """JSON-ready rows: dates as ISO strings, amounts as numbers."""
        return [
            {c: row[c].isoformat() if isinstance(row[c], date) else row[c] for c in self.columns}
            for row in self.rows
        ]

    def summary(self) -> dict[str, Any]:
        """What the forecast is of, for headers and stored versions."""
        return {
            "group_by": list(self.group_by),
            "granularity": self.granularity,
            "measure": self.measure,
            "horizon_days": self.horizon,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "last_complete_day": self.last_complete_day.isoformat(),
            "ledger_version": self.version,
            "rules_version": self.rules_version,
            "filters": [str(f) for f in self.filters],
            "scope": [str(f) for f in self.scope],
            "models": self.models,
            "baseline": "SeasonalNaive",
            "note": _note(self.granularity),
        }


def forecast(
    view: LedgerView,
    *,
    group_by: Sequence[str] = (),
    horizon: int | str = DEFAULT_HORIZON,
    granularity: str = "day",
    filters: Sequence[Filter] = (),
    scope: Sequence[Filter] = (),
    basis: str = "effective",
    top: int | None = None,
    jobs: int | None = None,
) -> Forecast:
    """Forecast the daily cost of each group in ``scope`` (see the module docstring)."""
    days = parse_horizon(horizon)
    chosen = _choice(granularity, GRANULARITIES, "granularity")
    measure = MEASURES[_choice(basis, BASES, "basis")]
    scope, filters = tuple(scope), tuple(filters)
    last = last_complete_day(view, scope)
    if last is None:
        raise UserError(
            "there is nothing to forecast: the ledger has no charges in your scope; import "
            "billing data first (costprism ingest)",
            code="forecast.no_data",
        )
    start = last + timedelta(days=1)
    end = start + timedelta(days=days - 1)
    if chosen != "day":
        end = period_end(period_start(end, chosen), chosen) - timedelta(days=1)
    history = daily_series(
        view, group_by=group_by, filters=filters, scope=scope, last=last, basis=basis, top=top
    )
    fitted = forecast_series(history, (end - start).days + 1, jobs=jobs)
    rows = _rows(tuple(group_by), chosen, measure, history, fitted)
    return Forecast(
        group_by=tuple(group_by), granularity=chosen, measure=measure, horizon=days,
        start=start, end=end, last_complete_day=last, version=view.version,
        rules_version=view.allocation.version if view.allocation else None,
        filters=filters, scope=scope, series=tuple(fitted), history=tuple(history),
        rows=tuple(rows),
    )  # fmt: skip


def parse_horizon(value: int | str) -> int:
    """Days ahead: ``90``, ``90d``, ``12w``, ``3m`` (30 days each), ``1y`` (365 days)."""
    if isinstance(value, int):
        days = value
    else:
        match = _HORIZON.match(value)
        if not match:
            raise UserError(
                f"horizon {value!r} is not a number of days like 90d (or 12w, 3m, 1y)",
                code="usage",
            )
        days = int(match.group(1)) * _UNIT_DAYS[match.group(2)]
    if not 1 <= days <= MAX_HORIZON:
        raise UserError(
            f"horizon {value!r} is {days} days; give 1 to {MAX_HORIZON} days", code="usage"
        )
    return days


def last_complete_day(view: LedgerView, scope: Sequence[Filter] = ()) -> date | None:
    """The last day every billing account in ``scope`` has fully delivered (module
    docstring), or None when the scope has no rows."""
    keys = ["ProviderName", "BillingAccountId"]
    sources = scoped_rows(view, scope).select(*keys).distinct().to_pyarrow().to_pylist()
    if not sources:
        return None
    costs = view.costs
    chosen = ibis.or_(
        *(
            (costs.ProviderName == s["ProviderName"])
            & (costs.BillingAccountId == s["BillingAccountId"])
            for s in sources
        )
    )
    ends = (
        costs.filter(chosen)
        .group_by(keys)
        .aggregate(end=costs.ChargePeriodEnd.max())
        .to_pyarrow()
        .column("end")
        .to_pylist()
    )
    ends = [e for e in ends if e is not None]
    if not ends:
        return None
    newest = max(ends)
    delivering = [e for e in ends if e >= newest - timedelta(days=QUIET_DAYS)]
    return min(_utc_day(e) for e in delivering) - timedelta(days=1)


def daily_series(
    view: LedgerView,
    *,
    group_by: Sequence[str],
    filters: Sequence[Filter],
    scope: Sequence[Filter],
    last: date,
    basis: str = "effective",
    top: int | None = None,
) -> list[Series]:
    """Each (group, currency)'s dense daily cost up to ``last`` (missing days are 0), from
    its first day in the last :data:`MAX_HISTORY_DAYS` days; sorted by key."""
    first = last - timedelta(days=MAX_HISTORY_DAYS - 1)
    query = CostQuery(
        basis=(basis,),  # type: ignore[arg-type]  # checked by forecast()
        group_by=tuple(group_by),
        filters=tuple(filters),
        start=first,
        end=last + timedelta(days=1),
        granularity="day",
        top=top,
    )
    report = cost_report(view, query, scope)
    measure = query.measures[0]
    by_key: dict[tuple[Any, ...], dict[date, float]] = {}
    for row in report.rows:
        key = (*(row[g] for g in group_by), row[CURRENCY])
        day = _as_day(row["period"])
        amount = row[measure]
        by_key.setdefault(key, {})[day] = by_key.get(key, {}).get(day, 0.0) + float(
            amount if amount is not None else Decimal(0)
        )
    series = []
    for key in sorted(by_key, key=_sort_key):
        days = by_key[key]
        begin = min(days)
        values = np.zeros((last - begin).days + 1)
        for day, amount in days.items():
            values[(day - begin).days] += amount
        series.append(Series(key=key, start=begin, values=values))
    return series


def _rows(
    group_by: tuple[str, ...],
    granularity: str,
    measure: str,
    history: Sequence[Series],
    fitted: Sequence[SeriesForecast],
) -> list[dict[str, Any]]:
    rows = []
    for series, one in zip(history, fitted, strict=True):
        keys = dict(zip((*group_by, CURRENCY), series.key, strict=True))
        for total in _totals(series, one, granularity):
            amount = total.pop("EffectiveCost")
            rows.append({**keys, **total, measure: amount, "model": one.model})
    return rows


def _totals(series: Series, one: SeriesForecast, granularity: str) -> list[dict[str, Any]]:
    if granularity == "day":
        return [
            {
                "period": day,
                "EffectiveCost": float(one.point[i]),
                "actual": 0.0,
                **{b: float(getattr(one, b)[i]) for b in BOUNDS},
                "baseline": float(one.baseline[i]),
            }
            for i, day in enumerate(one.days)
        ]
    period = period_start(one.start, granularity)
    first = (period - series.start).days
    actual = {
        period + timedelta(days=i): float(v)
        for i, v in enumerate(series.values[max(first, 0) :], start=max(-first, 0))
    }
    return period_totals(one, granularity, actual)


def _note(granularity: str) -> str:
    if granularity == "day":
        return "daily point forecasts with 80% and 95% prediction intervals"
    return (
        f"each {granularity}'s total is the actual cost already in the ledger (actual) plus "
        "the forecast of its remaining days"
    )


def _utc_day(moment: datetime) -> date:
    return (moment.astimezone(UTC) if moment.tzinfo else moment).date()


def _as_day(value: Any) -> date:
    if isinstance(value, datetime):
        return _utc_day(value)
    if isinstance(value, date):
        return value
    return date.fromisoformat(str(value))


def _sort_key(key: tuple[Any, ...]) -> tuple[tuple[bool, str], ...]:
    return tuple((part is None, "" if part is None else str(part)) for part in key)


def _choice(value: str, allowed: Sequence[str], name: str) -> str:
    if value not in allowed:
        raise UserError(f"{name} {value!r} is not one of: {', '.join(allowed)}", code="usage")
    return value
