"""Parsing and checking tag policy files: the documented example, the forms, and errors that
name the file, line and column with a fix; the active policy kept beside the ledger."""

from __future__ import annotations

from pathlib import Path

import pytest

from costprism.allocation.tag_policy import (
    DEFAULT_TAGGABLE,
    load_policy,
    parse_policy,
    policy_path,
    save_policy,
    saved_policy,
)
from costprism.engine.filters import Filter
from costprism.errors import InputError

# The example of docs/how-to/tag-governance.md.
EXAMPLE = """\
owner: Owner                 # the tag naming a resource's owner
taggable:                    # which rows are taggable cost
  ResourceId: {is: not null}
required:
  - keys: [Owner, CostCenter, Environment]        # required everywhere
  - scope: {SubAccountName: {like: "prod-%"}}      # extra keys for a scope
    keys: [DataClassification]
allowed:
  Environment: [prod, staging, dev]                # values, trimmed, any case
  CostCenter: {pattern: "^cc-[0-9]{4}$"}           # or a regular expression
"""


DOC = Path(__file__).resolve().parents[2] / "docs" / "how-to" / "tag-governance.md"


def test_the_how_to_shows_this_example() -> None:
    text = DOC.read_text()
    start = text.index("```yaml\n") + len("```yaml\n")
    assert text[start : text.index("```", start)] == EXAMPLE


def Y(*lines: str) -> str:  # noqa: N802  (a YAML text, one argument per line)
    return "\n".join(lines) + "\n"


def test_the_example_parses_as_written() -> None:
    policy = parse_policy(EXAMPLE, "policy.yaml")
    assert policy.owner == "Owner"
    assert policy.taggable == (Filter(column="ResourceId", op="is not null"),)
    everywhere, prod = policy.required
    assert everywhere.keys == ("Owner", "CostCenter", "Environment")
    assert everywhere.scope == ()
    assert prod.keys == ("DataClassification",)
    assert prod.scope == (Filter(column="SubAccountName", op="like", values=("prod-%",)),)
    assert (everywhere.line, prod.line) == (5, 6)
    environment, cost_center = policy.allowed
    assert (environment.key, environment.values, environment.pattern) == (
        "Environment", ("prod", "staging", "dev"), None,
    )  # fmt: skip
    assert cost_center.pattern == "^cc-[0-9]{4}$"
    assert policy.keys == ("Owner", "CostCenter", "Environment", "DataClassification")
    assert policy.allowed_for("cost_center") is cost_center
    assert policy.allowed_for("Owner") is None
    assert policy.digest == parse_policy(EXAMPLE).digest != parse_policy(EXAMPLE + "\n").digest
    assert policy.record()["required"][1] == {
        "keys": ["DataClassification"],
        "scope": ["SubAccountName like prod-%"],
    }
    assert policy.record()["allowed"]["Environment"] == {"values": ["prod", "staging", "dev"]}


def test_defaults_and_other_forms() -> None:
    policy = parse_policy(
        Y(
            "required:",
            "  - keys: team",
            "  - keys: [cost-center]",
            "    scope: {tag:env: [PROD, prd], ChargeCategory: {not: [Tax]}}",
            "allowed:",
            "  Team: ' Payments '",
            "  Env: {pattern: '(?i)^p'}",
        )
    )
    assert policy.owner == "Owner"
    assert policy.taggable == DEFAULT_TAGGABLE
    assert policy.required[0].keys == ("team",)
    assert policy.required[1].scope == (
        Filter(column="tag:env", op="in", values=("PROD", "prd")),
        Filter(column="ChargeCategory", op="not in", values=("Tax",)),
    )
    assert policy.allowed[0].values == ("payments",)  # trimmed, lower-cased
    assert policy.keys == ("team", "cost-center", "Env")  # Team is team
    every_row = parse_policy(Y("taggable: {}", "required: [{keys: [Owner]}]"))
    assert every_row.taggable == ()


