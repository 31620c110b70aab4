"""Tag compliance as Ibis expressions: each definition on hand-made rows, then the monthly
sums and the non-compliant resources of the sample ledger against hand-written DuckDB SQL.

The sample ledger (``tests/conftest.py``): the 10k synthetic FOCUS 1.2 file (2026-05; every
row with a ResourceId tagged Owner, CostCenter ``cc-NNNN``, Environment prod/staging/dev)
and the FOCUS 1.0 sample (2024-09/10; tags such as ``environment``, ``env`` and
``CostCenter: 1234``, and 248 rows with a ResourceId and no tags).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import ibis
import pyarrow as pa
import pytest

from costprism.allocation.tag_policy import parse_policy
from costprism.engine.backends import LedgerView
from costprism.engine.filters import parse_filters
from costprism.engine.tagging import (
    COMPLIANT,
    TAGGABLE,
    UNTAGGED,
    compliance_rows,
    key_checks,
    monthly_compliance,
    noncompliant_resources,
    tag_status,
)
from tests.conftest import SqlRunner

# Environment dev is not allowed here, so the synthetic file has invalid values too.
STRICT = parse_policy(
    """\
required:
  - keys: [Owner, CostCenter, Environment]
  - scope: {SubAccountName: {like: "prod-%"}}
    keys: [DataClassification]
allowed:
  Environment: [prod, staging]
  CostCenter: {pattern: "^cc-[0-9]{4}$"}
"""
)


def tag_sql(key: str) -> str:
    """The trimmed value of the first tag whose key normalizes to ``key`` ('' as null)."""
    return (
        "nullif(trim(list_filter(map_entries(Tags), e -> replace(replace(lower(e.key), '-', ''),"
        f" '_', '') = '{key}')[1].value), '')"
    )


def strict_sql(where: str = "true") -> str:
    """STRICT's flags per row, written out: the table ``f`` of the queries below."""
    return f"""
    WITH t AS (
      SELECT date_trunc('month', ChargePeriodStart)::DATE AS month, BillingCurrency AS cur,
             EffectiveCost AS cost, x_RowId, ResourceId, ResourceName, SubAccountName,
             ResourceId IS NOT NULL AS taggable,
             coalesce(SubAccountName LIKE 'prod-%', false) AS prod,
             {tag_sql("owner")} AS o, {tag_sql("costcenter")} AS c,
             {tag_sql("environment")} AS e, {tag_sql("dataclassification")} AS d
      FROM costs WHERE {where}
    ), f AS (
      SELECT *,
        o IS NULL OR c IS NULL OR e IS NULL OR (prod AND d IS NULL)
          OR (c IS NOT NULL AND NOT regexp_matches(c, '^cc-[0-9]{{4}}$'))
          OR (e IS NOT NULL AND lower(e) NOT IN ('prod', 'staging')) AS bad,
        taggable AND o IS NULL AND c IS NULL AND e IS NULL
          AND NOT (prod AND d IS NOT NULL) AS untagged
      FROM t
    )"""


def monthly_sql(sql: SqlRunner, where: str = "true") -> list[tuple[Any, ...]]:
    return sql(
        strict_sql(where)
        + """
    SELECT month, cur, sum(cost),
           coalesce(sum(cost) FILTER (taggable), 0),
           coalesce(sum(cost) FILTER (untagged), 0),
           coalesce(sum(cost) FILTER (taggable AND NOT bad), 0),
           count(*), count(*) FILTER (taggable), count(*) FILTER (untagged),
           count(*) FILTER (taggable AND NOT bad)
    FROM f GROUP BY ALL ORDER BY ALL"""
    )


MONTHLY = (
    "month", "BillingCurrency", "total_cost", "taggable_cost", "untagged_cost", "compliant_cost",
    "rows", "taggable_rows", "untagged_rows", "compliant_rows",
)  # fmt: skip


def as_tuples(table: Any, columns: tuple[str, ...]) -> list[tuple[Any, ...]]:
    rows = table.to_pyarrow().to_pylist()
    return [tuple(r[c] for c in columns) for r in rows]


