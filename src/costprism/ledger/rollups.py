"""The daily rollup ``costs_daily``: the ``costs`` rows summed by day × the common dimensions.

Its rows are ``costs`` grouped by ``ChargePeriodStart`` truncated to UTC midnight (same name,
same type) and the :data:`DIMENSIONS`, with the four cost measures summed and ``x_Rows``
counting the rows behind each. It is partitioned by the same ``x_Slice`` key as ``costs``.

After an import commits version V of ``costs``, :func:`refresh_rollup` rebuilds exactly the
slices that commit touched: one DuckDB ``GROUP BY`` per slice over its newly committed
Parquet files, written like an import (staged, moved into place) and committed to
``costs_daily`` once, with ``costs_version`` = V in the commit metadata. A refresh adds to
the rollup of V - 1 only; when the rollup's last commit was built from anything else (a
failed rollup write, a ``costs`` commit made without one) it rebuilds every slice instead.
So a rollup commit that records V always equals the aggregate of ``costs`` V, and readers
use a rollup only for the version it records (:func:`rollup_files`); otherwise they read
the raw ledger. :func:`rebuild_rollup` rebuilds the whole table (``costprism rollup
rebuild``, for ledgers written before rollups existed).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pyarrow as pa
from deltalake import DeltaTable

from costprism.focus import LEDGER_SCHEMA, MEASURES
from costprism.ledger.store import SLICE_COLUMN, LedgerTable, _commit_info

if TYPE_CHECKING:
    from costprism.ledger import Ledger

DAY_COLUMN = "ChargePeriodStart"
ROW_COUNT = "x_Rows"
TAGS = "Tags"  # kept with its keys normalized: see _normalized_tags
VERSION_KEY = "costs_version"
DIMENSIONS: tuple[str, ...] = (
    "x_SourceId",
    "BillingAccountId",
    "BillingAccountName",
    "SubAccountId",
    "SubAccountName",
    "BillingPeriodStart",
    "BillingCurrency",
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "ServiceName",
    "ServiceCategory",
    "ServiceSubcategory",
    "RegionId",
    "RegionName",
    "ChargeCategory",
    "ChargeClass",
    "ChargeFrequency",
    "PricingCategory",
    "CommitmentDiscountStatus",
    "CommitmentDiscountType",
    "CommitmentDiscountCategory",
    "CommitmentDiscountId",
    "ResourceType",
    "Tags",
)
"""The ``costs`` columns kept (``Tags`` with its keys in compared form); a query over only
these can read the rollup."""

DAILY_SCHEMA = pa.schema(
    [
        LEDGER_SCHEMA.field(DAY_COLUMN),
        *(LEDGER_SCHEMA.field(name) for name in DIMENSIONS),
        *(LEDGER_SCHEMA.field(name) for name in MEASURES.values()),
        pa.field(ROW_COUNT, pa.int64(), nullable=False),
    ]
)


@dataclass(frozen=True, kw_only=True)
class RollupResult:
    """One commit of ``costs_daily``: its version, the ``costs`` version it sums, its slices."""

    version: int
    costs_version: int
    slices: tuple[str, ...]
    rows: int
    rebuilt: bool


def refresh_rollup(
    ledger: Ledger,
    costs_version: int,
    slices: Iterable[str],
    connection: duckdb.DuckDBPyConnection,
    ingest_id: int,
) -> RollupResult | None:
    """Rebuild the rollup of ``slices`` as of ``costs`` ``costs_version`` (every slice when
    the rollup is not that of the version before)."""
    if built_from(ledger.costs_daily) != costs_version - 1:
        return _build(ledger, costs_version, None, connection, ingest_id)
    return _build(ledger, costs_version, sorted(set(slices)), connection, ingest_id)


def rebuild_rollup(
    ledger: Ledger, connection: duckdb.DuckDBPyConnection, ingest_id: int
) -> RollupResult | None:
    """The whole rollup again from the newest ``costs`` version (None: it has no files)."""
    version = int(ledger.costs.delta().version())
    return _build(ledger, version, None, connection, ingest_id)


def rebuild(ledger: Ledger, *, memory_limit: str = "1GB") -> RollupResult | None:
    """``costprism rollup rebuild``: the whole rollup, under the ledger's write lock."""
    if not ledger.costs.exists():
        return None
    with ledger.lock.hold() as ingest_id:
        spill = ledger.root / "_spill" / f"{ingest_id:08d}"
        spill.mkdir(parents=True, exist_ok=True)
        connection = duckdb.connect(config={"memory_limit": memory_limit})
        try:
            connection.execute(f"SET temp_directory = {_literal(str(spill))}")
            connection.execute("SET preserve_insertion_order = false")
            return rebuild_rollup(ledger, connection, ingest_id)
        finally:
            connection.close()
            shutil.rmtree(spill, ignore_errors=True)


