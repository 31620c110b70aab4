"""Anomaly detection accuracy and speed (issue 6).

Accuracy, on the demo company with several seeds (6 months, 20,000 rows a month each,
default settings): each seed's ledger is scanned by ``SubAccountId × ServiceName`` (cost
anomalies and the security rules) and compared with the generator's ground truth
(``anomalies.json``):

* a detected anomaly **matches** an injected one when its currency is the same, its scope
  is the injected scope or contains it (every dimension it names is in the injected scope,
  with the same value: ``{SubAccountId: A}`` contains ``{SubAccountId: A, ServiceName:
  S}``) and their days overlap;
* **recall** = injected anomalies matched by at least one detected / injected;
* **precision** = detected anomalies that match an injected one / detected;
* **top driver**: the same seeds scanned by ``SubAccountId`` alone (so the service is a
  driver to find), with the security rules; for each detected anomaly that matches an
  injected one, the first driver must be a (dimension, value) of the injected scope, the
  SKU of the resources it added (``SkuId`` in ``anomalies.json``), or a SKU or resource
  whose rows in that account are all of the injected service.

Speed: :func:`~costprism.anomalies.detection.detect` over 1,000 synthetic scopes of 400
days (weekly season, month-start charges, trend, noise, a few spikes), and the whole scan
(engine read, detection, security rules) of one demo ledger by ``SubAccountId ×
ServiceName × RegionId``.

    .venv/bin/python bench/anomalies.py --seeds 7 11 23
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from common import WORK, record
from costprism.anomalies.detection import DetectionSettings, detect
from costprism.anomalies.scan import Detected, scan
from costprism.anomalies.series import DailySeries, read_series
from costprism.demo import DemoSpec, generate
from costprism.engine.backends import LedgerView, open_ledger
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger

MONTHS, ROWS = 6, 20_000  # defaults; --months and --rows-per-month change them


def demo_home(
    seed: int, months: int = MONTHS, rows: int = ROWS
) -> tuple[Path, list[dict[str, Any]]]:
    """A ledger of the demo for ``seed`` (built once under bench/.work) and its truth."""
    size = "" if (months, rows) == (MONTHS, ROWS) else f"-{months}x{rows}"
    out, home = WORK / f"anomalies-demo-{seed}{size}", WORK / f"anomalies-home-{seed}{size}"
    if not (out / "anomalies.json").exists():
        generate(out, DemoSpec(seed=seed, months=months, rows_per_month=rows,
                               file_format="parquet"))  # fmt: skip
    if not home.exists():
        ingest(sorted((out / "focus").rglob("*.parquet")), Ledger.at_home(home),
               IngestOptions(source="demo"))  # fmt: skip
    return home, json.loads((out / "anomalies.json").read_text())


def matches(detected: Detected, truth: dict[str, Any]) -> bool:
    f, scope = detected.finding, truth["scope"]
    contains = all(scope.get(k) == v for k, v in f.scope.items())
    overlap = f.start.isoformat() <= truth["end"] and f.end.isoformat() >= truth["start"]
    return contains and overlap and f.currency == truth["BillingCurrency"]


def accuracy(
    seed: int, settings: DetectionSettings, months: int = MONTHS, rows: int = ROWS
) -> dict[str, Any]:
    home, truth = demo_home(seed, months, rows)
    view = open_ledger(Ledger.at_home(home))
    found = scan(view, ("SubAccountId", "ServiceName"), settings, explain=False)
    hits = [d for d in found if any(matches(d, t) for t in truth)]
    recalled = [t for t in truth if any(matches(d, t) for d in found)]
    missed = [t["kind"] for t in truth if t not in recalled]
    false = [(d.rule, d.finding.scope, d.finding.start.isoformat(), round(d.finding.impact))
             for d in found if d not in hits]  # fmt: skip
    by_account = scan(view, ("SubAccountId",), settings)
    explained = [(d, t) for d in by_account for t in truth if matches(d, t)]
    right = [d for d, t in explained if d.drivers and _top_is_right(view, d, t)]
    return {
        "seed": seed, "injected": len(truth), "detected": len(found), "true": len(hits),
        "recall": len(recalled) / len(truth), "precision": len(hits) / max(len(found), 1),
        "missed": missed, "false": false, "explained": len(explained),
        "top_driver": len(right) / max(len(explained), 1),
        "wrong_drivers": [(t["kind"], d.drivers[0].record() if d.drivers else None)
                          for d, t in explained if d not in right],
    }  # fmt: skip


def _top_is_right(view: LedgerView, detected: Detected, truth: dict[str, Any]) -> bool:
    """The first driver names the injected scope's service, account or region, the SKU of
    the resources the anomaly added, or a SKU or resource all of whose rows in the
    anomaly's account are of the injected service."""
    top = detected.drivers[0]
    named = truth["scope"] | ({"SkuId": truth["SkuId"]} if "SkuId" in truth else {})
    if named.get(top.dimension) == top.value:
        return True
    if top.dimension not in ("SkuId", "ResourceId"):
        return False
    costs = view.costs
    rows = costs.filter(
        [costs[top.dimension] == top.value, costs.SubAccountId == truth["scope"]["SubAccountId"]]
    )
    services = set(rows.select("ServiceName").distinct().to_pandas()["ServiceName"])
    return services == {truth["scope"]["ServiceName"]}


