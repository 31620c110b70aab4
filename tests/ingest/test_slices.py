"""Staging (slices.py): a scanned group's valid files named by their slice and moved into
the staging folder; many small files of one slice rewritten as one."""

from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq

from costprism.ingest.files import discover
from costprism.ingest.pipeline import IngestOptions, connect
from costprism.ingest.reader import group_plans, plan_read
from costprism.ingest.scan import scan_group, start_row_ids
from costprism.ingest.slices import MAX_PARTS, stage_slices
from tests.ingest.conftest import focus_csv


def test_valid_files_are_moved_into_their_slice_folders(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    sample = focus_csv(30).set(3, "BilledCost", "12,5x")
    [plan] = [plan_read(f, connection) for f in discover([sample.write(tmp_path / "f.csv")])]
    start_row_ids(connection, 3 << 40)
    scan = scan_group([plan], connection, tmp_path / "group", source="s", ingest_id=3)
    target = tmp_path / "staging"
    slices = stage_slices(scan, connection, target, source="s", ingest_id=3, group_index=0)
    accounts = set(sample.column("BillingAccountId"))
    assert {s.billing_account_id for s in slices.values()} == accounts
    files = sorted(target.glob("x_Slice=*/*.parquet"))
    assert {f.parent.name for f in files} == {f"x_Slice={key}" for key in slices}
    assert all(f.name.startswith("part-00000003-0000-") for f in files)
    for file in files:
        key = file.parent.name.removeprefix("x_Slice=")
        rows = pq.read_table(file, columns=["BillingAccountId"]).column(0).to_pylist()
        assert set(rows) == {slices[key].billing_account_id}
    table = pq.ParquetDataset([str(f) for f in files]).read()
    assert table.num_rows == 29  # the row with an error stays behind
    assert len(set(table.column("x_RowId").to_pylist())) == 29


def test_many_small_files_of_one_slice_become_one(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    sample = focus_csv(200)
    account = sample.get(1, "BillingAccountId")
    one_slice = sample.where(lambda row: row["BillingAccountId"] == account)
    start = one_slice.get(1, "BillingPeriodStart")
    one_slice = one_slice.where(lambda row: row["BillingPeriodStart"] == start)
    rows = one_slice.rows
    assert len(rows) > MAX_PARTS
    paths = []
    for n, row in enumerate(rows[: MAX_PARTS + 2]):
        part = one_slice.where(lambda r, row=row: list(r.values()) == row)
        paths.append(part.write(tmp_path / f"p{n:02d}.csv"))
    [group] = group_plans([plan_read(f, connection) for f in discover(paths)])
    start_row_ids(connection, 1 << 40)
    scan = scan_group(group, connection, tmp_path / "group", source="s", ingest_id=1)
    assert len(scan.valid) == MAX_PARTS + 2  # one per input file
    target = tmp_path / "staging"
    slices = stage_slices(scan, connection, target, source="s", ingest_id=1, group_index=0)
    assert len(slices) == 1
    [file] = target.glob("x_Slice=*/*.parquet")
    assert pq.ParquetFile(file).metadata.num_rows == MAX_PARTS + 2
    assert not [p for p in scan.valid if p.path is not None and p.path.exists()]
