"""Fixtures for the ingest tests: the shared FOCUS samples, a fresh ledger, small CSV builders.

The small files are cut from the synthetic FOCUS 1.2 10k sample, so every field starts valid
and a test breaks exactly the one it names. Ledger totals are read with DuckDB straight from
the Parquet files of a ledger version, as a user's query would.
"""

from __future__ import annotations

import csv
import functools
import io
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costprism.ledger import Ledger, LedgerTable

FOCUS_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "focus"
SAMPLE_10K = "focus-1.2_synthetic_aws-azure-gcp_10k.csv"

Totals = dict[str, tuple[Decimal, Decimal]]


@pytest.fixture(scope="session")
def focus_data() -> Path:
    """The shared sample folder (see its README for the exact sums)."""
    assert FOCUS_DATA.is_dir(), f"{FOCUS_DATA} is missing; the ingest tests need the samples"
    return FOCUS_DATA


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    return Ledger.at_home(tmp_path / "home")


@functools.cache
def sample_table() -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
    """Header and data rows of the 10k sample (read once per test session)."""
    with (FOCUS_DATA / SAMPLE_10K).open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = tuple(next(reader))
        return header, tuple(tuple(row) for row in reader)


@dataclass
class FocusCsv:
    """A FOCUS 1.2 table in memory: ``rows[0]`` is data row 1, which is file line 2."""

    header: list[str]
    rows: list[list[str]]

    def set(self, row: int, column: str, value: str) -> FocusCsv:
        """Put ``value`` into data row ``row`` (1-based; on file line ``row + 1``)."""
        self.rows[row - 1][self.header.index(column)] = value
        return self

    def get(self, row: int, column: str) -> str:
        return self.rows[row - 1][self.header.index(column)]

    def column(self, column: str) -> list[str]:
        index = self.header.index(column)
        return [row[index] for row in self.rows]

    def drop(self, column: str) -> FocusCsv:
        index = self.header.index(column)
        del self.header[index]
        for row in self.rows:
            del row[index]
        return self

    def where(self, keep: Callable[[dict[str, str]], bool]) -> FocusCsv:
        """A copy holding only the rows ``keep`` accepts (given the row as a dict)."""
        rows = [list(r) for r in self.rows if keep(dict(zip(self.header, r, strict=True)))]
        return FocusCsv(header=list(self.header), rows=rows)

    def map_column(self, column: str, change: Callable[[str], str]) -> FocusCsv:
        index = self.header.index(column)
        for row in self.rows:
            row[index] = change(row[index])
        return self

    def text(self, delimiter: str = ",") -> str:
        sink = io.StringIO()
        csv.writer(sink, delimiter=delimiter, lineterminator="\n").writerows(
            [self.header, *self.rows]
        )
        return sink.getvalue()

    def write(self, path: Path, delimiter: str = ",") -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self.text(delimiter), encoding="utf-8", newline="")
        return path


def focus_csv(rows: int | Iterable[int] = 20) -> FocusCsv:
    """The 10k sample's header with the first ``rows`` data rows (or those 0-based indexes)."""
    header, data = sample_table()
    picked = data[:rows] if isinstance(rows, int) else [data[i] for i in rows]
    return FocusCsv(header=list(header), rows=[list(r) for r in picked])


@pytest.fixture
def small_csv(tmp_path: Path) -> Callable[..., Path]:
    """Write the first ``rows`` rows of the 10k sample, with ``edits`` {(row, column): value}.

    ``row`` is the 1-based data row, so the edit is on file line ``row + 1``.
    """

    def write(
        name: str = "small.csv",
        rows: int = 20,
        edits: Mapping[tuple[int, str], str] | None = None,
    ) -> Path:
        table = focus_csv(rows)
        for (row, column), value in (edits or {}).items():
            table.set(row, column, value)
        return table.write(tmp_path / name)

    return write


# --- reading the ledger --------------------------------------------------------------------------


def totals_of(uris: Sequence[str]) -> Totals:
    """Σ BilledCost and Σ EffectiveCost per BillingCurrency over Parquet files."""
    if not uris:
        return {}
    with duckdb.connect() as connection:
        rows = connection.sql(
            "SELECT BillingCurrency, sum(BilledCost), sum(EffectiveCost) "
            f"FROM read_parquet({list(uris)!r}, union_by_name = true) GROUP BY 1"
        ).fetchall()
    return {currency: (billed, effective) for currency, billed, effective in rows}


def ledger_totals(table: LedgerTable, as_of: int | datetime | None = None) -> Totals:
    uris, _ = table.files(as_of)
    return totals_of(uris)


def ledger_rows(table: LedgerTable, as_of: int | datetime | None = None) -> int:
    uris, _ = table.files(as_of)
    if not uris:
        return 0
    with duckdb.connect() as connection:
        row = connection.sql(f"SELECT count(*) FROM read_parquet({uris!r})").fetchone()
    assert row is not None
    return int(row[0])


def ledger_query(table: LedgerTable, select: str) -> list[tuple[object, ...]]:
    """``select`` with ``costs`` bound to the current version's rows."""
    uris, _ = table.files()
    assert uris, f"{table.path} holds no files"
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        connection.execute(
            f"CREATE VIEW costs AS SELECT * FROM read_parquet({uris!r}, union_by_name = true)"
        )
        return connection.sql(select).fetchall()


def cents(totals: Totals) -> dict[str, tuple[Decimal, Decimal]]:
    return {c: (round(b, 2), round(e, 2)) for c, (b, e) in totals.items()}


@dataclass(frozen=True)
class LedgerState:
    """What a failed import must leave untouched."""

    version: int | None
    totals: Totals
    rows: int
    history: int


def ledger_state(ledger: Ledger) -> LedgerState:
    uris, version = ledger.costs.files()
    return LedgerState(
        version=version,
        totals=totals_of(uris),
        rows=ledger_rows(ledger.costs),
        history=len(ledger.costs.history()),
    )
