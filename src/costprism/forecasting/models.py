"""Daily point forecasts with 80% and 95% prediction intervals, one model per series.

Each :class:`Series` is a dense daily history (a day with no charges is 0) of one group's
cost in one currency. :func:`forecast_series` forecasts each one ``horizon`` days past its
last day and, beside it, always the **seasonal-naive** baseline (each day repeats the same
weekday of the last full week):

==================  ===================================================================
model (reported)    when
==================  ===================================================================
``MSTL``            the default: at least :data:`MIN_MSTL_DAYS` days since the series'
                    first non-zero day; statsforecast's MSTL with a weekly season
                    (``season_length=7``) and an AutoETS trend with additive errors
                    (``AZN``: no, additive or damped trend), intervals from the trend
                    model (normal errors).
``SeasonalNaive``   the history is flat over its last four weeks (MSTL has nothing to
                    fit), or MSTL gave no finite answer; intervals from the spread of
                    week-on-week differences, widening with each week ahead.
``HistoricAverage`` 1 to ``MIN_MSTL_DAYS - 1`` days of history: the mean of those days,
                    intervals from their spread (normal, with the error of the mean).
``Zero``            no history, or nothing but zeros: 0, with zero-width intervals.
==================  ===================================================================

**Monthly charges.** Cloud bills carry charges booked once a month on its first or last
day (support plans, subscriptions, fees), several times a normal day's cost. A weekly
model would smear them over every day, so before MSTL each such day's excess over the
same weekday in the weeks around it is taken out when it is clearly more than day-to-day
noise (:func:`monthly_charges`), and the mean of the last three excesses is added back on
the forecast's first (or last) days of a month, their spread added to its error.

History starts at the series' first non-zero day (a team created in May is not forecast
from months of zeros before it) and is cut to the last :data:`MAX_HISTORY_DAYS` days.
Series that never went below zero get forecasts clipped at zero (bounds included), so
cost is never forecast negative; series with credits or refunds keep negative values.

This module does no I/O: the capability :mod:`costprism.capabilities.forecast` reads the
ledger and calls it. See ``docs/decisions/`` (forecasts) for why these models.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

SEASON = 7
MIN_MSTL_DAYS = 28
MAX_HISTORY_DAYS = 730
FLAT_WINDOW = 28
RECENT_DAYS = 91
LEVELS = (80, 95)
Z = {80: 1.2815515655446004, 95: 1.959963984540054}
MODELS = ("MSTL", "SeasonalNaive", "HistoricAverage", "Zero")
BASELINE = "SeasonalNaive"
PARALLEL_FROM = 64  # series: below this one process is quicker than starting workers

Floats = npt.NDArray[np.float64]
Key = tuple[Any, ...]


@dataclass(frozen=True, kw_only=True)
class Series:
    """One group's daily history: ``values[i]`` is the cost of ``start + i`` days."""

    key: Key
    start: date
    values: Floats

    @property
    def end(self) -> date:
        """The last day of the history."""
        return self.start + timedelta(days=len(self.values) - 1)


@dataclass(frozen=True, kw_only=True)
class SeriesForecast:
    """``horizon`` daily forecasts from ``start`` (the day after the history)."""

    key: Key
    start: date
    model: str
    point: Floats
    lo80: Floats
    hi80: Floats
    lo95: Floats
    hi95: Floats
    baseline: Floats  # the seasonal-naive point forecast
    sigma: Floats  # the daily standard error behind the intervals (see aggregate)
    nonnegative: bool  # the history never went below zero: forecasts are clipped at 0

    @property
    def days(self) -> list[date]:
        return [self.start + timedelta(days=i) for i in range(len(self.point))]


