"""The versioned ledger: Delta Lake tables whose partitions are slices.

A *slice* is (source, BillingAccountId, BillingPeriodStart). Each slice lives in its own
Delta partition ``x_Slice=<key>``, so one import replaces exactly the slices it touches
with a single ``overwrite`` commit filtered on those partitions: readers see the old
slice or the new one, never a mix. An import writes its Parquet files into
``_staging/<ingest id>/`` first (DuckDB writes them, partitioned by slice key); they are
moved into place and only become visible when the one commit lands. A process killed
before the commit leaves staged or unreferenced files that ``vacuum`` removes.

Every commit carries CostPrism's own metadata (ingest id, source, files, slices with row
counts) under the ``costprism`` key, which is what ``history`` and ``sources`` read.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
from deltalake import DeltaTable
from deltalake.exceptions import TableNotFoundError
from deltalake.transaction import AddAction, CommitProperties, RemoveAction

from costprism.errors import LedgerError

SLICE_COLUMN = "x_Slice"
STAGING = "_staging"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
METADATA_KEY = "costprism"
LOCK_WAIT_SECONDS = 30.0


@dataclass(frozen=True, kw_only=True)
class SliceId:
    """What a slice is: where the rows came from, whose bill, which month."""

    source: str
    billing_account_id: str
    billing_period_start: datetime

    @property
    def key(self) -> str:
        text = f"{self.source}\x1f{self.billing_account_id}\x1f{self.period}"
        digest = hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:16]
        return f"{self.period}-{digest}"

    @property
    def period(self) -> str:
        return self.billing_period_start.strftime("%Y-%m-%d")


@dataclass(frozen=True, kw_only=True)
class CommitInfo:
    version: int
    timestamp: datetime
    operation: str
    metadata: Mapping[str, Any]


class LedgerTable:
    """One Delta table partitioned by slice key."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self.path = path
        self.schema = schema

    @property
    def table_schema(self) -> pa.Schema:
        return self.schema.append(pa.field(SLICE_COLUMN, pa.string()))

    def exists(self) -> bool:
        return DeltaTable.is_deltatable(str(self.path))

    def delta(self, as_of: int | datetime | None = None) -> DeltaTable:
        try:
            table = DeltaTable(str(self.path))
        except TableNotFoundError as error:
            raise LedgerError(
                f"{self.path}: the ledger is empty; import data first with "
                "'costprism ingest FILES --source NAME'",
                code="ledger.empty",
            ) from error
        if as_of is not None:
            _load_as_of(table, as_of)
        return table

    def ensure(self) -> DeltaTable:
        if not self.exists():
            self.path.mkdir(parents=True, exist_ok=True)
            DeltaTable.create(str(self.path), schema=self.table_schema, partition_by=[SLICE_COLUMN])
        return DeltaTable(str(self.path))

    def files(self, as_of: int | datetime | None = None) -> tuple[list[str], int | None]:
        """The Parquet files of one version (newest by default) and that version."""
        if not self.exists():
            if as_of is not None:
                raise LedgerError(
                    f"there is no ledger version {as_of}: the ledger is empty",
                    code="ledger.no_version",
                )
            return [], None
        table = self.delta(as_of)
        files = list(table.file_uris())
        if as_of is not None and not all(Path(f).exists() for f in files):
            raise LedgerError(
                f"ledger version {as_of} is no longer readable: 'costprism vacuum' removed its "
                "files; see 'costprism history' for readable versions",
                code="ledger.no_version",
            )
        return files, table.version()

    def current_schema(self, as_of: int | datetime | None = None) -> pa.Schema:
        if not self.exists():
            return self.schema
        fields = pa.schema(self.delta(as_of).schema().to_arrow())
        return pa.schema([f for f in fields if f.name != SLICE_COLUMN])

    def slice_rows(self) -> dict[str, int]:
        """Rows per slice key in the current version, from the Delta log alone."""
        if not self.exists():
            return {}
        actions = pa.table(self.delta().get_add_actions(flatten=True))
        rows: dict[str, int] = {}
        keys = actions.column(f"partition.{SLICE_COLUMN}").to_pylist()
        for key, count in zip(keys, actions.column("num_records").to_pylist(), strict=True):
            rows[key] = rows.get(key, 0) + (count or 0)
        return rows

    def history(self) -> list[CommitInfo]:
        if not self.exists():
            return []
        return [_commit_info(entry) for entry in self.delta().history()]

    def staging(self, ingest_id: int) -> Path:
        """An empty folder for one import's files, inside the table (same file system)."""
        folder = self.path / STAGING / f"{ingest_id:08d}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def staged_rows(self, staging: Path) -> dict[str, int]:
        """Rows per slice key among the staged files (from the Parquet footers)."""
        rows: dict[str, int] = {}
        for key, file in _staged_files(staging):
            rows[key] = rows.get(key, 0) + pq.ParquetFile(file).metadata.num_rows
        return rows

    def commit_staged(
        self,
        staging: Path,
        metadata: Mapping[str, Any],
        extra_fields: list[pa.Field],
        *,
        replace_all: bool = False,
    ) -> int:
        """Make the staged slices the complete content of those slices, in one commit
        (of the whole table with ``replace_all``)."""
        table = self.ensure()
        actions = _move_into_place(self.path, staging)
        staged = sorted(
            {str(a.partition_values[SLICE_COLUMN]) for a in actions if a.partition_values}
        )
        schema = _merged_schema(pa.schema(table.schema().to_arrow()), extra_fields)
        # overwrite (not append) even for new slices: only overwrite records a widened schema
        table.create_write_transaction(
            actions,
            mode="overwrite",
            schema=schema,
            partition_by=[SLICE_COLUMN],
            partition_filters=None if replace_all else [(SLICE_COLUMN, "in", staged)],
            commit_properties=CommitProperties(
                custom_metadata={METADATA_KEY: json.dumps(metadata, default=str)}
            ),
        )
        shutil.rmtree(staging, ignore_errors=True)
        return int(DeltaTable(str(self.path)).version())

    def vacuum(self) -> list[str]:
        if not self.exists():
            return []
        table = self.delta()
        candidates = table.vacuum(retention_hours=0, enforce_retention_duration=False)
        removed = [f for f in candidates if (self.path / f).exists() or Path(f).exists()]
        if removed:
            table.vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)
        staging = self.path / STAGING
        if staging.exists():
            removed += [str(p) for p in staging.rglob("*.parquet")]
            shutil.rmtree(staging)
        return removed