def test_monthly_sums_equal_sql_over_the_samples(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    found = as_tuples(monthly_compliance(compliance_rows(sample_view, STRICT)), MONTHLY)
    expected = monthly_sql(sample_sql)
    assert found == expected
    by_month = {row[0]: row for row in found}
    may, september = by_month[date(2026, 5, 1)], by_month[date(2024, 9, 1)]
    assert 0 < may[5] < may[3]
    assert may[4] == 0
    assert september[4] > 0
    assert september[5] == 0


def test_the_scope_and_the_dates_narrow_the_rows(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    scope = parse_filters(["ProviderName=AWS", "tag:Owner is not null"])
    status = compliance_rows(
        sample_view, STRICT, scope, start=date(2026, 5, 1), end=date(2026, 5, 16)
    )
    found = as_tuples(monthly_compliance(status), MONTHLY)
    where = (
        f"ProviderName = 'AWS' AND {tag_sql('owner')} IS NOT NULL AND "
        "ChargePeriodStart >= TIMESTAMPTZ '2026-05-01' AND ChargePeriodStart < TIMESTAMPTZ "
        "'2026-05-16'"
    )
    assert found == monthly_sql(sample_sql, where)
    assert found[0][6] < 3334


def test_noncompliant_resources_equal_sql_ranked_per_currency(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    table = noncompliant_resources(compliance_rows(sample_view, STRICT), STRICT, top=7)
    found = table.to_pyarrow().to_pylist()
    expected = sample_sql(
        strict_sql()
        + """
    SELECT cur, ResourceId, sum(cost) AS total, count(*), max(SubAccountName), max(o)
    FROM f WHERE taggable AND bad GROUP BY ALL
    ORDER BY cur, total DESC, ResourceId LIMIT 7"""
    )
    assert [
        (r["BillingCurrency"], r["ResourceId"], r["cost"], r["rows"], r["SubAccountName"])
        for r in found
    ] == [row[:5] for row in expected]
    for row, (*_, owner_tag) in zip(found, expected, strict=True):
        assert row["owner"] == (owner_tag or row["SubAccountName"])
        assert row["owner_source"] == ("tag" if owner_tag else "sub-account")


def test_the_failing_keys_of_a_resource_are_those_of_any_of_its_rows(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    table = noncompliant_resources(compliance_rows(sample_view, STRICT), STRICT, top=10_000)
    checks = {c.key: c for c in key_checks(STRICT)}
    found = {r["ResourceId"]: r for r in table.to_pyarrow().to_pylist()}
    expected = sample_sql(
        strict_sql()
        + """
    SELECT ResourceId, bool_or(o IS NULL), bool_or(prod AND d IS NULL),
           bool_or(e IS NOT NULL AND lower(e) NOT IN ('prod', 'staging')),
           bool_or(c IS NOT NULL AND NOT regexp_matches(c, '^cc-[0-9]{4}$'))
    FROM f WHERE taggable AND bad GROUP BY ALL"""
    )
    assert len(found) == len(expected) > 1000
    for resource, owner, classification, environment, cost_center in expected:
        row = found[resource]
        assert row[checks["Owner"].missing] == owner
        assert row[checks["DataClassification"].missing] == classification
        assert row[checks["Environment"].invalid] == environment
        assert row[checks["CostCenter"].invalid] == cost_center


# --- each definition on hand-made rows ----------------------------------------------------

EDGE = parse_policy(
    """\
required:
  - keys: [Owner, CostCenter, Environment]
  - scope: {SubAccountName: {like: "prod-%"}, tag:tier: [Gold]}
    keys: [DataClassification]
allowed:
  Environment: [prod, staging]
  CostCenter: {pattern: "^cc-[0-9]{4}$"}
  Team: [payments]
"""
)
# id: (ResourceId, SubAccountName, tags, taggable, untagged, compliant, missing, invalid);
# row 8 is not gold, so DataClassification is not required there
ROWS: dict[int, tuple[str | None, str, dict[str, str], bool, bool, bool, set[str], set[str]]] = {
    1: ("r1", "dev", {"Owner": "a", "CostCenter": "cc-1234", "Environment": "prod"},
        True, False, True, set(), set()),
    2: ("r2", "dev", {}, True, True, False, {"Owner", "CostCenter", "Environment"}, set()),
    3: ("r3", "dev", {"owner": "  ", "cost-center": "cc-1234", "ENVIRONMENT": " Prod "},
        True, False, False, {"Owner"}, set()),
    4: (None, "dev", {}, False, False, False, set(), set()),
    5: ("r5", "dev", {"Owner": "x", "CostCenter": "cc-1", "Environment": "qa"},
        True, False, False, set(), {"CostCenter", "Environment"}),
    6: ("r6", "prod-a", {"Owner": "a", "CostCenter": "cc-1234", "Environment": "prod",
                         "Tier": " gold"}, True, False, False, {"DataClassification"}, set()),
    7: ("r7", "prod-a", {"data_classification": "secret", "tier": "GOLD"}, True, False, False,
        {"Owner", "CostCenter", "Environment"}, set()),
    8: ("r8", "prod-a", {"Owner": "a", "CostCenter": "cc-1234", "Environment": "staging",
                         "tier": "silver"}, True, False, True, set(), set()),
    9: ("r9", "dev", {"Owner": "a", "CostCenter": "cc-1234", "Environment": "prod",
                      "team": "Data"}, True, False, False, set(), {"Team"}),
}  # fmt: skip


def hand_made(rows: dict[int, Any], currency: str = "USD") -> Any:
    table = pa.table(
        {
            "x_RowId": pa.array(list(rows), pa.int64()),
            "ChargePeriodStart": pa.array(
                [datetime(2026, 5, 2, tzinfo=UTC)] * len(rows), pa.timestamp("us", tz="UTC")
            ),
            "BillingCurrency": [currency] * len(rows),
            "EffectiveCost": pa.array([Decimal(i) for i in rows], pa.decimal128(38, 12)),
            "ResourceId": [r[0] for r in rows.values()],
            "ResourceName": [r[0] and f"name-{r[0]}" for r in rows.values()],
            "SubAccountName": [r[1] for r in rows.values()],
            "Tags": pa.array(
                [list(r[2].items()) for r in rows.values()], pa.map_(pa.string(), pa.string())
            ),
        }
    )
    return ibis.duckdb.connect().create_table("hand_made", table, temp=True)


def test_each_definition_on_hand_made_rows() -> None:
    status = tag_status(hand_made(ROWS), EDGE)
    checks = key_checks(EDGE)
    assert [c.key for c in checks] == [
        "Owner", "CostCenter", "Environment", "DataClassification", "Team",
    ]  # fmt: skip
    for row in status.order_by("x_RowId").to_pyarrow().to_pylist():
        _, _, _, taggable, untagged, compliant, missing, invalid = ROWS[row["x_RowId"]]
        assert (row[TAGGABLE], row[UNTAGGED], row[COMPLIANT]) == (
            taggable, untagged, compliant,
        ), row["x_RowId"]  # fmt: skip
        assert {c.key for c in checks if row[c.missing]} == missing, row["x_RowId"]
        assert {c.key for c in checks if row[c.invalid]} == invalid, row["x_RowId"]


def test_sums_and_resources_on_hand_made_rows() -> None:
    status = tag_status(hand_made(ROWS), EDGE)
    [month] = monthly_compliance(status).to_pyarrow().to_pylist()
    assert month["total_cost"] == sum(ROWS)
    assert month["taggable_cost"] == sum(ROWS) - 4
    assert month["untagged_cost"] == 2
    assert month["compliant_cost"] == 1 + 8
    assert (month["rows"], month["taggable_rows"], month["untagged_rows"]) == (9, 8, 1)
    top = noncompliant_resources(status, EDGE, top=3).to_pyarrow().to_pylist()
    assert [r["ResourceId"] for r in top] == ["r9", "r7", "r6"]
    assert [r["owner"] for r in top] == ["a", "prod-a", "a"]
    assert [r["owner_source"] for r in top] == ["tag", "sub-account", "tag"]
    assert top[1]["ResourceName"] == "name-r7"


def test_a_policy_with_a_custom_taggable_and_owner() -> None:
    policy = parse_policy(
        'owner: team\ntaggable: {SubAccountName: [prod-a]}\nrequired: [{keys: ["Owner"]}]\n'
    )
    status = tag_status(hand_made(ROWS), policy)
    flags = {r["x_RowId"]: r[TAGGABLE] for r in status.to_pyarrow().to_pylist()}
    assert {i for i, taggable in flags.items() if taggable} == {6, 7, 8}
    [bad] = noncompliant_resources(status, policy, top=5).to_pyarrow().to_pylist()
    assert (bad["ResourceId"], bad["owner"], bad["owner_source"]) == ("r7", "prod-a", "sub-account")
    owned = tag_status(hand_made(ROWS), parse_policy("owner: team\nrequired: [{keys: [x]}]\n"))
    nine = owned.filter(owned["x_RowId"] == 9).to_pyarrow().to_pylist()[0]
    assert nine["x_OwnerTag"] == "Data"


@pytest.mark.parametrize("currency", ["USD", "EUR"])
def test_resources_are_ranked_within_each_currency(currency: str) -> None:
    status = tag_status(hand_made(ROWS, currency), EDGE)
    top = noncompliant_resources(status, EDGE, top=1).to_pyarrow().to_pylist()
    assert [(r["BillingCurrency"], r["ResourceId"]) for r in top] == [(currency, "r9")]