def forecast_series(
    series: Sequence[Series], horizon: int, *, jobs: int | None = None
) -> list[SeriesForecast]:
    """Forecast every series ``horizon`` days ahead (same order as given)."""
    if horizon < 1:
        raise ValueError(f"horizon must be at least 1 day, not {horizon}")
    trimmed = [_history(s) for s in series]
    histories = [values for _, values in trimmed]
    kinds = [_kind(h) for h in histories]
    mstl = [i for i, kind in enumerate(kinds) if kind == "MSTL"]
    monthly = {i: monthly_charges(trimmed[i][0], histories[i]) for i in mstl}
    fitted = _mstl(
        [monthly[i].adjusted for i in mstl],
        horizon,
        jobs=jobs if jobs is not None else default_jobs(),
    )
    by_index = dict(zip(mstl, fitted, strict=True))
    results = []
    for i, one in enumerate(series):
        history = histories[i]
        sigma_point = by_index.get(i)
        model = kinds[i]
        if model == "MSTL" and sigma_point is None:
            model = "SeasonalNaive"  # MSTL gave no finite forecast
        if model == "MSTL" and sigma_point is not None:
            point, sigma = monthly[i].add_back(*sigma_point, one.end + timedelta(days=1))
        elif model == "SeasonalNaive":
            point, sigma = seasonal_naive(history, horizon)
        elif model == "HistoricAverage":
            point, sigma = _historic_average(history, horizon)
        else:
            point, sigma = np.zeros(horizon), np.zeros(horizon)
        baseline = seasonal_naive(history, horizon)[0] if len(history) else np.zeros(horizon)
        results.append(
            _with_intervals(one, model, point, sigma, baseline, nonnegative=_nonnegative(one))
        )
    return results


def default_jobs() -> int:
    """Worker processes for MSTL: the CPUs this process may use (``COSTPRISM_FORECAST_JOBS``
    overrides; read when asked)."""
    setting = os.environ.get("COSTPRISM_FORECAST_JOBS", "").strip()
    if setting.isdigit() and int(setting) > 0:
        return int(setting)
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not on Linux
        return max(1, os.cpu_count() or 1)


def seasonal_naive(history: Floats, horizon: int) -> tuple[Floats, Floats]:
    """Each day repeats the same weekday of the last week; with under a week of history, the
    mean. The standard error is the spread of the last 13 weeks' week-on-week differences
    times sqrt(weeks ahead) (statsforecast's formula for SeasonalNaive)."""
    if len(history) < SEASON:
        mean = float(history.mean()) if len(history) else 0.0
        return np.full(horizon, mean), np.zeros(horizon)
    last_week = history[-SEASON:]
    point = np.resize(last_week, horizon).astype(np.float64)
    recent = history[-RECENT_DAYS:]
    differences = recent[SEASON:] - recent[:-SEASON]
    spread = float(np.sqrt(np.mean(differences**2))) if len(differences) else 0.0
    weeks = np.ceil(np.arange(1, horizon + 1) / SEASON)
    return point, spread * np.sqrt(weeks)


def _history(series: Series) -> tuple[date, Floats]:
    """The history a model sees: from the first non-zero day, the last MAX_HISTORY_DAYS."""
    values = np.asarray(series.values, dtype=np.float64)
    nonzero = np.flatnonzero(values)
    first = int(nonzero[0]) if len(nonzero) else len(values)
    first = max(first, len(values) - MAX_HISTORY_DAYS)
    return series.start + timedelta(days=first), values[first:]


@dataclass(frozen=True, kw_only=True)
class MonthlyCharges:
    """A history with its monthly charges taken out, and what to add back."""

    adjusted: Floats
    first_day: tuple[float, float]  # (mean excess, its spread) on the 1st; (0, 0) if none
    last_day: tuple[float, float]  # the same on the last day of a month

    def add_back(self, point: Floats, sigma: Floats, start: date) -> tuple[Floats, Floats]:
        """Add the monthly charges to a forecast starting on ``start``."""
        point, variance = point.copy(), sigma**2
        for i in range(len(point)):
            day = start + timedelta(days=i)
            for (excess, spread), hit in (
                (self.first_day, day.day == 1),
                (self.last_day, (day + timedelta(days=1)).day == 1),
            ):
                if hit and excess:
                    point[i] += excess
                    variance[i] += spread**2
        return point, np.sqrt(variance)


def monthly_charges(start: date, history: Floats) -> MonthlyCharges:
    """Find charges booked on the first or last day of each month (module docstring): a
    day's excess is its cost minus the median of the same weekday one and two weeks before
    and after (those in the history), so the weekly pattern is no excess; it is a monthly
    charge when the median of the last three excesses is more than 4 times the day-to-day
    noise (a robust spread of week-on-week differences) and more than a tenth of the
    series' median day."""
    adjusted = history.copy()
    threshold = max(4 * _noise(history), 0.1 * abs(float(np.median(history))))
    found = []
    for first in (True, False):
        positions, excesses = [], []
        for i in range(len(history)):
            day = start + timedelta(days=i)
            hit = day.day == 1 if first else (day + timedelta(days=1)).day == 1
            near = [history[j] for j in (i - 14, i - 7, i + 7, i + 14) if 0 <= j < len(history)]
            if hit and len(near) >= 2:
                positions.append(i)
                excesses.append(float(history[i] - np.median(near)))
        recent = excesses[-3:]
        if len(recent) >= 2 and float(np.median(recent)) > threshold:
            for i, excess in zip(positions, excesses, strict=True):
                adjusted[i] -= max(excess, 0.0)
            found.append((float(np.mean(recent)), float(np.std(recent))))
        else:
            found.append((0.0, 0.0))
    return MonthlyCharges(adjusted=adjusted, first_day=found[0], last_day=found[1])


