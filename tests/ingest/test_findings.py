"""Tests for costprism.ingest.findings: how a finding reads, and how a report counts."""

from __future__ import annotations

from collections import Counter

import pytest

from costprism.ingest.findings import MAX_EXAMPLES, Finding, FindingReport


def _finding(**changes: object) -> Finding:
    fields: dict[str, object] = {
        "file": "bill.csv",
        "line": 6,
        "column": "BilledCost",
        "value": "12,5x",
        "rule": "bad-decimal",
        "severity": "error",
        "message": "BilledCost is not a number",
        "hint": "write plain decimals such as 12.5",
    }
    fields.update(changes)
    return Finding(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("changes", "shown"),
    [
        (
            {},
            "bill.csv:6 column BilledCost value '12,5x': error [bad-decimal] "
            "BilledCost is not a number; fix: write plain decimals such as 12.5",
        ),
        (
            {"line": None, "value": None},
            "bill.csv column BilledCost: error [bad-decimal] "
            "BilledCost is not a number; fix: write plain decimals such as 12.5",
        ),
        (
            {"column": None, "value": ""},
            "bill.csv:6 value '': error [bad-decimal] "
            "BilledCost is not a number; fix: write plain decimals such as 12.5",
        ),
        (
            {"severity": "warning", "rule": "enum-case", "value": "it's"},
            'bill.csv:6 column BilledCost value "it\'s": warning [enum-case] '
            "BilledCost is not a number; fix: write plain decimals such as 12.5",
        ),
    ],
)
def test_a_finding_reads_as_place_value_rule_and_fix(
    changes: dict[str, object], shown: str
) -> None:
    assert str(_finding(**changes)) == shown


def test_a_long_value_is_shortened_with_its_length() -> None:
    shown = str(_finding(value="x" * 100_000))
    assert f"value '{'x' * 80}… (100000 characters)'" in shown
    assert len(shown) < 300
    assert str(_finding(value="y" * 80)).count("y") == 80  # 80 characters stay whole


def test_a_report_counts_per_severity_and_rule() -> None:
    report = FindingReport()
    report.add(_finding())
    report.count("error", "bad-decimal", 4)
    report.count("error", "bad-enum", 2)
    report.count("warning", "datetime-format", 4_000)
    report.add(_finding(severity="warning", rule="unknown-column"))

    assert report.errors == 7
    assert report.warnings == 4_001
    assert report.per_rule("error") == {"bad-decimal": 5, "bad-enum": 2}
    assert list(report.per_rule("warning")) == ["datetime-format", "unknown-column"]
    assert len(report.examples) == 2  # count() keeps no example


def test_a_report_keeps_only_the_first_examples() -> None:
    report = FindingReport()
    for line in range(2, 2 + MAX_EXAMPLES + 5):
        report.add(_finding(line=line))

    assert report.counts == Counter({("error", "bad-decimal"): MAX_EXAMPLES + 5})
    assert [f.line for f in report.examples] == list(range(2, 2 + MAX_EXAMPLES))


def test_merging_reports_adds_counts_and_fills_the_examples() -> None:
    first, second = FindingReport(), FindingReport()
    for line in range(MAX_EXAMPLES - 2):
        first.add(_finding(line=line))
    for line in range(100, 105):
        second.add(_finding(line=line, rule="bad-enum"))

    first.merge(second)

    assert first.per_rule("error") == {"bad-decimal": MAX_EXAMPLES - 2, "bad-enum": 5}
    assert len(first.examples) == MAX_EXAMPLES
    assert [f.line for f in first.examples[-2:]] == [100, 101]
