"""The engine conformance suite: the same FinOps questions, answered by every engine.

Each question is a :class:`CostQuery` and the hand-written DuckDB SQL that answers it
over the ledger's Parquet files. Every engine's ``cost_report(...).records()`` must give
the same keys and the same amounts to the cent. Known gaps of an engine are declared as
strict expected failures, so a fix shows up as an unexpected pass.

Run alone with ``pytest tests/engine/test_conformance.py``; ``-m "not spark"`` leaves the
Spark cases out.

The sample data has no ``team`` tag and writes environments as ``prod``/``dev``/
``staging``: the tag questions use ``owner`` (values ``team-*``) and ``environment=prod``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pyspark.errors import AnalysisException

from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import parse_filters
from costprism.engine.query import CostQuery
from costprism.ledger import Ledger

SqlRunner = Callable[[str], list[tuple[Any, ...]]]
CENT = Decimal("0.01")
OWNER = "coalesce(Tags['Owner'], Tags['owner'])"
ENVIRONMENT = "coalesce(Tags['Environment'], Tags['environment'])"


@dataclass(frozen=True, kw_only=True)
class Question:
    name: str
    query: CostQuery
    sql: str
    spark_gap: str | None = None


def month(column: str = "ChargePeriodStart") -> str:
    return f"date_trunc('month', {column})::DATE"


QUESTIONS = (
    Question(
        name="cost-by-service-per-month",
        query=CostQuery(group_by=("ServiceName",)),
        sql=f"SELECT ServiceName, BillingCurrency, {month()}, sum(EffectiveCost) "
        "FROM costs GROUP BY ALL",
    ),
    Question(
        name="billed-cost-by-provider",
        query=CostQuery(basis=("billed",), group_by=("ProviderName",), granularity="total"),
        sql="SELECT ProviderName, BillingCurrency, sum(BilledCost) FROM costs GROUP BY ALL",
    ),
    Question(
        name="top-3-owners-per-month",
        query=CostQuery(group_by=("tag:owner",), top=3),
        sql=f"""
            WITH t AS (SELECT {OWNER} AS g, BillingCurrency AS c, {month()} AS p,
                              EffectiveCost AS e FROM costs),
                 kept AS (SELECT g, c FROM t GROUP BY g, c ORDER BY sum(e) DESC LIMIT 3)
            SELECT CASE WHEN kept.c IS NULL THEN '(other)' ELSE t.g END, t.c, t.p, sum(t.e)
            FROM t LEFT JOIN kept ON t.g IS NOT DISTINCT FROM kept.g AND t.c = kept.c
            GROUP BY ALL""",
    ),
    Question(
        name="top-5-services-per-month",
        query=CostQuery(group_by=("ServiceName",), top=5),
        sql=f"""
            WITH t AS (SELECT ServiceName AS g, BillingCurrency AS c, {month()} AS p,
                              EffectiveCost AS e FROM costs),
                 kept AS (SELECT g, c FROM t GROUP BY g, c ORDER BY sum(e) DESC LIMIT 5)
            SELECT CASE WHEN kept.c IS NULL THEN '(other)' ELSE t.g END, t.c, t.p, sum(t.e)
            FROM t LEFT JOIN kept ON t.g IS NOT DISTINCT FROM kept.g AND t.c = kept.c
            GROUP BY ALL""",
    ),
    Question(
        name="daily-cost-of-us-east-1",
        query=CostQuery(filters=parse_filters(["RegionId=us-east-1"]), granularity="day"),
        sql="SELECT BillingCurrency, ChargePeriodStart::DATE, sum(EffectiveCost) FROM costs "
        "WHERE RegionId = 'us-east-1' GROUP BY ALL",
    ),
    Question(
        name="weekly-cost-by-charge-category",
        query=CostQuery(group_by=("ChargeCategory",), granularity="week"),
        sql="SELECT ChargeCategory, BillingCurrency, date_trunc('week', ChargePeriodStart)::DATE, "
        "sum(EffectiveCost) FROM costs GROUP BY ALL",
    ),
    Question(
        name="billed-cost-by-account-per-billing-period",
        query=CostQuery(
            basis=("billed",), group_by=("BillingAccountId",), granularity="billing-period"
        ),
        sql="SELECT BillingAccountId, BillingCurrency, BillingPeriodStart::DATE, sum(BilledCost) "
        "FROM costs GROUP BY ALL",
    ),
    Question(
        name="compute-and-storage-by-sub-account",
        query=CostQuery(
            group_by=("SubAccountName",),
            filters=parse_filters(["ServiceCategory in (Compute, Storage)"]),
            granularity="total",
        ),
        sql="SELECT SubAccountName, BillingCurrency, sum(EffectiveCost) FROM costs "
        "WHERE ServiceCategory IN ('Compute', 'Storage') GROUP BY ALL",
    ),
    Question(
        name="list-and-contracted-cost-by-provider-per-quarter",
        query=CostQuery(
            basis=("list", "contracted"), group_by=("ProviderName",), granularity="quarter"
        ),
        sql="SELECT ProviderName, BillingCurrency, date_trunc('quarter', ChargePeriodStart)::DATE, "
        "sum(ListCost), sum(ContractedCost) FROM costs GROUP BY ALL",
    ),
    Question(
        name="production-cost-by-provider-per-year",
        query=CostQuery(
            group_by=("ProviderName",),
            filters=parse_filters(["tag:environment=prod"]),
            granularity="year",
        ),
        sql="SELECT ProviderName, BillingCurrency, date_trunc('year', ChargePeriodStart)::DATE, "
        f"sum(EffectiveCost) FROM costs WHERE {ENVIRONMENT} = 'prod' GROUP BY ALL",
    ),
    Question(
        name="cost-without-owner-by-provider",
        query=CostQuery(group_by=("ProviderName",), filters=parse_filters(["tag:owner is null"])),
        sql=f"SELECT ProviderName, BillingCurrency, {month()}, sum(EffectiveCost) FROM costs "
        f"WHERE {OWNER} IS NULL GROUP BY ALL",
    ),
    Question(
        name="one-week-of-may-daily-outside-us-east-1",
        query=CostQuery(
            group_by=("ServiceCategory",),
            filters=parse_filters(["RegionId!=us-east-1", "SubAccountName like %-%"]),
            start=date(2026, 5, 4),
            end=date(2026, 5, 11),
            granularity="day",
        ),
        sql="SELECT ServiceCategory, BillingCurrency, ChargePeriodStart::DATE, "
        "sum(EffectiveCost) FROM costs WHERE (RegionId <> 'us-east-1' OR RegionId IS NULL) "
        "AND SubAccountName LIKE '%-%' AND ChargePeriodStart >= '2026-05-04T00:00:00Z' "
        "AND ChargePeriodStart < '2026-05-11T00:00:00Z' GROUP BY ALL",
    ),
)


def cases() -> Iterator[Any]:
    for question in QUESTIONS:
        yield pytest.param("duckdb", question, id=f"duckdb-{question.name}")
        marks = [pytest.mark.spark]
        if question.spark_gap:
            marks.append(
                pytest.mark.xfail(strict=True, raises=AnalysisException, reason=question.spark_gap)
            )
        yield pytest.param("spark", question, id=f"spark-{question.name}", marks=marks)


@pytest.fixture
def view(request: pytest.FixtureRequest, sample_ledger: Ledger, sample_view: LedgerView) -> Any:
    """The sample ledger on the engine under test (Spark: opened per test, see test_backends)."""
    engine = request.node.callspec.params["engine"]
    if engine == "duckdb":
        return sample_view
    spark = request.getfixturevalue("spark")
    return open_ledger(sample_ledger, engine="spark", spark_session=spark)


def plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float | Decimal):
        return Decimal(str(value)).quantize(CENT)
    return value


def keyed(rows: list[tuple[Any, ...]], width: int) -> dict[tuple[Any, ...], tuple[Any, ...]]:
    answer = {tuple(map(plain, row[:width])): tuple(map(plain, row[width:])) for row in rows}
    assert len(answer) == len(rows), "keys must be unique"
    return answer


@pytest.mark.parametrize(("engine", "question"), list(cases()))
def test_engine_answers_like_the_reference_sql(
    engine: str, question: Question, view: LedgerView, sample_sql: SqlRunner
) -> None:
    query = question.query
    report = cost_report(view, query)
    records = report.records()
    assert all(list(r) == [*query.keys, *query.measures] for r in records)
    observed = keyed([tuple(r.values()) for r in records], len(query.keys))
    expected = keyed(sample_sql(question.sql), len(query.keys))
    assert expected, "the reference must have rows"
    assert observed == expected


# Allocation: the same rule set on every engine gives the same allocated totals.
ALLOCATION_RULES = """\
dimensions: [team, cost_center]
aliases: {data: [team-data]}
rules:
  - {name: data, match: {tag:Owner: [data]}, set: {team: data, cost_center: CC-200}}
  - {name: platform, match: {tag:Owner: [team-platform]}, set: {team: platform}}
  - {name: sandbox, match: {SubAccountName: {like: "sandbox-%"}}, set: {team: sandbox}}
  - {name: analytics, match: {SubAccountName: [data-analytics]}, set: {team: analytics}}
