"""Cost anomaly detection: the expected cost of each scope on each day, and the runs of
days whose actual cost is far above it.

The model walks the days in order, every scope at once (numpy over the scope axis), and
uses only earlier days, so re-running detection over a longer ledger gives the same
answer for the days it had already seen:

* **weekly season and level**: the median of the same weekday in the four weeks before;
* **trend**: the growth between the last two 28-day medians, capped at
  ``max_daily_growth`` (so months-long growth is followed, a leak over weeks is not),
  applied over the 17.5 days the weekday median lags behind;
* **month-start and month-end charges**: on the first three and last three days of a
  month, the extra cost seen at the same position in up to three earlier months (the
  median of three, the smaller of two), with a wider tolerance there
  (``recurring_tolerance`` of that extra). An extra is learned both as an amount (a fixed
  monthly fee) and as a ratio to that day's base (a month-end batch that scales with the
  day's usage: twice a weekend's cost, twice a weekday's); the day expects the larger of
  the two, so neither kind of charge raises an alarm. Extras are learned only once a scope
  has four weeks of history, when its weekday base is formed;
* **scale**: 1.4826 × the median absolute residual of the last 56 days (MAD), at least
  ``min_relative_scale`` of the expected cost;
* **robustness**: the history the model reads is *cleaned*: each day that could be judged
  (``min_history_days`` in) is clipped to the expected ± threshold × scale before later
  days use it, so an anomaly does not raise the expectation of the days after it (the
  first weeks are taken as they are: their weekday base is still forming); after
  ``max_run_days`` anomalous days in a row the scope's days enter the history as they are
  (a lasting change becomes the new normal).

A day is anomalous when actual − expected exceeds ``threshold`` × scale (threshold =
``BASE_THRESHOLD / sensitivity``), ``min_relative_excess / sensitivity`` of the expected
cost and ``min_daily_excess``, and the scope has ``min_history_days`` of history. Only increases are
anomalies. Consecutive anomalous days form one anomaly; impact = Σ (actual − expected)
over its days; anomalies below ``min_impact`` are dropped; severity by impact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import numpy.typing as npt

from costprism.anomalies.series import DailySeries, FloatMatrix

BASE_THRESHOLD = 4.0
SEVERITIES = ("low", "medium", "high", "critical")
WEEK = 7
MONTH_EDGE = 3  # days at each end of a month treated as positions with recurring charges
WEEKS = 4
SCALE_WINDOW = 56
MAD = 1.4826
TREND_LAG = 17.5  # how far the four-week weekday median lags behind the day it predicts
MAX_RATIO = 10.0  # an edge day above 10x its base is a fixed charge: learned as an amount only


@dataclass(frozen=True, kw_only=True)
class DetectionSettings:
    """The settings of detection (defaults tested on the demo company, see bench/)."""

    sensitivity: float = 1.0
    unfinished_days: int = 2
    min_history_days: int = 14
    min_daily_excess: float = 1.0
    min_relative_excess: float = 0.5
    min_relative_scale: float = 0.03
    min_impact: float = 250.0
    max_daily_growth: float = 0.01
    recurring_tolerance: float = 0.5
    max_run_days: int = 14
    severity_thresholds: tuple[float, float, float] = (250.0, 2_500.0, 25_000.0)
    # drivers take one engine query per anomaly (0.1-1 s): a run explains its largest ones
    # only, so a permissive sensitivity cannot turn one request into minutes of queries
    explain_limit: int = 25

    @property
    def threshold(self) -> float:
        """How many scales above the expected cost a day must be."""
        return BASE_THRESHOLD / self.sensitivity

    @property
    def relative_excess(self) -> float:
        """How far above the expected cost, as a fraction of it, a day must be."""
        return self.min_relative_excess / self.sensitivity

    def severity(self, impact: float) -> str:
        """``low`` below the first threshold, then ``medium``, ``high``, ``critical``."""
        return SEVERITIES[sum(impact >= t for t in self.severity_thresholds)]


@dataclass(frozen=True, kw_only=True)
class Expectation:
    """The model's expected cost and scale for every scope and day (NaN: no estimate)."""

    expected: FloatMatrix
    scale: FloatMatrix
    anomalous: npt.NDArray[np.bool_]


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One run of anomalous days in one scope."""

    scope: dict[str, str]
    currency: str
    start: date
    end: date  # inclusive
    actual: float
    expected: float
    severity: str
    daily: tuple[dict[str, object], ...] = field(default=())

    @property
    def impact(self) -> float:
        return self.actual - self.expected


def detect(series: DailySeries, settings: DetectionSettings | None = None) -> list[Finding]:
    """The anomalies of every scope of ``series``, leaving out the unfinished days."""
    settings = settings or DetectionSettings()
    complete = len(series.days) - max(settings.unfinished_days, 0)
    if complete <= 0 or not series.scopes:
        return []
    values = series.values[:, :complete]
    model = expectation(values, series.days[:complete], settings)
    return findings(series, values, model, settings)


def expectation(
    values: FloatMatrix, days: Sequence[date], settings: DetectionSettings
) -> Expectation:
    """Walk the days in order; each day's estimate reads only the cleaned earlier days."""
    scopes, count = values.shape
    expected = np.full((scopes, count), np.nan)
    scale = np.full((scopes, count), np.nan)
    anomalous = np.zeros((scopes, count), dtype=bool)
    clean = np.full((scopes, count), np.nan)  # actual, clipped where it was unusual
    usual = np.full((scopes, count), np.nan)  # clean minus the month-position extra
    residual = np.full((scopes, count), np.nan)  # usual minus the weekday/level base
    extra_seen = np.full((scopes, count), np.nan)  # clean minus base, on month positions
    ratio_seen = np.full((scopes, count), np.nan)  # that extra as a share of the base
    history = np.cumsum(~np.isnan(values), axis=1) - (~np.isnan(values))
    earlier = same_position_days(days)
    z = settings.threshold
    run = np.zeros(scopes, dtype=np.int64)  # consecutive anomalous days up to yesterday
    for t in range(count):
        x = values[:, t]
        base = _base(usual, t, settings.max_daily_growth)
        extra, tolerance, compared = _recurring(
            extra_seen, ratio_seen, base, earlier[t], settings.recurring_tolerance
        )
        sigma = _scale(residual, t, base, settings.min_relative_scale)
        width = np.maximum(sigma, tolerance)
        guess = base + extra
        expected[:, t], scale[:, t] = guess, width
        excess = x - guess
        flagged = (
            compared  # a month edge with no earlier month to compare with is not judged
            & (history[:, t] >= settings.min_history_days)
            & (excess > z * width)
            & (excess > settings.relative_excess * np.abs(guess))
            & (excess > settings.min_daily_excess)
        )
        anomalous[:, t] = np.nan_to_num(flagged, nan=0.0).astype(bool)
        run = np.where(anomalous[:, t], run + 1, 0)
        known = ~np.isnan(guess)
        lasting = run > settings.max_run_days  # the new normal: the history takes it as is
        judged = known & ~lasting & (history[:, t] >= settings.min_history_days)
        cleaned = np.where(judged, np.clip(x, guess - z * width, guess + z * width), x)
        clean[:, t] = cleaned
        if earlier[t]:  # the actual extra (a month's edge is judged against several months),
            settled = history[:, t] >= WEEKS * WEEK  # once four weeks of history give a base
            extra_seen[:, t] = np.where(settled, x - base, np.nan)
            with np.errstate(divide="ignore", invalid="ignore"):
                proportional = settled & (base > 0) & (x <= MAX_RATIO * base)
                ratio_seen[:, t] = np.where(proportional, (x - base) / base, np.nan)
        # a month edge with no earlier month to learn from is no usual day either: its
        # charge (a month-start credit, a month-end batch) would bend the weekday base
        usual[:, t] = np.where(compared, np.where(known, cleaned - extra, cleaned), np.nan)
        residual[:, t] = usual[:, t] - base
    return Expectation(expected=expected, scale=scale, anomalous=anomalous)


