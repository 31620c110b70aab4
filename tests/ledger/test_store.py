"""Tests for costprism.ledger.store: slice keys, the ingest lock, commits, history and vacuum.

Everything runs on real Delta tables in ``tmp_path``; slice keys are compared with the SQL
the reader runs in DuckDB.
"""

from __future__ import annotations

import functools
import hashlib
import threading
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from costprism.errors import LedgerError, ValidationFailed
from costprism.focus import LEDGER_SCHEMA
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import EPOCH, Ledger, SliceId
from costprism.ledger import store as store_module
from costprism.ledger.store import SLICE_COLUMN, IngestLock, LedgerTable
from tests.ingest.conftest import focus_csv, ledger_rows, ledger_totals

MAY = datetime(2026, 5, 1, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.at_home(tmp_path / "home")


@functools.cache
# --- slice keys ----------------------------------------------------------------------------------


def test_slice_key_is_the_period_and_an_md5_of_source_account_period() -> None:
    key = SliceId(source="aws-cur", billing_account_id="100000000001", billing_period_start=MAY)
    digest = hashlib.md5(b"aws-cur\x1f100000000001\x1f2026-05-01").hexdigest()[:16]

    assert key.key == "2026-05-01-33625adcffffb2eb"  # stable across releases: keys are on disk
    assert key.key == f"2026-05-01-{digest}"
    assert key.period == "2026-05-01"


def test_slice_key_separates_what_concatenation_would_merge() -> None:
    one = SliceId(source="a-b", billing_account_id="c", billing_period_start=MAY)
    two = SliceId(source="a", billing_account_id="b-c", billing_period_start=MAY)
    assert one.key != two.key


def test_contract_commitment_slice_key_is_one_constant_per_source() -> None:
    expected = SliceId(source="cc", billing_account_id="", billing_period_start=EPOCH).key
    assert expected == "1970-01-01-" + hashlib.md5(b"cc\x1f\x1f1970-01-01").hexdigest()[:16]


def test_imported_slices_are_stored_under_their_key(ledger: Ledger, tmp_path: Path) -> None:
    result = ingest([focus_csv(200).write(tmp_path / "s.csv")], ledger, IngestOptions(source="s"))

    expected = {
        SliceId(source="s", billing_account_id=account, billing_period_start=MAY).key
        for account in ("100000000001", "100000000002")
    }
    assert {c.slice.key for c in result.slices} == expected
    folders = {p.name for p in ledger.costs.path.glob(f"{SLICE_COLUMN}=*")}
    assert folders == {f"{SLICE_COLUMN}={key}" for key in expected}
    assert set(ledger.costs.slice_rows()) == expected


# --- the ingest lock -----------------------------------------------------------------------------


def test_ingest_lock_hands_out_increasing_ids(tmp_path: Path) -> None:
    lock = IngestLock(tmp_path / "ledger")
    seen = []
    for _ in range(3):
        with lock.hold() as ingest_id:
            seen.append(ingest_id)
    with IngestLock(tmp_path / "ledger").hold() as ingest_id:  # a new object, same counter
        seen.append(ingest_id)

    assert seen == [1, 2, 3, 4]
    assert (tmp_path / "ledger" / "ingest-sequence").read_text() == "4"


def test_ingest_lock_is_exclusive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(store_module, "LOCK_WAIT_SECONDS", 0.3)
    lock = IngestLock(tmp_path / "ledger")
    errors: list[BaseException] = []

    def second_writer() -> None:
        try:
            with lock.hold():
                pass
        except LedgerError as error:
            errors.append(error)

    with lock.hold() as first:
        thread = threading.Thread(target=second_writer)
        thread.start()
        thread.join(timeout=10)

    assert first == 1
    assert [getattr(e, "code", None) for e in errors] == ["ledger.busy"]
    assert "another import or vacuum is running" in str(errors[0])
    with lock.hold() as after:
        assert after == 2  # the refused writer took no id


def test_a_failed_import_uses_up_its_id(ledger: Ledger, tmp_path: Path) -> None:
    good = focus_csv(20).write(tmp_path / "good.csv")
    bad = focus_csv(20).set(2, "BilledCost", "x").write(tmp_path / "bad.csv")

    first = ingest([good], ledger, IngestOptions(source="s"))
    with pytest.raises(ValidationFailed):
        ingest([bad], ledger, IngestOptions(source="s"))
    third = ingest([good], ledger, IngestOptions(source="s"))

    assert (first.ingest_id, third.ingest_id) == (1, 3)
    assert third.versions == {"cost_and_usage": 2}


# --- commits straight into a table ---------------------------------------------------------------


def _stage(table: LedgerTable, ingest_id: int, slices: dict[str, int]) -> Path:
    """Write ``slices`` {key: rows} as Parquet into a fresh staging folder of ``table``."""
    staging = table.staging(ingest_id)
    for key, rows in slices.items():
        data = pa.Table.from_pylist(
            [
                {
                    "BilledCost": 1,
                    "BillingCurrency": "USD",
                    "x_SourceId": "s",
                    "x_IngestId": ingest_id,
                    "x_RowId": (ingest_id << 40) + n,
                }
                for n in range(rows)
            ],
            schema=LEDGER_SCHEMA,
        )
        folder = staging / f"{SLICE_COLUMN}={key}"
        folder.mkdir(parents=True)
        pq.write_table(data, folder / f"part-{ingest_id:08d}.parquet")
    return staging


def test_commit_replaces_only_the_staged_slices(ledger: Ledger) -> None:
    table = ledger.costs
    v1 = table.commit_staged(_stage(table, 1, {"a": 3, "b": 2}), {"ingest_id": 1}, [])
    v2 = table.commit_staged(_stage(table, 2, {"a": 1}), {"ingest_id": 2}, [])
    v3 = table.commit_staged(_stage(table, 3, {"c": 4}), {"ingest_id": 3}, [])

    assert (v1, v2, v3) == (1, 2, 3)
    assert table.slice_rows() == {"a": 1, "b": 2, "c": 4}
    assert ledger_rows(table) == 7
    assert ledger_rows(table, as_of=1) == 5
    assert [(c.version, c.operation) for c in table.history()] == [
        (3, "WRITE"),
        (2, "WRITE"),
        (1, "WRITE"),
        (0, "CREATE TABLE"),
    ]
    assert [c.metadata.get("ingest_id") for c in table.history()] == [3, 2, 1, None]
    assert not (table.path / "_staging" / "00000002").exists()


def test_history_metadata_lists_the_slices(ledger: Ledger, tmp_path: Path) -> None:
    result = ingest([focus_csv(200).write(tmp_path / "s.csv")], ledger, IngestOptions(source="s"))

    (latest, created) = ledger.costs.history()
    assert created.operation == "CREATE TABLE"
    slices = latest.metadata["slices"]
    assert sorted((s["billing_account_id"], s["rows"], s["previous_rows"]) for s in slices) == [
        ("100000000001", 76, None),
        ("100000000002", 124, None),
    ]
    assert {s["key"] for s in slices} == {c.slice.key for c in result.slices}
    assert {s["billing_period_start"] for s in slices} == {"2026-05-01"}
    assert latest.metadata["files"] == [str((tmp_path / "s.csv").resolve())]
    assert latest.timestamp.tzinfo is not None


# --- empty ledgers and missing versions ----------------------------------------------------------


def test_an_empty_ledger_has_no_files_and_no_versions(ledger: Ledger) -> None:
    assert ledger.costs.files() == ([], None)
    assert ledger.costs.history() == []
    assert ledger.costs.slice_rows() == {}
    with pytest.raises(LedgerError) as no_version:
        ledger.costs.files(as_of=1)
    assert no_version.value.code == "ledger.no_version"
    with pytest.raises(LedgerError) as empty:
        ledger.costs.delta()
    assert empty.value.code == "ledger.empty"
    assert "costprism ingest" in str(empty.value)


def test_a_version_that_never_was_is_refused(ledger: Ledger, tmp_path: Path) -> None:
    ingest([focus_csv(20).write(tmp_path / "s.csv")], ledger, IngestOptions(source="s"))
    with pytest.raises(LedgerError) as caught:
        ledger.costs.files(as_of=7)
    assert caught.value.code == "ledger.no_version"
    assert "costprism history" in str(caught.value)


# --- vacuum --------------------------------------------------------------------------------------


@pytest.fixture
def restated(ledger: Ledger, tmp_path: Path) -> tuple[Ledger, int]:
    """A ledger whose slices were imported twice; returns it and the first version."""
    path = focus_csv(100).write(tmp_path / "s.csv")
    first = ingest([path], ledger, IngestOptions(source="s")).versions["cost_and_usage"]
    focus_csv(100).map_column("BilledCost", lambda v: str(2 * float(v))).write(path)
    ingest([path], ledger, IngestOptions(source="s"))
    return ledger, first


def test_vacuum_removes_old_files_and_keeps_the_current_version(
    restated: tuple[Ledger, int],
) -> None:
    ledger, first = restated
    old_files, _ = ledger.costs.files(as_of=first)
    current = ledger_totals(ledger.costs)

    removed = ledger.costs.vacuum()

    assert sorted(Path(p).name for p in removed) == sorted(Path(p).name for p in old_files)
    assert not any(Path(p).exists() for p in old_files)
    assert ledger_totals(ledger.costs) == current
    assert ledger_rows(ledger.costs) == 100


def test_a_second_vacuum_removes_nothing(restated: tuple[Ledger, int]) -> None:
    ledger, _ = restated
    assert len(ledger.costs.vacuum()) == 2

    assert ledger.costs.vacuum() == []


def test_vacuum_makes_an_old_version_unreadable(restated: tuple[Ledger, int]) -> None:
    ledger, first = restated
    ledger.costs.vacuum()

    with pytest.raises(LedgerError) as caught:
        ledger.costs.files(as_of=first)

    assert caught.value.code == "ledger.no_version"
