"""The budgets file and the web form's fields: what they hold, and errors with
file:line:column (or the field) naming the bad value and the fix."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from costprism.budgets.spec import (
    budget_from_fields,
    check_dimensions,
    load_budgets,
    parse_budgets,
)
from costprism.engine.filters import Filter
from costprism.errors import InputError

GOOD = """\
currency: USD
budgets:
  - name: payments-monthly
    scope: team=payments
    period: month
    amount: 42000
    thresholds:
      actual: [80, 100]
      forecast: [100]
    owners: [pat, payments-lead@northwind.example]
    holdback: 2000
  - name: eu-quarter
    scope: ["ProviderName in (AWS, Microsoft)", "tag:env=prod"]
    period: quarter
    amount: 10000.50
    currency: EUR
    basis: billed
"""


def test_a_budgets_file_is_parsed() -> None:
    first, second = parse_budgets(GOOD, "budgets.yaml").budgets
    assert first.name == "payments-monthly"
    assert first.scope == (Filter(column="team", op="=", values=("payments",)),)
    assert (first.period, first.amount, first.currency, first.basis) == (
        "month", Decimal(42000), "USD", "effective",
    )  # fmt: skip
    assert first.actual_thresholds == (Decimal(80), Decimal(100))
    assert first.forecast_thresholds == (Decimal(100),)
    assert first.owners == ("pat", "payments-lead@northwind.example")
    assert first.holdback == Decimal(2000)
    assert first.line == 3
    assert [str(f) for f in second.scope] == ["ProviderName in (AWS, Microsoft)", "tag:env=prod"]
    assert (second.period, second.amount, second.currency, second.basis) == (
        "quarter", Decimal("10000.50"), "EUR", "billed",
    )  # fmt: skip
    assert second.holdback == 0
    assert second.actual_thresholds == (Decimal(80), Decimal(100))  # the defaults
    assert second.record()["scope"] == ["ProviderName in (AWS, Microsoft)", "tag:env=prod"]


def test_a_file_is_read_from_disk(tmp_path: Path) -> None:
    path = tmp_path / "budgets.yaml"
    path.write_text(GOOD, encoding="utf-8")
    assert [b.name for b in load_budgets(path).budgets] == ["payments-monthly", "eu-quarter"]
    with pytest.raises(InputError) as error:
        load_budgets(tmp_path / "missing.yaml")
    assert error.value.code == "budgets.bad_file"


@pytest.mark.parametrize(
    ("text", "where", "words"),
    [
        ("budgets: [", "1:11", "not valid YAML"),
        ("currency: USD\n", "1:1", "budgets: is missing"),
        ("currency: USD\nbudget: []\n", "2:9", "unknown key 'budget'"),
        ("budgets:\n  - name: x\n    period: month\n    amount: 5\n", "2:5", "needs currency"),
        (
            "currency: USD\nbudgets:\n  - name: x\n    period: weekly\n    amount: 5\n",
            "4:13",
            "period 'weekly' is not one of month, quarter, fiscal-year",
        ),
        (
            "currency: USD\nbudgets:\n  - name: x\n    period: month\n    amount: -5\n",
            "5:13",
            "must be a positive amount",
        ),
        (
            "currency: USD\nbudgets:\n  - name: x\n    period: month\n    amount: lots\n",
            "5:13",
            "'lots' is not a number",
        ),
        (
            "currency: usd\nbudgets:\n  - name: x\n    period: month\n    amount: 5\n",
            "1:11",
            "not an ISO 4217 code",
        ),
        (
            "currency: USD\nbudgets:\n  - name: x\n    scope: [team=a, teams]\n"
            "    period: month\n    amount: 5\n",
            "4:21",
            "filter 'teams' is not understood",
        ),
        (
            "currency: USD\nbudgets:\n  - name: x\n    scope: Team=a\n    period: month\n"
            "    amount: 5\n",
            "4:12",
            "'Team' is not a FOCUS column",
        ),
        (
            "currency: USD\nbudgets:\n  - name: x\n    period: month\n    amount: 5\n"
            "    holdback: 6\n",
            "6:15",
            "more than the amount",
        ),
        (
            "currency: USD\nbudgets:\n  - name: x\n    period: month\n    amount: 5\n"
            "    thresholds: {actual: [80, 0]}\n",
            "6:31",
            "threshold '0' must be a percentage",
        ),
        (
            "currency: USD\nbudgets:\n  - name: x\n    period: month\n    amount: 5\n"
            "    thresholds: {forcast: [100]}\n",
            "6:27",
            "unknown key 'forcast'",
        ),
        (
            "currency: USD\nbudgets:\n  - name: a b\n    period: month\n    amount: 5\n",
            "3:11",
            "name 'a b' must be letters",
        ),
        (
            "currency: USD\nbudgets:\n  - name: x\n    period: month\n    amount: 5\n"
            "  - name: x\n    period: month\n    amount: 6\n",
            "3:3",
            "two budgets are named 'x'",
        ),
        ("currency: USD\nbudgets:\n  - name: x\n    amount: 5\n", "3:5", "needs period"),
    ],
)
def test_errors_name_file_line_and_column(text: str, where: str, words: str) -> None:
    with pytest.raises(InputError) as error:
        parse_budgets(text, "budgets.yaml")
    assert error.value.message.startswith(f"budgets.yaml:{where}: "), error.value.message
    assert words in error.value.message
    assert error.value.code in ("budgets.invalid", "budgets.bad_yaml")


def test_scope_dimensions_are_checked_against_the_rules_in_force() -> None:
    budgets = parse_budgets(GOOD, "budgets.yaml")
    check_dimensions(budgets, ("team", "cost_center"))
    with pytest.raises(InputError) as error:
        check_dimensions(budgets, ("cost_center",))
    assert error.value.message.startswith("budgets.yaml:4:12: budget 'payments-monthly'")
    assert "'team'" in error.value.message
    assert "cost_center" in error.value.message


def test_the_form_fields_make_the_same_budget() -> None:
    spec = budget_from_fields(
        {"name": "payments-monthly", "scope": "team=payments\n", "period": "month",
         "amount": "42000", "currency": "USD", "basis": "effective",
         "actual_thresholds": "100, 80", "forecast_thresholds": "100",
         "owners": "pat, payments-lead@northwind.example", "holdback": "2000"}
    )  # fmt: skip
    parsed = parse_budgets(GOOD, "budgets.yaml").budgets[0]
    assert spec.record() == parsed.record()


@pytest.mark.parametrize(
    ("field", "value", "words"),
    [
        ("amount", "0", "amount: amount '0' must be a positive amount"),
        ("currency", "dollars", "currency: currency 'dollars'"),
        ("period", "week", "period: period 'week'"),
        ("scope", "team", "scope: filter 'team' is not understood"),
        ("holdback", "-1", "holdback: holdback '-1'"),
        ("actual_thresholds", "80, x", "thresholds: threshold 'x'"),
        ("owners", "pat, \x00", "owners: owner '\\x00'"),
        ("scope", "team=a\x00", "scope: scope condition 'team=a\\x00' has a control character"),
    ],
)
def test_form_errors_name_the_field(field: str, value: str, words: str) -> None:
    fields = {"name": "b", "period": "month", "amount": "10", "currency": "USD", field: value}
    with pytest.raises(InputError) as error:
        budget_from_fields(fields)
    assert error.value.code == "budgets.invalid"
    assert error.value.message.startswith(words), error.value.message