def same_position_days(days: Sequence[date]) -> list[list[int]]:
    """For each day on a month edge (first or last three days), the indexes of the days at
    the same position in up to three earlier months; [] for the other days."""
    positions = [_position(d) for d in days]
    found: list[list[int]] = []
    for t, position in enumerate(positions):
        if position == 0:
            found.append([])
            continue
        found.append([i for i in range(t) if positions[i] == position][-3:] or [t])
    return found


def _position(day: date) -> int:
    """1..3 for the first days of a month, -1..-3 for the last, 0 otherwise."""
    if day.day <= MONTH_EDGE:
        return day.day
    to_end = ((day.replace(day=28) + timedelta(days=4)).replace(day=1) - day).days
    return -to_end if to_end <= MONTH_EDGE else 0


def _base(usual: FloatMatrix, t: int, max_growth: float) -> FloatMatrix:
    """Median of the same weekday in the last four weeks, moved along the capped trend."""
    lags = [t - 7 * k for k in range(1, WEEKS + 1) if t - 7 * k >= 0]
    if not lags:
        return _nanmedian(usual[:, max(0, t - 7) : t]) if t else np.full(len(usual), np.nan)
    weekday = _nanmedian(usual[:, lags])
    if len(lags) < 2:
        weekday = np.where(np.isnan(weekday), _nanmedian(usual[:, max(0, t - 7) : t]), weekday)
    if t < 2 * 28:
        return weekday
    recent, before = _nanmedian(usual[:, t - 28 : t]), _nanmedian(usual[:, t - 56 : t - 28])
    with np.errstate(divide="ignore", invalid="ignore"):
        growth = np.where(before > 0, (recent / before) ** (1 / 28) - 1, 0.0)
    growth = np.clip(np.nan_to_num(growth), -max_growth, max_growth)
    moved: FloatMatrix = weekday * (1 + growth) ** TREND_LAG
    return moved


