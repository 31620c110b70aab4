"""Forecast accuracy on the demo company and forecast speed (issue 6's targets).

(a) Accuracy, per seed: a small demo company (``costprism demo generate``), ingested and
allocated (the demo rules give the ``team`` dimension). For every team's and every
service's daily ``EffectiveCost`` series (per currency):

* back-test on the last 90 days (``--offset N``: the 90 days ending N days earlier):
  forecast them from the history before, with the chosen model (what ``costprism
  forecast`` uses) and the seasonal-naive baseline; MASE of each (mean absolute error over
  the 90 days / in-sample mean absolute error of the lag-7 naive forecast); the share of
  series where the model's MASE is below the baseline's (target ≥ 80%). Series with under
  28 days of history before the cut, and series both forecast exactly (all zeros), are
  left out;
* month-end total: forecast the last full month from the days before it; the error of
  the month's total |forecast − actual| / actual for the company (per currency; target
  < 5%) and for each series, and how often the actual total falls inside the month's 80%
  and 95% intervals (a check of the interval of a sum, see forecasting.aggregate).

(b) Speed: 1,000 synthetic series of 400 days (weekly pattern, trend, noise, a monthly
charge), 90 days ahead, with the default worker count (target < 60 s on 2 cores).

    .venv/bin/python bench/forecast.py --seeds 1 2 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from dataclasses import dataclass, replace
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from common import WORK, record
from costprism.allocation.rules import load_rules
from costprism.capabilities.allocation import apply_rules
from costprism.capabilities.forecast import daily_series, last_complete_day
from costprism.demo import DemoSpec, generate
from costprism.engine.backends import open_ledger
from costprism.forecasting import Series, forecast_series, period_totals
from costprism.forecasting.aggregate import period_end
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger

BACKTEST_DAYS = 90
MIN_TRAIN_DAYS = 28


@dataclass(frozen=True, kw_only=True)
class SeriesScore:
    name: str
    mase_model: float
    mase_baseline: float
    month_error: float | None
    inside80: bool
    inside95: bool


def build(seed: int, rows_per_month: int) -> Path:
    home = WORK / f"forecast-{seed}-{rows_per_month}" / "home"
    if Ledger.at_home(home).costs.exists():
        return home
    data = home.parent / "data"
    generate(data, DemoSpec(months=13, rows_per_month=rows_per_month, seed=seed))
    ledger = Ledger.at_home(home)
    ingest([str(data / "focus")], ledger, IngestOptions(source="demo"))
    apply_rules(ledger, load_rules(data / "rules.yaml"))
    return home


def truncate(series: Series, last: date) -> Series:
    days = (last - series.start).days + 1
    return replace(series, values=series.values[: max(days, 0)])


def mase(forecast: np.ndarray, actual: np.ndarray, train: np.ndarray) -> float:
    scale = float(np.mean(np.abs(train[7:] - train[:-7])))
    return float(np.mean(np.abs(forecast - actual))) / scale if scale > 0 else float("nan")


def score_seed(
    seed: int, rows_per_month: int, offset: int = 0
) -> tuple[list[SeriesScore], dict[str, float]]:
    view = open_ledger(Ledger.at_home(build(seed, rows_per_month)))
    last = last_complete_day(view)
    assert last is not None
    month_start = (last + timedelta(days=1)).replace(day=1)
    if period_end(month_start, "month") - timedelta(days=1) != last:
        month_start = (month_start - timedelta(days=1)).replace(day=1)  # last full month
    month_last = period_end(month_start, "month") - timedelta(days=1)
    cut = last - timedelta(days=BACKTEST_DAYS + offset)
    scores: list[SeriesScore] = []
    for group in (["team"], ["ServiceName"]):
        for one in daily_series(view, group_by=group, filters=(), scope=(), last=last):
            scores.extend(_score(one, group, cut, last, month_start, month_last))
    company = {}
    for one in daily_series(view, group_by=[], filters=(), scope=(), last=last):
        before = truncate(one, month_start - timedelta(days=1))
        fitted = forecast_series([before], (month_last - month_start).days + 1)[0]
        actual = float(one.values[(month_start - one.start).days :].sum())
        company[str(one.key[-1])] = abs(float(fitted.point.sum()) - actual) / actual
    return scores, company


def _score(
    one: Series, group: list[str], cut: date, last: date, month_start: date, month_last: date
) -> list[SeriesScore]:
    train = truncate(one, cut)
    nonzero = np.flatnonzero(train.values)
    if len(nonzero) == 0 or len(train.values) - nonzero[0] < MIN_TRAIN_DAYS:
        return []
    test = one.values[len(train.values) : len(train.values) + BACKTEST_DAYS]
    fitted = forecast_series([train], BACKTEST_DAYS)[0]
    history = train.values[nonzero[0] :]
    model, baseline = mase(fitted.point, test, history), mase(fitted.baseline, test, history)
    if np.isnan(model) or model == baseline == 0:
        return []  # no scale, or nothing to forecast (both exactly right: zeros)
    before = truncate(one, month_start - timedelta(days=1))
    month = forecast_series([before], (month_last - month_start).days + 1)[0]
    total = period_totals(month, "month")[0]
    actual = float(
        one.values[(month_start - one.start).days : (month_last - one.start).days + 1].sum()
    )
    error = abs(float(total["EffectiveCost"]) - actual) / actual if actual > 0 else None  # type: ignore[arg-type]
    return [
        SeriesScore(
            name=f"{group[0]}={one.key[0]} {one.key[-1]}",
            mase_model=model,
            mase_baseline=baseline,
            month_error=error,
            inside80=float(total["lo80"]) <= actual <= float(total["hi80"]),  # type: ignore[arg-type]
            inside95=float(total["lo95"]) <= actual <= float(total["hi95"]),  # type: ignore[arg-type]
        )
    ]


def synthetic(count: int, days: int, seed: int = 0) -> list[Series]:
    rng = np.random.default_rng(seed)
    start = date(2025, 1, 1)
    t = np.arange(days)
    series = []
    for i in range(count):
        level = rng.uniform(10, 1000)
        weekly = level * rng.uniform(0, 0.3) * np.sin(2 * np.pi * (t + rng.integers(7)) / 7)
        trend = level * rng.uniform(-0.001, 0.003) * t
        noise = rng.normal(0, level * rng.uniform(0.01, 0.1), days)
        values = np.maximum(level + weekly + trend + noise, 0.0)
        firsts = [k for k in t if (start + timedelta(days=int(k))).day == 1]
        values[firsts] += level * rng.uniform(0, 3)
        series.append(Series(key=(f"s{i}", "USD"), start=start, values=values))
    return series


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--rows-per-month", type=int, default=3000)
    parser.add_argument("--series", type=int, default=1000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument(
        "--offset", type=int, default=0, help="end the back-test this many days before the last"
    )
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    lines = []
    all_scores: list[SeriesScore] = []
    company_errors: list[float] = []
    for seed in args.seeds:
        scores, company = score_seed(seed, args.rows_per_month, args.offset)
        all_scores.extend(scores)
        company_errors.extend(company.values())
        beats = sum(s.mase_model < s.mase_baseline for s in scores) / len(scores)
        worst = ", ".join(
            f"{s.name} {s.mase_model:.2f} vs {s.mase_baseline:.2f}"
            for s in scores
            if s.mase_model >= s.mase_baseline
        )
        lines.append(
            f"seed {seed}: {len(scores)} series (teams and services); MSTL beats seasonal naive "
            f"on {beats:.0%}; median MASE {statistics.median(s.mase_model for s in scores):.3f} "
            f"vs {statistics.median(s.mase_baseline for s in scores):.3f}; company month-end "
            "total error "
            + ", ".join(f"{c} {e:.2%}" for c, e in company.items())
            + (f"; not beaten: {worst}" if worst else "")
        )
        print(lines[-1], flush=True)
    beats = sum(s.mase_model < s.mase_baseline for s in all_scores) / len(all_scores)
    ratios = [s.mase_model / s.mase_baseline for s in all_scores if s.mase_baseline > 0]
    month = [s.month_error for s in all_scores if s.month_error is not None]
    lines.append(
        f"all seeds: {len(all_scores)} series; MSTL beats seasonal naive on {beats:.0%} "
        f"(target ≥ 80%); median MASE {statistics.median(s.mase_model for s in all_scores):.3f}"
        f" vs seasonal naive {statistics.median(s.mase_baseline for s in all_scores):.3f}; "
        f"median MASE ratio model/naive {statistics.median(ratios):.3f}"
    )
    lines.append(
        f"month-end total error, company (per seed and currency): median "
        f"{statistics.median(company_errors):.2%}, worst {max(company_errors):.2%} (target < 5%);"
        f" per series median {statistics.median(month):.2%}; actual month total inside the "
        f"80% interval {sum(s.inside80 for s in all_scores) / len(all_scores):.0%}, inside "
        f"the 95% interval {sum(s.inside95 for s in all_scores) / len(all_scores):.0%}"
    )
    print(lines[-1], flush=True)
    if not args.skip_speed:
        load = os.getloadavg()
        series = synthetic(args.series, args.days)
        started = time.perf_counter()
        fitted = forecast_series(series, 90)
        took = time.perf_counter() - started
        models = {m: sum(f.model == m for f in fitted) for m in {f.model for f in fitted}}
        lines.append(
            f"speed: {args.series:,} series × {args.days} days, 90 days ahead: {took:.1f} s "
            f"(target < 60 s; ratio {took / 60:.2f} of the target), models {models}, "
            f"{os.cpu_count()} CPUs, load before {load[0]:.2f} / {load[1]:.2f} / {load[2]:.2f}"
        )
        print(lines[-1], flush=True)
    if not args.no_record:
        seeds = " ".join(str(s) for s in args.seeds)
        record(
            "forecast accuracy and speed (bench/forecast.py)",
            f"python bench/forecast.py --seeds {seeds} --rows-per-month {args.rows_per_month}"
            + (f" --offset {args.offset}" if args.offset else "")
            + (" --skip-speed" if args.skip_speed else ""),
            lines,
        )


if __name__ == "__main__":
    main()
