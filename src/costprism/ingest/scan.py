"""The one pass: each group of files read once, typed, checked and written as ledger files.

One streaming ``COPY (SELECT … FROM read_csv(…)) TO '<spill>/group-N' (PARTITION_BY …,
RETURN_STATS)`` per read group: every ledger column already in its ledger type, the extra
columns and ``x_SourceId``/``x_IngestId``/``x_RowId``, partitioned by

- the slice: a hash of (BillingAccountId, BillingPeriodStart);
- the result of every check, packed into integer *flag* columns (bit ``i`` of
  ``costprism:flags<k>`` is check ``62·k + i`` of ``plan.checks``, errors first);
- the input file: a hash of its path.

Partition values stay out of the files, so each file written is already a ledger file of
one slice whose rows share their findings. ``RETURN_STATS`` reports each file's rows and
partition values: the counts per file and rule come from it, with nothing read back. Files
whose flags hold an error bit hold the rows with errors: they are left in the spill folder
(under ``--quarantine``) or the import is refused before anything is moved.

A dry run (``validate``) counts the same flags with one ``GROUP BY`` and writes nothing.
Only when a count is not zero does :func:`finding_rows` read the original file again, in
order, for the lines that hold findings.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from costprism.errors import LedgerError
from costprism.ingest.checks import Check, literal, quote, typed_name, with_typed
from costprism.ingest.reader import ReadPlan, fetch_all, plan_relation, stream

FLAG_BITS = 62  # checks per BIGINT flag column (the sign bit stays clear)
# Rows per row group of a written file, and per writer thread before it hands its rows to
# the partitions: at DuckDB's defaults (122,880 and 524,288 rows) the threads buffer
# quarter-GB groups of typed rows and spill past a 1 GB memory_limit, which doubles the CPU.
ROW_GROUP = 30_720
MAX_OPEN_FILES = 32  # partitions written at once; more are flushed and reopened
ROW_SEQUENCE = "costprism_rows"
SLICE_COLUMN = quote("costprism:slice")
FILE_COLUMN = quote("costprism:file")


@dataclass(frozen=True, kw_only=True)
class FileCounts:
    """One file's data rows, its failures per check (in ``plan.checks`` order) and the rows
    with at least one error."""

    rows: int
    found: tuple[int, ...]
    rejected: int


@dataclass(frozen=True, kw_only=True)
class Part:
    """Rows of one input file, one slice and one set of findings: a written Parquet file
    (``path``), or only counted (a dry run)."""

    file: str  # the input file's name
    slice: str  # the slice hash
    flags: tuple[int, ...]
    rows: int
    path: Path | None = None


@dataclass(frozen=True, kw_only=True)
class GroupScan:
    """A group's rows, written or counted, split by slice, file and findings."""

    plans: tuple[ReadPlan, ...]
    parts: tuple[Part, ...]

    @property
    def plan(self) -> ReadPlan:
        return self.plans[0]

    @property
    def counts(self) -> dict[str, FileCounts]:
        """Per input file name: rows, failures per check, rows with errors."""
        errors = len(self.plan.errors)
        checks = len(self.plan.checks)
        counts = {}
        for plan in self.plans:
            mine = [p for p in self.parts if p.file == plan.file.name]
            counts[plan.file.name] = FileCounts(
                rows=sum(p.rows for p in mine),
                found=tuple(sum(p.rows for p in mine if _fired(p.flags, i)) for i in range(checks)),
                rejected=sum(p.rows for p in mine if _any_fired(p.flags, errors)),
            )
        return counts

    @property
    def valid(self) -> list[Part]:
        """The written parts without an error: the rows the import keeps."""
        errors = len(self.plan.errors)
        return [p for p in self.parts if not _any_fired(p.flags, errors)]


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


def _fired(flags: Sequence[int], index: int) -> bool:
    column, bit = divmod(index, FLAG_BITS)
    return bool(flags[column] >> bit & 1)


def _any_fired(flags: Sequence[int], first: int) -> bool:
    """Whether any of the checks ``0 … first-1`` fired (the errors come first)."""
    return any(_fired(flags, i) for i in range(first))


def start_row_ids(connection: duckdb.DuckDBPyConnection, first: int) -> None:
    """The sequence behind ``x_RowId``, from ``first`` (DuckDB draws it in parallel)."""
    connection.execute(f"CREATE OR REPLACE SEQUENCE {ROW_SEQUENCE} START WITH {int(first)}")


