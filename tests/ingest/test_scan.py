"""The one pass (scan.py) on small files cut from the 10k sample: rows written as ledger
files split by slice, findings and file; counts from what the write reported; the dry run's
counts; the lines with findings found again in order."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from costprism.ingest.checks import Check
from costprism.ingest.files import discover
from costprism.ingest.pipeline import IngestOptions, connect
from costprism.ingest.reader import ReadPlan, group_plans, plan_read
from costprism.ingest.scan import (
    FLAG_BITS,
    GroupScan,
    count_group,
    finding_rows,
    flag_columns,
    has_flag,
    scan_group,
    start_row_ids,
)
from tests.ingest.conftest import focus_csv


def _plans(paths: list[Path], connection: duckdb.DuckDBPyConnection) -> list[ReadPlan]:
    return [plan_read(f, connection) for f in discover(paths)]


def _scan(group: list[ReadPlan], connection: duckdb.DuckDBPyConnection, folder: Path) -> GroupScan:
    start_row_ids(connection, 5 << 40)
    return scan_group(group, connection, folder, source="s", ingest_id=5)


def test_files_read_together_are_counted_per_file_by_the_write_and_the_dry_run(
    tmp_path: Path,
) -> None:
    connection = connect(IngestOptions(source="t"))
    first = focus_csv(10).write(tmp_path / "a.csv")
    second = focus_csv(range(10, 25)).write(tmp_path / "b.csv")
    [group] = group_plans(_plans([first, second], connection))
    written = _scan(group, connection, tmp_path / "group").counts
    assert {Path(name).name: n.rows for name, n in written.items()} == {"a.csv": 10, "b.csv": 15}
    assert all(not any(n.found) and not n.rejected for n in written.values())
    assert count_group(group, connection).counts == written


def test_findings_are_counted_per_file_and_found_in_order(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    path = (
        focus_csv(12)
        .set(3, "ChargeCategory", "Bogus")
        .set(7, "ChargeCategory", "usage")
        .write(tmp_path / "f.csv")
    )
    [plan] = _plans([path], connection)
    scan = _scan([plan], connection, tmp_path / "group")
    [counts] = scan.counts.values()
    by_rule = {c.rule: n for c, n in zip(plan.checks, counts.found, strict=True) if n}
    assert (counts.rows, counts.rejected, by_rule) == (12, 1, {"bad-enum": 1, "enum-case": 1})
    assert count_group([plan], connection).counts == scan.counts
    failing = [c for c, n in zip(plan.checks, counts.found, strict=True) if n]
    found = finding_rows(plan, connection, failing, None)
    assert [
        (ordinal, [c.rule for c in hits], raw["ChargeCategory"]) for ordinal, hits, raw in found
    ] == [
        (2, ["bad-enum"], "Bogus"),
        (6, ["enum-case"], "usage"),
    ]


def test_the_write_splits_rows_by_slice_and_findings_into_ledger_files(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    sample = focus_csv(30).set(3, "BilledCost", "12,5x")
    path = sample.write(tmp_path / "f.csv")
    [plan] = _plans([path], connection)
    scan = _scan([plan], connection, tmp_path / "group")
    accounts = set(sample.column("BillingAccountId"))
    assert len({p.slice for p in scan.valid}) == len(accounts)
    assert sum(p.rows for p in scan.parts) == 30
    assert sum(p.rows for p in scan.valid) == 29
    [bad] = [p for p in scan.parts if p not in scan.valid]
    assert bad.rows == 1
    assert has_error_bit(plan, bad.flags)
    table = pa.concat_tables(pq.ParquetFile(str(p.path)).read() for p in scan.parts)
    assert not [name for name in table.column_names if name.startswith("costprism:")]
    assert table.column_names[-3:] == ["x_SourceId", "x_IngestId", "x_RowId"]
    assert set(table.column("x_IngestId").to_pylist()) == {5}
    assert sorted(table.column("x_RowId").to_pylist()) == [(5 << 40) + n for n in range(30)]
    for part in scan.valid:
        assert part.path is not None
        rows = pq.read_table(part.path, columns=["BillingAccountId"]).column(0).to_pylist()
        assert len(set(rows)) == 1
        assert len(rows) == part.rows


def has_error_bit(plan: ReadPlan, flags: tuple[int, ...]) -> bool:
    return any(flags[i // FLAG_BITS] >> (i % FLAG_BITS) & 1 for i in range(len(plan.errors)))


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