shared:
  - {name: tax, match: {ChargeCategory: [Tax]}, split: proportional, to: team}
  - name: commitments
    match: {ChargeCategory: [Purchase], CommitmentDiscountId: {is: not null}}
    split: proportional
    within: CommitmentDiscountId
    to: team
  - {name: platform, match: {team: [platform]}, split: fixed, to: team,
     weights: {data: 2, sandbox: 1, analytics: 1}}
"""
ALLOCATION_SQL = """\
SELECT team, BillingCurrency, sum(EffectiveCost) FROM (
  SELECT CASE
    WHEN lower(trim(coalesce(Tags['Owner'], Tags['owner']))) IN ('data', 'team-data') THEN 'data'
    WHEN lower(trim(coalesce(Tags['Owner'], Tags['owner']))) = 'team-platform' THEN 'platform'
    WHEN SubAccountName LIKE 'sandbox-%' THEN 'sandbox'
    WHEN SubAccountName = 'data-analytics' THEN 'analytics'
    ELSE '(unallocated)' END AS team, *
  FROM costs
  WHERE ChargeCategory <> 'Tax'
    AND NOT (ChargeCategory = 'Purchase' AND CommitmentDiscountId IS NOT NULL))
WHERE team <> 'platform' GROUP BY ALL
"""


def _allocated(view: LedgerView) -> dict[tuple[str, str, str | None], Decimal]:
    """The production path: the map of distinct keys, then the ledger rows joined to it."""
    from costprism.allocation.rules import parse_rules
    from costprism.engine.allocation import (
        allocated_rows,
        key_columns,
        keyed_allocation,
        materialized,
    )

    costs = view.costs
    rules = parse_rules(ALLOCATION_RULES)
    with keyed_allocation(costs, rules) as mapped, materialized(mapped) as stored:
        joined = allocated_rows(costs, stored, key_columns(rules), rules.dimensions)
        grouped = joined.group_by(["x_team", "BillingCurrency", "x_Shared"])
        rows = grouped.aggregate(total=lambda t: t.EffectiveCost.sum()).to_pyarrow().to_pylist()
    return {
        (r["x_team"], r["BillingCurrency"], r["x_Shared"]): Decimal(str(r["total"])).quantize(CENT)
        for r in rows
    }


@pytest.mark.parametrize("engine", ["duckdb", pytest.param("spark", marks=pytest.mark.spark)])
def test_allocation_answers_alike_on_every_engine(
    engine: str, sample_ledger: Ledger, sample_view: LedgerView, sample_sql: SqlRunner,
    request: pytest.FixtureRequest,
) -> None:  # fmt: skip
    view = (
        sample_view
        if engine == "duckdb"
        else open_ledger(
            sample_ledger, engine="spark", spark_session=request.getfixturevalue("spark")
        )
    )
    answer = _allocated(view)
    direct = {(t, c): v for (t, c, shared), v in answer.items() if shared is None}
    reference = keyed(sample_sql(ALLOCATION_SQL), 2)
    assert {k: (v,) for k, v in direct.items() if k in reference} == reference
    assert "platform" not in {t for t, _, shared in answer if shared == "platform"}
    total = sample_sql("SELECT BillingCurrency, sum(EffectiveCost) FROM costs GROUP BY ALL")
    for currency, amount in total:
        allocated = sum(v for (_, c, _), v in answer.items() if c == currency)
        assert abs(allocated - Decimal(str(amount))) <= CENT * len(answer)
    if engine == "spark":  # the same parts as DuckDB, to the cent (Spark keeps 6 decimals
        duck = _allocated(sample_view)  # of a decimal product: a sum may round differently)
        assert set(answer) == set(duck)
        assert all(abs(answer[k] - duck[k]) <= CENT for k in duck)
