"""Allocation in the engine: rules, even / proportional / fixed / waterfall splits checked
against hand-computed results, and conservation over random rule sets and ledgers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import ibis
import pyarrow as pa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from costprism.allocation.rules import RuleSet, parse_rules
from costprism.engine.allocation import allocated_rows, allocation, key_columns, keyed_allocation
from tests.allocation.test_rules import EXAMPLE

SEP = datetime(2024, 9, 1, tzinfo=UTC)
OCT = datetime(2024, 10, 1, tzinfo=UTC)
Row = tuple[
    int, str, str, dict[str, str], str, datetime, str
]  # id, account, category, tags, cost, period, currency


def ledger(rows: Sequence[Row]) -> ibis.Table:
    table = pa.table(
        {
            "x_RowId": [r[0] for r in rows],
            "SubAccountName": [r[1] for r in rows],
            "ChargeCategory": [r[2] for r in rows],
            "Tags": pa.array([list(r[3].items()) for r in rows], pa.map_(pa.string(), pa.string())),
            "EffectiveCost": pa.array([Decimal(r[4]) for r in rows], pa.decimal128(38, 12)),
            "BillingPeriodStart": pa.array([r[5] for r in rows], pa.timestamp("us", tz="UTC")),
            "BillingCurrency": [r[6] for r in rows],
        }
    )
    backend = ibis.duckdb.connect()
    return backend.create_table("costs", table)


def allocated(rows: Sequence[Row], rules: RuleSet) -> list[dict[str, Any]]:
    with allocation(ledger(rows), rules) as narrow:
        return list(narrow.to_pyarrow().to_pylist())


def row(
    i: int,
    account: str,
    cost: str,
    *,
    category: str = "Usage",
    tags: dict[str, str] | None = None,
    period: datetime = SEP,
    currency: str = "USD",
) -> Row:
    return (i, account, category, tags or {}, cost, period, currency)


def by(parts: list[dict[str, Any]], *keys: str) -> dict[tuple[Any, ...], Decimal]:
    found: dict[tuple[Any, ...], Decimal] = {}
    for part in parts:
        key = tuple(part[k] for k in keys)
        found[key] = found.get(key, Decimal(0)) + part["x_Share"]
    return found


def amounts(rows: Sequence[Row], parts: list[dict[str, Any]], dimension: str) -> dict[str, Decimal]:
    cost = {r[0]: Decimal(r[4]) for r in rows}
    found: dict[str, Decimal] = {}
    for part in parts:
        value = part[f"x_{dimension}"]
        found[value] = found.get(value, Decimal(0)) + cost[part["x_RowId"]] * part["x_Share"]
    return {k: v.quantize(Decimal("0.000001")) for k, v in found.items()}


TOY = [
    row(1, "acct-pay", "60", tags={"Owner": " Team-Payments "}),
    row(2, "acct-data", "30", tags={"owner": "team-data"}),
    row(3, "sandbox-1", "10"),
    row(4, "my-platform", "50"),
    row(5, "acct-x", "9", category="Tax"),
    row(6, "acct-y", "7"),
]


def test_the_issue_example_by_hand() -> None:
    parts = allocated(TOY, parse_rules(EXAMPLE))
    # tax 9 goes 60:30:10:50 to payments, data, sandbox, platform (3.6, 1.8, 0.6, 3.0);
    # platform's 50 + 3.0 then go 50:30:20 (26.5, 15.9, 10.6); row 6 matches nothing.
    assert amounts(TOY, parts, "team") == {
        "payments": Decimal("90.100000"),
        "data": Decimal("47.700000"),
        "sandbox": Decimal("21.200000"),
        "(unallocated)": Decimal("7.000000"),
    }
    rules_of = {p["x_RowId"]: p["x_Rule"] for p in parts}
    assert rules_of == {
        1: "payments by tag", 2: "data by tag", 3: "sandbox accounts", 4: "platform accounts",
        5: None, 6: None,
    }  # fmt: skip
    cost_centers = by([p for p in parts if p["x_RowId"] == 4], "x_team", "x_cost_center")
    assert cost_centers == {
        ("payments", "CC-300"): Decimal("0.5"),
        ("data", "CC-300"): Decimal("0.3"),
        ("sandbox", "CC-300"): Decimal("0.2"),
    }  # the step spreads over team only; the other dimensions keep their values
    assert {p["x_Shared"] for p in parts if p["x_RowId"] == 4} == {"platform overhead"}
    tax = by([p for p in parts if p["x_RowId"] == 5], "x_team", "x_Shared")
    assert tax[("payments", "tax by cost")] == Decimal("0.4")
    assert tax[("payments", "platform overhead")] == Decimal("0.166666666667")
    assert sum(tax.values()) == 1


def _rules(split: str, extra: str = "") -> RuleSet:
    return parse_rules(
        f"""