class IngestLock:
    """One writer at a time per ledger; also hands out ingest ids (a counter file)."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @contextlib.contextmanager
    def hold(self) -> Iterator[int]:
        """Hold the write lock; yields the next ingest id (used or not, never reused)."""
        self.root.mkdir(parents=True, exist_ok=True)
        with (self.root / ".lock").open("a+") as handle:
            _wait_for_lock(handle.fileno(), self.root)
            try:
                yield self._next_id()
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def _next_id(self) -> int:
        counter = self.root / "ingest-sequence"
        current = int(counter.read_text()) if counter.exists() else 0
        temporary = counter.with_suffix(".tmp")
        temporary.write_text(str(current + 1))
        os.replace(temporary, counter)
        return current + 1


def _wait_for_lock(fd: int, root: Path) -> None:
    deadline = time.monotonic() + LOCK_WAIT_SECONDS
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return
        except BlockingIOError:
            if time.monotonic() > deadline:
                raise LedgerError(
                    f"{root}: another import or vacuum is running; try again when it ends",
                    code="ledger.busy",
                ) from None
            time.sleep(0.2)


def _staged_files(staging: Path) -> Iterator[tuple[str, Path]]:
    prefix = f"{SLICE_COLUMN}="
    for folder in sorted(staging.glob(f"{prefix}*")):
        for file in sorted(folder.glob("*.parquet")):
            yield folder.name[len(prefix) :], file


def _move_into_place(root: Path, staging: Path) -> list[AddAction | RemoveAction]:
    now = int(time.time() * 1000)
    actions: list[AddAction | RemoveAction] = []
    for key, file in _staged_files(staging):
        relative = f"{SLICE_COLUMN}={key}/{file.name}"
        (root / relative).parent.mkdir(parents=True, exist_ok=True)
        rows = pq.ParquetFile(file).metadata.num_rows
        os.replace(file, root / relative)
        actions.append(
            AddAction(
                path=relative,
                size=(root / relative).stat().st_size,
                partition_values={SLICE_COLUMN: key},
                modification_time=now,
                data_change=True,
                stats=json.dumps({"numRecords": rows}),
            )
        )
    return actions


def _merged_schema(current: pa.Schema, extra_fields: list[pa.Field]) -> pa.Schema:
    names = set(current.names)
    return pa.schema([*current, *(f for f in extra_fields if f.name not in names)])


def _load_as_of(table: DeltaTable, as_of: int | datetime) -> None:
    try:
        table.load_as_version(as_of)
    except Exception as error:  # deltalake raises several types for a missing version
        raise LedgerError(
            f"there is no ledger version at {as_of!s}; see 'costprism history' for versions "
            "(old versions are gone after 'costprism vacuum')",
            code="ledger.no_version",
        ) from error


def _commit_info(entry: Mapping[str, Any]) -> CommitInfo:
    raw = entry.get(METADATA_KEY)
    metadata = json.loads(raw) if isinstance(raw, str) else {}
    return CommitInfo(
        version=int(entry.get("version", 0)),
        timestamp=datetime.fromtimestamp(int(entry.get("timestamp", 0)) / 1000, tz=UTC),
        operation=str(entry.get("operation", "")),
        metadata=metadata,
    )
