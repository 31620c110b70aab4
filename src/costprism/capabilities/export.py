"""FOCUS out: the ledger's cost and usage rows written as a FOCUS file (``costprism export``).

What a FOCUS 1.2 export holds, in this order:

- every Cost and Usage column of FOCUS 1.2, in the specification's (alphabetical) order,
  null where the ledger has no value (a FOCUS 1.0 import has no ``InvoiceId``);
- the ledger's ``x_`` extension columns as they were imported (``x_Id`` of the 1.0 sample).

Left out: the ledger's bookkeeping columns ``x_SourceId``, ``x_IngestId``, ``x_RowId`` and
``x_Slice``. They say where a row sits in this ledger (which import, which row number, which
partition), not anything about the charge, and an import of the file would keep them only
renamed to ``x_input_*``. ``ledger_ids=True`` (``--ledger-ids``) adds the first three, to
trace rows back. The eight columns FOCUS 1.3 added, which the ledger also stores, are not
FOCUS 1.2 columns and are left out of a 1.2 export.

Values: in CSV, timestamps are ``YYYY-MM-DDTHH:MM:SSZ`` (UTC, whole seconds), decimals are
plain numbers without exponent, quotes or trailing zeros (``12.5``), ``Tags`` is a JSON
object; a null is an empty field. In Parquet, timestamps are ``timestamp[us, tz=UTC]``,
decimals ``decimal(38, 12)`` and ``Tags`` JSON text (FOCUS's key-value format is a JSON
object in both).

How: one DuckDB ``COPY (SELECT …) TO`` over the Parquet files of one ledger version, so
rows stream from the ledger to the file and are never all in memory. The caller's scope and
the request's filters go through :func:`costprism.engine.query.restrict`, the engine's one
filtering path; ``--from``/``--to`` select on ``ChargePeriodStart`` as ``costprism cost``
does. The file is written under a hidden temporary name beside ``out`` and renamed when
complete: a failed export leaves nothing, and an existing file is replaced only with
``force``.
"""

from __future__ import annotations

import contextlib
import os
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any, Literal

import ibis
import ibis.expr.types as ir

from costprism.capabilities.cost_request import choice, parse_cost_query
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery, cost_rows_in_range, restrict
from costprism.errors import InternalError, QueryError, UserError
from costprism.focus import ColumnSpec, columns_for

ExportFormat = Literal["csv", "parquet"]
FORMATS: tuple[ExportFormat, ...] = ("csv", "parquet")
EXPORT_VERSIONS: tuple[str, ...] = ("1.2",)
"""The FOCUS versions ``export`` writes."""

LEDGER_IDS: tuple[str, ...] = ("x_SourceId", "x_IngestId", "x_RowId")
"""Bookkeeping columns kept only with ``ledger_ids`` (see the module docstring)."""
BOOKKEEPING: frozenset[str] = frozenset({*LEDGER_IDS, "x_Slice"})

DATETIME_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_TRAILING_ZEROS = r"\.?0+$"  # a ledger decimal always has 12 decimals: 12.500000000000
_SUFFIXES: dict[str, ExportFormat] = {".csv": "csv", ".gz": "csv", ".parquet": "parquet"}

_STREAMING = {"preserve_insertion_order": "false"}
_PROGRESS = {"enable_progress_bar": "true", "enable_progress_bar_print": "false"}

Progress = Callable[[float], None]
"""Called with the percentage done (0–100) while the file is written."""


@dataclass(frozen=True, kw_only=True)
class ExportRequest:
    """Which rows (filters, ``start`` inclusive, ``end`` exclusive, on ChargePeriodStart)
    and how to write them."""

    focus_version: str = "1.2"
    file_format: ExportFormat = "csv"
    filters: tuple[Filter, ...] = ()
    start: date | None = None
    end: date | None = None
    ledger_ids: bool = False
    force: bool = False


@dataclass(frozen=True, kw_only=True)
class ExportResult:
    path: Path
    rows: int
    columns: tuple[str, ...]
    version: int | None  # the ledger version read


def parse_export_request(
    *,
    out: Path,
    focus_version: str = "1.2",
    file_format: str | None = None,
    where: Sequence[str] = (),
    start: str | None = None,
    end: str | None = None,
    ledger_ids: bool = False,
    force: bool = False,
    prefix: str = "",
) -> ExportRequest:
    """The request the words describe (the format from ``out``'s suffix when not given);
    a clear :class:`UserError` for any bad word. ``prefix`` goes before option names."""
    rows = parse_cost_query(where=where, start=start, end=end, granularity="total", prefix=prefix)
    _check_range(rows, prefix)
    return ExportRequest(
        focus_version=_check_version(focus_version, prefix),
        file_format=_format(out, file_format, prefix),
        filters=rows.filters,
        start=rows.start,
        end=rows.end,
        ledger_ids=ledger_ids,
        force=force,
    )


def export_focus(
    view: LedgerView,
    out: Path,
    request: ExportRequest,
    scope: Sequence[Filter] = (),
    *,
    progress: Progress | None = None,
) -> ExportResult:
    """Write the rows ``request`` selects within ``scope`` to ``out`` as one FOCUS file."""
    if view.engine != "duckdb":
        raise InternalError(f"export writes through DuckDB, not {view.engine}")
    _check_version(request.focus_version, "")
    _check_out(out, request.force)
    rows = export_expression(view.costs, request, scope)
    temporary = out.parent / f".{out.name}.{uuid.uuid4().hex[:12]}.partial"
    try:
        written = _copy(view.backend, rows, temporary, _copy_options(out, request), progress)
        _check_out(out, request.force)  # another writer may have made it meanwhile
        os.replace(temporary, out)
    finally:
        temporary.unlink(missing_ok=True)
    return ExportResult(path=out, rows=written, columns=tuple(rows.columns), version=view.version)