dimensions: [team]
rules:
  - {{name: a, match: {{SubAccountName: [a]}}, set: {{team: a}}}}
  - {{name: b, match: {{SubAccountName: [b]}}, set: {{team: b}}}}
  - {{name: c, match: {{SubAccountName: [c]}}, set: {{team: c}}}}
shared:
  - name: pool
    match: {{SubAccountName: [shared]}}
    split: {split}
    to: team
{extra}"""
    )


def test_an_even_split_gives_the_rounding_residue_to_the_last_target() -> None:
    rows = [row(1, "a", "5"), row(2, "b", "1"), row(3, "c", "0"), row(9, "shared", "10")]
    parts = allocated(rows, _rules("even"))
    assert by([p for p in parts if p["x_RowId"] == 9], "x_team") == {
        ("a",): Decimal("0.333333333333"),
        ("b",): Decimal("0.333333333333"),
        ("c",): Decimal("0.333333333334"),
    }


def test_a_proportional_split_weighs_each_period_and_currency_on_its_own() -> None:
    rows = [
        row(1, "a", "30"), row(2, "b", "10"), row(9, "shared", "8"),
        row(11, "a", "1", period=OCT), row(12, "c", "3", period=OCT),
        row(19, "shared", "4", period=OCT),
        row(21, "b", "5", currency="EUR"), row(29, "shared", "2", currency="EUR"),
    ]  # fmt: skip
    parts = allocated(rows, _rules("proportional"))
    assert amounts(rows, [p for p in parts if p["x_RowId"] in (9, 19, 29)], "team") == {
        "a": Decimal("7.000000"),  # 8 × 30/40 in September, 4 × 1/4 in October
        "b": Decimal("4.000000"),  # 8 × 10/40, and all of the EUR pool
        "c": Decimal("3.000000"),  # 4 × 3/4 in October
    }


def test_a_usage_split_weighs_each_billing_month_by_the_side_files_metric(tmp_path: Path) -> None:
    (tmp_path / "usage.csv").write_text(
        "month,team,requests\n2024-09,a,300\n2024-09,b,100\n2024-09,c,0\n2024-11,c,5\n"
    )
    rules = parse_rules(
        """
dimensions: [team]
rules:
  - {name: a, match: {SubAccountName: [a]}, set: {team: a}}
  - {name: b, match: {SubAccountName: [b]}, set: {team: b}}
  - {name: c, match: {SubAccountName: [c]}, set: {team: c}}
shared:
  - name: pool
    match: {SubAccountName: [shared]}
    split: proportional
    to: team
    usage: {file: usage.csv, metric: requests}
