"""The validator helper itself (tests/focus_validator.py), without running the validator:
its JUnit parsing, its .gz handling, and its failure when the validator is not installed."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest

from tests import focus_validator
from tests.focus_validator import (
    KNOWN_FALSE_POSITIVES,
    failed_rules,
    parse_junit,
    plain_file,
    validate_all,
)

JUNIT = """<?xml version='1.0' encoding='utf-8'?>
<testsuites name="FOCUS Validations" tests="4" failures="1" errors="1" skipped="1">
  <testsuite name="BilledCost-C-000-BilledCost" time="0">
    <testcase name="BilledCost-C-001-M :: Type" time="0" />
    <testcase name="BilledCost-C-005-C :: Validation" time="0">
      <failure name="BilledCost-C-005-C" message="Validation check for BilledCost"
               type="AssertionError">Failed</failure>
    </testcase>
  </testsuite>
  <testsuite name="Base-Unknown" time="0">
    <testcase name="InvoiceId-C-001-M :: None" time="0">
      <error message="Upstream dependency failed: CostAndUsage-D-042-O (missing column)" />
    </testcase>
    <testcase name="AvailabilityZone-C-003-C :: Nullability" time="0">
      <skipped message="Nullability check for AvailabilityZone" />
    </testcase>
  </testsuite>
</testsuites>
"""


def test_failures_and_errors_are_failed_rules_and_skips_are_not(tmp_path: Path) -> None:
    (tmp_path / "report.xml").write_text(JUNIT)
    report = parse_junit(tmp_path / "report.xml")
    assert report.failed == {
        "BilledCost-C-005-C": "failed: Validation check for BilledCost",
        "InvoiceId-C-001-M": (
            "errored: Upstream dependency failed: CostAndUsage-D-042-O (missing column)"
        ),
    }
    assert (report.tests, report.failures, report.errors, report.skipped) == (4, 1, 1, 1)
    assert report.passed == 1


def test_a_gzip_file_is_decompressed_and_others_are_used_as_they_are(tmp_path: Path) -> None:
    packed = tmp_path / "costs.csv.gz"
    with gzip.open(packed, "wt") as handle:
        handle.write("BilledCost\n1\n")
    work = tmp_path / "work"
    work.mkdir()
    plain = plain_file(packed, work)
    assert (plain, plain.read_text()) == (work / "costs.csv", "BilledCost\n1\n")
    assert plain_file(tmp_path / "x.parquet", work) == (tmp_path / "x.parquet").resolve()


def test_a_missing_validator_fails_the_test_saying_what_to_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(focus_validator, "VENV", tmp_path / "no-venv")
    for call in (lambda: failed_rules(tmp_path / "x.csv"), lambda: validate_all([tmp_path])):
        with pytest.raises(pytest.fail.Exception, match="run 'make validator'"):
            call()


def test_the_validator_is_installed() -> None:
    """make test installs it (make validator); this fails, not skips, where it is missing."""
    package = focus_validator.validator_package()
    assert (package / "rules" / "currency_codes.csv").exists()


def test_every_allow_list_entry_has_a_reason() -> None:
    assert KNOWN_FALSE_POSITIVES
    for rule, reason in KNOWN_FALSE_POSITIVES.items():
        assert rule.count("-") == 3, rule
        assert len(reason) > 20, rule
