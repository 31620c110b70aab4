"""Run the FinOps Foundation's FOCUS validator (PyPI ``focus-validator``) on a file.

Use::

    from tests.focus_validator import KNOWN_FALSE_POSITIVES, failed_rules, validate

    failed = failed_rules(path)             # {rule id: the validator's message}
    assert failed.keys() <= KNOWN_FALSE_POSITIVES.keys(), failed
    report = validate(path)                 # the same, with the run's totals
    reports = validate_all([a, b])          # several files at once (one process each)

``failed_rules(path)`` validates a CSV, gzip CSV or Parquet file against FOCUS 1.2 with
every applicability criterion on (``--applicability-criteria ALL``) and returns the rules
that did not pass: failed (the data breaks the rule) or errored (a column the rule needs is
missing, or a rule it depends on failed). The JUnit report names rules but has no
per-rule row counts; the message says which kind it was. Rules the validator skips (201 of
578 are "dynamic" and never run) are not failures.

:data:`KNOWN_FALSE_POSITIVES` is the one allow-list: rule id → why the failure is the
validator's bug, not the data's (composite rules that fail only because an allow-listed
child fails are listed with it). Anything else a CostPrism file fails is a defect to fix.

The validator lives in its own Python 3.12 virtual environment, ``.venv-fv``, made by
``make validator`` (``make test`` runs it). Where it is missing, these functions fail the
test with that advice. Quirks handled here (see ``docs/research/focus-tooling.md`` in the
shared folder): it exits 0 even when rules fail, so the JUnit report is parsed; it opens
``focus_validator/rules/currency_codes.csv`` relative to the working directory, so it runs
in a temporary folder holding a ``focus_validator`` link to the installed package; it
rejects ``.csv.gz``, so such a file is decompressed to a temporary file first.

Not handled: on CSV the validator infers column types from the first 10,000 rows (Polars),
so a CSV over 10,000 rows whose first rows have numeric-looking ``BillingAccountId`` or
``SubAccountId`` (AWS) fails those columns' type rules spuriously. Validate such files as
Parquet (``costprism export … x.parquet``), which carries its types.
"""

from __future__ import annotations

import gzip
import os
import shutil
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
VENV = ROOT / ".venv-fv"
FOCUS_VERSION = "1.2"
TIMEOUT_SECONDS = 300

KNOWN_FALSE_POSITIVES: dict[str, str] = {
    # leaf rules whose SQL does not say what the specification says
    "BilledCost-C-005-C": (
        "takes 'payment received by a third party' to be ProviderName != InvoiceIssuerName, "
        "so a provider invoicing under its legal name ('AWS' by 'Amazon Web Services, Inc.') "
        "must bill 0"
    ),
    "EffectiveCost-C-005-C": (
        "wants EffectiveCost 0 on every Purchase row, also on purchases that cover no future "
        "charges (a support plan, a SaaS subscription), whose EffectiveCost is their cost"
    ),
    "InvoiceId-C-004-C": "has no condition: every row with an InvoiceId fails",
    "CapacityReservationStatus-C-004-C": (
        "has no condition: every row with a null status fails, also those without a "
        "CapacityReservationId (where the status must be null)"
    ),
    "CommitmentDiscountStatus-C-004-C": (
        "its condition is inverted (CommitmentDiscountId IS NULL): every row without a "
        "commitment discount fails, where the status must be null"
    ),
    # composite rules (AND of their children) failing only through a leaf above
    "BilledCost-C-000-M": "composite: fails through BilledCost-C-005-C",
    "EffectiveCost-C-000-M": "composite: fails through EffectiveCost-C-005-C",
    "CapacityReservationStatus-C-002-C": "composite: through CapacityReservationStatus-C-004-C",
    "CapacityReservationStatus-C-000-C": "composite: through CapacityReservationStatus-C-002-C",
    "CommitmentDiscountStatus-C-002-C": "composite: through CommitmentDiscountStatus-C-004-C",
    "CommitmentDiscountStatus-C-000-C": "composite: through CommitmentDiscountStatus-C-002-C",
    "CostAndUsage-D-002-M": "composite of every column's rules: fails through those above",
    "CostAndUsage-D-000-M": "composite: fails through CostAndUsage-D-002-M",
}
"""Rule id → the one-line reason its failure is a validator bug (focus-validator 2.2.1, rule
model 1.2.0.1; the rules' SQL is shown by ``focus-validator --explain-mode``). A composite
fails when any child does, and the failing child is reported too, so listing a composite
hides nothing that is not itself listed."""