def scan_group(
    group: Sequence[ReadPlan],
    connection: duckdb.DuckDBPyConnection,
    folder: Path,
    *,
    source: str,
    ingest_id: int,
) -> GroupScan:
    """Read a group's files once into ledger files under ``folder``, partitioned by slice,
    findings and file (call :func:`start_row_ids` first)."""
    plan = group[0]
    keys = [SLICE_COLUMN, *(flag_name(k) for k in range(_flag_count(plan.checks))), FILE_COLUMN]
    select = [
        *_ledger_columns(plan),
        f"{literal(source)} AS x_SourceId",
        f"CAST({int(ingest_id)} AS BIGINT) AS x_IngestId",
        f"nextval({literal(ROW_SEQUENCE)}) AS x_RowId",
        *_partition_columns(plan),
    ]
    relation = with_typed(plan.columns, plan_relation(group, filename=True))
    sql = (
        f"COPY (SELECT {', '.join(select)} FROM {relation}) TO {literal(str(folder))} "
        f"(FORMAT parquet, PARTITION_BY ({', '.join(keys)}), ROW_GROUP_SIZE {ROW_GROUP}, "
        "RETURN_STATS true)"
    )
    connection.execute(f"SET partitioned_write_flush_threshold = {ROW_GROUP}")
    connection.execute(f"SET partitioned_write_max_open_files = {MAX_OPEN_FILES}")
    names = _file_names(group, connection)
    # RETURN_STATS: filename, count, file_size_bytes, footer_size_bytes, column_statistics,
    # partition_keys (a map of the partition values, as text)
    parts = [
        _part(names, row[5], int(row[1]), Path(row[0])) for row in fetch_all(group, connection, sql)
    ]
    return GroupScan(plans=tuple(group), parts=tuple(parts))


def count_group(group: Sequence[ReadPlan], connection: duckdb.DuckDBPyConnection) -> GroupScan:
    """Count a group's rows by file and findings, writing nothing (a dry run)."""
    plan = group[0]
    flags = [flag_name(k) for k in range(_flag_count(plan.checks))]
    relation = with_typed(plan.columns, plan_relation(group, filename=True))
    inner = f"SELECT {', '.join(flag_columns(plan.checks))}, {_file_hash()} FROM {relation}"
    sql = f"SELECT {FILE_COLUMN}, {', '.join(flags)}, count(*) FROM ({inner}) GROUP BY ALL"
    names = _file_names(group, connection)
    parts = []
    for row in fetch_all(group, connection, sql):
        values = dict(zip([_key(FILE_COLUMN), *map(_key, flags)], row[:-1], strict=True))
        parts.append(_part(names, values, int(row[-1]), None))
    return GroupScan(plans=tuple(group), parts=tuple(parts))


def _ledger_columns(plan: ReadPlan) -> list[str]:
    typed = [f"{typed_name(c.spec)} AS {quote(c.spec.name)}" for c in plan.columns]
    extras = [f"CAST({quote(src)} AS VARCHAR) AS {quote(name)}" for name, src in plan.extras]
    return typed + extras


def _partition_columns(plan: ReadPlan) -> list[str]:
    names = {c.spec.name: c.spec for c in plan.columns}
    if plan.dataset == "contract_commitment":
        slice_hash = "CAST(0 AS UBIGINT)"  # the dataset is one slice
    else:
        account, start = names["BillingAccountId"], names["BillingPeriodStart"]
        slice_hash = f"hash({typed_name(account)}, {typed_name(start)})"
    return [f"{slice_hash} AS {SLICE_COLUMN}", *flag_columns(plan.checks), _file_hash()]


def _file_hash() -> str:
    return f"hash(filename) AS {FILE_COLUMN}"


def _file_names(group: Sequence[ReadPlan], connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Each file's path hash (as a partition value) → its name."""
    paths = {str(p.file.path): p.file.name for p in group}
    listed = ", ".join(literal(path) for path in paths)
    sql = f"SELECT path, CAST(hash(path) AS VARCHAR) FROM unnest([{listed}]) AS paths(path)"
    names = {str(h): paths[str(path)] for path, h in fetch_all(group, connection, sql)}
    if len(names) < len(paths):
        raise LedgerError(
            f"two input file paths hash alike ({', '.join(paths)}); import them separately",
            code="ledger.hash_collision",
        )
    return names


def _key(column: str) -> str:
    """A quoted partition column's name as RETURN_STATS reports it."""
    return column[1:-1].replace('""', '"')


def _part(names: dict[str, str], values: Mapping[str, Any], rows: int, path: Path | None) -> Part:
    """A part from its partition values (or a dry run's group keys)."""
    flags: list[int] = []
    while (flag := _key(flag_name(len(flags)))) in values:
        flags.append(int(values[flag]))
    return Part(
        file=names[str(values[_key(FILE_COLUMN)])],
        slice=str(values.get(_key(SLICE_COLUMN), "")),
        flags=tuple(flags),
        rows=rows,
        path=path,
    )


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


def parquet(paths: Iterable[Path]) -> str:
    """Written files as one DuckDB relation."""
    return f"read_parquet([{', '.join(literal(str(p)) for p in paths)}])"
