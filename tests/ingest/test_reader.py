"""The reader and its two passes (scan, slices), one at a time, on small files cut from the
10k sample."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from costprism.ingest.checks import Check
from costprism.ingest.files import discover
from costprism.ingest.pipeline import IngestOptions, connect
from costprism.ingest.reader import ReadPlan, group_plans, null_literals, plan_read
from costprism.ingest.scan import FLAG_BITS, finding_rows, flag_columns, has_flag, scan_group
from costprism.ingest.slices import write_slices
from tests.ingest.conftest import focus_csv


def _plans(paths: list[Path], connection: duckdb.DuckDBPyConnection) -> list[ReadPlan]:
    return [plan_read(f, connection) for f in discover(paths)]


def test_files_of_one_layout_are_read_together(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    first = focus_csv(10).write(tmp_path / "a.csv")
    second = focus_csv(range(10, 25)).write(tmp_path / "b.csv")
    other = focus_csv(5).drop("Tags").write(tmp_path / "c.csv")
    groups = group_plans(_plans([first, second, other], connection))
    assert sorted(len(group) for group in groups) == [1, 2]
    together = next(group for group in groups if len(group) == 2)
    counted = scan_group(together, connection, tmp_path / "group.parquet").counts
    assert {Path(name).name: n.rows for name, n in counted.items()} == {"a.csv": 10, "b.csv": 15}
    assert all(not any(n.found) and not n.rejected for n in counted.values())


def test_findings_are_counted_per_file_and_found_in_order(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    path = (
        focus_csv(12)
        .set(3, "ChargeCategory", "Bogus")
        .set(7, "ChargeCategory", "usage")
        .write(tmp_path / "f.csv")
    )
    [plan] = _plans([path], connection)
    [counts] = scan_group([plan], connection, tmp_path / "group.parquet").counts.values()
    by_rule = {c.rule: n for c, n in zip(plan.checks, counts.found, strict=True) if n}
    assert (counts.rows, counts.rejected, by_rule) == (12, 1, {"bad-enum": 1, "enum-case": 1})
    failing = [c for c, n in zip(plan.checks, counts.found, strict=True) if n]
    found = finding_rows(plan, connection, failing, None)
    assert [
        (ordinal, [c.rule for c in hits], raw["ChargeCategory"]) for ordinal, hits, raw in found
    ] == [
        (2, ["bad-enum"], "Bogus"),
        (6, ["enum-case"], "usage"),
    ]


def test_write_slices_partitions_by_slice_and_numbers_rows(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    path = focus_csv(30).write(tmp_path / "f.csv")
    [plan] = _plans([path], connection)
    target = tmp_path / "staging"
    scan = scan_group([plan], connection, tmp_path / "group.parquet")
    folders = write_slices(
        scan, connection, target, source="s", ingest_id=3, group_index=0, first_row=100
    )
    files = sorted(target.glob("x_Slice=*/*.parquet"))
    accounts = set(focus_csv(30).column("BillingAccountId"))
    assert len({f.parent.name for f in files}) == len(accounts)
    assert {slice_id.billing_account_id for slice_id in folders.values()} == accounts
    assert {f.parent.name for f in files} == {f"x_Slice={key}" for key in folders}
    table = pq.ParquetDataset([str(f) for f in files]).read()
    assert table.num_rows == 30
    row_ids = sorted(table.column("x_RowId").to_pylist())
    assert row_ids == [(3 << 40) + 100 + n for n in range(30)]
    assert set(table.column("x_IngestId").to_pylist()) == {3}


def test_rows_with_errors_are_left_out_of_the_slices_and_flags_stay_behind(
    tmp_path: Path,
) -> None:
    connection = connect(IngestOptions(source="t"))
    path = focus_csv(30).set(3, "BilledCost", "12,5x").write(tmp_path / "f.csv")
    [plan] = _plans([path], connection)
    scan = scan_group([plan], connection, tmp_path / "group.parquet")
    assert scan.rejected == 1
    write_slices(
        scan, connection, tmp_path / "staging", source="s", ingest_id=1, group_index=0, first_row=0
    )
    files = sorted((tmp_path / "staging").glob("x_Slice=*/*.parquet"))
    table = pq.ParquetDataset([str(f) for f in files]).read()
    assert table.num_rows == 29
    assert not [name for name in table.column_names if name.startswith("costprism:")]


def test_flags_spread_over_several_columns_when_there_are_many_checks() -> None:
    count = FLAG_BITS + 8
    checks = [
        Check(rule=f"r{i}", severity="error", column=None, condition=f"v % {i + 2} = 0",
              message="", hint="")
        for i in range(count)
    ]  # fmt: skip
    fired = ", ".join(has_flag(i) for i in range(count))
    sql = f"SELECT {fired} FROM (SELECT {', '.join(flag_columns(checks))} FROM (SELECT 210 AS v))"
    row = duckdb.connect().execute(sql).fetchone()
    assert row is not None
    assert [i for i, hit in enumerate(row) if hit] == [
        i for i in range(count) if 210 % (i + 2) == 0
    ]
    assert len(flag_columns(checks)) == 2


def test_null_literals_are_found_in_the_first_rows(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    path = (
        focus_csv(5).set(2, "RegionId", "NULL").set(4, "RegionId", "null").write(tmp_path / "n.csv")
    )
    [plan] = _plans([path], connection)
    assert null_literals(plan) == {"RegionId": 2}


def test_a_byte_budget_splits_files_of_one_layout(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    paths = [focus_csv(10).write(tmp_path / f"{n}.csv") for n in range(3)]
    plans = _plans(paths, connection)
    size = plans[0].file.size
    assert [len(g) for g in group_plans(plans)] == [3]
    assert [len(g) for g in group_plans(plans, budget=2 * size)] == [2, 1]
    assert [len(g) for g in group_plans(plans, budget=1)] == [1, 1, 1]