def _recurring(
    extra_seen: FloatMatrix,
    ratio_seen: FloatMatrix,
    base: FloatMatrix,
    same: list[int],
    tolerance: float,
) -> tuple[FloatMatrix, FloatMatrix, npt.NDArray[np.bool_]]:
    """The month-position extra expected today (the larger of the amount and the ratio to
    today's base seen in earlier months), the tolerance around it, and whether an earlier
    month gave one (True off the month edges)."""
    rows = len(extra_seen)
    if not same:
        return np.zeros(rows), np.zeros(rows), np.ones(rows, dtype=bool)
    amount = _typical(extra_seen[:, same])  # NaN where not yet known
    ratio = _typical(ratio_seen[:, same])
    extra = np.fmax(np.nan_to_num(amount), np.nan_to_num(ratio * base))
    compared: npt.NDArray[np.bool_] = np.asarray(~np.isnan(amount), dtype=bool)
    return extra, tolerance * np.abs(extra), compared


def _typical(values: FloatMatrix) -> FloatMatrix:
    """Per row: the median of three earlier months' values, the smaller of two, the one."""
    if values.shape[1] != 2:
        return _nanmedian(values)
    known = ~np.isnan(values)
    magnitude = np.where(known, np.abs(values), np.inf)
    smaller = values[np.arange(len(values)), np.argmin(magnitude, axis=1)]
    return np.where(known.any(axis=1), smaller, np.nan)


def _scale(residual: FloatMatrix, t: int, base: FloatMatrix, floor: float) -> FloatMatrix:
    window = residual[:, max(0, t - SCALE_WINDOW) : t]
    mad = MAD * _nanmedian(np.abs(window)) if t else np.full(len(residual), np.nan)
    return np.fmax(np.nan_to_num(mad, nan=0.0), floor * np.abs(np.nan_to_num(base)))


def _nanmedian(block: FloatMatrix) -> FloatMatrix:
    """Row medians ignoring NaN; NaN where a row has no value (without numpy's warning)."""
    if block.shape[1] == 0:
        return np.full(block.shape[0], np.nan)
    ordered = np.sort(block, axis=1)  # NaN last
    counts = (~np.isnan(block)).sum(axis=1)
    low = np.clip((counts - 1) // 2, 0, None)
    high = np.clip(counts // 2, 0, None)
    rows = np.arange(len(block))
    median = (ordered[rows, low] + ordered[rows, high]) / 2
    return np.where(counts > 0, median, np.nan)


def findings(
    series: DailySeries, values: FloatMatrix, model: Expectation, settings: DetectionSettings
) -> list[Finding]:
    """Group consecutive anomalous days per scope; keep those with impact ≥ min_impact."""
    found = []
    for row, start, stop in runs(model.anomalous):
        actual = float(values[row, start:stop].sum())
        expected = float(model.expected[row, start:stop].sum())
        if actual - expected < settings.min_impact:
            continue
        found.append(
            Finding(
                scope=dict(series.scopes[row]),
                currency=series.currencies[row],
                start=series.days[start],
                end=series.days[stop - 1],
                actual=actual,
                expected=expected,
                severity=settings.severity(actual - expected),
                daily=chart_days(series, values, model, row, start, stop),
            )
        )
    return found


def runs(flags: npt.NDArray[np.bool_]) -> list[tuple[int, int, int]]:
    """(row, start, stop) of every run of True, ``stop`` exclusive, in row order."""
    padded = np.pad(flags.astype(np.int8), ((0, 0), (1, 1)))
    edges = np.diff(padded, axis=1)
    starts, stops = np.argwhere(edges == 1), np.argwhere(edges == -1)
    return [(int(r), int(s), int(e)) for (r, s), (_, e) in zip(starts, stops, strict=True)]


def chart_days(
    series: DailySeries,
    values: FloatMatrix,
    model: Expectation,
    row: int,
    start: int,
    stop: int,
    before: int = 28,
    after: int = 7,
) -> tuple[dict[str, object], ...]:
    """Actual and expected per day around the anomaly, for its chart."""
    first, last = max(0, start - before), min(values.shape[1], stop + after)
    return tuple(
        {
            "day": series.days[t].isoformat(),
            "actual": chart_number(values[row, t]),
            "expected": chart_number(model.expected[row, t]),
            "anomalous": bool(model.anomalous[row, t]),
        }
        for t in range(first, last)
    )


def chart_number(value: float) -> float | None:
    """A chart point as stored JSON: None for a day without a value (PostgreSQL's JSON has
    no NaN or infinity)."""
    return round(float(value), 4) if np.isfinite(value) else None