def synthetic(scopes: int, days: int, seed: int = 1) -> DailySeries:
    """Scopes with a weekly season, month-start charges, trend, noise and a few spikes."""
    rng = np.random.default_rng(seed)
    first = date(2025, 1, 1)
    calendar = [first + timedelta(days=i) for i in range(days)]
    weekday = np.array([d.weekday() for d in calendar])
    month_start = np.array([d.day == 1 for d in calendar])
    level = rng.lognormal(4, 1.5, (scopes, 1))
    season = np.where(weekday >= 5, rng.uniform(0.5, 1, (scopes, 1)), 1.0)
    trend = np.exp(rng.normal(0, 0.001, (scopes, 1)) * np.arange(days))
    noise = rng.lognormal(0, 0.05, (scopes, days))
    values = level * season * trend * noise + month_start * level * rng.uniform(0, 3, (scopes, 1))
    spikes = rng.integers(60, days, scopes)
    values[np.arange(scopes), spikes] *= 4
    return DailySeries(
        dimensions=("scope",), scopes=tuple({"scope": str(i)} for i in range(scopes)),
        currencies=("USD",) * scopes, days=tuple(calendar), values=values,
    )  # fmt: skip


def speed(scopes: int, days: int, repeats: int) -> tuple[float, int]:
    series = synthetic(scopes, days)
    times, found = [], 0
    for _ in range(repeats):
        start = time.perf_counter()
        found = len(detect(series, DetectionSettings()))
        times.append(time.perf_counter() - start)
    return statistics.median(times), found


def scan_speed(seed: int, months: int = MONTHS, rows: int = ROWS) -> tuple[float, int, int]:
    home, _ = demo_home(seed, months, rows)
    view = open_ledger(Ledger.at_home(home))
    dims = ("SubAccountId", "ServiceName", "RegionId")
    start = time.perf_counter()
    found = scan(view, dims, DetectionSettings(), explain=False)
    seconds = time.perf_counter() - start
    return seconds, len(read_series(view, dims).scopes), len(found)


def _each(results: list[dict[str, Any]], key: str) -> str:
    return ", ".join(f"{r[key]:.2f}" for r in results)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", type=int, nargs="+", default=[7, 11, 23])
    parser.add_argument("--scopes", type=int, default=1_000)
    parser.add_argument("--days", type=int, default=400)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--months", type=int, default=MONTHS)
    parser.add_argument("--rows-per-month", type=int, default=ROWS)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    settings = DetectionSettings()
    size = (args.months, args.rows_per_month)
    results = [accuracy(seed, settings, *size) for seed in args.seeds]
    for r in results:
        print(json.dumps(r, default=str))
    seconds, found = speed(args.scopes, args.days, args.repeats)
    scan_seconds, scan_scopes, scan_found = scan_speed(args.seeds[0], *size)
    recall = statistics.median(r["recall"] for r in results)
    precision = statistics.median(r["precision"] for r in results)
    top = statistics.median(r["top_driver"] for r in results)
    lines = [
        f"demo seeds {', '.join(map(str, args.seeds))} ({args.months} months, "
        f"{args.rows_per_month:,} rows a month), "
        f"default settings (sensitivity {settings.sensitivity}, threshold {settings.threshold})",
        f"recall median {recall:.2f} (per seed {_each(results, 'recall')}; target ≥ 0.9)",
        f"precision median {precision:.2f} (per seed {_each(results, 'precision')}; target ≥ 0.8)",
        f"top driver right median {top:.2f} (per seed {_each(results, 'top_driver')}; "
        "target ≥ 0.9)",
        f"detect() over {args.scopes:,} synthetic scopes × {args.days} days: median "
        f"{seconds:.2f} s of {args.repeats} ({found} anomalies; target < 30 s)",
        f"whole scan of the seed-{args.seeds[0]} demo by SubAccountId × ServiceName × RegionId "
        f"({scan_scopes} scopes, engine read + detection + security rules, no drivers): "
        f"{scan_seconds:.2f} s ({scan_found} anomalies)",
    ]
    print("\n".join(lines))
    if not args.no_record:
        record("anomalies (bench/anomalies.py)", "python bench/anomalies.py --seeds "
               + " ".join(map(str, args.seeds)) + f" --months {args.months} "
               f"--rows-per-month {args.rows_per_month}", lines)  # fmt: skip


if __name__ == "__main__":
    main()