""",
        folder=tmp_path,
    )
    rows = [
        row(1, "a", "1"), row(2, "b", "99"), row(3, "c", "50"), row(9, "shared", "8"),
        row(19, "shared", "3", period=OCT), row(29, "shared", "4", currency="EUR"),
    ]  # fmt: skip
    parts = allocated(rows, rules)
    # September: 300:100:0 by requests, whatever the teams' own cost, in each currency
    assert amounts(rows, [p for p in parts if p["x_RowId"] in (9, 29)], "team") == {
        "a": Decimal("9.000000"),  # 8 × 3/4 + 4 × 3/4
        "b": Decimal("3.000000"),  # 8 × 1/4 + 4 × 1/4
    }
    # October has no usage lines: an even split
    assert by([p for p in parts if p["x_RowId"] == 19], "x_team") == {
        ("a",): Decimal("0.333333333333"),
        ("b",): Decimal("0.333333333333"),
        ("c",): Decimal("0.333333333334"),
    }
    assert rules.files == {"usage.csv": (tmp_path / "usage.csv").read_text()}


def test_targets_with_no_or_negative_cost_split_evenly() -> None:
    rows = [row(1, "a", "-5"), row(2, "b", "0"), row(9, "shared", "3")]
    parts = allocated(rows, _rules("proportional"))
    assert by([p for p in parts if p["x_RowId"] == 9], "x_team") == {
        ("a",): Decimal("0.333333333333"),
        ("b",): Decimal("0.333333333333"),
        ("c",): Decimal("0.333333333334"),
    }
    rows = [row(1, "a", "-5"), row(2, "b", "10"), row(9, "shared", "3")]
    parts = allocated(rows, _rules("proportional"))
    assert by([p for p in parts if p["x_RowId"] == 9], "x_team") == {("b",): Decimal(1)}


def test_fixed_weights_are_normalized_and_unallocated_is_a_target_only_if_listed() -> None:
    rows = [row(1, "a", "1"), row(9, "shared", "10"), row(8, "nobody", "4")]
    rules = _rules("fixed", "    weights: {a: 1, b: 3}\n")
    parts = allocated(rows, rules)
    assert by([p for p in parts if p["x_RowId"] == 9], "x_team") == {
        ("a",): Decimal("0.25"),
        ("b",): Decimal("0.75"),
    }
    assert by([p for p in parts if p["x_RowId"] == 8], "x_team") == {("(unallocated)",): 1}
    listed = _rules("fixed", "    weights: {a: 1, (unallocated): 1}\n")
    parts = allocated(rows, listed)
    assert by([p for p in parts if p["x_RowId"] == 9], "x_team") == {
        ("a",): Decimal("0.5"),
        ("(unallocated)",): Decimal("0.5"),
    }


def test_a_waterfall_feeds_each_step_what_the_one_before_gave() -> None:
    rules = parse_rules(
        """
dimensions: [team]
rules:
  - {name: a, match: {SubAccountName: [a]}, set: {team: a}}
  - {name: hub, match: {SubAccountName: [hub]}, set: {team: hub}}
shared:
  - {name: first, match: {SubAccountName: [shared]}, split: fixed, to: team,
     weights: {a: 1, hub: 1}}
  - {name: second, match: {team: [hub]}, split: fixed, to: team, weights: {a: 3, b: 1}}
"""
    )
    rows = [row(1, "a", "2"), row(2, "hub", "4"), row(9, "shared", "8")]
    parts = allocated(rows, rules)
    # shared 8 → a 4, hub 4; hub's 4 + 4 → a 6, b 2
    assert amounts(rows, parts, "team") == {
        "a": Decimal("12.000000"),
        "b": Decimal("2.000000"),
    }
    assert by([p for p in parts if p["x_RowId"] == 9], "x_team", "x_Shared") == {
        ("a", "first"): Decimal("0.5"),
        ("a", "second"): Decimal("0.375"),
        ("b", "second"): Decimal("0.125"),
    }


def test_tag_values_match_trimmed_ignoring_case_and_through_aliases() -> None:
    rules = parse_rules(
        """
dimensions: [env]
aliases: {prod: [production, prd]}
rules:
  - {name: prod, match: {tag:Environment: [prod]}, set: {env: prod}}
