"""Daily forecasts summed to calendar periods (month, quarter, year), with intervals.

The point forecast of a period is the sum of its days' point forecasts. Its interval is
**not** the sum of the daily bounds (that assumes every day errs the same way at once, and
is far too wide) nor the independent-days sum (far too narrow: a level or trend a model
got wrong is wrong on every later day). Each day's forecast error ``e_h`` (``h`` days
ahead, standard error ``σ_h`` read from the model's interval) is taken as

* a one-day noise, independent between days, with the one-step variance ``σ_1²``, plus
* a persistent error carried to every later day, whose variance is the growth
  ``σ_h² − σ_1²`` (the uncertainty the model accumulates about level and trend),

so ``cov(e_h, e_k) = σ_min(h,k)² − σ_1²`` for ``h ≠ k``, but never less than
``ρ σ_h σ_k`` with ``ρ =`` :data:`MIN_CORRELATION`: cost series change regime (a new
workload, a leak) in ways no daily model sees coming, and an error that lasts a week
shows in the month's total. A period ``P`` of forecast days has
``Var(Σ e) = Σ_P σ_h² + 2 Σ_{h<k in P} max(σ_h² − σ_1², ρ σ_h σ_k)``. The interval is the
normal one around the summed point, ``± z σ``, clipped at zero for series that never went
below zero. Days of the period already in the ledger (the current period's actual so far)
add their actual cost and no variance.
"""

from __future__ import annotations

from datetime import date

import numpy as np

from costprism.forecasting.models import LEVELS, Floats, SeriesForecast, Z

GRANULARITIES = ("day", "month", "quarter", "year")
PERIODS = ("month", "quarter", "year")
MIN_CORRELATION = 0.15
"""The least correlation assumed between two forecast days' errors. Chosen on the demo
company's back-tests (seeds 1-3: with 0 the actual month total fell inside the 80% interval
for 67% of series, inside the 95% one for 78%; with 0.15 for 80% and 88%) and checked on
seeds 4-6 (82% and 88%; bench/forecast.py, bench/RESULTS.md)."""


def period_start(day: date, granularity: str) -> date:
    """The first day of the calendar period holding ``day``."""
    if granularity == "day":
        return day
    if granularity == "month":
        return day.replace(day=1)
    if granularity == "quarter":
        return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)
    if granularity == "year":
        return date(day.year, 1, 1)
    raise ValueError(f"unknown granularity {granularity!r}")


def period_end(start: date, granularity: str) -> date:
    """The first day after the period starting at ``start``."""
    if granularity == "day":
        return date.fromordinal(start.toordinal() + 1)
    months = {"month": 1, "quarter": 3, "year": 12}[granularity]
    month = start.month - 1 + months
    return date(start.year + month // 12, month % 12 + 1, 1)


def sum_sigma(sigma: Floats) -> float:
    """The standard error of the sum of the forecast days with standard errors ``sigma``
    (``sigma[0]`` is the one-step error of the forecast, as in the module docstring)."""
    if len(sigma) == 0:
        return 0.0
    return sum_sigma_of(sigma, float(sigma[0]))


def sum_sigma_of(sigma: Floats, first: float) -> float:
    """:func:`sum_sigma` for some days of a forecast whose one-step error is ``first``."""
    variance = sigma**2
    index = np.arange(len(sigma))
    earlier = np.minimum.outer(index, index)  # the earlier day of each pair
    persistent = np.maximum(variance[earlier] - first**2, 0.0)
    floor = MIN_CORRELATION * np.outer(sigma, sigma)
    covariance = np.maximum(persistent, floor)
    np.fill_diagonal(covariance, variance)
    return float(np.sqrt(max(float(covariance.sum()), 0.0)))


def period_totals(
    forecast: SeriesForecast, granularity: str, actual: dict[date, float] | None = None
) -> list[dict[str, object]]:
    """One row per period the forecast touches: ``period``, ``actual`` (the cost of the
    period's days before the forecast starts, from ``actual`` by day), ``EffectiveCost``
    (actual + the summed forecast) and the 80/95% bounds; sorted by period."""
    days = forecast.days
    starts = [period_start(day, granularity) for day in days]
    first = float(forecast.sigma[0]) if len(forecast.sigma) else 0.0
    rows = []
    for start in sorted(set(starts)):
        chosen = np.array([s == start for s in starts])
        earlier = float(sum(v for d, v in (actual or {}).items() if start <= d < forecast.start))
        point = float(forecast.point[chosen].sum())
        sigma = sum_sigma_of(forecast.sigma[chosen], first)
        row: dict[str, object] = {"period": start, "actual": earlier}
        row["EffectiveCost"] = earlier + point
        for level in LEVELS:
            for side, sign in (("lo", -1.0), ("hi", 1.0)):
                bound = point + sign * Z[level] * sigma
                if forecast.nonnegative:
                    bound = max(bound, 0.0)
                row[f"{side}{level}"] = earlier + bound
        row["baseline"] = earlier + float(forecast.baseline[chosen].sum())
        rows.append(row)
    return rows
