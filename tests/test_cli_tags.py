"""``costprism tags policy apply|show``, ``tags report`` and ``tags resources``, run as real
subprocesses over a home holding the two samples; the answers are the capability's."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from pathlib import Path

import pytest

from costprism.capabilities.tag_governance import apply_policy, tag_report
from costprism.engine.backends import open_ledger
from costprism.engine.filters import parse_filters
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from tests.conftest import SAMPLE_1000, SYNTHETIC_10K
from tests.engine.test_tagging import STRICT
from tests.test_cli import ok, run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("cli-tags")
    ledger = Ledger.at_home(root)
    ingest([SYNTHETIC_10K], ledger, IngestOptions(source="synthetic"))
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))
    return root


def test_a_policy_is_needed_then_applied_and_shown(home: Path, tmp_path: Path) -> None:
    missing = run_cli("tags", "report", home=home)
    assert missing.returncode == 1
    assert "error [tags.no_policy]: no tag policy is set" in missing.stderr
    broken = tmp_path / "broken.yaml"
    broken.write_text("required:\n  - keys: [tag:Owner]\n")
    refused = run_cli("tags", "policy", "apply", broken, home=home)
    assert refused.returncode == 1
    assert f"error [tags.invalid]: {broken}:2:12: " in refused.stderr
    path = tmp_path / "policy.yaml"
    path.write_text(STRICT.text)
    applied = ok(run_cli("tags", "policy", "apply", path, home=home))
    assert f"tag policy {STRICT.digest} in force" in applied
    assert "keys Owner, CostCenter, Environment, DataClassification" in applied
    assert ok(run_cli("tags", "policy", "show", home=home)) == STRICT.text


def test_report_and_resources_are_the_capabilitys(home: Path) -> None:
    ledger = Ledger.at_home(home)
    apply_policy(ledger, STRICT)  # as the test above did, should it run alone
    args = ("--month", "2026-05", "--months", "21", "--top", "4", "--where", "ProviderName=AWS")
    report = json.loads(ok(run_cli("tags", "report", *args, "--format", "json", home=home)))
    view = open_ledger(ledger)
    scope = parse_filters(["ProviderName=AWS"])
    expected = tag_report(view, STRICT, scope, month=date(2026, 5, 1), months=21, top=4)
    assert report == json.loads(json.dumps(expected.record(), default=str))
    months_csv = ok(run_cli("tags", "report", *args, "--format", "csv", home=home))
    months = list(csv.DictReader(io.StringIO(months_csv)))
    assert [(m["month"], m["compliant_percent"]) for m in months] == [
        (m.record()["month"], str(m.compliant_percent)) for m in expected.trend
    ]
    table = ok(run_cli("tags", "report", *args, home=home))
    assert "non-compliant resources, 2026-05" in table
    listed = ok(run_cli("tags", "resources", "--top", "2", "--format", "csv", home=home))
    rows = list(csv.DictReader(io.StringIO(listed)))
    top = tag_report(view, STRICT, top=2).resources
    assert [(r["ResourceId"], r["missing"], r["invalid"]) for r in rows] == [
        (r.resource_id, ", ".join(r.missing), ", ".join(r.invalid)) for r in top
    ]
    bad = run_cli("tags", "report", "--month", "05/2026", home=home)
    assert bad.returncode == 1
    assert "error [input.bad_option]: --month '05/2026' is not a month; write YYYY-MM" in bad.stderr
