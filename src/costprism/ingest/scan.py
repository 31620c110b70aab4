"""Pass one: each group of files read once, typed, checked and written to one Parquet file.

One streaming ``COPY (SELECT … FROM read_csv(…)) TO '<spill>/group-N.parquet'`` per read
group (no temporary table, no ``PARTITION_BY``): every ledger column already in its ledger
type, the extra columns, the input file's name, and the result of every check packed into
integer *flag* columns (bit ``i`` of ``costprism:flags<k>`` is check ``62·k + i`` of
``plan.checks``, errors first). DuckDB streams the scan in bounded memory; nothing is kept
in memory between the read and the write.

The counts per file and rule are then one ``GROUP BY`` over the flag columns of that
Parquet file (:func:`count_scan`); only when a count is not zero does :func:`finding_rows`
read the original file again, in order, for the lines that hold findings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from costprism.ingest.checks import Check, literal, quote, typed_name, with_typed
from costprism.ingest.reader import ReadPlan, fetch_all, plan_relation, stream

FLAG_BITS = 62  # checks per BIGINT flag column (the sign bit stays clear)
# Rows per row group of a scan's Parquet file: each writer thread buffers one row group of
# typed rows: at 61,440 or more, two threads reading two files spill past a 1 GB memory_limit
# (and spilling doubles the CPU time of the scan).
SCAN_ROW_GROUP = 30_720
FILE_COLUMN = quote("costprism:file")
# The scan file is read once more and deleted, so it is not compressed: on a 1M-line CUR,
# LZ4 cost 15% more CPU in the import (dictionary encoding still keeps it at ~220 MB).


@dataclass(frozen=True, kw_only=True)
class FileCounts:
    """One file's data rows, its failures per check (in ``plan.checks`` order) and the rows
    with at least one error."""

    rows: int
    found: tuple[int, ...]
    rejected: int


@dataclass(frozen=True, kw_only=True)
class GroupScan:
    """A group's rows as typed Parquet with their check flags, and what they counted."""

    plans: tuple[ReadPlan, ...]
    path: Path
    counts: dict[str, FileCounts]  # by file name

    @property
    def plan(self) -> ReadPlan:
        return self.plans[0]

    @property
    def rejected(self) -> int:
        return sum(c.rejected for c in self.counts.values())

    @property
    def valid(self) -> str:
        """SQL over the scan's Parquet that is true on rows without errors."""
        return f"NOT ({any_error(self.plan)})" if self.rejected else "true"


def flag_name(index: int) -> str:
    return quote(f"costprism:flags{index}")


def flag_columns(checks: Sequence[Check]) -> list[str]:
    """The packed flag columns: ``CASE WHEN condition THEN bit`` per check, OR-ed together."""
    return [
        _flag_column(checks[k * FLAG_BITS : (k + 1) * FLAG_BITS], k)
        for k in range(_flag_count(checks))
    ]


def _flag_column(checks: Sequence[Check], index: int) -> str:
    bits = [f"CASE WHEN {c.condition} THEN {1 << i} ELSE 0 END" for i, c in enumerate(checks)]
    return f"CAST({' | '.join(['0', *bits])} AS BIGINT) AS {flag_name(index)}"