def _noise(history: Floats) -> float:
    differences = history[SEASON:] - history[:-SEASON]
    if len(differences) == 0:
        return 0.0
    deviation = np.median(np.abs(differences - np.median(differences)))
    return float(1.4826 * deviation / np.sqrt(2))


def _kind(history: Floats) -> str:
    if len(history) == 0:
        return "Zero"
    if len(history) < MIN_MSTL_DAYS:
        return "HistoricAverage"
    if np.ptp(history[-FLAT_WINDOW:]) == 0:
        return "SeasonalNaive"
    return "MSTL"


def _nonnegative(series: Series) -> bool:
    return bool(np.all(series.values >= 0))


def _historic_average(history: Floats, horizon: int) -> tuple[Floats, Floats]:
    n = len(history)
    spread = float(history.std(ddof=1)) if n > 1 else 0.0
    return np.full(horizon, float(history.mean())), np.full(horizon, spread * math.sqrt(1 + 1 / n))


def _mstl(
    histories: Sequence[Floats], horizon: int, *, jobs: int
) -> list[tuple[Floats, Floats] | None]:
    """MSTL point forecasts and standard errors (None where it gave no finite answer)."""
    if not histories:
        return []
    import pandas as pd
    from statsforecast import StatsForecast
    from statsforecast.models import MSTL, AutoETS

    # every history ends on the same dummy day; only positions matter to the models
    end = pd.Timestamp("2000-01-01") + pd.Timedelta(days=MAX_HISTORY_DAYS + 1)
    frame = pd.DataFrame(
        {
            "unique_id": np.repeat(np.arange(len(histories)), [len(h) for h in histories]),
            "ds": np.concatenate(
                [pd.date_range(end=end, periods=len(h), freq="D").values for h in histories]
            ),
            "y": np.concatenate(histories),
        }
    )
    model = MSTL(season_length=SEASON, trend_forecaster=AutoETS(model="AZN"))
    workers = jobs if len(histories) >= PARALLEL_FROM else 1
    engine = StatsForecast(models=[model], freq="D", n_jobs=workers)
    answer = engine.forecast(df=frame, h=horizon, level=[95])
    answer = answer.sort_values(["unique_id", "ds"])
    point = answer["MSTL"].to_numpy(dtype=np.float64).reshape(len(histories), horizon)
    lo = answer["MSTL-lo-95"].to_numpy(dtype=np.float64).reshape(len(histories), horizon)
    hi = answer["MSTL-hi-95"].to_numpy(dtype=np.float64).reshape(len(histories), horizon)
    sigma = (hi - lo) / (2 * Z[95])
    results: list[tuple[Floats, Floats] | None] = []
    for row in range(len(histories)):
        finite = np.isfinite(point[row]).all() and np.isfinite(sigma[row]).all()
        results.append((point[row], np.maximum(sigma[row], 0.0)) if finite else None)
    return results


def _with_intervals(
    series: Series,
    model: str,
    point: Floats,
    sigma: Floats,
    baseline: Floats,
    *,
    nonnegative: bool,
) -> SeriesForecast:
    bounds = {
        f"{side}{level}": point + sign * Z[level] * sigma
        for level in LEVELS
        for side, sign in (("lo", -1.0), ("hi", 1.0))
    }
    if nonnegative:
        point = np.maximum(point, 0.0)
        baseline = np.maximum(baseline, 0.0)
        bounds = {name: np.maximum(values, 0.0) for name, values in bounds.items()}
    return SeriesForecast(
        key=series.key,
        start=series.end + timedelta(days=1),
        model=model,
        point=point,
        lo80=bounds["lo80"],
        hi80=bounds["hi80"],
        lo95=bounds["lo95"],
        hi95=bounds["hi95"],
        baseline=baseline,
        sigma=sigma,
        nonnegative=nonnegative,
    )
