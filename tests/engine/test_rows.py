"""Drill-down rows in the engine: keyset pages in x_RowId order, scope applied."""

from __future__ import annotations

from costprism.engine.backends import LedgerView
from costprism.engine.filters import parse_filters
from costprism.engine.rows import DRILL_COLUMNS, RowQuery, row_expression
from tests.conftest import SqlRunner


def test_a_page_has_one_row_more_to_tell_there_is_more(sample_view: LedgerView) -> None:
    rows = row_expression(sample_view.costs, RowQuery(limit=10)).to_pyarrow()
    assert rows.num_rows == 11
    assert rows.column_names == [c for c in DRILL_COLUMNS if c in sample_view.costs.columns]


def test_after_starts_past_the_last_row(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    first = row_expression(sample_view.costs, RowQuery(limit=5)).to_pyarrow()
    last = first.column("x_RowId").to_pylist()[4]
    second = row_expression(sample_view.costs, RowQuery(after=last, limit=5)).to_pyarrow()
    [(expected,)] = sample_sql(f"SELECT min(x_RowId) FROM costs WHERE x_RowId > {last}")
    assert second.column("x_RowId").to_pylist()[0] == expected


def test_scope_and_filters_are_both_applied(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    query = RowQuery(filters=parse_filters(["ServiceName is not null"]), limit=100_000)
    scope = parse_filters(["ProviderName=AWS"])
    rows = row_expression(sample_view.costs, query, scope).to_pyarrow()
    [(expected,)] = sample_sql(
        "SELECT count(*) FROM costs WHERE ProviderName = 'AWS' AND ServiceName IS NOT NULL"
    )
    assert rows.num_rows == expected