def built_from(daily: LedgerTable) -> int | None:
    """The ``costs`` version the newest rollup commit sums (None: there is none)."""
    if not daily.exists():
        return None
    return _costs_version(daily.delta().history(limit=1))


def rollup_files(ledger: Ledger, costs_version: int | None) -> list[str] | None:
    """The Parquet files of the rollup of ``costs`` ``costs_version``; None when no rollup
    commit records that version or its files are vacuumed."""
    daily = ledger.costs_daily
    if costs_version is None or not daily.exists():
        return None
    table = daily.delta()
    version = _rollup_version(table, costs_version)
    if version is None:
        return None
    if version != table.version():
        table.load_as_version(version)
    files = list(table.file_uris())
    return files if all(Path(f).exists() for f in files) else None


def _rollup_version(table: DeltaTable, costs_version: int) -> int | None:
    """The newest rollup version that records ``costs_version`` (the newest one, usually)."""
    if _costs_version(table.history(limit=1)) == costs_version:
        return int(table.version())
    matching = [
        info.version
        for info in map(_commit_info, table.history())
        if info.metadata.get(VERSION_KEY) == costs_version
    ]
    return max(matching, default=None)


def _costs_version(entries: Sequence[dict[str, object]]) -> int | None:
    recorded = _commit_info(entries[0]).metadata.get(VERSION_KEY) if entries else None
    return recorded if isinstance(recorded, int) else None


def _build(
    ledger: Ledger,
    costs_version: int,
    slices: list[str] | None,
    connection: duckdb.DuckDBPyConnection,
    ingest_id: int,
) -> RollupResult | None:
    """Sum ``slices`` (all: ``None``) of one ``costs`` version into one rollup commit."""
    costs = ledger.costs.delta(costs_version)
    files = _slice_files(costs, slices)
    if slices is not None and set(files) != set(slices):  # a slice gone: start over
        slices, files = None, _slice_files(costs, None)
    if not files:
        return None
    keys = tuple(sorted(files))
    daily = ledger.costs_daily
    staging = daily.staging(ingest_id)
    try:
        rows = _write(connection, [f for k in keys for f in files[k]], staging, ingest_id)
        metadata = {VERSION_KEY: costs_version, "ingest_id": ingest_id, "slices": list(keys)}
        metadata |= {"rows": rows, "rebuilt": slices is None}
        version = daily.commit_staged(staging, metadata, [], replace_all=slices is None)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return RollupResult(
        version=version, costs_version=costs_version, slices=keys, rows=rows,
        rebuilt=slices is None,
    )  # fmt: skip


def _slice_files(costs: DeltaTable, slices: list[str] | None) -> dict[str, list[str]]:
    """The Parquet files of each slice (every slice: ``None``) in one ``costs`` version."""
    wanted = None if slices is None else set(slices)
    found: dict[str, list[str]] = {}
    for uri in costs.file_uris():
        key = Path(uri).parent.name.removeprefix(f"{SLICE_COLUMN}=")
        if wanted is None or key in wanted:
            found.setdefault(key, []).append(uri)
    return found


