"""Rollup conformance: wherever the engine chooses the daily rollup, it answers like the raw
ledger, exactly (equal ``Decimal`` sums, so to the cent and below).

Three ledgers, each ingested for real: the demo company (two months of 20,000 rows, made by
``costprism.demo`` here), the shared FOCUS 1.2 100k sample (hourly charges), and the
session's sample ledger (the 10k sample and the FOCUS 1.0 sample, two sources). On each,
70 queries cross every granularity with ten group-bys (columns, ``tag:`` keys, none) and
rotate filters, scopes, ``--top`` and date ranges; filter values are each ledger's most
common value, so no question is empty. A hypothesis property draws more on the demo data;
a few questions also run on Spark's reading of the rollup.
"""

from __future__ import annotations

import dataclasses
import itertools
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis.expr.types as ir
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costprism.capabilities.reporting import cost_report
from costprism.demo import DemoSpec, generate
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import Filter, parse_filters
from costprism.engine.query import GRANULARITIES, CostQuery, cost_expression, dimension
from costprism.engine.rollups import cost_source, referenced_columns
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger

CENT = Decimal("0.01")
SYNTHETIC_100K = "focus-1.2_synthetic_aws-azure-gcp_100k.csv.gz"
LEDGERS = ("demo", "synthetic-100k", "samples")
GROUPS: tuple[tuple[str, ...], ...] = (
    (),
    ("ServiceName",),
    ("ProviderName", "tag:environment"),
    ("tag:CostCenter",),
    ("SubAccountName", "RegionId"),
    ("ChargeCategory", "ChargeClass"),
    ("ResourceType",),
    ("x_SourceId", "BillingAccountId"),
    ("PricingCategory", "CommitmentDiscountStatus"),
    ("tag:owner", "ServiceCategory"),
)
FILTER_COLUMNS = ("ProviderName", "tag:environment", "ServiceCategory", "ChargeCategory")
QUERIES = len(GRANULARITIES) * len(GROUPS)
PROPERTY = settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)

Answer = dict[tuple[Any, ...], tuple[Any, ...]]


@dataclasses.dataclass(frozen=True, kw_only=True)
class Facts:
    """What a ledger holds: each filter column's most common value, its first day."""

    common: dict[str, str | None]
    first_day: date


@pytest.fixture(scope="module")
def demo_ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    data = tmp_path_factory.mktemp("demo-data")
    generate(data, DemoSpec(months=2, rows_per_month=20_000, file_format="parquet"))
    ledger = Ledger.at_home(tmp_path_factory.mktemp("demo-home"))
    ingest([data / "focus"], ledger, IngestOptions(source="demo"))
    return ledger


@pytest.fixture(scope="module")
def synthetic_ledger(tmp_path_factory: pytest.TempPathFactory, focus_data: Path) -> Ledger:
    ledger = Ledger.at_home(tmp_path_factory.mktemp("synthetic-home"))
    ingest([focus_data / SYNTHETIC_100K], ledger, IngestOptions(source="synthetic"))
    return ledger


@pytest.fixture(scope="module", params=LEDGERS)
def ledger(request: pytest.FixtureRequest) -> Ledger:
    fixture = {"demo": "demo_ledger", "synthetic-100k": "synthetic_ledger"}
    name = fixture.get(request.param, "sample_ledger")
    return request.getfixturevalue(name)


@pytest.fixture(scope="module")
def view(ledger: Ledger) -> LedgerView:
    opened = open_ledger(ledger)
    assert opened.daily is not None, "an ingested ledger has a fresh rollup"
    return opened


@pytest.fixture(scope="module")
def facts(view: LedgerView) -> Facts:
    return Facts(
        common={name: most_common(view.costs, name) for name in FILTER_COLUMNS},
        first_day=first_day(view.costs),
    )


def most_common(costs: ir.Table, name: str) -> str | None:
    values = costs.mutate(v=dimension(costs, name)).v
    top = values.topk(2).to_pyarrow().to_pylist()
    return next((row["v"] for row in top if row["v"] is not None), None)


def question(number: int, facts: Facts) -> tuple[CostQuery, tuple[Filter, ...]]:
    """Query ``number``: a granularity × group-by, with rotating filter, scope, top, dates."""
    granularity, group_by = list(itertools.product(GRANULARITIES, GROUPS))[number]
    start = facts.first_day + timedelta(days=3) if number % 4 == 1 else None
    query = CostQuery(
        basis=(("effective",), ("billed", "list"), ("contracted",))[number % 3],
        group_by=group_by,
        filters=filters(number, facts),
        start=start,
        end=start + timedelta(days=9) if start else None,
        granularity=granularity,
        top=3 if number % 3 == 0 and group_by else None,
    )
    scope = parse_filters(["ChargeClass is null"]) if number % 5 == 2 else ()
    return query, scope


