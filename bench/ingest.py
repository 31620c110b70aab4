"""Ingest speed: ``costprism ingest`` of a generated FOCUS CSV vs DuckDB's raw CSV→Parquet COPY.

Usage: python bench/ingest.py [--rows 10000000] [--repeats 3]
Both run in fresh processes on the same files in the same run; the figures (median wall
time, rows/s, peak RSS, ratio) are appended to bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import sys

from common import WORK, Timing, median, record, run_child

ID_TYPES = "{'BillingAccountId': 'VARCHAR', 'SubAccountId': 'VARCHAR', 'ResourceId': 'VARCHAR', "
ID_TYPES += "'SkuId': 'VARCHAR', 'SkuPriceId': 'VARCHAR', 'InvoiceId': 'VARCHAR'}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-limit", default="1GB")
    args = parser.parse_args()
    data = WORK / f"demo-{args.rows}"
    if not (data / "manifest.json").exists():
        generate(data, args.rows)
    files = sorted(str(p) for p in (data / "focus").rglob("*.csv"))
    raw = [run_child(raw_copy(files)) for _ in range(args.repeats)]
    ours = [run_child(costprism_ingest(files, args.memory_limit)) for _ in range(args.repeats)]
    report(args, median(raw), median(ours))


def generate(out, rows: int) -> None:
    from costprism.demo import DemoSpec, generate

    shutil.rmtree(out, ignore_errors=True)
    generate(out, DemoSpec(months=1, rows_per_month=rows, file_format="csv"))


def raw_copy(files: list[str]) -> str:
    target = WORK / "raw.parquet"
    return (
        "import duckdb; c = duckdb.connect(); c.execute('SET enable_progress_bar = false'); "
        f'c.execute("COPY (SELECT * FROM read_csv({files!r}, types = {ID_TYPES})) '
        f"TO '{target}' (FORMAT parquet)\")"
    )


def costprism_ingest(files: list[str], memory_limit: str) -> str:
    home = WORK / "home"
    return (
        f"import shutil; shutil.rmtree({str(home)!r}, ignore_errors=True); "
        "from costprism.ingest.pipeline import ingest, IngestOptions; "
        "from costprism.ledger import Ledger; "
        f"r = ingest({files!r}, Ledger.at_home(__import__('pathlib').Path({str(home)!r})), "
        f"IngestOptions(source='bench', memory_limit={memory_limit!r})); "
        "assert r.report.errors == 0"
    )


def report(args: argparse.Namespace, raw: Timing, ours: Timing) -> None:
    rows = args.rows
    record(
        f"ingest {rows:,} rows (bench/ingest.py)",
        " ".join(["python bench/ingest.py", *sys.argv[1:]]),
        [
            f"DuckDB raw COPY read_csv→Parquet: median {raw.seconds:.1f} s, "
            f"{rows / raw.seconds:,.0f} rows/s, peak RSS {raw.peak_rss_mb:,.0f} MB",
            "costprism ingest (validate + typed write + Delta commit): "
            f"median {ours.seconds:.1f} s, "
            f"{rows / ours.seconds:,.0f} rows/s, peak RSS {ours.peak_rss_mb:,.0f} MB",
            f"speed ratio costprism/raw: {raw.seconds / ours.seconds:.2f} (target ≥ 0.5); "
            f"repeats {args.repeats}; memory limit {args.memory_limit}",
        ],
    )


if __name__ == "__main__":
    main()
