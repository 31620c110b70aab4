"""Tests for costprism.ledger.rollups: the ``costs_daily`` table an import leaves, restated
slices, missed rollups, rebuilds, as-of lookups and vacuum.

Everything runs on real Delta tables in ``tmp_path``, from files cut from the 10k sample:
200 rows are two slices of May 2026 (accounts …001 and …002). Rollup rows are compared
with a hand-written DuckDB GROUP BY over the ledger's own Parquet files.
"""

from __future__ import annotations

from datetime import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest

from costprism.ingest import pipeline
from costprism.ingest.pipeline import IngestOptions, IngestResult, ingest
from costprism.ledger import Ledger, SliceId
from costprism.ledger import rollups as rollups_module
from costprism.ledger.rollups import (
    DAILY_SCHEMA,
    DIMENSIONS,
    built_from,
    rebuild,
    refresh_rollup,
    rollup_files,
)
from costprism.ledger.store import SLICE_COLUMN
from tests.ingest.conftest import FocusCsv, focus_csv
from tests.ledger.test_store import MAY

ACCOUNT_1, ACCOUNT_2 = "100000000001", "100000000002"
KEY_1, KEY_2 = (
    SliceId(source="s", billing_account_id=a, billing_period_start=MAY).key
    for a in (ACCOUNT_1, ACCOUNT_2)
)
Sums = dict[str, tuple[int, Decimal, Decimal]]


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.at_home(tmp_path / "home")


def import_file(ledger: Ledger, table: FocusCsv, path: Path) -> IngestResult:
    return ingest([table.write(path)], ledger, IngestOptions(source="s"))


def account(number: str) -> FocusCsv:
    """The 200-row file's rows of one billing account (one slice)."""
    return focus_csv(200).where(lambda row: row["BillingAccountId"] == number)


def doubled(table: FocusCsv) -> FocusCsv:
    return table.map_column("BilledCost", lambda v: str(2 * Decimal(v)))


def sql(files: list[str], select: str) -> list[tuple[Any, ...]]:
    """``select`` over ``files`` as the view ``t`` (slice key from the folder names)."""
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            f"CREATE VIEW t AS SELECT * FROM read_parquet({files!r}, hive_partitioning = true)"
        )
        return connection.sql(select).fetchall()


def rollup_sums(ledger: Ledger, costs_version: int) -> Sums:
    files = rollup_files(ledger, costs_version)
    assert files, f"no rollup of costs version {costs_version}"
    select = "SELECT x_Slice, sum(x_Rows), sum(BilledCost), sum(EffectiveCost) FROM t GROUP BY 1"
    return {key: (rows, billed, effective) for key, rows, billed, effective in sql(files, select)}


def ledger_sums(ledger: Ledger, as_of: int) -> Sums:
    files, _ = ledger.costs.files(as_of)
    select = "SELECT x_Slice, count(*), sum(BilledCost), sum(EffectiveCost) FROM t GROUP BY 1"
    return {key: (rows, billed, effective) for key, rows, billed, effective in sql(files, select)}


def files_by_slice(files: list[str]) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for file in files:
        found.setdefault(Path(file).parent.name.removeprefix(f"{SLICE_COLUMN}="), set()).add(file)
    return found


# --- what an import leaves -----------------------------------------------------------------------


def test_an_import_rolls_up_the_slices_it_committed(ledger: Ledger, tmp_path: Path) -> None:
    result = import_file(ledger, focus_csv(200), tmp_path / "s.csv")

    assert result.rollup is not None
    assert (result.rollup.version, result.rollup.costs_version) == (1, 1)
    assert result.rollup.slices == tuple(sorted((KEY_1, KEY_2)))
    assert built_from(ledger.costs_daily) == 1
    assert rollup_sums(ledger, 1) == ledger_sums(ledger, 1)
    assert rollup_sums(ledger, 1)[KEY_1][0] == 76
    assert set(ledger.costs_daily.slice_rows()) == set(ledger.costs.slice_rows())
    (latest, _) = ledger.costs_daily.history()
    assert latest.metadata["costs_version"] == 1
    assert latest.metadata["slices"] == sorted((KEY_1, KEY_2))