@pytest.mark.parametrize(
    ("text", "where", "message"),
    [
        ("", "", "the tag policy is empty"),
        (Y("allowed: {a: [b]}"), ":1:1", "required: is missing"),
        (Y("required: [{keys: [a]}]", "owners: x"), ":2:9", "unknown key 'owners'"),
        (Y("required: {keys: [a]}"), ":1:11", "must be a list of entries"),
        (Y("required: []"), ":1:11", "must be a list of entries"),
        (Y("required:", "  - scope: {RegionId: x}"), ":2:5", "needs keys:"),
        (Y("required:", "  - keys: [a]", "    on: x"), ":3:9", "unknown key 'on'"),
        (Y("required:", "  - keys: [CostCenter, cost_center]"), ":2:24", "listed twice"),
        (Y("required:", "  - keys: [tag:Owner]"), ":2:12", "without tag:, e.g. 'Owner'"),
        (Y("required:", "  - keys: [a]", "    scope: {}"), ":3:12", "scope: is empty"),
        (Y("required:", "  - keys: [a]", "    scope: {Region: x}"), ":3:12", "'Region', not a"),
        (Y("required: [{keys: [a]}]", "taggable: {Resource: x}"), ":2:11", "'Resource', not a"),
        (Y("required: [{keys: [a]}]", "taggable: {RegionId: {near: x}}"), ":2:22", "like:, not:"),
        (Y("required: [{keys: [a]}]", "owner: [a, b]"), ":2:8", "must be a single value"),
        (Y("required: [{keys: [a]}]", "allowed: [a]"), ":2:10", "map tag keys to values"),
        (Y("required: [{keys: [a]}]", "allowed: {Env: [a], env: [b]}"), ":2:21", "twice"),
        (
            Y("required: [{keys: [a]}]", "allowed: {Env: {values: [a]}}"),
            ":2:25",
            "unknown key 'values'",
        ),
        (Y("required: [{keys: [a]}]", "allowed: {Env: {pattern: '('}}"), ":2:26", "not a regular"),
        (Y("required: [{keys: [a]}]", "allowed: {E: {pattern: 'a(?!b)'}}"), ":2:24", "look-around"),
        (Y("required: [{keys: [a]}]", "allowed: {E: {pattern: '(a)\\1'}}"), ":2:24", "back-ref"),
        (Y("required: [{keys: [a]", "allowed: x"), ":2:1", "not valid YAML"),
    ],
)
def test_errors_name_file_line_column_and_the_fix(text: str, where: str, message: str) -> None:
    with pytest.raises(InputError) as caught:
        parse_policy(text, "policy.yaml")
    assert caught.value.message.startswith(f"policy.yaml{where}: "), caught.value.message
    assert message in caught.value.message
    expected = "tags.bad_yaml" if "YAML" in message else "tags.invalid"
    assert caught.value.code == expected


def test_the_active_policy_is_kept_beside_the_ledger(tmp_path: Path) -> None:
    root = tmp_path / "ledger"
    assert saved_policy(root) is None
    written = save_policy(root, parse_policy(EXAMPLE))
    assert written == policy_path(root) == root / "tag_policy" / "policy.yaml"
    assert written.read_text() == EXAMPLE
    stored = saved_policy(root)
    assert stored is not None
    assert stored.digest == parse_policy(EXAMPLE).digest
    replacement = parse_policy(Y("required: [{keys: [team]}]"))
    save_policy(root, replacement)
    again = saved_policy(root)
    assert again is not None
    assert again.keys == ("team",)
    assert [p.name for p in written.parent.iterdir()] == ["policy.yaml"]  # no scratch left


def test_a_policy_file_is_read_with_its_name_in_errors(tmp_path: Path) -> None:
    path = tmp_path / "tags.yaml"
    path.write_text(Y("required:", "  - keys: []"))
    with pytest.raises(InputError, match=r"tags\.yaml:2:11: a required tag key must be a value"):
        load_policy(path)
    with pytest.raises(InputError, match="can't read the tag policy file") as caught:
        load_policy(tmp_path / "missing.yaml")
    assert caught.value.code == "tags.bad_file"
