"""Period sums: points add up, the current period adds its actual, intervals of a sum sit
between independent days and summed bounds."""

from __future__ import annotations

import math
from datetime import date, timedelta

import numpy as np
import pytest

from costprism.forecasting import Series, SeriesForecast, period_end, period_start, period_totals
from costprism.forecasting.aggregate import MIN_CORRELATION, sum_sigma
from costprism.forecasting.models import Z


def constant(start: date, days: int, *, point: float, sigma: np.ndarray) -> SeriesForecast:
    values = np.full(days, point)
    return SeriesForecast(
        key=("a", "USD"), start=start, model="test", point=values,
        lo80=values - Z[80] * sigma, hi80=values + Z[80] * sigma,
        lo95=values - Z[95] * sigma, hi95=values + Z[95] * sigma,
        baseline=values, sigma=sigma, nonnegative=True,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("day", "granularity", "start", "end"),
    [
        (date(2026, 5, 17), "month", date(2026, 5, 1), date(2026, 6, 1)),
        (date(2026, 12, 31), "month", date(2026, 12, 1), date(2027, 1, 1)),
        (date(2026, 5, 17), "quarter", date(2026, 4, 1), date(2026, 7, 1)),
        (date(2026, 11, 2), "quarter", date(2026, 10, 1), date(2027, 1, 1)),
        (date(2026, 5, 17), "year", date(2026, 1, 1), date(2027, 1, 1)),
        (date(2026, 5, 17), "day", date(2026, 5, 17), date(2026, 5, 18)),
    ],
)
def test_calendar_periods(day: date, granularity: str, start: date, end: date) -> None:
    assert period_start(day, granularity) == start
    assert period_end(start, granularity) == end


def covariance(sigma: np.ndarray) -> np.ndarray:
    """The covariance of the forecast days' errors as the module defines it, by brute force."""
    n, first = len(sigma), sigma[0] ** 2
    return np.array(
        [
            [
                sigma[h] ** 2 if h == k
                else max(sigma[min(h, k)] ** 2 - first, MIN_CORRELATION * sigma[h] * sigma[k])
                for k in range(n)
            ]
            for h in range(n)
        ]
    )  # fmt: skip


def test_equal_daily_errors_are_noise_with_the_least_correlation() -> None:
    """Equal errors at every horizon have no persistent part: only the floor correlates."""
    n, s = 30, 2.0
    expected = math.sqrt(n * s**2 + n * (n - 1) * MIN_CORRELATION * s**2)
    assert sum_sigma(np.full(n, s)) == pytest.approx(expected)
    assert sum_sigma(np.full(n, s)) == pytest.approx(math.sqrt(covariance(np.full(n, s)).sum()))


def test_a_random_walk_sums_like_one() -> None:
    """σ_h² = h σ² (a random walk): the persistent part dominates the floor."""
    n, s = 20, 1.5
    sigma = s * np.sqrt(np.arange(1, n + 1))
    assert sum_sigma(sigma) == pytest.approx(math.sqrt(covariance(sigma).sum()))
    assert sigma.sum() > sum_sigma(sigma) > math.sqrt((sigma**2).sum())


def test_month_totals_sum_points_and_add_the_actual_so_far() -> None:
    start = date(2026, 5, 21)  # forecast from the 21st: May has 11 forecast days
    sigma = np.linspace(1.0, 3.0, 42)
    forecast = constant(start, 42, point=10.0, sigma=sigma)
    actual = {date(2026, 5, 1) + timedelta(days=i): 7.0 for i in range(20)}
    actual[date(2026, 4, 30)] = 1000.0  # before the period: not counted
    rows = period_totals(forecast, "month", actual)
    assert [r["period"] for r in rows] == [date(2026, 5, 1), date(2026, 6, 1), date(2026, 7, 1)]
    may, june, july = rows
    assert may["actual"] == pytest.approx(140.0)
    assert may["EffectiveCost"] == pytest.approx(140.0 + 110.0)
    assert june["EffectiveCost"] == pytest.approx(300.0)
    assert june["actual"] == 0
    assert july["EffectiveCost"] == pytest.approx(10.0)  # one day of July in the horizon
    june_sigma = sum_sigma_part(sigma[11:41], sigma[0])
    assert june["hi95"] - june["EffectiveCost"] == pytest.approx(Z[95] * june_sigma)
    assert may["lo80"] - may["actual"] == pytest.approx(110.0 - Z[80] * sum_sigma(sigma[:11]))
    for row in rows:
        assert row["lo95"] <= row["lo80"] <= row["EffectiveCost"] <= row["hi80"] <= row["hi95"]
    summed_bounds = float(forecast.hi95[11:41].sum() - 300.0)
    assert june["hi95"] - 300.0 < summed_bounds


def sum_sigma_part(days: np.ndarray, first: float) -> float:
    """The standard error of the sum of ``days`` (later days of a forecast starting with the
    one-step error ``first``), by brute force."""
    full = covariance(np.r_[first, days])
    return math.sqrt(full[1:, 1:].sum())


def test_lower_bounds_stop_at_zero_for_cost() -> None:
    forecast = constant(date(2026, 1, 1), 31, point=1.0, sigma=np.full(31, 50.0))
    (january,) = period_totals(forecast, "month")
    assert january["lo95"] == 0.0
    assert january["hi95"] > 31.0


def test_series_type_is_the_models_input() -> None:
    series = Series(key=("x",), start=date(2026, 1, 1), values=np.zeros(31))
    assert series.end == date(2026, 1, 31)
