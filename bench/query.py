"""Query speed: ``cost --by ServiceName --granularity month`` vs hand-written DuckDB SQL.

Usage: python bench/query.py [--repeats 5] (after bench/ingest.py has built the ledger)
All run in-process on the ledger's current version: ``cost_report`` (which reads the daily
rollup when it is current), the same expression forced onto the raw ledger, and
hand-written SQL over the raw Parquet files.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import duckdb

from common import WORK, record
from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import open_ledger
from costprism.engine.query import CostQuery, cost_expression
from costprism.ledger import Ledger


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--home", type=Path, default=WORK / "home")
    args = parser.parse_args()
    ledger = Ledger.at_home(args.home)
    files, version = ledger.costs.files()
    rows = duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r})").fetchone()
    query = CostQuery(group_by=("ServiceName",), granularity="month")
    ours = [_time(lambda: cost_report(open_ledger(ledger), query)) for _ in range(args.repeats)]
    ledger_only = [_time(lambda: _raw_ledger(ledger, query)) for _ in range(args.repeats)]
    raw = [_time(lambda: _raw(files)) for _ in range(args.repeats)]
    ours_s, raw_s = statistics.median(ours), statistics.median(raw)
    rollup = "the daily rollup" if open_ledger(ledger).daily is not None else "no rollup"
    record(
        f"query on {rows[0] if rows else 0:,} rows (bench/query.py)",
        " ".join(["python bench/query.py", *sys.argv[1:]]),
        [
            f"hand-written DuckDB SQL: median {raw_s * 1000:,.0f} ms",
            f"costprism cost --by ServiceName --granularity month ({rollup}): "
            f"median {ours_s * 1000:,.0f} ms",
            f"the same on the raw ledger: median {statistics.median(ledger_only) * 1000:,.0f} ms",
            f"ratio costprism/raw: {ours_s / raw_s:.2f} (target ≤ 1.5); ledger version {version}; "
            f"repeats {args.repeats}",
        ],
    )


def _raw(files: list[str]) -> None:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    connection.execute(
        "SELECT ServiceName, BillingCurrency, "
        "CAST(date_trunc('month', ChargePeriodStart) AS DATE) AS period, "
        f" sum(EffectiveCost) AS EffectiveCost FROM read_parquet({files!r}) "
        "GROUP BY ALL ORDER BY period, EffectiveCost DESC"
    ).fetchall()


def _raw_ledger(ledger: Ledger, query: CostQuery) -> None:
    cost_expression(open_ledger(ledger).costs, query).to_pyarrow()


def _time(action: object) -> float:
    start = time.perf_counter()
    action()  # type: ignore[operator]
    return time.perf_counter() - start


if __name__ == "__main__":
    main()
