"""A scanned group's valid files moved into the slice folders of a table's staging folder.

The scan wrote ledger files already (see :mod:`costprism.ingest.scan`); what is left is to
name each file's slice and move it: ``<staging>/x_Slice=<key>/part-<ingest>-<group>-<n>``.
A file's slice is read from the file itself (its BillingAccountId and BillingPeriodStart,
two columns), which also proves that the slice hash it was partitioned by held one slice.

Files with errors never get here: the import is refused, or (``--quarantine``) they stay in
the spill folder. A slice that a group split into many small files (many input files read
together, or many combinations of warnings) is rewritten as one file, so that the ledger
does not fill with small files.
"""

from __future__ import annotations

import os
from collections import defaultdict
from datetime import datetime
from pathlib import Path

import duckdb

from costprism.errors import LedgerError
from costprism.ingest.checks import literal
from costprism.ingest.reader import fetch_all
from costprism.ingest.scan import GroupScan, Part, parquet
from costprism.ledger.store import EPOCH, SLICE_COLUMN, SliceId

MAX_PARTS = 8  # files of one slice from one group before they are rewritten as one


def stage_slices(
    scan: GroupScan,
    connection: duckdb.DuckDBPyConnection,
    target: Path,
    *,
    source: str,
    ingest_id: int,
    group_index: int,
) -> dict[str, SliceId]:
    """Move a scanned group's valid files into ``target/x_Slice=<key>/``; returns the slices
    written, by key."""
    by_slice: dict[SliceId, list[Path]] = defaultdict(list)
    for part, slice_id in _slice_of(scan, connection, source):
        assert part.path is not None
        by_slice[slice_id].append(part.path)
    written: dict[str, SliceId] = {}
    for slice_id, paths in by_slice.items():
        folder = target / f"{SLICE_COLUMN}={slice_id.key}"
        folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{ingest_id:08d}-{group_index:04d}"
        if len(paths) > MAX_PARTS:
            file = folder / f"{name}-00000.parquet"
            sql = f"COPY (SELECT * FROM {parquet(paths)}) TO {literal(str(file))} (FORMAT parquet)"
            fetch_all(scan.plans, connection, sql)
            for path in paths:
                path.unlink()
        else:
            for number, path in enumerate(paths):
                os.replace(path, folder / f"{name}-{number:05d}.parquet")
        written[slice_id.key] = slice_id
    return written


def _slice_of(
    scan: GroupScan, connection: duckdb.DuckDBPyConnection, source: str
) -> list[tuple[Part, SliceId]]:
    valid = scan.valid
    if not valid:
        return []
    if scan.plan.dataset == "contract_commitment":
        one = SliceId(source=source, billing_account_id="", billing_period_start=EPOCH)
        return [(part, one) for part in valid]
    paths = {str(p.path): p for p in valid}
    files = ", ".join(literal(path) for path in paths)
    sql = (
        'SELECT filename, count(DISTINCT ("BillingAccountId", "BillingPeriodStart")), '
        'min("BillingAccountId"), min("BillingPeriodStart") '
        f"FROM read_parquet([{files}], filename = true) GROUP BY filename"
    )
    found = []
    for path, distinct, account, start in fetch_all(scan.plans, connection, sql):
        if distinct != 1:  # two slices hashed alike: never seen, but never silently merged
            raise LedgerError(
                f"{path}: rows of {distinct} slices hashed alike and were written together; "
                "nothing was stored — import the billing accounts' files in separate runs",
                code="ledger.hash_collision",
            )
        found.append((paths[str(path)], _slice_id(source, str(account), start)))
    return found


def _slice_id(source: str, account: str, start: datetime) -> SliceId:
    return SliceId(source=source, billing_account_id=account, billing_period_start=start)
