"""Pass two: each slice of a scanned group written as one Parquet file in ledger form.

A slice's file is one plain ``COPY (SELECT <ledger columns> FROM <group Parquet> WHERE
<slice> AND <no error>)``: a columnar read of the typed rows pass one wrote, not a second
parse of the input (one COPY per slice beats one partitioned COPY, which also ran out of
memory at 1 GB). The flag columns stay behind; under ``--quarantine`` the rows with an
error bit are left out.

``x_RowId`` is the ingest id in the high bits and, below, the row's position in its
group's Parquet file plus the rows of the groups before it: unique in the ledger, stable
for as long as the slice is not re-imported. (A sequence would do too, but ``nextval``
makes DuckDB write each slice on one thread; the file row number keeps it parallel.)
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import duckdb

from costprism.focus import ROW_ORDINAL_BITS
from costprism.ingest.checks import literal, quote
from costprism.ingest.reader import fetch_all
from costprism.ingest.scan import GroupScan, parquet
from costprism.ledger.store import EPOCH, SLICE_COLUMN, SliceId


def write_slices(
    scan: GroupScan,
    connection: duckdb.DuckDBPyConnection,
    target: Path,
    *,
    source: str,
    ingest_id: int,
    group_index: int,
    first_row: int,
) -> dict[str, SliceId]:
    """Each slice of a scanned group's valid rows as one Parquet file in
    ``target/x_Slice=<key>/``; returns the slices written, by key. ``first_row`` is the
    number of rows the ingest's earlier groups hold (their row ids come first)."""
    numbered = f"read_parquet({literal(str(scan.path))}, file_row_number = true)"
    columns = _ledger_columns(scan, source, ingest_id, first_row)
    select = f"SELECT {', '.join(columns)} FROM {numbered}"
    written: dict[str, SliceId] = {}
    for number, (slice_id, where) in enumerate(_slices(scan, connection, source)):
        folder = target / f"{SLICE_COLUMN}={slice_id.key}"
        folder.mkdir(parents=True, exist_ok=True)
        file = folder / f"part-{ingest_id:08d}-{group_index:04d}-{number:05d}.parquet"
        sql = f"COPY ({select} WHERE {where}) TO {literal(str(file))} (FORMAT parquet)"
        fetch_all(scan.plans, connection, sql)
        written[slice_id.key] = slice_id
    return written


def _ledger_columns(scan: GroupScan, source: str, ingest_id: int, first_row: int) -> list[str]:
    plan = scan.plan
    base = (ingest_id << ROW_ORDINAL_BITS) + first_row
    return [
        *(quote(c.spec.name) for c in plan.columns),
        *(quote(name) for name, _ in plan.extras),
        f"{literal(source)} AS x_SourceId",
        f"CAST({ingest_id} AS BIGINT) AS x_IngestId",
        f"CAST({base} AS BIGINT) + file_row_number AS x_RowId",
    ]


def _slices(
    scan: GroupScan, connection: duckdb.DuckDBPyConnection, source: str
) -> list[tuple[SliceId, str]]:
    """Each slice among the scan's valid rows, with the SQL condition that selects it."""
    valid = scan.valid
    if scan.plan.dataset == "contract_commitment":
        return [(SliceId(source=source, billing_account_id="", billing_period_start=EPOCH), valid)]
    sql = (
        'SELECT DISTINCT "BillingAccountId", "BillingPeriodStart" '
        f"FROM {parquet(scan.path)} WHERE {valid}"
    )
    found = fetch_all(scan.plans, connection, sql)
    return [
        (
            SliceId(source=source, billing_account_id=account, billing_period_start=start),
            valid if len(found) == 1 else f"{_is_slice(account, start)} AND {valid}",
        )
        for account, start in found
    ]


def _is_slice(account: str, start: datetime) -> str:
    return (
        f'"BillingAccountId" = {literal(account)} '
        f'AND "BillingPeriodStart" = {literal(start.isoformat())}::TIMESTAMPTZ'
    )