@dataclass(frozen=True, kw_only=True)
class ValidatorReport:
    """One validator run: the totals of its JUnit report and the rules that did not pass."""

    tests: int
    failures: int
    errors: int
    skipped: int
    failed: dict[str, str]  # rule id -> "failed: …" or "errored: …" with the message

    @property
    def passed(self) -> int:
        return self.tests - self.failures - self.errors - self.skipped


def failed_rules(path: Path) -> dict[str, str]:
    """The rules ``path`` does not pass: rule id → what the validator said."""
    return validate(path).failed


def validate(path: Path) -> ValidatorReport:
    """Run the validator (FOCUS 1.2, every applicability criterion) on one file."""
    package = validator_package()
    with tempfile.TemporaryDirectory(prefix="focus-validator-") as folder:
        work = Path(folder)
        (work / "focus_validator").symlink_to(package, target_is_directory=True)
        data = plain_file(path, work)
        report = work / "report.xml"
        _run(data, report, work)
        return parse_junit(report)


def validate_all(paths: Sequence[Path]) -> list[ValidatorReport]:
    """:func:`validate` each file, as many at once as there are CPUs; in ``paths`` order."""
    validator_package()  # fail once, here, when it is missing
    with ThreadPoolExecutor(max_workers=min(len(paths), os.cpu_count() or 1) or 1) as pool:
        return list(pool.map(validate, paths))


def validator_package() -> Path:
    """The installed ``focus_validator`` package folder; fails the test when missing."""
    found = sorted(VENV.glob("lib/python3*/site-packages/focus_validator"))
    if not (VENV / "bin" / "focus-validator").exists() or not found:
        pytest.fail(
            f"the FOCUS validator is not installed in {VENV}; run 'make validator' "
            "(make test does it) to install focus-validator in its own Python 3.12 venv",
            pytrace=False,
        )
    return found[0]


def parse_junit(report: Path) -> ValidatorReport:
    """Read the validator's JUnit XML (``--output-type unittest``)."""
    root = ET.parse(report).getroot()
    failed: dict[str, str] = {}
    for case in root.iter("testcase"):
        rule = case.get("name", "").split(" :: ")[0]
        for kind, word in (("failure", "failed"), ("error", "errored")):
            outcome = case.find(kind)
            if outcome is not None:
                failed[rule] = f"{word}: {outcome.get('message', '')}"
    return ValidatorReport(
        tests=int(root.get("tests", 0)),
        failures=int(root.get("failures", 0)),
        errors=int(root.get("errors", 0)),
        skipped=int(root.get("skipped", 0)),
        failed=failed,
    )


def plain_file(path: Path, work: Path) -> Path:
    """``path`` itself, or for ``.gz`` its content decompressed into folder ``work``."""
    if path.suffix != ".gz":
        return path.resolve()
    plain = work / path.with_suffix("").name
    with gzip.open(path, "rb") as source, plain.open("wb") as target:
        shutil.copyfileobj(source, target, length=1 << 20)
    return plain


def _run(data: Path, report: Path, work: Path) -> None:
    command = [
        str(VENV / "bin" / "focus-validator"),
        "--data-file", str(data),
        "--validate-version", FOCUS_VERSION,
        "--block-download",
        "--applicability-criteria", "ALL",
        "--output-type", "unittest",
        "--output-destination", str(report),
    ]  # fmt: skip
    try:
        done = subprocess.run(
            command, cwd=work, capture_output=True, text=True, timeout=TIMEOUT_SECONDS
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"focus-validator ran over {TIMEOUT_SECONDS} s on {data}", pytrace=False)
    if done.returncode != 0 or not report.exists():
        pytest.fail(
            f"focus-validator exited {done.returncode} on {data} without a report:\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-4000:]}",
            pytrace=False,
        )