"""
    )
    rows = [
        row(1, "x", "1", tags={"environment": " Production"}),
        row(2, "x", "1", tags={"ENVIRONMENT": "PRD"}),
        row(3, "x", "1", tags={"env-ironment": "prod"}),
        row(4, "x", "1", tags={"Environment": "staging"}),
    ]
    parts = allocated(rows, rules)
    assert {p["x_RowId"]: p["x_env"] for p in parts} == {
        1: "prod", 2: "prod", 3: "prod", 4: "(unallocated)",
    }  # fmt: skip


# Conservation over random ledgers and rule sets
ACCOUNTS = ("a", "b", "c", "shared", "hub", "x")
TEAMS = ("t1", "t2", "t3")


@st.composite
def ledgers(draw: st.DrawFn) -> list[Row]:
    count = draw(st.integers(min_value=1, max_value=25))
    cost = st.decimals(
        min_value=-50, max_value=500, places=4, allow_nan=False, allow_infinity=False
    )
    return [
        row(
            i,
            draw(st.sampled_from(ACCOUNTS)),
            str(draw(cost)),
            category=draw(st.sampled_from(("Usage", "Tax", "Purchase"))),
            tags=draw(st.dictionaries(st.just("team"), st.sampled_from(TEAMS), max_size=1)),
            period=draw(st.sampled_from((SEP, OCT))),
            currency=draw(st.sampled_from(("USD", "EUR"))),
        )
        for i in range(1, count + 1)
    ]


@st.composite
def rule_sets(draw: st.DrawFn) -> RuleSet:
    lines = ["dimensions: [team, unit]", "rules:"]
    for i in range(draw(st.integers(min_value=0, max_value=4))):
        if draw(st.booleans()):
            match = f"{{SubAccountName: [{draw(st.sampled_from(ACCOUNTS))}]}}"
        else:
            match = f"{{tag:team: [{draw(st.sampled_from(TEAMS))}]}}"
        team = draw(st.sampled_from(TEAMS))
        lines.append(f"  - {{name: r{i}, match: {match}, set: {{team: {team}, unit: u{i}}}}}")
    if lines[-1] == "rules:":
        lines[-1] = "rules: []"
    lines.append("shared:")
    for k in range(draw(st.integers(min_value=0, max_value=3))):
        split = draw(st.sampled_from(("even", "proportional", "fixed")))
        match = draw(
            st.sampled_from(
                ("{ChargeCategory: [Tax]}", "{team: [t1]}", "{SubAccountName: [shared, hub]}")
            )
        )
        step = f"  - {{name: s{k}, match: {match}, split: {split}, to: team"
        if split == "fixed":
            weights = draw(st.lists(st.integers(min_value=1, max_value=9), min_size=3, max_size=3))
            step += (
                ", weights: {"
                + ", ".join(f"{t}: {w}" for t, w in zip(TEAMS, weights, strict=True))
                + "}"
            )
        else:
            step += ", targets: [t1, t2, t3]"
        lines.append(step + "}")
    if lines[-1] == "shared:":
        lines[-1] = "shared: []"
    return parse_rules("\n".join(lines) + "\n")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ledgers(), rules=rule_sets())
def test_allocation_conserves_every_row_and_every_total(rows: list[Row], rules: RuleSet) -> None:
    parts = allocated(rows, rules)
    shares = by(parts, "x_RowId")
    assert shares == {(r[0],): Decimal(1) for r in rows}  # exactly 1, never lost to rounding
    for p in parts:
        assert p["x_Share"] != 0
    ledger_totals: dict[tuple[datetime, str], Decimal] = {}
    for r in rows:
        ledger_totals[(r[5], r[6])] = ledger_totals.get((r[5], r[6]), Decimal(0)) + Decimal(r[4])
    cost = {r[0]: Decimal(r[4]) for r in rows}
    allocated_totals: dict[tuple[datetime, str], Decimal] = {}
    for p in parts:
        key = (p["BillingPeriodStart"], p["BillingCurrency"])
        amount = (cost[p["x_RowId"]] * p["x_Share"]).quantize(Decimal("1E-12"))
        allocated_totals[key] = allocated_totals.get(key, Decimal(0)) + amount
    for key, total in ledger_totals.items():
        assert abs(allocated_totals[key] - total) < Decimal("0.005")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=ledgers(), rules=rule_sets())
def test_the_map_of_distinct_keys_gives_every_row_the_parts_of_a_row_by_row_allocation(
    rows: list[Row], rules: RuleSet
) -> None:
    costs = ledger(rows)
    with allocation(costs, rules) as narrow:
        expected = parts_by_row(narrow.to_pyarrow().to_pylist(), rules)
    with keyed_allocation(costs, rules) as mapped:
        stored = mapped.to_pyarrow()
    assert set(stored.column_names) >= set(key_columns(rules))
    keyed = allocated_rows(
        costs, costs.get_backend().create_table("map", stored), key_columns(rules), rules.dimensions
    )
    assert parts_by_row(keyed.to_pyarrow().to_pylist(), rules) == expected


def parts_by_row(
    parts: list[dict[str, Any]], rules: RuleSet
) -> dict[int, dict[tuple[Any, ...], Decimal]]:
    """Per ledger row: its parts' (dimension values, rule, shared step) → summed share."""
    found: dict[int, dict[tuple[Any, ...], Decimal]] = {}
    for p in parts:
        key = (*(p[f"x_{d}"] for d in rules.dimensions), p["x_Rule"], p["x_Shared"])
        row_parts = found.setdefault(p["x_RowId"], {})
        row_parts[key] = row_parts.get(key, Decimal(0)) + p["x_Share"]
    return found