def filters(number: int, facts: Facts) -> tuple[Filter, ...]:
    column = FILTER_COLUMNS[number % len(FILTER_COLUMNS)]
    value = facts.common[column]
    if value is None:
        return (Filter(column=column, op="is null"),)
    op = ("=", "!=", "in")[number % 3]
    return (Filter(column=column, op=op, values=(value,)),) if number % 7 else ()


def answer(table: ir.Table, query: CostQuery, scope: tuple[Filter, ...] = ()) -> Answer:
    rows = cost_expression(table, query, scope).to_pyarrow().to_pylist()
    keyed = {tuple(r[k] for k in query.keys): tuple(r[m] for m in query.measures) for r in rows}
    assert len(keyed) == len(rows), "keys must be unique"
    return keyed


def to_the_cent(rows: list[dict[str, Any]], query: CostQuery) -> Answer:
    def cent(value: Any) -> Any:
        return None if value is None else Decimal(str(value)).quantize(CENT)

    return {
        tuple(r[k] for k in query.keys): tuple(cent(r[m]) for m in query.measures) for r in rows
    }


# --- conformance ---------------------------------------------------------------------------------


@pytest.mark.parametrize("number", range(QUERIES))
def test_rollup_answers_like_the_raw_ledger(number: int, view: LedgerView, facts: Facts) -> None:
    query, scope = question(number, facts)
    assert cost_source(view, query, scope) is view.daily

    expected = answer(view.costs, query, scope)

    assert expected, f"query {number} must have rows: {query}"
    assert answer(view.daily, query, scope) == expected


@pytest.fixture(scope="module")
def demo_view(demo_ledger: Ledger) -> LedgerView:
    return open_ledger(demo_ledger)


@pytest.fixture(scope="module")
def demo_values(demo_view: LedgerView) -> dict[str, list[str | None]]:
    """Each filter column's values on the demo ledger, nulls included."""
    costs = demo_view.costs
    return {
        name: sorted(
            set(costs.mutate(v=dimension(costs, name)).v.to_pyarrow().to_pylist()),
            key=lambda v: (v is None, v or ""),
        )
        for name in FILTER_COLUMNS
    }


@PROPERTY
@given(data=st.data())
def test_any_rollup_query_answers_like_the_raw_ledger(
    demo_view: LedgerView, demo_values: dict[str, list[str | None]], data: st.DataObject
) -> None:
    column = data.draw(st.sampled_from(FILTER_COLUMNS), label="filter column")
    value = data.draw(st.sampled_from(demo_values[column]), label="value")
    group_by = data.draw(st.lists(st.sampled_from(GROUPS[1:]), max_size=2, unique=True))
    days = data.draw(st.lists(st.integers(0, 60), min_size=2, max_size=2, unique=True))
    first = first_day(demo_view.costs)
    query = CostQuery(
        basis=(data.draw(st.sampled_from(("effective", "billed", "list", "contracted"))),),
        group_by=tuple(dict.fromkeys(c for g in group_by for c in g)),
        filters=(
            Filter(column=column, op="is null")
            if value is None
            else Filter(column=column, op="=", values=(value,)),
        ),
        start=first + timedelta(days=min(days)),
        end=first + timedelta(days=max(days)),
        granularity=data.draw(st.sampled_from(GRANULARITIES)),
        top=data.draw(st.none() | st.integers(min_value=1, max_value=4)) if group_by else None,
    )
    assert cost_source(demo_view, query) is demo_view.daily
    assert answer(demo_view.daily, query) == answer(demo_view.costs, query)


def first_day(costs: ir.Table) -> date:
    """The first day with charges."""
    return costs.ChargePeriodStart.min().to_pyarrow().as_py().date()


SPARK_QUESTIONS = (
    CostQuery(group_by=("ServiceName",), granularity="day"),
    CostQuery(basis=("billed", "list"), group_by=("tag:team",), top=3, granularity="week"),
    CostQuery(
        group_by=("ProviderName",),
        filters=parse_filters(["tag:environment=production"]),
        granularity="billing-period",
    ),
    CostQuery(group_by=("SubAccountName", "RegionId"), granularity="total"),
)


@pytest.mark.spark
@pytest.mark.parametrize("query", SPARK_QUESTIONS, ids=lambda q: "-".join(q.group_by))
def test_spark_reads_the_rollup_like_duckdb_reads_the_ledger(
    query: CostQuery, demo_ledger: Ledger, demo_view: LedgerView, spark: Any
) -> None:
    spark_view = open_ledger(demo_ledger, engine="spark", spark_session=spark)
    assert spark_view.daily is not None
    assert cost_source(spark_view, query) is spark_view.daily

    observed = to_the_cent(list(cost_report(spark_view, query).rows), query)

    expected = answer(demo_view.costs, query)
    assert expected
    assert observed == {k: tuple(m.quantize(CENT) for m in v) for k, v in expected.items()}