def export_expression(
    costs: ir.Table, request: ExportRequest, scope: Sequence[Filter] = ()
) -> ir.Table:
    """The rows and columns of the file, each value already in the file's form."""
    rows = restrict(costs, (*scope, *request.filters))
    rows = cost_rows_in_range(rows, CostQuery(start=request.start, end=request.end))
    csv = request.file_format == "csv"
    focus = {
        spec.name: _focus_value(rows, spec, csv) for spec in columns_for(request.focus_version)
    }
    extensions = {
        name: _file_value(rows[name], csv)
        for name in rows.columns
        if name.startswith("x_") and (name not in BOOKKEEPING or _kept_id(name, request))
    }
    return rows.select(**focus, **extensions)


def _focus_value(rows: ir.Table, spec: ColumnSpec, csv: bool) -> ir.Value:
    """The column in the ledger's type (a null of it when absent), then in the file's form."""
    kind = ibis.dtype(spec.arrow_type)
    value = rows[spec.name] if spec.name in rows.columns else ibis.null(kind)
    return _file_value(value.cast(kind), csv)


def _file_value(value: ir.Value, csv: bool) -> ir.Value:
    """A value in the form the file holds: in CSV, ISO UTC timestamps and plain decimals;
    maps, lists and structs as JSON in either format."""
    kind = value.type()
    if kind.is_nested():
        return value.cast("json").cast("string")
    if not csv:
        return value
    if kind.is_timestamp():
        return value.strftime(DATETIME_FORMAT)
    if kind.is_decimal():
        return value.cast("string").re_replace(_TRAILING_ZEROS, "")
    return value


def _kept_id(name: str, request: ExportRequest) -> bool:
    return request.ledger_ids and name in LEDGER_IDS


def _copy(
    backend: Any,
    rows: ir.Table,
    path: Path,
    options: str,
    progress: Progress | None,
) -> int:
    """One ``COPY (SELECT …) TO``; returns the rows written.

    Rows come out in no particular order: keeping the ledger's order makes DuckDB buffer
    what parallel threads read ahead (1.0 GB peak for 1.3M rows to CSV, 0.3 GB without)."""
    sql = f"COPY ({backend.compile(rows)}) TO {_literal(str(path))} ({options})"
    connection = backend.con
    settings = {**_STREAMING, **(_PROGRESS if progress else {})}
    with _settings(connection, settings), _watching(connection, progress):
        return int(connection.execute(sql).fetchone()[0])


@contextlib.contextmanager
def _settings(connection: Any, settings: dict[str, str]) -> Iterator[None]:
    """DuckDB settings for one statement, reset to their defaults afterwards."""
    for name, value in settings.items():
        connection.execute(f"SET {name} = {value}")
    try:
        yield
    finally:
        for name in settings:
            connection.execute(f"RESET {name}")


@contextlib.contextmanager
def _watching(connection: Any, progress: Progress | None) -> Iterator[None]:
    """Report the running statement's progress from a second thread, then 100."""
    if progress is None:
        yield
        return
    done = threading.Event()
    watcher = threading.Thread(target=_watch, args=(connection, progress, done), daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()
    progress(100.0)


def _watch(connection: Any, progress: Progress, done: threading.Event) -> None:
    while not done.wait(0.2):
        percent = float(connection.query_progress())
        if percent >= 0:
            progress(percent)


def _copy_options(out: Path, request: ExportRequest) -> str:
    if request.file_format == "parquet":
        return "FORMAT parquet"
    compression = "gzip" if out.name.endswith(".gz") else "none"
    return f"FORMAT csv, HEADER true, COMPRESSION {compression}"


def _check_out(out: Path, force: bool) -> None:
    if out.is_dir():
        raise UserError(
            f"{out} is a folder; give the path of the file to write", code="export.bad_path"
        )
    if not out.parent.is_dir():
        raise UserError(
            f"{out.parent} is not a folder; create it first or give another path",
            code="export.bad_path",
        )
    if out.exists() and not force:
        raise UserError(
            f"{out} already exists; give another path, or --force to replace it",
            code="export.exists",
        )


def _check_version(version: str, prefix: str) -> str:
    if version not in EXPORT_VERSIONS:
        raise UserError(
            f"{prefix}focus-version {version!r}: export writes FOCUS "
            f"{', '.join(EXPORT_VERSIONS)} only; use {prefix}focus-version "
            f"{EXPORT_VERSIONS[-1]}",
            code="export.bad_version",
        )
    return version


def _format(out: Path, file_format: str | None, prefix: str) -> ExportFormat:
    if file_format is not None:
        chosen: ExportFormat = choice(file_format, FORMATS, f"{prefix}format")
        return chosen
    suffix = out.suffix.lower()
    if suffix not in _SUFFIXES:
        raise UserError(
            f"{out.name}: can't tell the format from the name; give {prefix}format csv or "
            f"{prefix}format parquet (or name the file .csv, .csv.gz or .parquet)",
            code="usage",
        )
    return _SUFFIXES[suffix]


def _check_range(rows: CostQuery, prefix: str) -> None:
    if rows.start and rows.end and rows.start >= rows.end:
        raise QueryError(
            f"{prefix}from {rows.start} is not before {prefix}to {rows.end} "
            f"({prefix}to is exclusive)",
            code="query.bad_range",
        )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
