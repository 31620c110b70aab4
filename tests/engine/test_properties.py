"""Invariants of the cost query over the sample ledger, with hypothesis choosing the query.

- filter-then-aggregate equals aggregate-then-filter: ``--by COL --where COL=v`` is the
  ``v`` row of ``--by COL``;
- grouping only splits cost: the groups of any query (any granularity, with or without
  ``--top``) sum to the ungrouped ``--granularity total`` per currency, to the cent.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import LedgerView
from costprism.engine.filters import parse_filters
from costprism.engine.query import GRANULARITIES, CostQuery

SqlRunner = Callable[[str], list[tuple[Any, ...]]]
CENT = Decimal("0.01")
FILTER_COLUMNS = ("ProviderName", "ServiceCategory", "RegionId", "ChargeCategory")
GROUP_COLUMNS = (
    *FILTER_COLUMNS,
    "BillingAccountId",
    "SubAccountName",
    "ServiceName",
    "tag:environment",
    "tag:CostCenter",
    "tag:owner",
    "tag:no-such-key",
)
PROPERTY = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def column_values(sample_sql: SqlRunner) -> dict[str, list[str | None]]:
    """Each filter column's actual values in the ledger, nulls included."""
    return {
        column: sorted(
            (value for (value,) in sample_sql(f"SELECT DISTINCT {column} FROM costs")),
            key=lambda v: (v is None, v or ""),
        )
        for column in FILTER_COLUMNS
    }


def condition(column: str, value: str | None) -> str:
    if value is None:
        return f"{column} is null"
    quote = '"' if "'" in value else "'"
    return f"{column}={quote}{value}{quote}"


def per_currency(view: LedgerView, query: CostQuery) -> dict[str, Decimal]:
    return {
        currency: sums[query.measures[0]].quantize(CENT)
        for currency, sums in cost_report(view, query).totals().items()
    }


@PROPERTY
@given(data=st.data())
def test_filter_then_aggregate_equals_aggregate_then_filter(
    sample_view: LedgerView, column_values: dict[str, list[str | None]], data: st.DataObject
) -> None:
    column = data.draw(st.sampled_from(FILTER_COLUMNS), label="column")
    value = data.draw(st.sampled_from(column_values[column]), label="value")
    granularity = data.draw(st.sampled_from(GRANULARITIES), label="granularity")
    grouped = CostQuery(group_by=(column,), granularity=granularity)
    filtered = CostQuery(
        group_by=(column,),
        granularity=granularity,
        filters=parse_filters([condition(column, value)]),
    )
    expected = [row for row in cost_report(sample_view, grouped).rows if row[column] == value]
    assert expected, f"{column}={value!r} has no rows"
    assert list(cost_report(sample_view, filtered).rows) == expected


@PROPERTY
@given(data=st.data())
def test_groups_sum_to_the_ungrouped_total(sample_view: LedgerView, data: st.DataObject) -> None:
    group_by = tuple(
        data.draw(st.lists(st.sampled_from(GROUP_COLUMNS), min_size=1, max_size=2, unique=True))
    )
    query = CostQuery(
        basis=(data.draw(st.sampled_from(("effective", "billed", "list"))),),
        group_by=group_by,
        granularity=data.draw(st.sampled_from(GRANULARITIES)),
        top=data.draw(st.none() | st.integers(min_value=1, max_value=6)),
    )
    ungrouped = CostQuery(basis=query.basis, granularity="total")
    assert per_currency(sample_view, query) == per_currency(sample_view, ungrouped)
