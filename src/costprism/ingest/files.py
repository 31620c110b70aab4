"""Finding the input files of an import and reading their headers.

Accepts files, directories (searched recursively) and glob patterns; the formats are
CSV, gzip CSV and Parquet, told apart by content (gzip magic, Parquet magic), not only
by the file name.
"""

from __future__ import annotations

import csv
import glob
import gzip
import json
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import duckdb
import pyarrow.parquet as pq

from costprism.errors import InputError
from costprism.focus import clean_name

FileFormat = Literal["csv", "csv.gz", "parquet", "jsonl", "jsonl.gz"]
COMPRESSED: frozenset[FileFormat] = frozenset({"csv.gz", "jsonl.gz"})
TEXT_LINES: frozenset[FileFormat] = frozenset({"csv", "csv.gz"})  # records may span lines

# In a folder, these are data; a .json file there is more likely a manifest (AWS writes
# one beside each CUR), so JSON lines are found by .jsonl/.ndjson, or named one by one.
_SUFFIXES = (
    ".csv", ".csv.gz", ".parquet", ".pq", ".jsonl", ".ndjson", ".jsonl.gz", ".ndjson.gz",
)  # fmt: skip
_HEADER_BYTES = 1 << 20


@dataclass(frozen=True, kw_only=True)
class InputFile:
    path: Path
    format: FileFormat
    header: tuple[str, ...]
    delimiter: str = ","
    types: tuple[str, ...] = ()  # JSON lines: the DuckDB type of each header column

    @property
    def name(self) -> str:
        return str(self.path)

    @property
    def size(self) -> int:
        """Bytes on disk (compressed for gzip)."""
        return self.path.stat().st_size


def discover(paths: Iterable[str | Path]) -> list[InputFile]:
    """Every input file named by ``paths``, in a stable order, each with its header read."""
    found: list[Path] = []
    for raw in paths:
        found.extend(_expand(str(raw)))
    unique = sorted(dict.fromkeys(path.resolve() for path in found))
    return [open_input(path) for path in unique]


def open_input(path: Path) -> InputFile:
    kind = sniff_format(path)
    if kind == "parquet":
        return InputFile(path=path, format=kind, header=_parquet_header(path))
    if kind in ("jsonl", "jsonl.gz"):
        header, types = _json_columns(path, kind)
        return InputFile(path=path, format=kind, header=header, types=types)
    header, delimiter = _csv_header(path, kind)
    return InputFile(path=path, format=kind, header=header, delimiter=delimiter)


def sniff_format(path: Path) -> FileFormat:
    """CSV, Parquet or JSON lines (one object per line), gzip-compressed or not, told apart
    by the first bytes."""
    with path.open("rb") as handle:
        magic = handle.read(4)
    if magic[:2] == b"\x1f\x8b":
        with gzip.open(path, "rb") as handle:
            start = _first_byte(handle.read(64))
        return "jsonl.gz" if start == b"{" else "csv.gz"
    if magic == b"PAR1":
        return "parquet"
    with path.open("rb") as handle:
        start = _first_byte(handle.read(64))
    return "jsonl" if start == b"{" else "csv"


def _first_byte(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]


