"""What the ledger holds: slices with their totals, and every version of each slice.

``sample_ledger`` has source ``synthetic`` (written by version 1) and source ``sample``
(version 2); ``restated_ledger`` has the 1.0 sample written twice (versions 1 and 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from costprism.capabilities.datasources import (
    import_findings,
    list_slices,
    slice_history,
    source_freshness,
    visible_slices,
)
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import parse_filters
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from tests.ingest.conftest import focus_csv

SqlRunner = Callable[[str], list[tuple[Any, ...]]]
SAMPLE_SLICES = {
    ("20209880", "2024-09-01", 6),
    ("/providers/Microsoft.Billing/billingAccounts/8611537", "2024-09-01", 51),
    ("1234567890123", "2024-09-01", 942),
    ("20209880", "2024-10-01", 1),
}


def test_list_slices_equals_a_group_by(sample_ledger: Ledger, sample_sql: SqlRunner) -> None:
    slices = list_slices(sample_ledger, open_ledger(sample_ledger))
    observed = [
        (
            s.source,
            s.billing_account_id,
            s.billing_period_start,
            s.billing_currency,
            s.rows,
            s.billed_cost,
            s.effective_cost,
        )
        for s in slices
    ]
    expected = sample_sql(
        "SELECT x_SourceId, BillingAccountId, BillingPeriodStart, BillingCurrency, count(*), "
        "sum(BilledCost), sum(EffectiveCost) FROM costs GROUP BY ALL ORDER BY 1, 2, 3, 4"
    )
    assert observed == expected
    assert len(slices) == 10


def test_list_slices_names_the_version_that_wrote_each(sample_ledger: Ledger) -> None:
    slices = list_slices(sample_ledger, open_ledger(sample_ledger))
    assert {s.source: s.version for s in slices} == {"synthetic": 1, "sample": 2}
    assert all(s.imported_at is not None for s in slices)
    synthetic = next(s for s in slices if s.source == "synthetic")
    sample = next(s for s in slices if s.source == "sample")
    assert synthetic.imported_at < sample.imported_at


def test_list_slices_of_an_old_version(sample_ledger: Ledger) -> None:
    slices = list_slices(sample_ledger, open_ledger(sample_ledger, as_of=1))
    assert {s.source for s in slices} == {"synthetic"}
    assert {s.version for s in slices} == {1}


def test_list_slices_respects_the_scope(sample_ledger: Ledger, sample_sql: SqlRunner) -> None:
    scope = parse_filters(["ProviderName=Microsoft"])
    slices = list_slices(sample_ledger, open_ledger(sample_ledger), scope)
    [(rows, effective)] = sample_sql(
        "SELECT count(*), sum(EffectiveCost) FROM costs WHERE ProviderName = 'Microsoft'"
    )
    assert [(s.rows, s.effective_cost) for s in slices] == [(rows, effective)]


def test_slice_record_is_json_ready(sample_ledger: Ledger) -> None:
    [record] = [
        s.record()
        for s in list_slices(sample_ledger, open_ledger(sample_ledger))
        if s.billing_period_start.month == 10
    ]
    assert json.loads(json.dumps(record)) == record
    assert record["BillingPeriodStart"] == "2024-10-01"
    assert record["BilledCost"] == 0.24
    assert record["version"] == 2


def test_slice_history_shows_both_versions_and_marks_the_current(
    restated_ledger: Ledger,
) -> None:
    history = slice_history(restated_ledger, source="sample")
    written = {(v.version, v.billing_account_id, v.billing_period_start, v.rows) for v in history}
    assert written == {(version, *s) for version in (1, 2) for s in SAMPLE_SLICES}
    assert {v.version for v in history if v.current} == {2}
    assert {v.version for v in history if not v.current} == {1}
    first, second = (
        {v.billing_account_id + v.billing_period_start: v for v in history if v.version == n}
        for n in (1, 2)
    )
    assert all(v.previous_rows is None for v in first.values())
    assert {k: v.previous_rows for k, v in second.items()} == {k: v.rows for k, v in first.items()}
    assert all(v.files and v.files[0].endswith("_doubled.csv") for v in second.values())


def test_slice_history_filters_by_period_and_source(restated_ledger: Ledger) -> None:
    october = slice_history(restated_ledger, source="sample", period="2024-10")
    assert [(v.version, v.billing_period_start, v.current) for v in october] == [
        (1, "2024-10-01", False),
        (2, "2024-10-01", True),
    ]
    assert slice_history(restated_ledger, source="other") == []
    assert slice_history(restated_ledger, period="2026-05") == []


def test_slice_version_record_is_json_ready(restated_ledger: Ledger) -> None:
    records = [v.record() for v in slice_history(restated_ledger, period="2024-10")]
    assert json.loads(json.dumps(records)) == records
    assert [r["current"] for r in records] == [False, True]


def test_import_findings_name_the_warnings_each_import_recorded(sample_ledger: Ledger) -> None:
    sample, synthetic = import_findings(sample_ledger)
    assert (sample.version, sample.source, sample.rows, sample.rejected) == (2, "sample", 1000, 0)
    assert sample.warnings == {
        "datetime-format": 4000,
        "enum-case": 7,
        "missing-value": 7,
        "null-literal": 1,
        "unknown-column": 1,
    }
    assert sample.warning_count == 4016
    assert [Path(f).name for f in sample.files] == ["focus-1.0_sample_1000.csv"]
    assert (synthetic.version, synthetic.warnings, synthetic.warning_count) == (1, {}, 0)
    assert [f.version for f in import_findings(sample_ledger, source="synthetic")] == [1]


def test_import_findings_record_is_json_ready(sample_ledger: Ledger) -> None:
    records = [f.record() for f in import_findings(sample_ledger)]
    assert json.loads(json.dumps(records)) == records
    assert records[0]["warnings"]["enum-case"] == 7


def test_import_findings_count_quarantined_rows(tmp_path: Path) -> None:
    ledger = Ledger.at_home(tmp_path / "home")
    assert import_findings(ledger) == []
    path = focus_csv(10).set(4, "BilledCost", "12,5x").write(tmp_path / "q.csv")
    ingest([path], ledger, IngestOptions(source="q", quarantine=True))
    [found] = import_findings(ledger)
    assert (found.source, found.rows, found.rejected) == ("q", 9, 1)


def test_source_freshness_per_source(sample_ledger: Ledger, sample_sql: SqlRunner) -> None:
    commits = {c.version: c.timestamp for c in sample_ledger.costs.history()}
    now = commits[2] + timedelta(hours=3)
    fresh = source_freshness(sample_ledger, open_ledger(sample_ledger), now=now)
    newest = dict(  # to the day: the daily rollup answers
        sample_sql(
            "SELECT x_SourceId, date_trunc('day', max(ChargePeriodStart)) FROM costs GROUP BY ALL"
        )
    )
    assert [(f.source, f.last_import_at, f.newest_charge_period_start) for f in fresh] == [
        ("sample", commits[2], newest["sample"]),
        ("synthetic", commits[1], newest["synthetic"]),
    ]
    assert fresh[0].age == timedelta(hours=3)
    assert fresh[0].record()["age_hours"] == 3.0


def test_source_freshness_respects_the_scope_and_the_version(sample_ledger: Ledger) -> None:
    scope = parse_filters(["ProviderName=Microsoft"])
    assert [
        f.source for f in source_freshness(sample_ledger, open_ledger(sample_ledger), scope)
    ] == ["sample"]
    old = source_freshness(sample_ledger, open_ledger(sample_ledger, as_of=1))
    assert [f.source for f in old] == ["synthetic"]
    record = old[0].record()
    assert json.loads(json.dumps(record)) == record


def test_scoped_history_and_findings_show_only_slices_with_rows_in_scope(
    sample_ledger: Ledger, sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    assert visible_slices(sample_view, ()) is None
    scope = parse_filters(["ProviderName=Oracle"])
    visible = visible_slices(sample_view, scope)
    assert visible is not None
    oracle_accounts = {
        row[0]
        for row in sample_sql(
            "SELECT DISTINCT BillingAccountId FROM costs WHERE ProviderName = 'Oracle'"
        )
    }
    history = slice_history(sample_ledger, visible=visible)
    assert history
    assert {v.billing_account_id for v in history} == oracle_accounts
    assert len(slice_history(sample_ledger)) > len(history)
    assert {f.source for f in import_findings(sample_ledger, visible=visible)} == {"sample"}
    assert visible_slices(sample_view, parse_filters(["ProviderName=Nobody"])) == frozenset()
    assert slice_history(sample_ledger, visible=frozenset()) == []
