"""Native conversion speed: ``costprism ingest`` of a 1M-line AWS CUR vs focus-converter.

Usage: python bench/convert.py [--rows 1000000] [--repeats 3] [--fc-timeout 900]

The CUR CSV is the demo company's AWS bill (``costprism demo cur``), made once and kept in
bench/.work/. Three commands convert it, each in a fresh process, taking turns within each
repeat so that other work on the machine falls on all of them alike:

- ``costprism ingest CUR --source bench --home H`` into a fresh ledger (the aws-cur reader
  maps it to FOCUS 1.2, checks it and commits it; the daily rollup included);
- the FinOps Foundation's ``focus-converter`` (provider ``aws-cur``, Parquet out), in its
  own Python 3.12 venv (bench/.work/venv-fc, made here if missing, with the pins
  shared/docs/research/focus-tooling.md gives), always under ``timeout`` (it hangs on a
  missing column);
- DuckDB's ``COPY (SELECT * FROM read_csv(CUR)) TO '….parquet'``, the engine's floor.

Reported: median wall time, rows/s, CPU seconds (user + system of the whole process tree:
steadier than wall time on a loaded machine), peak RSS (of the largest process, and the
process tree's sampled every 50 ms: focus-converter writes from worker processes), the
ratios, and the load average around the runs. If focus-converter does not install or
run, the section says so and reports the rest. Target: costprism ≥ 3× focus-converter's
speed, in bounded memory.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

from common import WORK, record

FC_VENV = WORK / "venv-fc"
FC_PACKAGES = ("focus-converter", "multimethod<1.11", "click<8.2")
COSTPRISM = Path(sys.executable).parent / "costprism"


@dataclass(frozen=True, kw_only=True)
class Run:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float  # the largest single process (getrusage)
    tree_rss_mb: float  # the whole process tree, sampled
    load: float  # 1-minute load average when the run ended


@dataclass(frozen=True, kw_only=True)
class Summary:
    seconds: float
    cpu_seconds: float
    peak_rss_mb: float
    tree_rss_mb: float
    loads: tuple[float, ...]
    runs: tuple[float, ...]  # wall seconds of each run

    @classmethod
    def of(cls, runs: list[Run]) -> Summary:
        return cls(
            runs=tuple(r.seconds for r in runs),
            seconds=statistics.median(r.seconds for r in runs),
            cpu_seconds=statistics.median(r.cpu_seconds for r in runs),
            peak_rss_mb=max(r.peak_rss_mb for r in runs),
            tree_rss_mb=max(r.tree_rss_mb for r in runs),
            loads=tuple(r.load for r in runs),
        )

    def line(self, name: str, rows: int) -> str:
        loads = ", ".join(f"{load:.1f}" for load in self.loads)
        runs = ", ".join(f"{s:.1f}" for s in self.runs)
        return (
            f"{name}: median {self.seconds:.1f} s ({runs}), {rows / self.seconds:,.0f} rows/s, "
            f"{self.cpu_seconds:.1f} CPU s, peak RSS {self.peak_rss_mb:,.0f} MB "
            f"(process tree {self.tree_rss_mb:,.0f} MB); load average after each run {loads}"
        )


class RunError(Exception):
    """A command exited non-zero or ran out of time."""


def measure(argv: list[str], *, env: dict[str, str] | None = None) -> Run:
    """Run ``argv``; wall time, CPU time and peak memory of it and its children."""
    log = WORK / "convert-stderr.log"
    start = time.perf_counter()
    with log.open("wb") as stderr:
        process = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=stderr)
    tree_peak = 0
    parent = psutil.Process(process.pid)
    while True:
        pid, status, usage = os.wait4(process.pid, os.WNOHANG)
        if pid:
            break
        tree_peak = max(tree_peak, _tree_rss(parent))
        time.sleep(0.05)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    process.returncode = code  # reaped by wait4: keep Popen from waiting again
    if code != 0:
        timed_out = " (timed out)" if code in (124, 137, -9) else ""
        errors = log.read_text(errors="replace").strip()[-400:]
        raise RunError(f"{Path(argv[0]).name} exit {code}{timed_out}: {errors}")
    return Run(
        seconds=seconds,
        cpu_seconds=usage.ru_utime + usage.ru_stime,
        peak_rss_mb=usage.ru_maxrss / 1024,
        tree_rss_mb=max(tree_peak / 2**20, usage.ru_maxrss / 1024),
        load=os.getloadavg()[0],
    )


def _tree_rss(parent: psutil.Process) -> int:
    try:
        processes = [parent, *parent.children(recursive=True)]
    except psutil.Error:
        return 0
    total = 0
    for p in processes:
        with contextlib.suppress(psutil.Error):  # it may have ended meanwhile
            total += p.memory_info().rss
    return total


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--memory-limit", default="1GB")
    parser.add_argument("--fc-timeout", type=int, default=900, help="seconds per run")
    parser.add_argument("--no-focus-converter", action="store_true")
    parser.add_argument("--no-record", action="store_true", help="print, don't append")
    args = parser.parse_args()
    cur, made = cur_file(args.rows)
    rows = count_lines(cur)
    converter, why = (None, "skipped (--no-focus-converter)")
    if not args.no_focus_converter:
        converter, why = focus_converter()
    print(f"{cur}: {rows:,} lines, {cur.stat().st_size / 2**20:,.0f} MB; focus-converter: {why}")
    ours: list[Run] = []
    raw: list[Run] = []
    fc: list[Run] = []
    for repeat in range(args.repeats):
        raw.append(measure(raw_copy(cur)))
        ours.append(ingest(cur, args.memory_limit, check_rows=rows if repeat == 0 else None))
        if converter is not None:
            try:
                fc.append(convert(converter, cur, args.fc_timeout, rows if repeat == 0 else None))
            except RunError as error:
                converter, why = None, f"failed: {error}"
                fc = []
        print(f"repeat {repeat + 1}: raw {raw[-1].seconds:.1f} s, ours {ours[-1].seconds:.1f} s"
              + (f", focus-converter {fc[-1].seconds:.1f} s" if fc else ""))  # fmt: skip
    report(args, cur, rows, made, Summary.of(raw), Summary.of(ours), fc, why)


def cur_file(rows: int) -> tuple[Path, str]:
    """The cached CUR of about ``rows`` lines; how it came to be there."""
    from costprism.demo.cur import CurSpec, generate_cur

    path = WORK / f"aws-cur-{rows}.csv"
    if path.exists():
        return path, "reused from bench/.work"
    start = time.perf_counter()
    result = generate_cur(path, CurSpec(rows=rows), scratch=WORK)
    seconds = time.perf_counter() - start
    return path, f"generated in {seconds:.1f} s ({result.focus_rows:,} AWS FOCUS rows)"


def count_lines(path: Path) -> int:
    import duckdb

    found = duckdb.sql(f"SELECT count(*) FROM read_csv('{path}', all_varchar = true)").fetchone()
    return int(found[0]) if found else 0


def focus_converter() -> tuple[Path | None, str]:
    """The focus-converter command, installed in its own venv if need be; or why not."""
    command = FC_VENV / "bin" / "focus-converter"
    if not command.exists():
        env = {**os.environ, "PYENV_VERSION": "3.12.1"}
        steps = (
            ["python3.12", "-m", "venv", str(FC_VENV)],
            [str(FC_VENV / "bin" / "pip"), "install", "--quiet", *FC_PACKAGES],
        )
        for step in steps:
            try:
                done = subprocess.run(step, env=env, capture_output=True, text=True, timeout=900)
            except (OSError, subprocess.TimeoutExpired) as error:
                return None, f"did not install: {error}"
            if done.returncode != 0:
                shutil.rmtree(FC_VENV, ignore_errors=True)
                return None, f"did not install: {' '.join(step[:3])}: {done.stderr[-300:]}"
    version = subprocess.run(
        [str(FC_VENV / "bin" / "pip"), "show", "focus-converter"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    found = [line.split(":", 1)[1].strip() for line in version.splitlines() if "Version" in line]
    return command, f"focus-converter {found[0] if found else '?'} (Python 3.12 venv)"


def raw_copy(cur: Path) -> list[str]:
    target = WORK / "convert-raw.parquet"
    code = (
        "import duckdb; c = duckdb.connect(); c.execute('SET enable_progress_bar = false'); "
        f"c.execute(\"COPY (SELECT * FROM read_csv('{cur}')) TO '{target}' (FORMAT parquet)\")"
    )
    return [sys.executable, "-c", code]


def ingest(cur: Path, memory_limit: str, *, check_rows: int | None) -> Run:
    home = WORK / "convert-home"
    shutil.rmtree(home, ignore_errors=True)
    argv = [str(COSTPRISM), "ingest", str(cur), "--source", "bench", "--home", str(home)]
    run = measure([*argv, "--memory-limit", memory_limit])
    if check_rows is not None:
        from costprism.ledger import Ledger

        written = sum(Ledger.at_home(home).costs.slice_rows().values())
        if written != check_rows:
            raise SystemExit(f"costprism ingest wrote {written:,} rows of {check_rows:,}")
    return run


def convert(command: Path, cur: Path, timeout: int, check_rows: int | None) -> Run:
    out = WORK / "convert-fc"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    argv = [
        "timeout", "--kill-after=10", str(timeout), str(command), "convert",
        "--provider", "aws-cur", "--data-format", "csv", "--data-path", str(cur),
        "--export-path", f"{out}/", "--export-format", "parquet",
    ]  # fmt: skip
    run = measure(argv)
    if check_rows is not None:
        import duckdb

        files = sorted(str(p) for p in out.glob("*.parquet"))
        if not files:
            raise RunError("no Parquet file written")
        found = duckdb.sql(f"SELECT count(*) FROM read_parquet({files!r})").fetchone()
        if not found or found[0] != check_rows:
            raise RunError(f"wrote {found[0] if found else 0:,} rows of {check_rows:,}")
    return run


def report(
    args: argparse.Namespace,
    cur: Path,
    rows: int,
    made: str,
    raw: Summary,
    ours: Summary,
    fc: list[Run],
    why: str,
) -> None:
    lines = [
        f"input: the demo's AWS bill as a legacy CUR CSV, {rows:,} lines, "
        f"{cur.stat().st_size / 2**20:,.0f} MB ({made}); repeats {args.repeats}, "
        f"costprism memory limit {args.memory_limit}",
        raw.line("DuckDB raw COPY read_csv→Parquet", rows),
        ours.line("costprism ingest (aws-cur → FOCUS 1.2, checks, Delta commit, rollup)", rows),
    ]
    if fc:
        theirs = Summary.of(fc)
        lines.append(
            theirs.line(f"focus-converter convert --provider aws-cur → Parquet [{why}]", rows)
        )
        lines.append(
            f"speed ratio costprism/focus-converter: {theirs.seconds / ours.seconds:.2f}× "
            f"wall, {theirs.cpu_seconds / ours.cpu_seconds:.2f}× CPU (target ≥ 3×); "
            f"peak RSS {ours.tree_rss_mb:,.0f} MB against {theirs.tree_rss_mb:,.0f} MB"
        )
        pairs = ", ".join(f"{t / o:.2f}×" for t, o in zip(theirs.runs, ours.runs, strict=True))
        lines.append(f"speed ratio per repeat (the two ran back to back): {pairs}")
    else:
        lines.append(f"focus-converter: {why}; not measured")
    lines.append(
        f"speed ratio costprism/raw: {raw.seconds / ours.seconds:.2f} wall, "
        f"{raw.cpu_seconds / ours.cpu_seconds:.2f} CPU"
    )
    title = f"convert a {rows:,}-line AWS CUR (bench/convert.py)"
    if args.no_record:
        print("\n".join([title, *lines]))
        return
    record(title, " ".join(["python bench/convert.py", *sys.argv[1:]]), lines)


if __name__ == "__main__":
    main()
