"""An import killed with SIGKILL while it writes leaves the ledger as it was.

A real child process imports a 300,000-row file into a ledger that already holds a small
committed import; the test kills it once Parquet files appear in its staging folder, then
checks the committed version, the totals and a new import, and that ``vacuum`` clears what
the dead process left behind.
"""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.ledger.store import STAGING
from tests.ingest.conftest import focus_csv, ledger_rows, ledger_state, ledger_totals

SAMPLE_100K = "focus-1.2_synthetic_aws-azure-gcp_100k.csv.gz"
WAIT_SECONDS = 120.0

CHILD = """
import sys
from pathlib import Path
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
ingest([Path(sys.argv[1])], Ledger.at_home(Path(sys.argv[2])), IngestOptions(source="acme"))
print("committed", flush=True)
"""


def _three_times(sample: Path, target: Path) -> Path:
    """The 100k sample's rows written three times under one header (about 300 MB)."""
    text = gzip.decompress(sample.read_bytes())
    header_end = text.index(b"\n") + 1
    with target.open("wb") as out:
        out.write(text[:header_end])
        for _ in range(3):
            out.write(text[header_end:])
    return target


def _staged_files(table_path: Path) -> list[Path]:
    staging = table_path / STAGING
    return [p for p in staging.rglob("*") if p.is_file()] if staging.exists() else []


@pytest.mark.slow
def test_a_killed_import_leaves_the_ledger_unchanged(tmp_path: Path, focus_data: Path) -> None:
    home = tmp_path / "home"
    ledger = Ledger.at_home(home)
    small = focus_csv(200).write(tmp_path / "small.csv")
    ingest([small], ledger, IngestOptions(source="acme"))
    before = ledger_state(ledger)
    big = _three_times(focus_data / SAMPLE_100K, tmp_path / "big.csv")

    log = tmp_path / "child.log"  # a file, not a pipe: DuckDB's progress bar fills a pipe
    with log.open("wb") as output:
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(big), str(home)], stdout=output, stderr=output
        )
        try:
            deadline = time.monotonic() + WAIT_SECONDS
            while not _staged_files(ledger.costs.path):
                assert child.poll() is None, "the import ended before it wrote a staged file"
                assert time.monotonic() < deadline, "no staged file after two minutes"
                time.sleep(0.05)
            os.kill(child.pid, signal.SIGKILL)
        finally:
            child.kill()
            child.wait(timeout=30)
    assert child.returncode == -signal.SIGKILL
    assert b"committed" not in log.read_bytes()

    leftovers = _staged_files(ledger.costs.path)
    assert leftovers
    assert ledger_state(ledger) == before

    again = ingest([small], ledger, IngestOptions(source="acme"))
    assert again.versions == {"cost_and_usage": before.version + 1}
    assert ledger_totals(ledger.costs) == before.totals
    assert ledger_rows(ledger.costs) == 200
    assert all(path.exists() for path in leftovers)  # a later import leaves them alone

    removed = ledger.costs.vacuum()

    assert {str(p) for p in leftovers if p.suffix == ".parquet"} <= set(removed)
    assert not (ledger.costs.path / STAGING).exists()
    assert ledger_totals(ledger.costs) == before.totals
    assert ledger_rows(ledger.costs) == 200
