"""Ingest speed: ``costprism ingest`` of a generated FOCUS CSV vs DuckDB's raw CSV→Parquet COPY.

Usage: python bench/ingest.py [--rows 10000000] [--repeats 3]
All run in fresh processes on the same files in the same run; the figures (median wall
time, rows/s, peak RSS, ratio) are appended to bench/RESULTS.md. The daily rollup's cost
is measured twice: the rollup step timed inside the import, and a third child importing
with the rollup step switched off; its size is rollup rows against ledger rows.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import sys

from common import WORK, Timing, median, record, run_child

ROLLUP_STEPS = WORK / "rollup-steps.jsonl"
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
    ROLLUP_STEPS.unlink(missing_ok=True)
    raw = [run_child(raw_copy(files)) for _ in range(args.repeats)]
    bare = [
        run_child(costprism_ingest(files, args.memory_limit, False)) for _ in range(args.repeats)
    ]
    ours = [run_child(costprism_ingest(files, args.memory_limit)) for _ in range(args.repeats)]
    report(args, median(raw), median(ours))
    report_rollup(args, median(ours), median(bare))


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


CHILD = """
import json, pathlib, shutil, time
from costprism.ingest import pipeline
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger

home = pathlib.Path({home!r})
shutil.rmtree(home, ignore_errors=True)
refresh, step = pipeline.refresh_rollup, {{}}

def timed(*args):
    wall, cpu = time.perf_counter(), time.process_time()
    result = refresh(*args)
    step.update(seconds=time.perf_counter() - wall, cpu_seconds=time.process_time() - cpu)
    step.update(rows=result.rows)
    return result

pipeline.refresh_rollup = timed if {rollup!r} else (lambda *args: None)
options = IngestOptions(source="bench", memory_limit={memory_limit!r})
assert ingest({files!r}, Ledger.at_home(home), options).report.errors == 0
if step:
    with open({out!r}, "a") as steps:
        steps.write(json.dumps(step) + "\\n")
"""


def costprism_ingest(files: list[str], memory_limit: str, rollup: bool = True) -> str:
    """An import into a fresh home; without ``rollup`` the rollup step is switched off."""
    return CHILD.format(
        home=str(WORK / "home"),
        files=files,
        memory_limit=memory_limit,
        rollup=rollup,
        out=str(ROLLUP_STEPS),
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


def report_rollup(args: argparse.Namespace, ours: Timing, bare: Timing) -> None:
    from costprism.ledger import Ledger

    steps = [json.loads(line) for line in ROLLUP_STEPS.read_text().splitlines()]
    step = {key: statistics.median(s[key] for s in steps) for key in steps[0]}
    rows = sum(Ledger.at_home(WORK / "home").costs.slice_rows().values())
    record(
        f"daily rollup at ingest, {args.rows:,} rows (bench/ingest.py)",
        " ".join(["python bench/ingest.py", *sys.argv[1:]]),
        [
            f"rollup rows {step['rows']:,.0f} for {rows:,} ledger rows: "
            f"{rows / step['rows']:.1f}× fewer",
            f"rollup step inside the import: median {step['seconds']:.1f} s wall, "
            f"{step['cpu_seconds']:.1f} CPU s ({step['cpu_seconds'] / ours.cpu_seconds:.0%} "
            f"of the import's {ours.cpu_seconds:.1f} CPU s)",
            f"import with rollup: median {ours.seconds:.1f} s wall, {ours.cpu_seconds:.1f} CPU s; "
            f"with the step switched off: {bare.seconds:.1f} s wall, {bare.cpu_seconds:.1f} CPU s; "
            f"difference {ours.seconds - bare.seconds:+.1f} s wall, "
            f"{ours.cpu_seconds - bare.cpu_seconds:+.1f} CPU s; repeats {args.repeats}",
        ],
    )


if __name__ == "__main__":
    main()
