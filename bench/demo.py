"""Demo generator speed: rows/s for one month of ``costprism.demo`` output.

Usage: python bench/demo.py [--rows 1000000] [--format csv] [--repeats 3]
Each run is a fresh process (imports included); the median wall time, rows/s and peak RSS
are appended to bench/RESULTS.md. Target: 300,000 rows/s writing CSV on one core.
"""

from __future__ import annotations

import argparse
import json
import sys

from common import WORK, Timing, median, record, run_child


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--format", default="csv", choices=("csv", "csv.gz", "parquet"))
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    out = WORK / "demo-bench"
    timings = [run_child(generate(out, args.rows, args.format)) for _ in range(args.repeats)]
    manifest = json.loads((out / "manifest.json").read_text())
    report(args, median(timings), sum(f["rows"] for f in manifest["files"]))


def generate(out: object, rows: int, file_format: str) -> str:
    return (
        f"import shutil; shutil.rmtree({str(out)!r}, ignore_errors=True); "
        "from datetime import date; from pathlib import Path; "
        "from costprism.demo import DemoSpec, generate; "
        f"generate(Path({str(out)!r}), DemoSpec(months=1, rows_per_month={rows}, "
        f"end_month=date(2026, 3, 1), file_format={file_format!r}))"
    )


def report(args: argparse.Namespace, timing: Timing, rows: int) -> None:
    record(
        f"demo generate {rows:,} rows as {args.format} (bench/demo.py)",
        " ".join(["python bench/demo.py", *sys.argv[1:]]),
        [
            f"median {timing.seconds:.2f} s wall in a fresh process, "
            f"{rows / timing.seconds:,.0f} rows/s, peak RSS {timing.peak_rss_mb:,.0f} MB",
            f"repeats {args.repeats}; target ≥ 300,000 rows/s for csv",
        ],
    )


if __name__ == "__main__":
    main()
