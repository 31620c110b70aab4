"""The cost query on DuckDB, checked against hand-written SQL over the same Parquet files.

Amounts are compared as Decimals rounded to the cent. The sample ledger (see
``tests/conftest.py``) holds billing periods 2024-09, 2024-10 and 2026-05; its tag keys
differ by provider (``Owner``/``CostCenter`` on AWS and Azure, ``owner``/``cost-center`` on
GCP), which is what the case-insensitive tag tests rely on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import LedgerView
from costprism.engine.filters import parse_filters
from costprism.engine.query import OTHER, CostQuery, cost_expression
from costprism.errors import QueryError

SqlRunner = Callable[[str], list[tuple[Any, ...]]]
CENT = Decimal("0.01")
OWNER = "coalesce(Tags['Owner'], Tags['owner'])"
ENVIRONMENT = "coalesce(Tags['Environment'], Tags['environment'])"
COST_CENTER = "coalesce(Tags['CostCenter'], Tags['cost-center'])"
MAY_2026 = date(2026, 5, 1)


def cents(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value)).quantize(CENT)


def exact(view: LedgerView, query: CostQuery, scope: Sequence[Any] = ()) -> dict[tuple, Decimal]:
    """The query's rows as {key tuple: first measure, unrounded}."""
    report = cost_report(view, query, scope)
    return {tuple(row[k] for k in query.keys): row[query.measures[0]] for row in report.rows}


def run(view: LedgerView, query: CostQuery, scope: Sequence[Any] = ()) -> dict[tuple, Decimal]:
    """The query's rows as {key tuple: first measure in cents}."""
    return {key: cents(amount) for key, amount in exact(view, query, scope).items()}


def reference(sql: SqlRunner, text: str) -> dict[tuple, Decimal]:
    """SQL whose last column is the amount and whose other columns are the keys."""
    return {tuple(_plain_date(v) for v in row[:-1]): cents(row[-1]) for row in sql(text)}


def _plain_date(value: Any) -> Any:
    return value.date() if hasattr(value, "date") and callable(value.date) else value


def total(sql: SqlRunner, where: str = "TRUE") -> Decimal:
    [(amount,)] = sql(f"SELECT sum(EffectiveCost) FROM costs WHERE {where}")
    return cents(amount or 0)


def summed(rows: Iterable[Decimal | None]) -> Decimal:
    """The sum of unrounded amounts, in cents."""
    return sum((r or Decimal(0) for r in rows), Decimal(0)).quantize(CENT)


# --- granularity ------------------------------------------------------------------------


@pytest.mark.parametrize("unit", ["day", "week", "month", "quarter", "year"])
def test_granularity_buckets_match_date_trunc_on_charge_period_start(
    sample_view: LedgerView, sample_sql: SqlRunner, unit: str
) -> None:
    query = CostQuery(group_by=("ProviderName",), granularity=unit)
    expected = reference(
        sample_sql,
        f"SELECT ProviderName, BillingCurrency, date_trunc('{unit}', ChargePeriodStart)::DATE, "
        "sum(EffectiveCost) FROM costs GROUP BY ALL",
    )
    assert run(sample_view, query) == expected


def test_month_bucket_of_may_2026_is_its_first_day(sample_view: LedgerView) -> None:
    rows = run(sample_view, CostQuery(start=MAY_2026, granularity="month"))
    assert [key[-1] for key in rows] == [MAY_2026]


def test_week_buckets_start_on_monday(sample_view: LedgerView) -> None:
    periods = {key[-1] for key in run(sample_view, CostQuery(granularity="week"))}
    assert all(p.weekday() == 0 for p in periods)
    # 2024-09-01 is a Sunday: its week starts on Monday 2024-08-26.
    assert date(2024, 8, 26) in periods
    assert date(2024, 9, 1) not in periods


def test_quarter_and_year_buckets(sample_view: LedgerView) -> None:
    quarters = {key[-1] for key in run(sample_view, CostQuery(granularity="quarter"))}
    years = {key[-1] for key in run(sample_view, CostQuery(granularity="year"))}
    assert quarters == {date(2024, 7, 1), date(2026, 4, 1)}
    assert years == {date(2024, 1, 1), date(2026, 1, 1)}


