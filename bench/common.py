"""Shared by the benchmarks: timed child processes with their peak RSS, and RESULTS.md rows."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
WORK = HERE / ".work"
RESULTS = HERE / "RESULTS.md"


@dataclass(frozen=True, kw_only=True)
class Timing:
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float = 0.0  # user + system, all threads: steadier than wall time under load


def run_child(code: str) -> Timing:
    """Run Python ``code`` in a fresh process; wall time and its peak resident memory."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"benchmark step failed: {code[:200]}")
    cpu = usage.ru_utime + usage.ru_stime
    return Timing(seconds=seconds, peak_rss_mb=usage.ru_maxrss / 1024, cpu_seconds=cpu)


def median(timings: list[Timing]) -> Timing:
    return Timing(
        seconds=statistics.median(t.seconds for t in timings),
        peak_rss_mb=max(t.peak_rss_mb for t in timings),
        cpu_seconds=statistics.median(t.cpu_seconds for t in timings),
    )


def machine() -> str:
    """The machine, with its 1-minute load average (other work on it makes timings noisy)."""
    load = os.getloadavg()[0]
    return (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"load average {load:.1f} when recorded"
    )


def record(title: str, command: str, lines: list[str]) -> None:
    """Append one dated section to bench/RESULTS.md."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = "\n".join(f"- {line}" for line in lines)
    section = f"\n## {title} — {stamp}\n\nMachine: {machine()}. Command: `{command}`.\n\n{body}\n"
    with RESULTS.open("a") as handle:
        handle.write(section)
    print(section)
