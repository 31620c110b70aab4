"""The models: known weekly patterns and trends are forecast within tolerance, intervals
nest and widen, short, flat and zero series get their documented fallbacks, monthly charges
land on their days."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from costprism.forecasting import Series, SeriesForecast, forecast_series
from costprism.forecasting.models import (
    MIN_MSTL_DAYS,
    monthly_charges,
    seasonal_naive,
)

WEEKLY = np.array([1.0, 1.1, 1.15, 1.1, 1.05, 0.6, 0.5])
START = date(2025, 1, 6)  # a Monday


def weekly_trend(days: int, *, level: float = 100.0, trend: float = 0.3, noise: float = 0.0,
                 seed: int = 0) -> np.ndarray:  # fmt: skip
    t = np.arange(days)
    values = (level + trend * t) * WEEKLY[t % 7]
    return values + np.random.default_rng(seed).normal(0, noise, days)


def truth(days: int, horizon: int, *, trend: float = 0.3) -> np.ndarray:
    return weekly_trend(days + horizon, trend=trend)[days:]


def one(values: np.ndarray, horizon: int = 28, start: date = START) -> SeriesForecast:
    return forecast_series([Series(key=("a", "USD"), start=start, values=values)], horizon)[0]


def test_a_weekly_pattern_with_trend_is_forecast_within_tolerance() -> None:
    history = weekly_trend(200, noise=1.0)
    found = one(history, 28)
    expected = truth(200, 28)
    assert found.model == "MSTL"
    error = np.abs(found.point - expected) / expected
    assert error.mean() < 0.03  # the weekly swing grows with the level; MSTL's is additive
    assert error.max() < 0.10
    assert found.start == START + timedelta(days=200)
    # the weekday shape is kept: Saturday and Sunday are the low days
    lowest = np.argsort(found.point)[:8]
    low = {(found.start + timedelta(days=int(i))).weekday() for i in lowest}
    assert low == {5, 6}


def test_mstl_beats_seasonal_naive_on_a_noisy_trend() -> None:
    history = weekly_trend(300, trend=0.5, noise=4.0, seed=3)
    expected = truth(300, 60, trend=0.5)
    found = one(history, 60)
    model = np.abs(found.point - expected).mean()
    naive = np.abs(found.baseline - expected).mean()
    assert model < naive


def test_intervals_nest_and_widen() -> None:
    found = one(weekly_trend(150, noise=3.0, seed=1), 90)
    f = found
    assert np.all(f.lo95 <= f.lo80)
    assert np.all(f.lo80 <= f.point)
    assert np.all(f.point <= f.hi80)
    assert np.all(f.hi80 <= f.hi95)
    width = f.hi95 - f.lo95
    assert width[-1] > width[0] > 0


def test_the_baseline_is_last_week_repeated() -> None:
    history = weekly_trend(60, noise=2.0)
    found = one(history, 15)
    assert np.allclose(found.baseline, np.resize(history[-7:], 15))
    point, sigma = seasonal_naive(history, 15)
    assert np.allclose(point, np.resize(history[-7:], 15))
    assert sigma[7] == pytest.approx(sigma[0] * np.sqrt(2))


@pytest.mark.parametrize(
    ("values", "model"),
    [
        (np.zeros(100), "Zero"),
        (np.zeros(0), "Zero"),
        (np.r_[np.zeros(90), np.full(10, 5.0)], "HistoricAverage"),  # 10 days since it began
        (np.full(60, 12.5), "SeasonalNaive"),  # flat: nothing to fit
        (weekly_trend(MIN_MSTL_DAYS), "MSTL"),
    ],
)
def test_fallbacks_for_short_flat_and_zero_series(values: np.ndarray, model: str) -> None:
    found = one(values, 10)
    assert found.model == model
    if model == "Zero":
        assert np.all(found.point == 0)
        assert np.all(found.hi95 == 0)
    if model == "HistoricAverage":
        assert np.allclose(found.point, 5.0)
    if model == "SeasonalNaive":
        assert np.allclose(found.point, 12.5)
        assert np.allclose(found.hi95, 12.5)


def test_leading_zeros_are_not_history() -> None:
    """A team that began after months of zeros is forecast from its own level."""
    values = np.r_[np.zeros(120), weekly_trend(70, trend=0.0)]
    found = one(values, 14)
    assert found.point.mean() == pytest.approx(100 * WEEKLY.mean(), rel=0.03)


def test_never_negative_unless_the_history_was() -> None:
    falling = np.maximum(weekly_trend(120, level=100, trend=-0.8), 0.5)
    found = one(falling, 120)
    assert found.point.min() >= 0
    assert found.lo95.min() >= 0
    credits = -weekly_trend(120, noise=1.0)
    assert one(credits, 10).point.max() < 0


def test_monthly_charges_are_taken_out_and_added_back_on_the_first() -> None:
    start = date(2025, 1, 1)
    values = weekly_trend(365, trend=0.0, noise=1.0)
    firsts = [i for i in range(365) if (start + timedelta(days=i)).day == 1]
    values[firsts] += 400.0
    charges = monthly_charges(start, values)
    assert charges.first_day[0] == pytest.approx(400.0, abs=10)
    assert charges.last_day == (0.0, 0.0)
    assert np.abs(np.delete(charges.adjusted, firsts) - np.delete(values, firsts)).max() == 0
    found = one(values, 60, start)
    ahead = [found.start + timedelta(days=i) for i in range(60)]
    on_first = [i for i, d in enumerate(ahead) if d.day == 1]
    others = [i for i, d in enumerate(ahead) if d.day != 1]
    assert len(on_first) == 3  # 2026-01-01, 02-01, 03-01
    assert found.point[on_first].min() > 400
    assert found.point[others].max() < 130


def test_many_series_in_worker_processes_keep_their_order() -> None:
    levels = [50.0 + 10 * i for i in range(70)]  # above the parallel threshold
    series = [
        Series(key=(str(i), "USD"), start=START, values=weekly_trend(60, level=lv, trend=0.0))
        for i, lv in enumerate(levels)
    ]
    found = forecast_series(series, 7, jobs=2)
    assert [f.key for f in found] == [s.key for s in series]
    for f, level in zip(found, levels, strict=True):
        assert f.point.mean() == pytest.approx(level * WEEKLY.mean(), rel=0.02)