def test_rollup_rows_are_the_ledger_grouped_by_day_and_dimensions(
    ledger: Ledger, tmp_path: Path
) -> None:
    import_file(ledger, focus_csv(500), tmp_path / "s.csv")
    rolled = rollup_files(ledger, 1)
    assert rolled
    costs, _ = ledger.costs.files()
    dimensions = ", ".join(DIMENSIONS).replace("Tags", "Tags::VARCHAR")
    normalized = dimensions.replace(
        "Tags::VARCHAR",
        "map_from_entries(list_transform(map_entries(Tags), e -> {'key': "
        "regexp_replace(lower(e.key), '[-_]', '', 'g'), 'value': e.value}))::VARCHAR",
    )
    expected = sql(
        costs,
        f"SELECT date_trunc('day', ChargePeriodStart), {normalized}, sum(BilledCost), "
        "sum(EffectiveCost), sum(ListCost), sum(ContractedCost), count(*) FROM t GROUP BY ALL",
    )
    observed = sql(
        rolled,
        f"SELECT ChargePeriodStart, {dimensions}, BilledCost, EffectiveCost, ListCost, "
        "ContractedCost, x_Rows FROM t",
    )

    assert len(observed) < 500
    assert sorted(map(str, observed)) == sorted(map(str, expected))
    assert all(row[0].time() == time(0) for row in observed)


def test_rollup_files_have_the_daily_schema(ledger: Ledger, tmp_path: Path) -> None:
    import_file(ledger, focus_csv(50), tmp_path / "s.csv")
    files = rollup_files(ledger, 1)
    assert files
    schema = pq.read_schema(files[0])

    assert schema.names == DAILY_SCHEMA.names
    assert [f.type for f in schema] == [f.type for f in DAILY_SCHEMA]
    assert str(schema.field("ChargePeriodStart").type) == "timestamp[us, tz=UTC]"
    assert str(schema.field("BilledCost").type) == "decimal128(38, 12)"


# --- restatements and missed rollups -------------------------------------------------------------


def test_a_restated_slice_replaces_its_rollup_rows_only(ledger: Ledger, tmp_path: Path) -> None:
    import_file(ledger, focus_csv(200), tmp_path / "s.csv")
    before = files_by_slice(rollup_files(ledger, 1) or [])

    result = import_file(ledger, doubled(account(ACCOUNT_1)), tmp_path / "restated.csv")

    assert result.rollup is not None
    assert (result.rollup.slices, result.rollup.rebuilt) == ((KEY_1,), False)
    after = files_by_slice(rollup_files(ledger, 2) or [])
    assert after[KEY_2] == before[KEY_2]
    assert not after[KEY_1] & before[KEY_1]
    sums, old = rollup_sums(ledger, 2), rollup_sums(ledger, 1)
    assert sums == ledger_sums(ledger, 2)
    assert round(sums[KEY_1][1], 2) == round(2 * old[KEY_1][1], 2)  # read through doubles
    assert sums[KEY_2] == old[KEY_2]


def test_a_costs_commit_without_a_rollup_leaves_no_rollup_of_that_version(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(ledger, focus_csv(200), tmp_path / "s.csv")
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "refresh_rollup", lambda *args: None)
        import_file(ledger, doubled(account(ACCOUNT_1)), tmp_path / "restated.csv")

    assert built_from(ledger.costs_daily) == 1
    assert rollup_files(ledger, 2) is None
    assert rollup_files(ledger, 1) is not None


def test_the_import_after_a_missed_rollup_rebuilds_every_slice(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(ledger, focus_csv(200), tmp_path / "s.csv")
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "refresh_rollup", lambda *args: None)
        import_file(ledger, doubled(account(ACCOUNT_1)), tmp_path / "restated.csv")

    result = import_file(ledger, account(ACCOUNT_2), tmp_path / "again.csv")

    assert result.rollup is not None
    assert (result.rollup.costs_version, result.rollup.rebuilt) == (3, True)
    assert result.rollup.slices == tuple(sorted((KEY_1, KEY_2)))
    assert rollup_sums(ledger, 3) == ledger_sums(ledger, 3)
    assert rollup_sums(ledger, 3)[KEY_1] == ledger_sums(ledger, 2)[KEY_1]  # the restatement