def _flag_count(checks: Sequence[Check]) -> int:
    return max(1, -(-len(checks) // FLAG_BITS))


def has_flag(index: int) -> str:
    """SQL that is true where check ``index`` of the plan fired."""
    column, bit = divmod(index, FLAG_BITS)
    return f"({flag_name(column)} & {1 << bit}) <> 0"


def any_error(plan: ReadPlan) -> str:
    """SQL that is true where any of the plan's error checks fired."""
    errors = [has_flag(i) for i in range(len(plan.errors))]
    return " OR ".join(errors) or "false"


def scan_group(
    group: Sequence[ReadPlan], connection: duckdb.DuckDBPyConnection, path: Path
) -> GroupScan:
    """Read a group's files once into ``path`` (typed rows plus flags), then count."""
    plan = group[0]
    typed = [f"{typed_name(c.spec)} AS {quote(c.spec.name)}" for c in plan.columns]
    extras = [f"CAST({quote(src)} AS VARCHAR) AS {quote(name)}" for name, src in plan.extras]
    select = [*typed, *extras, *flag_columns(plan.checks), f"filename AS {FILE_COLUMN}"]
    relation = with_typed(plan.columns, plan_relation(group, filename=True))
    target = literal(str(path))
    sql = (
        f"COPY (SELECT {', '.join(select)} FROM {relation}) TO {target} "
        f"(FORMAT parquet, ROW_GROUP_SIZE {SCAN_ROW_GROUP}, COMPRESSION uncompressed)"
    )
    fetch_all(group, connection, sql)
    return GroupScan(plans=tuple(group), path=path, counts=count_scan(group, connection, path))


def count_scan(
    group: Sequence[ReadPlan], connection: duckdb.DuckDBPyConnection, path: Path
) -> dict[str, FileCounts]:
    """Per file of a scanned group: rows, failures per check, rows with errors."""
    plan = group[0]
    flags = ", ".join(flag_name(k) for k in range(_flag_count(plan.checks)))
    per_check = "".join(f", sum(n) FILTER (WHERE {has_flag(i)})" for i in range(len(plan.checks)))
    sql = (
        f"SELECT {FILE_COLUMN}, sum(n), sum(n) FILTER (WHERE {any_error(plan)}){per_check} "
        f"FROM (SELECT {FILE_COLUMN}, {flags}, count(*) AS n FROM {parquet(path)} GROUP BY ALL) "
        f"GROUP BY {FILE_COLUMN}"
    )
    found = {str(row[0]): row[1:] for row in fetch_all(group, connection, sql)}
    empty = (0, 0, *(0 for _ in plan.checks))
    return {p.file.name: _file_counts(found.get(str(p.file.path), empty)) for p in group}


def _file_counts(row: Sequence[Any]) -> FileCounts:
    rows, rejected, *found = (int(n or 0) for n in row)
    return FileCounts(rows=rows, found=tuple(found), rejected=rejected)


def finding_rows(
    plan: ReadPlan,
    connection: duckdb.DuckDBPyConnection,
    checks: Sequence[Check],
    limit: int | None,
) -> list[tuple[int, list[Check], dict[str, str | None]]]:
    """Rows failing any of ``checks``: (ordinal, the checks they fail, raw values), in order."""
    if not checks:
        return []
    found = []
    connection.execute("SET preserve_insertion_order = true")
    for batch in stream(plan, connection, _finding_sql(plan, checks, limit)):
        for row in batch.to_pylist():
            hits = [c for i, c in enumerate(checks) if row[f"_f{i}"]]
            values = {n: row["_raw_" + n] for n in plan.file.header}
            found.append((int(row["_ordinal"]), hits, values))
    connection.execute("SET preserve_insertion_order = false")
    return found


def _finding_sql(plan: ReadPlan, checks: Sequence[Check], limit: int | None) -> str:
    flags = ", ".join(f"coalesce({c.condition}, false) AS _f{i}" for i, c in enumerate(checks))
    raw = ", ".join(
        f"CAST({plan.raw_column(n)} AS VARCHAR) AS {quote('_raw_' + n)}" for n in plan.file.header
    )
    any_flag = " OR ".join(f"_f{i}" for i in range(len(checks)))
    relation = with_typed(plan.columns, plan_relation([plan]))
    return (
        f"SELECT * FROM (SELECT row_number() OVER () - 1 AS _ordinal, {flags}, {raw} "
        f"FROM {relation}) WHERE {any_flag} ORDER BY _ordinal"
        + (f" LIMIT {int(limit)}" if limit is not None else "")
    )


def parquet(path: Path) -> str:
    """A scan's Parquet file as a DuckDB relation."""
    return f"read_parquet({literal(str(path))})"
