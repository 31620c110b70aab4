"""Allocation at scale: the demo rule set applied to a demo ledger of N rows.

Issue 5's targets: applying the demo rules (63 rules, 3 shared-cost steps) within 10× of
one ``GROUP BY`` scan of the same ledger, in bounded memory (DuckDB's limit 2 GB, peak
RSS reported); and ``cost --by team`` afterwards within 2× of ``cost --by ServiceName``.
Each step runs in a fresh process (wall, CPU, peak RSS); the scan and the apply take turns
per repeat, so load on the machine hits both alike.

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
    for _ in range(args.repeats):
        scans.append(run_child(_scan_code(files)))
        applies.append(run_child(_apply_code(home, rules)))
        print(f"scan {scans[-1].seconds:.1f} s, apply {applies[-1].seconds:.1f} s")
    scan, apply = median(scans), median(applies)
    by_team = _query_ms(ledger, "team")
    by_service = _query_ms(ledger, "ServiceName")
    lines = [
        f"ledger: {rows:,} rows over {args.months} billing months (demo, seed 7)",
        f"GROUP BY scan (DuckDB, ServiceName × currency over the ledger files): median "
        f"{scan.seconds:.1f} s, CPU {scan.cpu_seconds:.1f} s, peak RSS {scan.peak_rss_mb:,.0f} MB",
        f"rules apply (63 rules, 3 shared steps, + allocated daily rollup): median "
        f"{apply.seconds:.1f} s, CPU {apply.cpu_seconds:.1f} s, peak RSS "
        f"{apply.peak_rss_mb:,.0f} MB (DuckDB memory_limit 2 GB)",
        f"apply / scan: {apply.seconds / scan.seconds:.1f}× by wall "
        f"({apply.cpu_seconds / max(scan.cpu_seconds, 0.01):.1f}× by CPU); target ≤ 10×; "
        f"per repeat: {_ratios(applies, scans)}",
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


def _ratios(applies: list[Timing], scans: list[Timing]) -> str:
    pairs = zip(applies, scans, strict=True)
    return ", ".join(f"{a.seconds / s.seconds:.1f}×" for a, s in pairs)


def _scan_code(files: list[str]) -> str:
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return (
        "import duckdb\n"
        "c = duckdb.connect()\n"
        "c.execute(\"SET memory_limit = '2GB'\")\n"
        f'c.execute("SELECT ServiceName, BillingCurrency, sum(EffectiveCost) FROM '
        f'read_parquet([{listed}], union_by_name = true) GROUP BY ALL").fetchall()\n'
    )


def _apply_code(home: Path, rules: Path) -> str:
    return (
        "from pathlib import Path\n"
        "from costprism.allocation.rules import load_rules\n"
        "from costprism.capabilities.allocation import apply_rules\n"
        "from costprism.ledger import Ledger\n"
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