def test_a_commitment_purchase_goes_to_the_teams_that_used_that_commitment() -> None:
    rules = parse_rules(
        """
dimensions: [team]
rules:
  - {name: a, match: {SubAccountName: [a]}, set: {team: a}}
  - {name: b, match: {SubAccountName: [b]}, set: {team: b}}
  - {name: c, match: {SubAccountName: [c]}, set: {team: c}}
shared:
  - name: commitments to their users
    match: {ChargeCategory: [Purchase]}
    split: proportional
    within: CommitmentDiscountId
    to: team
"""
    )
    rows = [  # id, account, category, commitment, cost
        (1, "a", "Usage", "sp-1", "30"),
        (2, "b", "Usage", "sp-1", "10"),
        (3, "c", "Usage", "sp-2", "50"),
        (4, "c", "Usage", None, "500"),  # on demand: no say in either commitment
        (8, "payer", "Purchase", "sp-1", "100"),
        (9, "payer", "Purchase", "sp-2", "60"),
    ]
    table = pa.table(
        {
            "x_RowId": [r[0] for r in rows],
            "SubAccountName": [r[1] for r in rows],
            "ChargeCategory": [r[2] for r in rows],
            "CommitmentDiscountId": [r[3] for r in rows],
            "EffectiveCost": pa.array([Decimal(r[4]) for r in rows], pa.decimal128(38, 12)),
            "BillingPeriodStart": pa.array([SEP] * len(rows), pa.timestamp("us", tz="UTC")),
            "BillingCurrency": ["USD"] * len(rows),
        }
    )
    with allocation(ibis.duckdb.connect().create_table("costs", table), rules) as narrow:
        parts = narrow.to_pyarrow().to_pylist()
    assert by([p for p in parts if p["x_RowId"] == 8], "x_team") == {
        ("a",): Decimal("0.75"),
        ("b",): Decimal("0.25"),
    }
    assert by([p for p in parts if p["x_RowId"] == 9], "x_team") == {("c",): Decimal(1)}
