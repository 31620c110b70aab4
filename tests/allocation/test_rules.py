"""Parsing and checking allocation rules files: the issue's example, and errors that name
the file, line and column with a fix."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from costprism.allocation.rules import load_rules, parse_rules
from costprism.engine.filters import Filter
from costprism.errors import InputError


def Y(*lines: str) -> str:  # noqa: N802  (a YAML text, one argument per line)
    return "\n".join(lines) + "\n"


EXAMPLE = """\
dimensions: [team, cost_center]
rules:                             # first match wins, in this order
  - name: payments by tag
    match: {tag:Owner: [team-payments, payments, pay]}
    set: {team: payments, cost_center: CC-100}
  - name: data by tag
    match: {tag:Owner: [team-data]}
    set: {team: data, cost_center: CC-200}
  - name: sandbox accounts
    match: {SubAccountName: {like: "sandbox-%"}}
    set: {team: sandbox, cost_center: CC-900}
  - name: platform accounts
    match: {SubAccountName: {like: "%platform%"}}
    set: {team: platform, cost_center: CC-300}
shared:                            # applied in order, after the rules
  - name: tax by cost
    match: {ChargeCategory: [Tax]}
    split: proportional            # even | proportional | fixed
    to: team                       # spread over the values of this dimension
  - name: platform overhead
    match: {team: [platform]}
    split: fixed
    to: team
    weights: {payments: 50, data: 30, sandbox: 20}
"""


def test_the_issue_example_parses_as_written() -> None:
    rules = parse_rules(EXAMPLE, "rules.yaml")
    assert rules.dimensions == ("team", "cost_center")
    assert [r.name for r in rules.rules] == [
        "payments by tag", "data by tag", "sandbox accounts", "platform accounts",
    ]  # fmt: skip
    assert rules.rules[0].match == (
        Filter(column="tag:Owner", op="in", values=("team-payments", "payments", "pay")),
    )
    assert rules.rules[2].match == (
        Filter(column="SubAccountName", op="like", values=("sandbox-%",)),
    )
    assert dict(rules.rules[3].values) == {"team": "platform", "cost_center": "CC-300"}
    assert rules.rules[1].line == 6
    tax, overhead = rules.shared
    assert (tax.split, tax.to, tax.targets) == (
        "proportional", "team", ("payments", "data", "sandbox", "platform"),
    )  # fmt: skip
    assert dict(overhead.weights) == {
        "payments": Decimal("0.5"), "data": Decimal("0.3"), "sandbox": Decimal("0.2"),
    }  # fmt: skip
    assert rules.digest == parse_rules(EXAMPLE).digest


def test_other_match_forms_and_aliases() -> None:
    rules = parse_rules(
        """
dimensions: [env]
aliases: {prod: [production, prd]}
rules:
  - name: a
    match: {tag:env: prod, RegionId: {not: [us-east-1]}, SubAccountId: {is: null}}
    set: {env: prod}
  - name: b
    match: {ResourceId: {is: not null}}
    set: {env: other}
"""
    )
    assert rules.rules[0].match == (
        Filter(column="tag:env", op="in", values=("prod",)),
        Filter(column="RegionId", op="not in", values=("us-east-1",)),
        Filter(column="SubAccountId", op="is null"),
    )
    assert rules.rules[1].match == (Filter(column="ResourceId", op="is not null"),)
    assert rules.spellings(" PROD ") == ("prod", "production", "prd")


@pytest.mark.parametrize(
    ("text", "where", "says"),
    [
        (
            "dimensions: [team]\nrules:\n  - name: a\n    match: {Nope: [x]}\n    set: {team: t}\n",
            ":4:12",
            "'Nope', which is not a FOCUS column",
        ),
        (
            Y(
                "dimensions: [team]",
                "rules:",
                "  - name: a",
                "    match: {ServiceName: [x]}",
                "    set: {tea: t}",
            ),
            ":5:16",
            "sets 'tea', which is not a dimension",
        ),
        (
            Y(
                "dimensions: [team]",
                "shared:",
                "  - name: s",
                "    match: {ChargeCategory: [Tax]}",
                "    split: lumpy",
                "    to: team",
                "    targets: [a]",
            ),
            ":5:12",
            "must be even, proportional or fixed",
        ),
        (
            Y(
                "dimensions: [team]",
                "shared:",
                "  - name: s",
                "    match: {ChargeCategory: [Tax]}",
                "    split: fixed",
                "    to: team",
            ),
            ":5:12",
            "give weights",
        ),
        (
            Y(
                "dimensions: [team]",
                "shared:",
                "  - name: s",
                "    match: {ChargeCategory: [Tax]}",
                "    split: even",
                "    to: team",
            ),
            ":3:5",
            "has no targets",
        ),
        ("dimensions: [Team]\n", ":1:14", "lower case letters"),
        ("dimensions: [ServiceName]\n", ":1:14", "lower case"),
        (
            "dimensions: [team]\nrules:\n  - name: a\n    match: {team: [x]}\n    set: {team: t}\n",
            ":4:12",
            "'team', which is not a FOCUS column",
        ),
        (
            Y(
                "dimensions: [team]",
                "rules:",
                "  - name: a",
                "    match: {ServiceName: [x]}",
                "    set: {team: t}",
                "  - name: a",
                "    match: {ServiceName: [y]}",
                "    set: {team: u}",
            ),
            ":3:3",
            "two rules are named 'a'",
        ),
        ("dimensions: [team]\nrule: []\n", ":2:7", "unknown section 'rule'"),
        ("dimensions: [team\n", ":2:1", "not valid YAML"),
        ("rules: []\n", ":1:1", "dimensions: is missing"),
    ],
)
def test_mistakes_name_the_place_and_the_fix(text: str, where: str, says: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_rules(text, "rules.yaml")
    assert str(caught.value).startswith(f"rules.yaml{where}: "), str(caught.value)
    assert says in str(caught.value)


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="can't read the rules file") as caught:
        load_rules(tmp_path / "nope.yaml")
    assert caught.value.code == "rules.bad_file"


USAGE_STEP = """\
dimensions: [team]
rules:
  - {name: a, match: {SubAccountName: [a]}, set: {team: a}}
  - {name: b, match: {SubAccountName: [b]}, set: {team: b}}
