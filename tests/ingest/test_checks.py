"""Tests for costprism.ingest.checks: each rule's SQL, evaluated by DuckDB on literal values.

A value goes through the same typed expression and check conditions the reader uses, in a
UTC session as the pipeline opens it; the test reads back the ledger value and the rules
that fired.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import duckdb
import pytest

from costprism.focus import column
from costprism.ingest.checks import (
    ColumnPlan,
    checks_for,
    literal,
    period_checks,
    quote,
    typed_name,
    with_typed,
)

SEPT = datetime(2024, 9, 1, tzinfo=UTC)


def evaluate(name: str, value: str | None, source_type: str = "VARCHAR") -> tuple[Any, set[str]]:
    """(ledger value, rules that fire) for one input value of FOCUS column ``name``."""
    plan = ColumnPlan(spec=column(name), source='"v"', source_type=source_type)
    checks = checks_for(plan)
    flags = ", ".join(f"coalesce({c.condition}, false)" for c in checks)
    given = "NULL" if value is None else literal(value)
    with duckdb.connect() as connection:
        connection.execute("SET TimeZone = 'UTC'")
        row = connection.execute(
            f"SELECT {typed_name(plan.spec)}, {flags} "
            f"FROM {with_typed([plan], f'(SELECT CAST({given} AS {source_type}) AS v)')}"
        ).fetchone()
    assert row is not None
    return row[0], {c.rule for c, fired in zip(checks, row[1:], strict=True) if fired}


# --- decimals ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("12.5", Decimal("12.5")),
        ("-2.6137", Decimal("-2.6137")),
        ("1.2E-7", Decimal("0.00000012")),
        ("0.0000004", Decimal("0.0000004")),
        ("+3", Decimal(3)),
        (".5", Decimal("0.5")),
        (" 12.5 ", Decimal("12.5")),
        ("11.48285642560000", Decimal("11.4828564256")),
    ],
)
def test_plain_decimals_are_stored_exactly(value: str, stored: Decimal) -> None:
    assert evaluate("BilledCost", value) == (stored, set())


@pytest.mark.parametrize(
    "value",
    [
        "12,5x",
        "1,000",
        "$10",
        "10 USD",
        "0x10",
        "NaN",
        "inf",
        "1e25",
        pytest.param(
            "1_000",
        ),
    ],
)
def test_what_is_not_a_plain_decimal_is_bad_decimal(value: str) -> None:
    _, rules = evaluate("BilledCost", value)
    assert rules == {"bad-decimal"}


def test_an_empty_key_cost_is_an_error_and_other_costs_may_be_empty() -> None:
    assert evaluate("BilledCost", None) == (None, {"not-null"})
    assert evaluate("EffectiveCost", None) == (None, {"missing-value"})
    assert evaluate("CommitmentDiscountQuantity", None) == (None, set())


def test_typed_parquet_decimals_are_cast_not_parsed() -> None:
    assert evaluate("BilledCost", "2.25", source_type="DOUBLE") == (Decimal("2.25"), set())
    assert evaluate("BilledCost", "2.25", source_type="DECIMAL(10, 4)") == (Decimal("2.25"), set())


# --- date/times ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "rules"),
    [
        ("2024-09-01T00:00:00Z", set()),
        ("2024-09-01T00:00:00.000Z", set()),
        ("2024-09-01 00:00:00", {"datetime-format"}),
        ("2024-09-01", {"datetime-format"}),
        ("2024-09-01T00:00:00", {"datetime-format"}),
        ("2024-09-01T02:00:00+02:00", {"datetime-format"}),
        ("2024-08-31T20:00:00-04:00", {"datetime-format"}),
        pytest.param(
            "2024-09-01T00:00Z",
            set(),
        ),
        pytest.param(
            "2024-09-01 00:00:00 UTC",
            {"datetime-format"},
        ),
    ],
)
def test_readable_times_are_stored_in_utc(value: str, rules: set[str]) -> None:
    assert evaluate("ChargePeriodStart", value) == (SEPT, rules)


@pytest.mark.parametrize(
    "value",
    ["2026-13-45", "2024-02-30T00:00:00Z", "09/01/2024", "yesterday", "abcd-ef-ghTij:kl:mnZ"],
)
def test_unreadable_times_are_bad_datetime(value: str) -> None:
    assert evaluate("ChargePeriodStart", value) == (None, {"bad-datetime"})


def test_period_order_fires_when_the_start_is_not_before_the_end() -> None:
    start = ColumnPlan(spec=column("ChargePeriodStart"), source='"s"')
    end = ColumnPlan(spec=column("ChargePeriodEnd"), source='"e"')
    (check,) = period_checks([(start, end)])
    pairs = [
        ("2024-09-01T00:00:00Z", "2024-09-01T01:00:00Z"),
        ("2024-09-01T01:00:00Z", "2024-09-01T01:00:00Z"),
        ("2024-09-01T02:00:00Z", "2024-09-01T01:00:00Z"),
        ("2026-13-45", "2024-09-01T01:00:00Z"),  # bad-datetime's business, not this rule's
    ]
    values = ", ".join(f"({literal(s)}, {literal(e)})" for s, e in pairs)
    with duckdb.connect() as connection:
        relation = with_typed([start, end], f"(VALUES {values}) t(s, e)")
        fired = connection.execute(
            f"SELECT coalesce({check.condition}, false) FROM {relation}"
        ).fetchall()
    assert [f for (f,) in fired] == [False, True, True, False]
    assert (check.rule, check.severity, check.column) == (
        "period-order",
        "error",
        "ChargePeriodStart",
    )


# --- enumerations and currencies -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "value", "stored", "rules"),
    [
        ("ChargeCategory", "Usage", "Usage", set()),
        ("ChargeCategory", "usage", "Usage", {"enum-case"}),
        ("ChargeCategory", "PURCHASE", "Purchase", {"enum-case"}),
        ("ChargeCategory", "Bogus", None, {"bad-enum"}),
        ("ChargeCategory", " Usage", None, {"bad-enum"}),
        ("ChargeCategory", None, None, {"not-null"}),
        ("ChargeFrequency", "Usage-based", "Usage-Based", {"enum-case"}),
        ("ChargeFrequency", None, None, {"missing-value"}),
        ("BillingCurrency", "USD", "USD", set()),
        ("BillingCurrency", "eur", "EUR", {"currency-case"}),
        ("BillingCurrency", "US$", "US$", {"bad-currency"}),
        ("BillingCurrency", "XXX", "XXX", {"bad-currency"}),
    ],
)
def test_enums_and_currencies(
    name: str, value: str | None, stored: str | None, rules: set[str]
) -> None:
    assert evaluate(name, value) == (stored, rules)


def test_a_bad_enum_hint_lists_the_allowed_values() -> None:
    plan = ColumnPlan(spec=column("ChargeCategory"), source=quote("ChargeCategory"))
    (bad,) = [c for c in checks_for(plan) if c.rule == "bad-enum"]
    assert bad.hint == "use one of: Usage, Purchase, Tax, Credit, Adjustment"


# --- tags ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored", "rules"),
    [
        ('{"team": "payments", "env": "prod"}', {"team": "payments", "env": "prod"}, set()),
        ('{" org": "x"}', {" org": "x"}, set()),
        ('{"size": 3, "on": true}', {"size": "3", "on": "true"}, set()),
        ("{}", {}, set()),
        ("[1, 2]", None, {"bad-json"}),
        ('"text"', None, {"bad-json"}),
        ('{"team": "a", "env": "prod", "team": "b"}', None, {"duplicate-key"}),
        pytest.param(
            "not json",
            None,
            {"bad-json"},
        ),
    ],
)
def test_tags_must_be_a_json_object(value: str, stored: Any, rules: set[str]) -> None:
    assert evaluate("Tags", value) == (stored, rules)


def test_unchecked_text_columns_pass_through() -> None:
    assert evaluate("ChargeDescription", "anything at all") == ("anything at all", set())
    assert evaluate("BillingAccountId", "100000000001", source_type="BIGINT") == (
        "100000000001",
        set(),
    )
