"""The FOCUS reader: what an input file holds and how DuckDB reads it.

:func:`plan_read` detects a file's FOCUS version and dataset and plans its columns and
checks; :func:`group_plans` puts files of one layout (CSV, gzip CSV or Parquet, same
header) together so that small part files share one scan; :func:`relation_of` is the
``read_csv``/``read_parquet`` call that reads them as text. DuckDB errors are turned into
:class:`~costprism.errors.InputError` naming the file. The pass itself is
:mod:`costprism.ingest.scan` (read, type, check, write); :mod:`costprism.ingest.slices`
moves what it wrote into the slices.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa

from costprism.errors import InputError
from costprism.focus import (
    CONTRACT_COMMITMENT_COLUMNS,
    ColumnSpec,
    HeaderDetection,
    columns_for,
    detect_header,
    ledger_columns,
)
from costprism.ingest.checks import (
    NULL_LITERALS,
    Check,
    ColumnPlan,
    checks_for,
    literal,
    period_checks,
    quote,
)
from costprism.ingest.files import COMPRESSED, TEXT_LINES, InputFile, csv_rows, first_invalid_utf8
from costprism.native import (
    FOCUS_VERSION,
    Attempt,
    NativeFormat,
    attempts,
    bad_name,
    format_named,
    match_format,
    native_relation,
    raw_name,
)

BATCH_ROWS = 122_880
GROUP_BYTES = 256 << 20  # input read together in one scan
_PERIODS = (("ChargePeriodStart", "ChargePeriodEnd"), ("BillingPeriodStart", "BillingPeriodEnd"))
_RESERVED = frozenset({"x_SourceId", "x_IngestId", "x_RowId", "x_Slice"})


@dataclass(frozen=True, kw_only=True)
class ReadPlan:
    """What will be read from one file and how it will be checked."""

    file: InputFile
    detection: HeaderDetection
    columns: tuple[ColumnPlan, ...]
    extras: tuple[tuple[str, str], ...]  # (ledger name, input name)
    errors: tuple[Check, ...]
    warnings: tuple[Check, ...]
    native: NativeFormat | None = None

    @property
    def dataset(self) -> str:
        return self.detection.dataset

    @property
    def checks(self) -> tuple[Check, ...]:
        return self.errors + self.warnings

    @property
    def extra_fields(self) -> list[pa.Field]:
        return [pa.field(name, pa.string()) for name, _ in self.extras]

    def line_of(self, ordinal: int) -> int:
        """The 1-based line of a data row (CSV: after the header line)."""
        return ordinal + 2 if self.file.format in TEXT_LINES else ordinal + 1

    @property
    def format_name(self) -> str:
        return self.native.name if self.native else f"FOCUS {self.detection.version}"

    def raw_column(self, header_name: str) -> str:
        """SQL for an input column's value as text, in :func:`plan_relation`'s relation."""
        return quote(raw_name(header_name) if self.native else header_name)

    def source_of(self, column: str | None) -> str | None:
        """The input header name a ledger column is read from."""
        if self.native is not None:
            return column if column in self.file.header else None
        for plan in self.columns:
            if plan.spec.name == column and plan.source:
                return plan.source[1:-1].replace('""', '"')
        return None


def plan_read(
    file: InputFile, connection: duckdb.DuckDBPyConnection, format_name: str | None = None
) -> ReadPlan:
    """Detect the file's format (FOCUS and its version and dataset, or a native export)
    and plan its columns and checks. ``format_name`` forces a format (``focus`` or a
    native format's name) instead of detecting it from the header."""
    native = format_named(format_name) if format_name else None
    detection = detect_header(file.header)
    if format_name is None and detection.missing_mandatory:
        native = match_format(file.header)
    if native is not None:
        return _native_plan(file, native, connection)
    _refuse_bad_header(file, detection, tried=format_name is None)
    source_types = _source_types(file, connection)
    present = _present_columns(file, detection)
    specs = (
        CONTRACT_COMMITMENT_COLUMNS
        if detection.dataset == "contract_commitment"
        else ledger_columns()
    )
    columns = tuple(_column_plan(spec, present, source_types) for spec in specs)
    extras = _extras(file, detection)
    checks = [check for plan in columns for check in checks_for(plan)]
    by_name = {plan.spec.name: plan for plan in columns if plan.source}
    checks += period_checks(
        [(by_name[a], by_name[b]) for a, b in _PERIODS if a in by_name and b in by_name]
    )
    return ReadPlan(
        file=file,
        detection=detection,
        columns=columns,
        extras=extras,
        errors=tuple(c for c in checks if c.severity == "error"),
        warnings=tuple(c for c in checks if c.severity == "warning"),
    )


def group_plans(plans: Sequence[ReadPlan], budget: int = GROUP_BYTES) -> list[list[ReadPlan]]:
    """Plans of files with the same layout (format, header, types), read together up to
    ``budget`` bytes of input: small part files share one scan, a large file stands alone
    (its parsed table is read back once per slice, so it should spill as little as possible)."""
    layouts: dict[tuple[Any, ...], list[ReadPlan]] = {}
    for plan in plans:
        layout = (
            plan.file.format,
            plan.file.header,
            plan.file.delimiter,
            plan.columns,
            plan.native,
        )
        layouts.setdefault(layout, []).append(plan)
    groups: list[list[ReadPlan]] = []
    for members in layouts.values():
        size = budget
        for plan in members:
            if size + plan.file.size > budget:
                groups.append([])
                size = 0
            groups[-1].append(plan)
            size += plan.file.size
    return groups


def fetch_all(
    group: Sequence[ReadPlan], connection: duckdb.DuckDBPyConnection, sql: str
) -> list[tuple[Any, ...]]:
    try:
        return [tuple(row) for row in connection.execute(sql).fetchall()]
    except duckdb.Error as error:
        raise _group_error(group, error) from error


def _group_error(group: Sequence[ReadPlan], error: duckdb.Error) -> InputError:
    """Name the file a DuckDB error is about (its message quotes the path)."""
    text = str(error)
    for plan in group:
        if str(plan.file.path) in text:
            return _input_error(plan.file, error)
    return _input_error(group[0].file, error)


def stream(
    plan: ReadPlan, connection: duckdb.DuckDBPyConnection, sql: str
) -> Iterator[pa.RecordBatch]:
    try:
        yield from connection.execute(sql).to_arrow_reader(BATCH_ROWS)
    except duckdb.Error as error:
        raise _input_error(plan.file, error) from error


def null_literals(plan: ReadPlan, sample_rows: int = 10_000) -> dict[str, int]:
    """Columns whose missing values are written as the text NULL, in the first rows."""
    if plan.file.format not in TEXT_LINES:
        return {}
    counts = dict.fromkeys(plan.file.header, 0)
    literals = frozenset(NULL_LITERALS)
    for row in csv_rows(plan.file.path, plan.file.format, sample_rows):
        if literals.isdisjoint(row):
            continue
        for name, value in zip(plan.file.header, row, strict=False):
            if value in literals:
                counts[name] += 1
    return {name: n for name, n in counts.items() if n}


def _relation(file: InputFile) -> str:
    """The file as a DuckDB relation of text columns (Parquet keeps its types)."""
    return relation_of([file])


def plan_relation(plans: Sequence[ReadPlan], *, filename: bool = False) -> str:
    """The files of plans of one layout as the relation their checks and values read: the
    file as it is for FOCUS, its FOCUS mapping for a native export."""
    relation = relation_of([p.file for p in plans], filename=filename)
    native = plans[0].native
    if native is None:
        return relation
    file = plans[0].file
    return native_relation(native, file.header, relation, filename=filename, types=file.types).sql


def _native_plan(
    file: InputFile, native: NativeFormat, connection: duckdb.DuckDBPyConnection
) -> ReadPlan:
    """A native export read through its mapping: FOCUS columns with rules are checked like a
    FOCUS file's (a failure names the source columns), numbers and times the mapping reads
    are checked where they stand in the source, other source columns are kept as ``x_``."""
    _refuse_bad_source_header(file, native)
    mapped = native_relation(native, file.header, relation_of([file]), types=file.types)
    detection = detect_header(mapped.columns)
    described = connection.execute(f"DESCRIBE SELECT * FROM {mapped.sql}").fetchall()
    types = {str(row[0]): str(row[1]) for row in described}
    columns = tuple(
        ColumnPlan(spec=spec, source=quote(spec.name), source_type=types[spec.name])
        if mapped.sources.get(spec.name) is not None
        else ColumnPlan(spec=spec, source=None)
        for spec in ledger_columns()
    )
    checks: list[Check] = []
    for plan in columns:
        sources = ", ".join(mapped.sources.get(plan.spec.name, ()))
        suffix = f" (from {sources})" if sources else ""
        checks += [dataclasses.replace(c, message=c.message + suffix) for c in checks_for(plan)]
    checks += _source_checks(
        mapped.number_columns,
        "bad-decimal",
        "is not a number",
        "write plain decimals such as 12.5: no currency signs or units",
    )
    checks += _source_checks(mapped.time_columns, "bad-datetime", "is not a date/time",
                             "the export's dates must be as the provider writes them")  # fmt: skip
    by_name = {plan.spec.name: plan for plan in columns if plan.source}
    checks += period_checks(
        [(by_name[a], by_name[b]) for a, b in _PERIODS if a in by_name and b in by_name]
    )
    return ReadPlan(
        file=file,
        detection=dataclasses.replace(detection, version=FOCUS_VERSION),
        columns=columns,
        extras=tuple((name, name) for name, _ in mapped.extras),
        errors=tuple(c for c in checks if c.severity == "error"),
        warnings=tuple(c for c in checks if c.severity == "warning"),
        native=native,
    )


def _source_checks(names: Sequence[str], rule: str, what: str, hint: str) -> list[Check]:
    return [
        Check(
            rule=rule,
            severity="error",
            column=name,
            condition=quote(bad_name(name)),
            message=f"{name} {what}",
            hint=hint,
        )
        for name in names
    ]


def _refuse_bad_source_header(file: InputFile, native: NativeFormat) -> None:
    seen: dict[str, str] = {}
    repeated = []
    for name in file.header:
        if name.casefold() in seen:
            repeated.append(seen[name.casefold()])
        seen.setdefault(name.casefold(), name)
    if repeated:
        raise InputError(
            f"{file.name}:1: the header repeats column(s) {', '.join(dict.fromkeys(repeated))}; "
            "each column may appear once — remove the duplicates",
            code="input.duplicate_columns",
        )
    missing = native.missing(file.header)
    if missing:
        raise InputError(
            f"{file.name}:1: missing columns for {native.title} ({native.name}): "
            f"{', '.join(missing)}; export the full report, or choose another --format",
            code="input.missing_columns",
        )


def relation_of(files: Sequence[InputFile], *, filename: bool = False) -> str:
    """Files of one layout as one DuckDB relation (``filename`` adds the path column)."""
    file = files[0]
    path = "[" + ", ".join(literal(str(f.path)) for f in files) + "]"
    with_name = ", filename = true" if filename else ""
    if file.format == "parquet":
        return f"read_parquet({path}{with_name})"
    if file.format in ("jsonl", "jsonl.gz"):
        compressed = "gzip" if file.format in COMPRESSED else "uncompressed"
        typed = ", ".join(
            f"{literal(name)}: {literal(kind)}"
            for name, kind in zip(file.header, file.types, strict=True)
        )
        return (
            f"read_json({path}{with_name}, format = 'newline_delimited', "
            f"compression = '{compressed}', columns = {{{typed}}})"
        )
    columns = ", ".join(f"{literal(name)}: 'VARCHAR'" for name in file.header)
    compression = "gzip" if file.format in COMPRESSED else "none"
    nulls = ", ".join(literal(v) for v in ("", *NULL_LITERALS))
    return (
        f"read_csv({path}{with_name}, header = true, auto_detect = false, "
        f"columns = {{{columns}}}, "
        f"delim = {literal(file.delimiter)}, quote = '\"', escape = '\"', "
        f"nullstr = [{nulls}], compression = '{compression}', strict_mode = true, "
        f"max_line_size = 16777216)"
    )


def _source_types(file: InputFile, connection: duckdb.DuckDBPyConnection) -> dict[str, str]:
    if file.format in TEXT_LINES:
        return dict.fromkeys(file.header, "VARCHAR")
    rows = connection.execute(f"DESCRIBE SELECT * FROM {_relation(file)}").fetchall()
    return {str(row[0]): str(row[1]) for row in rows}


def _present_columns(file: InputFile, detection: HeaderDetection) -> dict[str, str]:
    """Canonical column name → the header name it is read from."""
    present: dict[str, str] = {}
    for name in file.header:
        canonical = detection.renamed.get(name, name)
        present.setdefault(canonical, name)
    return present


def _column_plan(
    spec: ColumnSpec, present: dict[str, str], source_types: dict[str, str]
) -> ColumnPlan:
    source_name = present.get(spec.name)
    if source_name is None:
        return ColumnPlan(spec=spec, source=None)
    return ColumnPlan(
        spec=spec, source=quote(source_name), source_type=source_types.get(source_name, "VARCHAR")
    )


def _extras(file: InputFile, detection: HeaderDetection) -> tuple[tuple[str, str], ...]:
    kept = [(name, name) for name in detection.extension if name not in _RESERVED]
    kept += [(f"x_{name}", name) for name in detection.unknown]
    kept += [(f"x_input_{name}", name) for name in detection.extension if name in _RESERVED]
    return tuple(kept)


def _refuse_bad_header(file: InputFile, detection: HeaderDetection, *, tried: bool) -> None:
    if len(file.header) == 1 and file.delimiter == ",":
        raise InputError(
            f"{file.name}:1: the header has a single column {file.header[0][:80]!r}; "
            "the file is not comma-separated — export it as CSV with ',' between fields",
            code="input.delimiter",
        )
    if detection.duplicates:
        raise InputError(
            f"{file.name}:1: the header repeats column(s) {', '.join(detection.duplicates)}; "
            "each column may appear once — remove the duplicates",
            code="input.duplicate_columns",
        )
    if detection.missing_mandatory:
        closest, also = _closest_native(file, detection) if tried else (None, "")
        if closest is not None:
            raise InputError(
                f"{file.name}:1: the header matches no known format; the closest is "
                f"{closest.name}, which lacks {', '.join(closest.missing)} (formats tried: "
                f"FOCUS 1.0–1.3, {also}); export the full report with every column",
                code="input.missing_columns",
            )
        raise InputError(
            f"{file.name}:1: missing mandatory columns for FOCUS {detection.version} "
            f"({detection.dataset.replace('_', ' ')}): {', '.join(detection.missing_mandatory)}; "
            "export the full FOCUS dataset (a column subset can't be imported)"
            + (f". Native formats tried too, none closer: {also}" if also else ""),
            code="input.missing_columns",
        )


def _closest_native(file: InputFile, detection: HeaderDetection) -> tuple[Attempt | None, str]:
    """The native format closest to the header, if closer than FOCUS (by the share of its
    required columns present), and the names of all native formats tried."""
    mandatory = [
        spec
        for spec in columns_for(detection.version, detection.dataset)
        if spec.level == "mandatory"
    ]
    focus_share = 1 - len(detection.missing_mandatory) / max(1, len(mandatory))
    tried = attempts(file.header)
    names = ", ".join(a.name for a in tried)
    closest = tried[0] if tried and tried[0].share > focus_share else None
    return closest, names


def _input_error(file: InputFile, error: duckdb.Error) -> InputError:
    text = str(error).replace(str(file.path), "<file>")
    if isinstance(error, duckdb.InternalException) or "unicode" in text.lower():
        bad = first_invalid_utf8(file.path, file.format) if file.format != "parquet" else None
        if bad:
            line, column, byte = bad
            return InputError(
                f"{file.name}:{line}: byte 0x{byte:02x} at character {column} is not UTF-8; "
                "re-save the file as UTF-8",
                code="input.encoding",
            )
    found = re.search(r"[Ll]ine:?\s*(\d+)", text)
    where = f"{file.name}:{found.group(1)}" if found else file.name
    summary = text.strip().splitlines()[0][:300]
    return InputError(
        f"{where}: the file can't be read ({summary}); {_fix_for(text)}",
        code="input.unreadable",
    )


def _fix_for(text: str) -> str:
    lowered = text.lower()
    if "unicode" in lowered or "utf-8" in lowered:
        return "re-save the file as UTF-8"
    if "gzip" in lowered or "inflate" in lowered or "zlib" in lowered:
        return "the compressed file is damaged or truncated; download it again"
    if "maximum line size" in lowered:
        return "a field is larger than 16 MB; check the export"
    if "expected" in lowered and "columns" in lowered:
        return "a row has a different number of fields than the header; check quoting"
    return "check that the file is complete and in FOCUS CSV or Parquet form"
