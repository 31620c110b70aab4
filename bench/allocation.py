"""Allocation at scale: the demo rule set applied to a demo ledger of N rows.

Issue 5's targets: applying the demo rules (63 rules, 3 shared-cost steps) within 10× of
one ``GROUP BY`` scan of the same ledger, in bounded memory (DuckDB's limit 2 GB, peak
RSS reported); and ``cost --by team`` afterwards within 2× of ``cost --by ServiceName``.
Each step runs in a fresh process (wall, CPU, peak RSS); the scan and the apply take turns
per repeat, so load on the machine hits both alike. The ratio is of the timed calls (the
apply against the query), each measured inside its process after the imports — Python with
Ibis starts in about a second, DuckDB alone in a tenth; the process times are reported too.

    .venv/bin/python bench/allocation.py --rows 10000000 --months 3 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from common import WORK, Timing, median, record, run_child
from costprism.capabilities.reporting import cost_report
from costprism.demo.allocation import demo_rules
from costprism.engine.backends import open_ledger
from costprism.engine.query import CostQuery
from costprism.ledger import Ledger
from web import build_ledger


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-record", action="store_true")
    args = parser.parse_args()

    home = build_ledger(args.rows, args.months)
    rules = WORK / "allocation-rules.yaml"
    rules.write_text(demo_rules(), encoding="utf-8")
    ledger = Ledger.at_home(home)
    files, _ = ledger.costs.files()
    rows = _count(files)
    scans: list[Timing] = []
    applies: list[Timing] = []
    scan_calls: list[float] = []
    apply_calls: list[float] = []
    clock = WORK / "allocation-call-seconds.txt"
    for _ in range(args.repeats):
        scans.append(run_child(_scan_code(files) + _write_elapsed(clock)))
        scan_calls.append(float(clock.read_text()))
        applies.append(run_child(_apply_code(home, rules) + _write_elapsed(clock)))
        apply_calls.append(float(clock.read_text()))
        print(
            f"scan {scan_calls[-1]:.2f} s (process {scans[-1].seconds:.1f} s), "
            f"apply {apply_calls[-1]:.2f} s (process {applies[-1].seconds:.1f} s)"
        )
    scan, apply = median(scans), median(applies)
    scan_call, apply_call = statistics.median(scan_calls), statistics.median(apply_calls)
    by_team = _query_ms(ledger, "team")
    by_service = _query_ms(ledger, "ServiceName")
    lines = [
        f"ledger: {rows:,} rows over {args.months} billing months (demo, seed 7)",
        f"GROUP BY scan (DuckDB, ServiceName × currency over the ledger files): query median "
        f"{scan_call:.2f} s; process {scan.seconds:.1f} s, CPU {scan.cpu_seconds:.1f} s, "
        f"peak RSS {scan.peak_rss_mb:,.0f} MB",
        f"rules apply (63 rules, 3 shared steps, + allocated daily rollup): call median "
        f"{apply_call:.2f} s; process {apply.seconds:.1f} s, CPU {apply.cpu_seconds:.1f} s, "
        f"peak RSS {apply.peak_rss_mb:,.0f} MB (DuckDB memory_limit 2 GB)",
        f"apply / scan: {apply_call / scan_call:.1f}× by the timed calls (target ≤ 10×); "
        f"per repeat: {_ratios(apply_calls, scan_calls)}; by process wall "
        f"{apply.seconds / scan.seconds:.1f}×, by process CPU "
        f"{apply.cpu_seconds / max(scan.cpu_seconds, 0.01):.1f}×",
        f"cost --by team --granularity month: median {by_team:.0f} ms; "
        f"cost --by ServiceName: {by_service:.0f} ms; ratio {by_team / by_service:.2f} "
        "(target ≤ 2)",
    ]
    if args.no_record:
        print("\n".join(lines))
        return
    record(
        f"Allocation, {rows:,} rows",
        f"python bench/allocation.py --rows {args.rows} --months {args.months} "
        f"--repeats {args.repeats}",
        lines,
    )


def _ratios(applies: list[float], scans: list[float]) -> str:
    return ", ".join(f"{a / s:.1f}×" for a, s in zip(applies, scans, strict=True))


def _write_elapsed(clock: Path) -> str:
    """Code that writes the seconds since ``_start`` (set by the step's code) to ``clock``."""
    return f"Path({str(clock)!r}).write_text(str(time.perf_counter() - _start))\n"


def _scan_code(files: list[str]) -> str:
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return (
        "import time\n"
        "from pathlib import Path\n"
        "import duckdb\n"
        "c = duckdb.connect()\n"
        "c.execute(\"SET memory_limit = '2GB'\")\n"
        "_start = time.perf_counter()\n"
        f'c.execute("SELECT ServiceName, BillingCurrency, sum(EffectiveCost) FROM '
        f'read_parquet([{listed}], union_by_name = true) GROUP BY ALL").fetchall()\n'
    )


def _apply_code(home: Path, rules: Path) -> str:
    return (
        "import time\n"
        "from pathlib import Path\n"
        "from costprism.allocation.rules import load_rules\n"
        "from costprism.capabilities.allocation import apply_rules\n"
        "from costprism.ledger import Ledger\n"
        "_start = time.perf_counter()\n"
        f"apply_rules(Ledger.at_home(Path({str(home)!r})), load_rules(Path({str(rules)!r})))\n"
    )


def _query_ms(ledger: Ledger, by: str, repeats: int = 5) -> float:
    view = open_ledger(ledger)
    query = CostQuery(group_by=(by,), granularity="month")
    cost_report(view, query)  # warm: files listed, caches filled
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        cost_report(view, query)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _count(files: list[str]) -> int:
    import duckdb

    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    found = duckdb.sql(f"SELECT count(*) FROM read_parquet([{listed}])").fetchone()
    return int(found[0]) if found else 0


if __name__ == "__main__":
    main()
