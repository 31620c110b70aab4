"""One small demo per test session, and DuckDB over its CSV files.

Two months (April and May 2026, no February, so the ±10% row target holds for every
month) at 6,000 rows a month: about 12,000 rows, generated in well under a second.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import duckdb
import pytest

from costprism.demo import DemoResult, DemoSpec, generate
from costprism.demo.focus_file import FOCUS_COLUMNS

SMALL = DemoSpec(seed=7, months=2, end_month=date(2026, 5, 1), rows_per_month=6_000)


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoResult:
    return generate(tmp_path_factory.mktemp("demo"), SMALL)


@pytest.fixture(scope="session")
def focus_sql(demo: DemoResult) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection with table ``focus``: every row of every file, all columns as text.

    The columns are given, not sniffed (six times faster); DuckDB still rejects a row
    with more or fewer fields than the 57.
    """
    connection = duckdb.connect()
    files = ", ".join(f"'{p}'" for p in demo.files)
    columns = ", ".join(f"'{c}': 'VARCHAR'" for c in FOCUS_COLUMNS)
    connection.execute(
        f"CREATE TABLE focus AS SELECT * FROM read_csv([{files}], header = true,"
        f" auto_detect = false, columns = {{{columns}}}, filename = true)"
    )
    yield connection
    connection.close()