def _write(
    connection: duckdb.DuckDBPyConnection, files: list[str], staging: Path, ingest_id: int
) -> int:
    """The rollup rows of ``files`` into ``staging/x_Slice=<key>/``, one GROUP BY in DuckDB
    (the slice key read from the folder names); returns the number of rows written."""
    listed = ", ".join(map(_literal, files))
    source = (
        f"read_parquet([{listed}], union_by_name = true, hive_partitioning = true, "
        f"hive_types = {{'{SLICE_COLUMN}': VARCHAR}})"
    )
    grouped = f"SELECT {SLICE_COLUMN}, {_select()} FROM {source} GROUP BY ALL"
    select = f"SELECT {SLICE_COLUMN}, {_normalized_select()} FROM ({grouped}) GROUP BY ALL"
    options = f"FORMAT parquet, PARTITION_BY ({SLICE_COLUMN}), OVERWRITE_OR_IGNORE"
    pattern = _literal(f"part-{ingest_id:08d}-{{i}}")
    sql = f"COPY ({select}) TO {_literal(str(staging))} ({options}, FILENAME_PATTERN {pattern})"
    written = connection.execute(sql).fetchone()
    return int(written[0]) if written else 0


def _select() -> str:
    """Day (UTC midnight, whatever the session's time zone), dimensions, sums, row count."""
    day = f"timezone('UTC', date_trunc('day', timezone('UTC', {DAY_COLUMN}))) AS {DAY_COLUMN}"
    sums = [f"CAST(sum({m}) AS {_decimal(m)}) AS {m}" for m in MEASURES.values()]
    return ", ".join([day, *DIMENSIONS, *sums, f"count(*) AS {ROW_COUNT}"])


def _normalized_select() -> str:
    """The grouped rows again, with tag keys in their compared form (lower case, no ``-`` or
    ``_``; the first of two spellings in a row wins, as in the engine's lookup on ``costs``),
    so that ``tag:KEY`` is one map lookup here; rows that now agree are summed together."""
    dimensions = [_normalized_tags() if d == TAGS else d for d in DIMENSIONS]
    sums = [f"CAST(sum({m}) AS {_decimal(m)}) AS {m}" for m in MEASURES.values()]
    rows = f"CAST(sum({ROW_COUNT}) AS BIGINT) AS {ROW_COUNT}"
    return ", ".join([DAY_COLUMN, *dimensions, *sums, rows])


def _normalized_tags() -> str:
    norm = "lower(replace(replace({}, '-', ''), '_', ''))"
    keys = f"list_transform(map_keys({TAGS}), k -> {norm.format('k')})"
    position = f"list_position({keys}, {norm.format('e.key')})"
    first = f"list_filter(map_entries({TAGS}), (e, i) -> {position} = i)"
    entries = f"list_transform({first}, e -> {{'key': {norm.format('e.key')}, 'value': e.value}})"
    return f"CASE WHEN {TAGS} IS NULL THEN NULL ELSE map_from_entries({entries}) END AS {TAGS}"


def _decimal(measure: str) -> str:
    kind = LEDGER_SCHEMA.field(measure).type
    return f"DECIMAL({kind.precision}, {kind.scale})"


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def allocated_daily_schema(dimensions: Sequence[str]) -> pa.Schema:
    """The schema of :func:`costprism.engine.allocation.allocated_daily`'s rows."""
    fields = [f for f in DAILY_SCHEMA if f.name != TAGS]
    position = fields.index(DAILY_SCHEMA.field(MEASURES["billed"]))
    extra = [pa.field(f"x_{d}", pa.string()) for d in dimensions]
    shared = pa.field("x_Shared", pa.string())  # the shared step that moved the part
    return pa.schema([*fields[:position], *extra, shared, *fields[position:]])