def _json_columns(path: Path, kind: FileFormat) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The keys of a JSON-lines file's records and their types, as DuckDB infers them from
    the first records; a key that is null there reads as text (DuckDB would say JSON, and
    fail on the first plain string)."""
    line = _first_line(path, kind)
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise InputError(
            f"{path}:1 column {error.colno}: the first line is not a JSON object ({error.msg}); "
            "export newline-delimited JSON, one object per line",
            code="input.bad_json",
        ) from error
    if not isinstance(record, dict) or not record:
        raise InputError(
            f"{path}:1: the first line is not a JSON object; export newline-delimited JSON, "
            "one object per line",
            code="input.bad_json",
        )
    compression = "gzip" if kind in COMPRESSED else "uncompressed"
    escaped = str(path).replace("'", "''")
    with duckdb.connect() as connection:
        try:
            rows = connection.execute(
                f"DESCRIBE SELECT * FROM read_json('{escaped}', format = 'newline_delimited', "
                f"compression = '{compression}')"
            ).fetchall()
        except duckdb.Error as error:
            raise InputError(
                f"{path}: not readable as JSON lines ({str(error).splitlines()[0][:200]}); "
                "export newline-delimited JSON, one object per line",
                code="input.bad_json",
            ) from error
    header = tuple(str(row[0]) for row in rows)
    types = tuple("VARCHAR" if str(row[1]) == "JSON" else str(row[1]) for row in rows)
    return header, types


def _expand(raw: str) -> list[Path]:
    path = Path(raw)
    if path.is_dir():
        files = [p for p in path.rglob("*") if p.is_file() and _is_data_file(p)]
        if not files:
            raise InputError(
                f"{raw}: the directory holds no .csv, .csv.gz, .parquet or .jsonl files; "
                "name a .json file itself to read it as JSON lines",
                code="input.empty_directory",
            )
        return files
    if path.is_file():
        return [path]
    matches = [Path(m) for m in glob.glob(raw, recursive=True)]
    files = [m for m in matches if m.is_file()]
    if not files:
        raise InputError(
            f"{raw}: no such file, directory or matching glob; check the path",
            code="input.not_found",
        )
    return files


def _is_data_file(path: Path) -> bool:
    return path.name.lower().endswith(_SUFFIXES)


def _parquet_header(path: Path) -> tuple[str, ...]:
    try:
        return tuple(pq.read_schema(path).names)
    except Exception as error:  # pyarrow raises several types for a damaged footer
        raise InputError(
            f"{path}: not a readable Parquet file ({error}); re-export the file",
            code="input.bad_parquet",
        ) from error


def _csv_header(path: Path, kind: FileFormat) -> tuple[tuple[str, ...], str]:
    text = _first_line(path, kind)
    if not text.strip():
        raise InputError(
            f"{path}:1: the file is empty (no header line); export the data again",
            code="input.empty_file",
        )
    delimiter = _delimiter(text)
    if delimiter != ",":
        raise InputError(
            f"{path}:1: the header is separated by {delimiter!r}, not by commas; "
            "export the file as CSV with ',' between fields",
            code="input.delimiter",
        )
    names = next(csv.reader([text], delimiter=delimiter))
    return tuple(clean_name(name) for name in names), delimiter


def _first_line(path: Path, kind: FileFormat) -> str:
    try:
        raw = _head_bytes(path, kind)
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(
            f"{path}: can't read the start of the file ({error}); check that it is not damaged",
            code="input.unreadable",
        ) from error
    line = raw.split(b"\n", 1)[0].rstrip(b"\r")
    try:
        return line.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise InputError(
            f"{path}:1 column {error.start + 1}: the header is not UTF-8 "
            f"(byte 0x{line[error.start]:02x}); re-save the file as UTF-8",
            code="input.encoding",
        ) from error


def _head_bytes(path: Path, kind: FileFormat) -> bytes:
    if kind in COMPRESSED:
        with gzip.open(path, "rb") as handle:
            return handle.read(_HEADER_BYTES)
    with path.open("rb") as handle:
        return handle.read(_HEADER_BYTES)


def _delimiter(header_line: str) -> str:
    """The header's delimiter, if it plainly is not the comma FOCUS CSV uses."""
    counts = {sep: header_line.count(sep) for sep in (",", ";", "\t", "|")}
    best = max(counts, key=lambda sep: counts[sep])
    return "," if counts[","] > 0 or counts[best] == 0 else best


def verify_gzip(path: Path) -> None:
    """Read a gzip file to its end: a truncated download fails here, not silently."""
    try:
        with gzip.open(path, "rb") as handle:
            while handle.read(1 << 22):
                pass
    except (OSError, EOFError, zlib.error) as error:
        raise InputError(
            f"{path}: the gzip file is damaged or truncated ({error}); download it again",
            code="input.truncated",
        ) from error


def record_lines(path: Path, kind: FileFormat, ordinals: Iterable[int]) -> dict[int, int]:
    """The 1-based line where each data record (0-based ordinal) starts, quotes respected."""
    wanted = set(ordinals)
    if not wanted:
        return {}
    opener = gzip.open if kind in COMPRESSED else open
    found: dict[int, int] = {}
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        line = reader.line_num + 1
        for ordinal, _ in enumerate(reader):
            if ordinal in wanted:
                found[ordinal] = line
                if len(found) == len(wanted):
                    break
            line = reader.line_num + 1
    return found


def first_invalid_utf8(path: Path, kind: FileFormat) -> tuple[int, int, int] | None:
    """(line, column, byte) of the first byte that is not UTF-8, or None."""
    opener = gzip.open if kind in COMPRESSED else open
    with opener(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as error:
                return number, error.start + 1, raw[error.start]
    return None


def csv_rows(path: Path, kind: FileFormat, limit: int) -> list[list[str]]:
    """The first ``limit`` data records of a CSV file, as text (header skipped)."""
    opener = gzip.open if kind in COMPRESSED else open
    rows: list[list[str]] = []
    with opener(path, "rt", encoding="utf-8-sig", errors="replace", newline="") as handle:
        reader = csv.reader(handle)
        next(reader, None)
        for row in reader:
            rows.append(row)
            if len(rows) >= limit:
                break
    return rows
