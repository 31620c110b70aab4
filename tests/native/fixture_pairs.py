"""Fixture pairs: a small native export beside the FOCUS rows it must become.

A case ``tests/data/<provider>/<case>.<csv|jsonl>`` has two companions:

- ``<case>.expected.csv``: one row per source row that the case pins down, a subset of
  FOCUS (and ``x_``) columns. Empty cells mean null; numbers compare as decimals, times as
  ISO 8601 UTC (``2024-09-01T00:00:00Z``), Tags as JSON objects.
- ``<case>.json``: ``format`` (the native format the header must be detected as), ``key``
  (the ledger column that identifies a source row, usually the source's line item id kept
  as ``x_…``), and ``totals``: SQL over the view ``source`` (the file as DuckDB reads it,
  every CSV column as text) giving ``(period 'YYYY-MM', currency, billed, amortized)`` rows
  written independently of the mapping, from the export's own cost columns
  (``amortized`` null where the export has no amortized cost).

:func:`check_case` imports the case into a fresh ledger and compares.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import duckdb

from costprism.ingest.pipeline import IngestOptions, IngestResult, ingest
from costprism.ledger import Ledger

DATA = Path(__file__).resolve().parents[1] / "data"
PROVIDERS = ("aws", "azure", "gcp", "alibaba", "oracle")
CENT = Decimal("0.005")


@dataclass(frozen=True)
class Case:
    provider: str
    path: Path

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.path.name}"

    @property
    def stem(self) -> Path:
        return self.path.with_name(self.path.name.split(".")[0])

    @property
    def meta(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.stem.with_suffix(".json").read_text("utf-8"))
        return loaded

    @property
    def expected(self) -> Path:
        return self.stem.with_name(self.stem.name + ".expected.csv")


def cases() -> Iterator[Case]:
    for provider in PROVIDERS:
        folder = DATA / provider
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.name.endswith((".expected.csv", ".json")) or path.name.startswith("bad-"):
                continue
            if path.suffix in (".csv", ".jsonl", ".gz", ".parquet"):
                yield Case(provider, path)


def import_case(case: Case, home: Path) -> tuple[IngestResult, Ledger]:
    ledger = Ledger.at_home(home)
    result = ingest([case.path], ledger, IngestOptions(source=case.provider))
    return result, ledger


def ledger_rows(ledger: Ledger) -> list[dict[str, Any]]:
    files, _ = ledger.table("cost_and_usage").files()
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    relation = connection.execute(
        f"SELECT * FROM read_parquet([{listed}], union_by_name = true) ORDER BY x_RowId"
    )
    names = [d[0] for d in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def source_totals(case: Case) -> dict[tuple[str, str], tuple[Decimal, Decimal | None]]:
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    path = str(case.path).replace("'", "''")
    if ".jsonl" in case.path.name:
        relation = f"read_json('{path}', format = 'newline_delimited')"
    else:
        relation = f"read_csv('{path}', header = true, all_varchar = true)"
    connection.execute(f"CREATE VIEW source AS SELECT * FROM {relation}")
    rows = connection.execute(case.meta["totals"]).fetchall()
    return {
        (str(p), str(c)): (Decimal(str(b)), None if a is None else Decimal(str(a)))
        for p, c, b, a in rows
    }


def ledger_totals(rows: list[dict[str, Any]]) -> dict[tuple[str, str], tuple[Decimal, Decimal]]:
    totals: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
    for row in rows:
        key = (row["BillingPeriodStart"].strftime("%Y-%m"), row["BillingCurrency"])
        billed, effective = totals.get(key, (Decimal(0), Decimal(0)))
        totals[key] = (billed + row["BilledCost"], effective + row["EffectiveCost"])
    return totals


def expected_rows(case: Case) -> list[dict[str, str]]:
    connection = duckdb.connect()
    path = str(case.expected).replace("'", "''")
    relation = connection.execute(
        f"SELECT * FROM read_csv('{path}', header = true, all_varchar = true)"
    )
    names = [d[0] for d in relation.description]
    return [dict(zip(names, row, strict=True)) for row in relation.fetchall()]


def mismatches(expected: dict[str, str | None], actual: dict[str, Any]) -> list[str]:
    """Columns where a ledger row differs from the expected row, described."""
    found = []
    for column, want in expected.items():
        got = actual.get(column)
        if not _same(want, got):
            found.append(f"{column}: expected {want!r}, got {got!r}")
    return found


def _same(want: str | None, got: Any) -> bool:
    if want is None or want == "":
        return got is None or got == {} or got == []
    if got is None:
        return False
    if isinstance(got, datetime):
        return got.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") == want
    if isinstance(got, Decimal | float | int):
        try:
            return math.isclose(float(Decimal(want) - Decimal(str(got))), 0.0, abs_tol=1e-9)
        except InvalidOperation:
            return False
    if isinstance(got, dict | list):
        as_dict = dict(got) if isinstance(got, list) else got
        return bool(json.loads(want) == as_dict)
    return str(got) == want


def csv_header(path: Path) -> list[str]:
    """The header row of a CSV fixture."""
    with path.open(encoding="utf-8", newline="") as handle:
        return next(csv.reader(handle))


def rewrite_cells(source: Path, target: Path, edit: dict[tuple[int, str], str]) -> Path:
    """``source`` with the cells at (file line, column) replaced, written to ``target``."""
    with source.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    for (line, column), value in edit.items():
        rows[line - 1][rows[0].index(column)] = value
    with target.open("w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    return target
