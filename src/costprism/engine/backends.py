"""Ibis connections over the ledger: DuckDB by default, Spark (local or a cluster) on demand.

Both read one ledger version through the Parquet files Delta lists for it, so the same
Ibis expression sees the same rows on either engine. Engine-specific setup lives here and
nowhere else; capabilities receive an Ibis table.
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

EngineName = Literal["duckdb", "spark"]
COSTS = "costs"


@dataclass(frozen=True, kw_only=True)
class LedgerView:
    """One ledger version, open on one engine."""

    backend: Any
    costs: ibis.Table
    version: int | None
    engine: EngineName


def open_ledger(
    ledger: Ledger,
    *,
    as_of: int | datetime | None = None,
    engine: EngineName = "duckdb",
    spark_session: Any = None,
) -> LedgerView:
    """The ``costs`` table of one ledger version (newest by default) on ``engine``."""
    files, version = ledger.costs.files(as_of)
    schema = ledger.costs.current_schema(as_of)
    if engine == "spark":
        backend, table = _spark(files, schema, spark_session)
    else:
        backend, table = _duckdb(files, schema)
    return LedgerView(backend=backend, costs=table, version=version, engine=engine)


def open_table(table: LedgerTable, name: str) -> ibis.Table:
    """The newest version of a side table (quarantine, contract commitments) on DuckDB."""
    files, _ = table.files()
    _, opened = _duckdb(files, table.current_schema(), name)
    return opened


def duckdb_backend(threads: int | None = None, memory_limit: str | None = None) -> Any:
    backend = ibis.duckdb.connect()
    backend.raw_sql("SET TimeZone = 'UTC'")
    if threads:
        backend.raw_sql(f"SET threads = {int(threads)}")
    if memory_limit:
        backend.raw_sql(f"SET memory_limit = '{memory_limit}'")
    return backend


def _duckdb(files: Sequence[str], schema: pa.Schema, name: str = COSTS) -> tuple[Any, ibis.Table]:
    backend = duckdb_backend()
    if not files:
        return backend, backend.create_table(name, schema.empty_table(), temp=True)
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    backend.raw_sql(
        f"CREATE TEMP VIEW {name} AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
    )
    return backend, backend.table(name)


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


def _spark(files: Sequence[str], schema: pa.Schema, session: Any) -> tuple[Any, ibis.Table]:
    session = session or spark_session()
    backend = ibis.pyspark.connect(session)
    if files:
        frame = session.read.option("mergeSchema", "true").parquet(*files)
    else:
        frame = session.createDataFrame([], schema=_spark_schema(schema))
    name = f"{COSTS}_{uuid.uuid4().hex[:12]}"  # views of two versions must not collide
    frame.createOrReplaceTempView(name)
    return backend, backend.table(name)


def _spark_schema(schema: pa.Schema) -> Any:
    from pyspark.sql.pandas.types import from_arrow_schema

    return from_arrow_schema(schema)
