"""Fixtures shared by the whole suite: the sample ledger, SQL over its files, one Spark session.

``sample_home`` is built once per test session from the two complete FOCUS exports in
``shared/data/focus``: the synthetic FOCUS 1.2 file (AWS, Azure, GCP; billing period
2026-05) as source ``synthetic`` (ledger version 1), then the FOCUS 1.0 sample (AWS,
Microsoft, Oracle; billing periods 2024-09 and 2024-10) as source ``sample`` (version 2).
Tests must not write to it; a test that needs to change a ledger builds its own.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costprism.engine.backends import LedgerView, open_ledger, spark_session
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger

FOCUS_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "focus"
SYNTHETIC_10K = FOCUS_DATA / "focus-1.2_synthetic_aws-azure-gcp_10k.csv"
SAMPLE_1000 = FOCUS_DATA / "focus-1.0_sample_1000.csv"
JVM_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
COST_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")

SqlRunner = Callable[[str], list[tuple[Any, ...]]]


@pytest.fixture(scope="session")
def focus_data() -> Path:
    """The shared FOCUS sample files (see README.md there for exact totals)."""
    return FOCUS_DATA


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CostPrism home holding both sample exports, as two sources (read only)."""
    home = tmp_path_factory.mktemp("sample-home")
    ledger = Ledger.at_home(home)
    ingest([SYNTHETIC_10K], ledger, IngestOptions(source="synthetic"))
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))
    return home


@pytest.fixture(scope="session")
def sample_ledger(sample_home: Path) -> Ledger:
    return Ledger.at_home(sample_home)


@pytest.fixture(scope="session")
def sample_view(sample_ledger: Ledger) -> LedgerView:
    """The newest version of the sample ledger, open on DuckDB."""
    return open_ledger(sample_ledger)


@pytest.fixture(scope="session")
def sample_sql(sample_ledger: Ledger) -> Iterator[SqlRunner]:
    """Run hand-written DuckDB SQL over the ledger's Parquet files as the view ``costs``."""
    files, _ = sample_ledger.costs.files()
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    connection.execute(
        f"CREATE VIEW costs AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
    )
    yield lambda sql: connection.execute(sql).fetchall()
    connection.close()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The one local Spark session of the test run, made by the engine's own ``spark_session``.

    Tests run short jobs, so the JVM skips its slow optimizing compiler (about halves the
    suite's Spark time); a ``PYSPARK_SUBMIT_ARGS`` already set is left alone.
    """
    with pytest.MonkeyPatch.context() as patch:
        if "PYSPARK_SUBMIT_ARGS" not in os.environ:
            patch.setenv(
                "PYSPARK_SUBMIT_ARGS", f"--driver-java-options '{JVM_OPTIONS}' pyspark-shell"
            )
        session = spark_session("local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def doubled_sample_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FOCUS 1.0 sample restated: same rows, every cost column doubled."""
    target = tmp_path_factory.mktemp("restated") / "focus-1.0_sample_1000_doubled.csv"
    with SAMPLE_1000.open(newline="") as source:
        rows = list(csv.reader(source))
    header = rows[0]
    positions = [header.index(c) for c in COST_COLUMNS]
    for row in rows[1:]:
        for position in positions:
            if row[position] not in ("", "NULL"):
                row[position] = str(Decimal(row[position]) * 2)
    with target.open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)
    return target


@pytest.fixture(scope="session")
def restated_ledger(tmp_path_factory: pytest.TempPathFactory, doubled_sample_csv: Path) -> Ledger:
    """The FOCUS 1.0 sample as source ``sample`` (version 1), then restated ×2 (version 2)."""
    ledger = Ledger.at_home(tmp_path_factory.mktemp("restated-home"))
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))
    ingest([doubled_sample_csv], ledger, IngestOptions(source="sample"))
    return ledger