def test_day_buckets_are_utc_days(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    query = CostQuery(granularity="day", start=date(2024, 9, 30), end=date(2024, 10, 1))
    # Rows that start at 22:00 and 23:00 UTC on 2024-09-30 stay on that day.
    assert run(sample_view, query) == {
        ("USD", date(2024, 9, 30)): total(
            sample_sql,
            "ChargePeriodStart >= '2024-09-30T00:00:00Z' AND "
            "ChargePeriodStart < '2024-10-01T00:00:00Z'",
        )
    }


def test_total_has_no_period_column(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    query = CostQuery(group_by=("ProviderName",), granularity="total")
    report = cost_report(sample_view, query)
    assert "period" not in report.columns
    assert all("period" not in row for row in report.rows)
    assert run(sample_view, query) == reference(
        sample_sql,
        "SELECT ProviderName, BillingCurrency, sum(EffectiveCost) FROM costs GROUP BY ALL",
    )


def test_billing_period_uses_billing_period_start(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    # The one 2024-10 billing-period row was charged on 2024-09-30: month and
    # billing-period buckets must disagree on it.
    billing = CostQuery(basis=("billed",), granularity="billing-period")
    monthly = CostQuery(basis=("billed",), granularity="month")
    expected = reference(
        sample_sql,
        "SELECT BillingCurrency, BillingPeriodStart::DATE, sum(BilledCost) FROM costs GROUP BY ALL",
    )
    assert run(sample_view, billing) == expected
    assert expected[("USD", date(2024, 10, 1))] == Decimal("0.24")
    assert ("USD", date(2024, 10, 1)) not in run(sample_view, monthly)


# --- date range -------------------------------------------------------------------------


def test_from_is_inclusive_and_to_is_exclusive(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    query = CostQuery(granularity="day", start=date(2026, 5, 10), end=date(2026, 5, 12))
    rows = run(sample_view, query)
    assert rows == {
        ("USD", date(2026, 5, 10)): total(
            sample_sql, "ChargePeriodStart::DATE = DATE '2026-05-10'"
        ),
        ("USD", date(2026, 5, 11)): total(
            sample_sql, "ChargePeriodStart::DATE = DATE '2026-05-11'"
        ),
    }
    # Rows do start exactly at 2026-05-12T00:00Z; --to leaves them out.
    assert sample_sql("SELECT count(*) FROM costs WHERE ChargePeriodStart = '2026-05-12'") != [(0,)]


def test_from_must_be_before_to(sample_view: LedgerView) -> None:
    query = CostQuery(start=date(2026, 5, 2), end=date(2026, 5, 2))
    with pytest.raises(QueryError) as info:
        cost_expression(sample_view.costs, query)
    assert info.value.code == "query.bad_range"


# --- tags -------------------------------------------------------------------------------


def test_tag_keys_ignore_case(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    spellings = ("tag:owner", "tag:Owner", "tag:OWNER", "tag:o-w_ner")
    answers = [run(sample_view, CostQuery(group_by=(k,), granularity="total")) for k in spellings]
    expected = reference(
        sample_sql, f"SELECT {OWNER}, BillingCurrency, sum(EffectiveCost) FROM costs GROUP BY ALL"
    )
    assert all(answer == expected for answer in answers)
    assert {key[0] for key in expected} == {"team-data", "team-payments", "team-platform", None}


def test_tag_key_finds_camel_case_and_label_style_keys(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    # AWS and Azure write CostCenter, GCP writes cost-center.
    query = CostQuery(group_by=("ProviderName", "tag:cost_center"), granularity="total")
    rows = run(sample_view, query)
    assert rows == reference(
        sample_sql,
        f"SELECT ProviderName, {COST_CENTER}, BillingCurrency, sum(EffectiveCost) "
        "FROM costs GROUP BY ALL",
    )
    tagged = {provider for provider, center, _ in rows if center is not None}
    assert {"AWS", "Microsoft Azure", "Google Cloud"} <= tagged


def test_missing_tag_groups_as_null(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    rows = run(sample_view, CostQuery(group_by=("tag:owner",), granularity="total"))
    assert rows[(None, "USD")] == total(sample_sql, f"{OWNER} IS NULL")
    absent = run(sample_view, CostQuery(group_by=("tag:no-such-key",), granularity="total"))
    assert absent == {(None, "USD"): total(sample_sql)}


# --- top N ------------------------------------------------------------------------------


def test_top_keeps_n_largest_groups_and_folds_the_rest(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    query = CostQuery(group_by=("ServiceName",), granularity="month", top=3)
    rows = exact(sample_view, query)
    largest = [
        name
        for name, _ in sample_sql(
            "SELECT ServiceName, sum(EffectiveCost) FROM costs GROUP BY 1 ORDER BY 2 DESC LIMIT 3"
        )
    ]
    assert {key[0] for key in rows} == {*largest, OTHER}
    per_period = reference(
        sample_sql,
        "SELECT BillingCurrency, date_trunc('month', ChargePeriodStart)::DATE, "
        "sum(EffectiveCost) FROM costs GROUP BY ALL",
    )
    for (currency, period), amount in per_period.items():
        group_sum = summed(v for k, v in rows.items() if k[1:] == (currency, period))
        assert group_sum == amount


def test_top_larger_than_the_group_count_folds_nothing(sample_view: LedgerView) -> None:
    grouped = CostQuery(group_by=("ProviderName",), granularity="total")
    assert run(sample_view, CostQuery(group_by=("ProviderName",), granularity="total", top=50)) == (
        run(sample_view, grouped)
    )


def test_top_folds_a_null_group_into_other(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    rows = run(sample_view, CostQuery(group_by=("tag:owner",), granularity="total", top=3))
    assert rows[(OTHER, "USD")] == total(sample_sql, f"{OWNER} IS NULL")
    assert (None, "USD") not in rows


@pytest.mark.parametrize("top", [1, 0])
def test_top_without_group_by_raises(sample_view: LedgerView, top: int) -> None:
    with pytest.raises(QueryError, match="--by") as info:
        cost_expression(sample_view.costs, CostQuery(top=top))
    assert info.value.code == "query.bad_top"


# --- filters ----------------------------------------------------------------------------

FILTER_CASES = [
    ("RegionId=us-east-1", "RegionId = 'us-east-1'"),
    ("RegionId!=us-east-1", "RegionId IS DISTINCT FROM 'us-east-1'"),
    ("RegionId in (us-east-1, eastus)", "RegionId IN ('us-east-1', 'eastus')"),
    (
        "RegionId not in (us-east-1, eastus)",
        "RegionId NOT IN ('us-east-1', 'eastus') OR RegionId IS NULL",
    ),
    ("SubAccountName like %prod%", "SubAccountName LIKE '%prod%'"),
    ("RegionId is null", "RegionId IS NULL"),
    ("RegionId is not null", "RegionId IS NOT NULL"),
    ("ServiceCategory='AI and Machine Learning'", "ServiceCategory = 'AI and Machine Learning'"),
    pytest.param(
        "BilledCost=0.24",
        "BilledCost = 0.24",
    ),
    ("BillingPeriodStart=2024-10-01", "BillingPeriodStart = TIMESTAMPTZ '2024-10-01 00:00:00Z'"),
    ("tag:environment=prod", f"{ENVIRONMENT} = 'prod'"),
    ("tag:Environment!=prod", f"{ENVIRONMENT} IS DISTINCT FROM 'prod'"),
    ("tag:ENVIRONMENT in (dev, staging)", f"{ENVIRONMENT} IN ('dev', 'staging')"),
    (
        "tag:environment not in (dev, staging)",
        f"{ENVIRONMENT} NOT IN ('dev', 'staging') OR {ENVIRONMENT} IS NULL",
    ),
    ("tag:owner like %pay%", f"{OWNER} LIKE '%pay%'"),
    ("tag:owner is null", f"{OWNER} IS NULL"),
    ("tag:cost-center is not null", f"{COST_CENTER} IS NOT NULL"),
]


@pytest.mark.parametrize(("where", "sql_where"), FILTER_CASES)
def test_filter_matches_sql(
    sample_view: LedgerView, sample_sql: SqlRunner, where: str, sql_where: str
) -> None:
    query = CostQuery(filters=parse_filters([where]), granularity="total")
    expected = sample_sql(f"SELECT count(*) FROM costs WHERE {sql_where}")
    assert expected != [(0,)], "the case must select some rows"
    assert run(sample_view, query) == {("USD",): total(sample_sql, sql_where)}


@pytest.mark.parametrize("column", ["RegionId", "tag:environment"])
def test_equal_and_not_equal_split_the_rows(sample_view: LedgerView, column: str) -> None:
    value = "prod" if column.startswith("tag:") else "us-east-1"
    everything = run(sample_view, CostQuery(granularity="total"))[("USD",)]
    equal = exact(sample_view, CostQuery(filters=parse_filters([f"{column}={value}"])))
    other = exact(sample_view, CostQuery(filters=parse_filters([f"{column}!={value}"])))
    assert equal
    assert other
    assert summed([*equal.values(), *other.values()]) == everything


def test_several_filters_are_anded(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    query = CostQuery(
        filters=parse_filters(["ProviderName=AWS and ChargeCategory=Usage", "RegionId=us-east-1"]),
        granularity="total",
    )
    where = "ProviderName = 'AWS' AND ChargeCategory = 'Usage' AND RegionId = 'us-east-1'"
    assert run(sample_view, query) == {("USD",): total(sample_sql, where)}


# --- errors -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "suggestion"),
    [
        (CostQuery(group_by=("ServiceNme",)), "ServiceName"),
        (CostQuery(filters=parse_filters(["Regionid=us-east-1"])), "RegionId"),
    ],
    ids=["group-by", "filter"],
)
def test_unknown_column_suggests_a_close_name(
    sample_view: LedgerView, query: CostQuery, suggestion: str
) -> None:
    with pytest.raises(QueryError) as info:
        cost_expression(sample_view.costs, query)
    assert info.value.code == "query.unknown_column"
    assert "did you mean" in info.value.message
    assert suggestion in info.value.message


def test_unknown_granularity_raises(sample_view: LedgerView) -> None:
    with pytest.raises(QueryError) as info:
        cost_expression(sample_view.costs, CostQuery(granularity="fortnight"))  # type: ignore[arg-type]
    assert info.value.code == "query.bad_granularity"


@pytest.mark.parametrize("key", ["BillingCurrency", "period"])
def test_grouping_by_an_implicit_key_raises(sample_view: LedgerView, key: str) -> None:
    with pytest.raises(QueryError) as info:
        cost_expression(sample_view.costs, CostQuery(group_by=(key,)))
    assert info.value.code == "query.bad_group"


def test_bad_literal_for_a_numeric_column_raises(sample_view: LedgerView) -> None:
    with pytest.raises(QueryError) as info:
        cost_expression(sample_view.costs, CostQuery(filters=parse_filters(["BilledCost=cheap"])))
    assert info.value.code == "query.bad_filter"
    assert "'cheap'" in info.value.message


# --- scope ------------------------------------------------------------------------------


def test_scope_filters_and_with_query_filters(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    scope = parse_filters(["ProviderName=AWS"])
    query = CostQuery(
        group_by=("ProviderName",),
        filters=parse_filters(["ServiceName=AmazonEC2"]),
        granularity="total",
    )
    assert run(sample_view, query, scope) == {
        ("AWS", "USD"): total(sample_sql, "ProviderName = 'AWS' AND ServiceName = 'AmazonEC2'")
    }


def test_a_query_filter_cannot_widen_the_scope(sample_view: LedgerView) -> None:
    scope = parse_filters(["ProviderName=AWS"])
    query = CostQuery(filters=parse_filters(["ProviderName='Google Cloud'"]), granularity="total")
    assert run(sample_view, query, scope) == {}
    unscoped = run(sample_view, query)
    assert unscoped[("USD",)] > 0