# --- the choice ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "scope", "reads"),
    [
        (CostQuery(group_by=("tag:team", "ServiceName")), (), "daily"),
        (CostQuery(filters=parse_filters(["tag:cost-center=CC-100"])), (), "daily"),
        (CostQuery(granularity="day"), parse_filters(["BillingAccountId=1"]), "daily"),
        (CostQuery(group_by=("ResourceId",)), (), "costs"),
        (CostQuery(filters=parse_filters(["SkuId is null"])), (), "costs"),
        (CostQuery(), parse_filters(["x_CostCenter=Finance"]), "costs"),
        (CostQuery(group_by=("ChargePeriodStart",)), (), "costs"),
        (CostQuery(filters=parse_filters(["ChargePeriodStart=2026-09-01T05:00:00Z"])), (), "costs"),
        (CostQuery(filters=parse_filters(["BilledCost=0"])), (), "costs"),
        (CostQuery(group_by=("x_Rows",)), (), "costs"),
    ],
    ids=[
        "tag-and-column",
        "tag-filter",
        "scope-on-a-dimension",
        "resource",
        "sku-filter",
        "scope-on-an-allocation-column",
        "charge-hour-group",
        "charge-hour-filter",
        "measure-filter",
        "row-count",
    ],
)
def test_cost_source_reads_the_rollup_only_when_it_has_every_column(
    demo_view: LedgerView, query: CostQuery, scope: tuple[Filter, ...], reads: str
) -> None:
    chosen = cost_source(demo_view, query, scope)
    assert chosen is (demo_view.daily if reads == "daily" else demo_view.costs)


def test_referenced_columns_map_tags_to_the_tags_column() -> None:
    query = CostQuery(group_by=("tag:team", "RegionId"), filters=parse_filters(["tag:env=a"]))
    scope = parse_filters(["SubAccountId in (1, 2)"])
    assert referenced_columns(query, scope) == {"Tags", "RegionId", "SubAccountId"}


def test_without_a_rollup_every_query_reads_the_ledger(demo_view: LedgerView) -> None:
    raw_only = dataclasses.replace(demo_view, daily=None)
    assert cost_source(raw_only, CostQuery(group_by=("ServiceName",))) is demo_view.costs


def test_cost_report_reads_the_table_cost_source_chooses(demo_view: LedgerView) -> None:
    """A rollup made to double every amount doubles the answers it is chosen for, only."""
    daily = demo_view.daily
    assert daily is not None
    doubled = dataclasses.replace(
        demo_view, daily=daily.mutate(EffectiveCost=daily.EffectiveCost * 2)
    )
    by_service = CostQuery(group_by=("ServiceName",), granularity="total")
    by_resource = CostQuery(group_by=("ResourceId",), granularity="total")

    assert totals(cost_report(doubled, by_service).rows) == 2 * totals(
        cost_report(demo_view, by_service).rows
    )
    assert totals(cost_report(doubled, by_resource).rows) == totals(
        cost_report(demo_view, by_resource).rows
    )


def totals(rows: tuple[dict[str, Any], ...]) -> Decimal:
    return sum((row["EffectiveCost"] for row in rows), Decimal(0))


def test_rollup_rows_count_every_ledger_row_once(demo_view: LedgerView) -> None:
    daily = demo_view.daily
    assert daily is not None
    ledger_rows = demo_view.costs.count().to_pyarrow().as_py()
    assert daily.x_Rows.sum().to_pyarrow().as_py() == ledger_rows
    assert daily.count().to_pyarrow().as_py() < ledger_rows


def test_a_row_with_two_spellings_of_a_key_reads_the_first_on_both_tables(
    tmp_path: Path,
) -> None:
    from tests.ingest.conftest import focus_csv

    table = focus_csv(4)
    spellings = [
        '{"CostCenter": "cc-1", "cost-center": "cc-2"}',
        '{"cost_center": "cc-3", "COSTCENTER": "cc-4", "team": "a"}',
        '{"Team": "b"}',
        "",
    ]
    for row, tags in enumerate(spellings, start=1):
        table.set(row, "Tags", tags)
    ledger = Ledger.at_home(tmp_path)
    ingest([table.write(tmp_path / "tags.csv")], ledger, IngestOptions(source="t"))
    view = open_ledger(ledger)
    assert view.daily is not None
    for key in ("CostCenter", "cost-center", "team"):
        query = CostQuery(group_by=(f"tag:{key}",), granularity="total")
        assert answer(view.daily, query) == answer(view.costs, query)
    by_center = answer(view.daily, CostQuery(group_by=("tag:cost_center",), granularity="total"))
    assert {k[0] for k in by_center} == {"cc-1", "cc-3", None}