def test_a_slice_gone_from_the_version_makes_a_full_rebuild(ledger: Ledger, tmp_path: Path) -> None:
    import_file(ledger, focus_csv(200), tmp_path / "s.csv")

    with ledger.lock.hold() as ingest_id, duckdb.connect() as connection:
        result = refresh_rollup(ledger, 1, ["no-such-slice"], connection, ingest_id)
    assert result is not None
    assert (result.rebuilt, result.slices) == (True, tuple(sorted((KEY_1, KEY_2))))


# --- rebuild -------------------------------------------------------------------------------------


def test_rebuild_rolls_up_a_ledger_written_before_rollups(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with monkeypatch.context() as patch:
        patch.setattr(pipeline, "refresh_rollup", lambda *args: None)
        import_file(ledger, focus_csv(200), tmp_path / "s.csv")
    assert not ledger.costs_daily.exists()
    assert rollup_files(ledger, 1) is None

    first = rebuild(ledger)
    second = rebuild(ledger)

    assert first is not None
    assert second is not None
    assert (first.version, first.costs_version, first.rebuilt) == (1, 1, True)
    assert (second.version, second.costs_version) == (2, 1)
    assert rollup_sums(ledger, 1) == ledger_sums(ledger, 1)
    assert len(rollup_files(ledger, 1) or []) == 2  # the second rebuild replaced the first
    assert not list(ledger.root.glob("_spill/*"))


def test_rebuild_of_an_empty_ledger_does_nothing(ledger: Ledger) -> None:
    assert rebuild(ledger) is None
    assert not ledger.root.exists()


# --- as-of reads and vacuum ----------------------------------------------------------------------


def test_the_rollup_of_an_older_version_stays_readable(ledger: Ledger, tmp_path: Path) -> None:
    import_file(ledger, focus_csv(200), tmp_path / "s.csv")
    import_file(ledger, doubled(account(ACCOUNT_1)), tmp_path / "restated.csv")

    assert rollup_sums(ledger, 1) == ledger_sums(ledger, 1)
    assert rollup_sums(ledger, 2) == ledger_sums(ledger, 2)
    assert rollup_sums(ledger, 1) != rollup_sums(ledger, 2)
    assert rollup_files(ledger, 7) is None
    assert rollup_files(ledger, None) is None


def test_vacuum_covers_the_rollup(ledger: Ledger, tmp_path: Path) -> None:
    import_file(ledger, focus_csv(200), tmp_path / "s.csv")
    import_file(ledger, doubled(account(ACCOUNT_1)), tmp_path / "restated.csv")
    replaced = files_by_slice(rollup_files(ledger, 1) or [])[KEY_1]

    assert ledger.costs_daily.path in [table.path for table in ledger.tables]
    removed = ledger.costs_daily.vacuum()

    assert {Path(f).name for f in removed} == {Path(f).name for f in replaced}
    assert rollup_files(ledger, 1) is None  # its files are gone: readers use the raw ledger
    assert rollup_sums(ledger, 2) == ledger_sums(ledger, 2)


def test_a_rollup_write_that_fails_leaves_no_staged_files(
    ledger: Ledger, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import_file(ledger, focus_csv(200), tmp_path / "s.csv")

    def fail(*args: object) -> int:
        raise OSError("No space left on device")

    monkeypatch.setattr(rollups_module, "_write", fail)
    with (
        ledger.lock.hold() as ingest_id,
        duckdb.connect() as connection,
        pytest.raises(OSError, match="No space"),
    ):
        refresh_rollup(ledger, 1, [KEY_1], connection, ingest_id)

    assert not list((ledger.costs_daily.path / "_staging").glob("*"))
    assert built_from(ledger.costs_daily) == 1