shared:
  - name: platform
    match: {SubAccountName: [shared]}
    split: proportional
    to: team
    usage: {file: usage.csv, metric: requests}
"""


def test_a_usage_file_gives_quantities_per_billing_month_and_target(tmp_path: Path) -> None:
    (tmp_path / "usage.csv").write_text(
        "month, team ,requests,note\n2026-05,a,10.5,x\n\n2026-05,b,0,\n"
    )
    (step,) = parse_rules(USAGE_STEP, "rules.yaml", folder=tmp_path).shared
    assert step.usage is not None
    assert step.usage.metric == "requests"
    assert dict(step.usage.weights) == {("2026-05", "a"): Decimal("10.5"), ("2026-05", "b"): 0}


@pytest.mark.parametrize(
    ("csv_text", "message"),
    [
        ("", r"usage\.csv: the usage file is empty"),
        ("month,team\n", r"usage\.csv:1: the usage file has no column 'requests'"),
        (
            "month,team,requests\n2026-5,a,1\n",
            r"usage\.csv:2:1: month '2026-5' is not a billing month; write it as YYYY-MM",
        ),
        (
            "month,team,requests\n2026-05,zz,1\n",
            r"usage\.csv:2:2: team 'zz' is not a target of the step; targets are a, b",
        ),
        (
            "month,team,requests\n2026-05,a,lots\n",
            r"usage\.csv:2:3: requests 'lots' is not a number",
        ),
        (
            "month,team,requests\n2026-05,a,-1\n",
            r"usage\.csv:2:3: requests '-1' must be a number of zero or more",
        ),
        (
            "month,team,requests\n2026-05,a,1\n2026-05,a,2\n",
            r"usage\.csv:3:2: team 'a' appears twice for 2026-05",
        ),
    ],
)
def test_a_bad_usage_file_is_named_with_line_column_value_and_fix(
    tmp_path: Path, csv_text: str, message: str
) -> None:
    (tmp_path / "usage.csv").write_text(csv_text)
    with pytest.raises(InputError, match=message) as caught:
        parse_rules(USAGE_STEP, "rules.yaml", folder=tmp_path)
    assert caught.value.code == "rules.usage"


@pytest.mark.parametrize(
    ("replace", "by", "message"),
    [
        (
            "file: usage.csv",
            "file: missing.csv",
            r"rules\.yaml:10:19: usage file 'missing\.csv' not found in ",
        ),
        (
            "file: usage.csv",
            "file: ../usage.csv",
            r"rules\.yaml:10:19: usage file '\.\./usage\.csv' must be a path inside",
        ),
        (
            "split: proportional",
            "split: even",
            r"rules\.yaml:10:12: usage: only goes with split: proportional",
        ),
        (
            ", metric: requests",
            "",
            r"rules\.yaml:10:12: usage: of shared step 'platform' needs file: .* and metric:",
        ),
    ],
)
def test_a_usage_step_that_cannot_work_is_refused_at_its_line(
    tmp_path: Path, replace: str, by: str, message: str
) -> None:
    (tmp_path / "usage.csv").write_text("month,team,requests\n")
    with pytest.raises(InputError, match=message):
        parse_rules(USAGE_STEP.replace(replace, by), "rules.yaml", folder=tmp_path)


def test_usage_files_are_read_only_beside_a_rules_file() -> None:
    with pytest.raises(InputError, match="applied from a file beside them"):
        parse_rules(USAGE_STEP, "rules")
