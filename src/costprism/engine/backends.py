"""Ibis connections over the ledger: DuckDB by default, Spark (local or a cluster) on demand.

Both read one ledger version through the Parquet files Delta lists for it, so the same
Ibis expression sees the same rows on either engine. Engine-specific setup lives here and
nowhere else; capabilities receive an Ibis table.

A view also opens the daily rollup (``costs_daily``) when a rollup commit records the very
``costs`` version being read, as-of reads included; otherwise ``daily`` is None and every
query reads the raw ledger (see :func:`costprism.engine.rollups.cost_source`).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import ibis
import pyarrow as pa

from costprism.errors import InputError
from costprism.ledger import Ledger, LedgerTable
from costprism.ledger.allocations import AllocationStore, AllocationVersion, allocation_schema
from costprism.ledger.rollups import DAILY_SCHEMA, allocated_daily_schema, rollup_files

EngineName = Literal["duckdb", "spark"]
COSTS = "costs"
DAILY = "costs_daily"
ALLOCATIONS = "allocations"
ALLOCATED_DAILY = "allocated_daily"
Sources = dict[str, tuple[Sequence[str], pa.Schema]]


@dataclass(frozen=True, kw_only=True)
class LedgerView:
    """One ledger version, open on one engine; ``daily`` is its rollup, None if not fresh."""

    backend: Any
    costs: ibis.Table
    version: int | None
    engine: EngineName
    daily: ibis.Table | None = None
    allocations: ibis.Table | None = None
    allocation: AllocationVersion | None = None
    allocated_daily: ibis.Table | None = None  # the allocation's rollup, if of this version

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The allocation dimensions this view can group and filter by."""
        return self.allocation.dimensions if self.allocation else ()


def open_ledger(
    ledger: Ledger,
    *,
    as_of: int | datetime | None = None,
    engine: EngineName = "duckdb",
    spark_session: Any = None,
    rules_version: int | None = None,
) -> LedgerView:
    """The ``costs`` table of one ledger version (newest by default) on ``engine``, with
    its daily rollup when a rollup of exactly that version is readable, and the allocation
    results of rule-set ``rules_version`` (the newest by default) when there are any."""
    files, version = ledger.costs.files(as_of)
    sources: Sources = {COSTS: (files, ledger.costs.current_schema(as_of))}
    daily = rollup_files(ledger, version)
    if daily is not None:
        sources[DAILY] = (daily, DAILY_SCHEMA)
    allocation = AllocationStore(ledger.root).get(rules_version)
    if allocation is not None:
        schema = allocation_schema(
            allocation.dimensions, allocation.keys, ledger.costs.current_schema(as_of)
        )
        sources[ALLOCATIONS] = (allocation.files, schema)
        if allocation.costs_version == version and allocation.daily_files:
            schema = allocated_daily_schema(allocation.dimensions)
            sources[ALLOCATED_DAILY] = (allocation.daily_files, schema)
    if engine == "spark":
        backend, tables = _spark(sources, spark_session)
    else:
        backend, tables = _duckdb(sources)
    return LedgerView(
        backend=backend, costs=tables[COSTS], daily=tables.get(DAILY), version=version,
        engine=engine, allocations=tables.get(ALLOCATIONS), allocation=allocation,
        allocated_daily=tables.get(ALLOCATED_DAILY),
    )  # fmt: skip


def open_table(table: LedgerTable, name: str) -> ibis.Table:
    """The newest version of a side table (quarantine, contract commitments) on DuckDB."""
    files, _ = table.files()
    _, opened = _duckdb({name: (files, table.current_schema())})
    return opened[name]


def duckdb_backend(threads: int | None = None, memory_limit: str | None = None) -> Any:
    backend = ibis.duckdb.connect()
    backend.raw_sql("SET TimeZone = 'UTC'")
    if threads:
        backend.raw_sql(f"SET threads = {int(threads)}")
    if memory_limit:
        backend.raw_sql(f"SET memory_limit = '{memory_limit}'")
    return backend


def _duckdb(sources: Sources) -> tuple[Any, dict[str, ibis.Table]]:
    """One DuckDB backend with a view (or an empty table) per source."""
    backend = duckdb_backend()
    return backend, {name: _duckdb_view(backend, name, *source) for name, source in sources.items()}


def _duckdb_view(backend: Any, name: str, files: Sequence[str], schema: pa.Schema) -> ibis.Table:
    if not files:
        return backend.create_table(name, schema.empty_table(), temp=True)
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    backend.raw_sql(
        f"CREATE TEMP VIEW {name} AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
    )
    return backend.table(name)


def spark_session(master: str = "local[2]") -> Any:
    """A Spark session set up for the ledger (UTC, small shuffles); needs ``costprism[spark]``."""
    try:
        from pyspark.sql import SparkSession
    except ImportError as error:
        raise InputError(
            "the Spark engine needs pyspark: pip install 'costprism[spark]' "
            "(and a Java 17 runtime)",
            code="engine.missing",
        ) from error
    return (
        SparkSession.builder.master(master)
        .appName("costprism")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.driver.memory", "2g")
        .getOrCreate()
    )


def _spark(sources: Sources, session: Any) -> tuple[Any, dict[str, ibis.Table]]:
    """One Ibis backend on the Spark session with a temporary view per source."""
    session = session or spark_session()
    backend = ibis.pyspark.connect(session)
    opened = {name: _spark_view(session, backend, name, *s) for name, s in sources.items()}
    return backend, opened


def _spark_view(
    session: Any, backend: Any, name: str, files: Sequence[str], schema: pa.Schema
) -> ibis.Table:
    if files:
        frame = session.read.option("mergeSchema", "true").parquet(*files)
    else:
        frame = session.createDataFrame([], schema=_spark_schema(schema))
    unique = f"{name}_{uuid.uuid4().hex[:12]}"  # views of two versions must not collide
    frame.createOrReplaceTempView(unique)
    return backend.table(unique)


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)
