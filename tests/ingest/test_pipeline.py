"""Tests for costprism.ingest.pipeline: real sample files into a real Delta ledger.

Totals are compared to the cent with a raw DuckDB SUM over the same file and with the exact
sums in the sample README; slices, versions and as-of reads are checked on small files cut
from the 10k sample.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from costprism.errors import InputError, LedgerError
from costprism.ingest.pipeline import IngestOptions, IngestResult, ingest, validate
from costprism.ledger import EPOCH, Ledger, rollups
from tests.ingest.conftest import (
    SAMPLE_10K,
    FocusCsv,
    Totals,
    cents,
    focus_csv,
    ledger_query,
    ledger_rows,
    ledger_state,
    ledger_totals,
)

# name: (rows, Σ BilledCost, Σ EffectiveCost) as the sample README lists them (USD).
SAMPLES = {
    "focus-1.0_sample_1000.csv": (1_000, "20.520227", "14.976514"),
    SAMPLE_10K: (10_000, "303515.358783", "303515.358783"),
    "focus-1.2_synthetic_aws-azure-gcp_100k.csv.gz": (100_000, "3044416.009264", "3044416.009264"),
    "focus-1.3_synthetic_aws-azure-gcp_3k.csv": (3_000, "84607.225298", "84607.225298"),
}
SAMPLE_1_0 = "focus-1.0_sample_1000.csv"
CONTRACT_COMMITMENTS = "focus-1.3_synthetic_contract-commitment_aws-azure-gcp.csv"
COST_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")

Imported = Callable[[str], tuple[Ledger, IngestResult]]


@pytest.fixture(scope="module")
def imported(tmp_path_factory: pytest.TempPathFactory, focus_data: Path) -> Imported:
    """Each sample imported once per module into its own ledger."""
    done: dict[str, tuple[Ledger, IngestResult]] = {}

    def get(name: str) -> tuple[Ledger, IngestResult]:
        if name not in done:
            ledger = Ledger.at_home(tmp_path_factory.mktemp("home"))
            done[name] = (ledger, ingest([focus_data / name], ledger, IngestOptions(source="s")))
        return done[name]

    return get


def raw_totals(path: Path) -> Totals:
    """The file's own sums, read as text and cast by DuckDB (no CostPrism code involved)."""
    with duckdb.connect() as connection:
        rows = connection.sql(
            "SELECT BillingCurrency, sum(TRY_CAST(BilledCost AS DECIMAL(38, 12))), "
            "sum(TRY_CAST(EffectiveCost AS DECIMAL(38, 12))) "
            f"FROM read_csv('{path}', all_varchar = true, nullstr = ['NULL', '']) GROUP BY 1"
        ).fetchall()
    return {currency: (billed, effective) for currency, billed, effective in rows}


def scaled(value: str, factor: str) -> str:
    return str(Decimal(value) * Decimal(factor)) if value else value


# --- the four cost-and-usage samples -------------------------------------------------------------


@pytest.mark.parametrize("name", list(SAMPLES))
def test_sample_imports_without_errors_and_keeps_every_cent(
    name: str, imported: Imported, focus_data: Path
) -> None:
    rows, billed, effective = SAMPLES[name]
    ledger, result = imported(name)

    assert result.report.errors == 0
    assert result.rows == rows
    assert result.rejected == 0
    assert result.versions == {"cost_and_usage": 1}
    assert sum(change.rows for change in result.slices) == rows
    assert ledger_rows(ledger.costs) == rows
    stored = ledger_totals(ledger.costs)
    assert cents(stored) == cents(raw_totals(focus_data / name))
    assert {c: (round(b, 6), round(e, 6)) for c, (b, e) in stored.items()} == {
        "USD": (Decimal(billed), Decimal(effective))
    }


def test_raw_sums_agree_with_the_readme(focus_data: Path) -> None:
    """The reference the ledger is compared with is itself right (1.0 sample, NULL literals)."""
    (billed, effective) = raw_totals(focus_data / SAMPLE_1_0)["USD"]
    assert (round(billed, 6), round(effective, 6)) == (Decimal("20.520227"), Decimal("14.976514"))


def test_samples_are_sliced_by_billing_account_and_period(imported: Imported) -> None:
    _, result = imported(SAMPLE_1_0)
    slices = {(c.slice.billing_account_id, c.slice.period): c.rows for c in result.slices}
    assert slices == {
        ("1234567890123", "2024-09-01"): 942,
        ("/providers/Microsoft.Billing/billingAccounts/8611537", "2024-09-01"): 51,
        ("20209880", "2024-09-01"): 6,
        ("20209880", "2024-10-01"): 1,
    }
    assert all(c.previous_rows is None for c in result.slices)


# --- the FOCUS 1.0 sample's quirks ---------------------------------------------------------------


def test_focus_1_0_warnings_are_counted(imported: Imported) -> None:
    _, result = imported(SAMPLE_1_0)

    assert result.files[0].focus_version == "1.0"
    assert result.report.per_rule("warning") == {
        "datetime-format": 4_000,  # four period columns without T/Z on every row
        "enum-case": 7,  # Oracle's ChargeFrequency 'Usage-based'
        "missing-value": 7,  # Oracle's ContractedCost NULL
        "null-literal": 1,  # one finding for the file
        "unknown-column": 1,  # Id
    }
    header = [f for f in result.report.examples if f.rule == "unknown-column"]
    assert [(f.line, f.column, f.severity) for f in header] == [(1, "Id", "warning")]
    assert "x_Id" in header[0].message
    (nulls,) = [f for f in result.report.examples if f.rule == "null-literal"]
    assert nulls.line == 1
    assert len(re.findall(r"\w+ \(\d+\)", nulls.message)) == 19  # as the sample README says
    assert "ChargeClass (1000)" in nulls.message
    assert "Tags (289)" in nulls.message


def test_focus_1_0_unknown_column_is_kept_as_x_id(imported: Imported, focus_data: Path) -> None:
    ledger, _ = imported(SAMPLE_1_0)
    stored = ledger_query(ledger.costs, "SELECT x_Id FROM costs ORDER BY x_Id")
    with duckdb.connect() as connection:
        raw = connection.sql(
            f"SELECT Id FROM read_csv('{focus_data / SAMPLE_1_0}', all_varchar = true) ORDER BY Id"
        ).fetchall()
    assert len(stored) == 1_000
    assert stored == raw


def test_focus_1_0_x_id_is_in_the_ledger_schema(imported: Imported) -> None:
    ledger, _ = imported(SAMPLE_1_0)
    assert "x_Id" in ledger.costs.current_schema().names


def test_focus_1_0_enum_case_and_times_are_normalized(imported: Imported) -> None:
    ledger, _ = imported(SAMPLE_1_0)
    frequencies = ledger_query(
        ledger.costs,
        "SELECT ProviderName, ChargeFrequency, count(*) FROM costs GROUP BY ALL ORDER BY ALL",
    )
    assert ("Oracle", "Usage-Based", 7) in frequencies
    assert not [row for row in frequencies if row[1] == "Usage-based"]
    periods = ledger_query(
        ledger.costs,
        "SELECT strftime(min(ChargePeriodStart), '%Y-%m-%dT%H:%M:%SZ'), "
        "strftime(max(BillingPeriodEnd), '%Y-%m-%dT%H:%M:%SZ') FROM costs",
    )
    assert periods == [("2024-09-01T00:00:00Z", "2024-11-01T00:00:00Z")]


# --- the contract commitment dataset -------------------------------------------------------------


def test_contract_commitments_go_to_their_own_table(ledger: Ledger, focus_data: Path) -> None:
    result = ingest([focus_data / CONTRACT_COMMITMENTS], ledger, IngestOptions(source="cc"))

    assert result.versions == {"contract_commitment": 1}
    assert result.files[0].dataset == "contract_commitment"
    assert [(c.dataset, c.rows, c.slice.period) for c in result.slices] == [
        ("contract_commitment", 219, EPOCH.strftime("%Y-%m-%d"))
    ]
    assert ledger_rows(ledger.contract_commitments) == 219
    assert not ledger.costs.exists()

    again = ingest([focus_data / CONTRACT_COMMITMENTS], ledger, IngestOptions(source="cc"))
    assert [(c.rows, c.previous_rows) for c in again.slices] == [(219, 219)]
    assert ledger_rows(ledger.contract_commitments) == 219


# --- specification examples: column subsets ------------------------------------------------------


@pytest.mark.parametrize(
    "example",
    sorted(
        p.name
        for p in (
            Path(__file__).resolve().parents[2].parent
            / "shared/data/focus/spec-examples-1.2/commitment_discount_scenarios"
        ).glob("*.csv")
    ),
)
def test_spec_example_is_refused_as_a_column_subset(
    example: str, ledger: Ledger, focus_data: Path
) -> None:
    path = focus_data / "spec-examples-1.2" / "commitment_discount_scenarios" / example
    with pytest.raises(InputError) as caught:
        ingest([path], ledger, IngestOptions(source="spec"))

    assert caught.value.code == "input.missing_columns"
    message = str(caught.value)
    assert message.startswith(f"{path}:1: missing mandatory columns")
    assert "BillingCurrency" in message
    assert "BillingAccountId" in message
    assert "export the full FOCUS dataset" in message
    assert not ledger.costs.exists()


def test_spec_example_leaves_an_existing_ledger_as_it_was(
    ledger: Ledger, small_csv: Callable[..., Path], focus_data: Path
) -> None:
    ingest([small_csv()], ledger, IngestOptions(source="spec"))
    before = ledger_state(ledger)
    example = next((focus_data / "spec-examples-1.2" / "commitment_discount_scenarios").iterdir())

    with pytest.raises(InputError):
        ingest([example], ledger, IngestOptions(source="spec"))

    assert ledger_state(ledger) == before
    assert before.version == 1


# --- several files, several slices ---------------------------------------------------------------


def test_files_split_by_provider_land_in_one_commit(
    ledger: Ledger, tmp_path: Path, small_csv: Callable[..., Path]
) -> None:
    ingest([small_csv()], ledger, IngestOptions(source="other"))
    whole = focus_csv(10_000)
    paths = []
    for provider in ("AWS", "Microsoft Azure", "Google Cloud"):
        part = whole.where(lambda row, p=provider: row["ProviderName"] == p)
        assert 3_333 <= len(part.rows) <= 3_334
        paths.append(part.write(tmp_path / "split" / f"{provider}.csv"))

    result = ingest(paths, ledger, IngestOptions(source="split"))

    assert result.versions == {"cost_and_usage": 2}
    assert [c.version for c in ledger.costs.history()] == [2, 1, 0]
    assert len(result.files) == 3
    accounts = {c.slice.billing_account_id for c in result.slices}
    assert accounts == set(whole.column("BillingAccountId"))
    assert len(result.slices) == len(accounts) == 6
    split = ledger_query(
        ledger.costs,
        "SELECT round(sum(BilledCost), 6), count(*), count(DISTINCT x_RowId) FROM costs "
        "WHERE x_SourceId = 'split'",
    )
    assert split == [(Decimal("303515.358783"), 10_000, 10_000)]
    assert ledger_rows(ledger.costs) == 10_020


def test_a_file_spanning_two_billing_periods_gives_two_slices(
    ledger: Ledger, tmp_path: Path
) -> None:
    table = focus_csv(200)
    account = table.get(1, "BillingAccountId")
    moved = 0
    for row in range(1, 201, 2):
        if table.get(row, "BillingAccountId") == account:
            table.set(row, "BillingPeriodStart", "2026-06-01T00:00:00Z")
            table.set(row, "BillingPeriodEnd", "2026-07-01T00:00:00Z")
            moved += 1
    in_may = table.column("BillingAccountId").count(account) - moved
    assert moved > 0
    assert in_may > 0

    result = ingest([table.write(tmp_path / "two.csv")], ledger, IngestOptions(source="s"))

    mine = {c.slice.period: c.rows for c in result.slices if c.slice.billing_account_id == account}
    assert mine == {"2026-05-01": in_may, "2026-06-01": moved}
    assert len(result.slices) == 3
    assert len({c.slice.key for c in result.slices}) == 3


# --- re-imports, restatements and as-of reads ----------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(
    ledger: Ledger, small_csv: Callable[..., Path]
) -> None:
    path = small_csv(rows=200)
    first = ingest([path], ledger, IngestOptions(source="s"))
    before = ledger_totals(ledger.costs)

    second = ingest([path], ledger, IngestOptions(source="s"))

    assert second.versions == {"cost_and_usage": first.versions["cost_and_usage"] + 1}
    assert ledger_totals(ledger.costs) == before
    assert ledger_rows(ledger.costs) == 200
    assert sorted((c.slice.key, c.rows) for c in second.slices) == sorted(
        (c.slice.key, c.rows) for c in first.slices
    )
    assert all(c.previous_rows == c.rows for c in second.slices)
    assert ledger.costs.slice_rows() == {c.slice.key: c.rows for c in first.slices}


def test_a_restated_file_replaces_its_slices_and_the_old_version_stays_readable(
    ledger: Ledger, tmp_path: Path
) -> None:
    original = focus_csv(200)
    restated = focus_csv(200)
    for name in COST_COLUMNS:
        restated.map_column(name, lambda v: scaled(v, "1.1"))
    ingest([original.write(tmp_path / "bill.csv")], ledger, IngestOptions(source="s"))
    old_version = ledger.costs.files()[1]
    old = ledger_totals(ledger.costs)["USD"]

    result = ingest([restated.write(tmp_path / "bill.csv")], ledger, IngestOptions(source="s"))

    new = ledger_totals(ledger.costs)["USD"]
    assert result.versions == {"cost_and_usage": old_version + 1}
    assert all(c.previous_rows == c.rows for c in result.slices)
    assert ledger_rows(ledger.costs) == 200
    assert round(new[0], 6) == round(old[0] * Decimal("1.1"), 6)
    assert round(new[1], 6) == round(old[1] * Decimal("1.1"), 6)
    assert ledger_totals(ledger.costs, as_of=old_version)["USD"] == old

    stamps = {c.version: c.timestamp for c in ledger.costs.history()}
    between = stamps[old_version] + (stamps[old_version + 1] - stamps[old_version]) / 2
    assert stamps[old_version] < between < stamps[old_version + 1]
    assert ledger_totals(ledger.costs, as_of=between)["USD"] == old
    assert ledger_totals(ledger.costs, as_of=stamps[old_version + 1])["USD"] == new


def test_history_lists_the_slices_of_each_import(
    ledger: Ledger, small_csv: Callable[..., Path]
) -> None:
    result = ingest([small_csv(rows=200)], ledger, IngestOptions(source="billing"))
    latest = ledger.costs.history()[0]

    assert latest.version == result.versions["cost_and_usage"]
    assert latest.operation == "WRITE"
    assert latest.metadata["ingest_id"] == result.ingest_id
    assert latest.metadata["source"] == "billing"
    assert latest.metadata["rows"] == 200
    listed = {(s["key"], s["billing_account_id"], s["rows"]) for s in latest.metadata["slices"]}
    assert listed == {(c.slice.key, c.slice.billing_account_id, c.rows) for c in result.slices}
    assert json.dumps(latest.metadata)  # plain JSON, as the CLI prints it


# --- the shrink guard ----------------------------------------------------------------------------


def _per_account(table: FocusCsv, keep: Callable[[int], int]) -> FocusCsv:
    """Per billing account, the first keep(n) of its n rows."""
    accounts = table.column("BillingAccountId")
    seen: dict[str, int] = {}
    rows = []
    for account, row in zip(accounts, table.rows, strict=True):
        seen[account] = seen.get(account, 0) + 1
        if seen[account] <= keep(accounts.count(account)):
            rows.append(list(row))
    return FocusCsv(header=list(table.header), rows=rows)


def test_a_reimport_shrinking_a_slice_by_more_than_half_is_refused(
    ledger: Ledger, tmp_path: Path
) -> None:
    full = focus_csv(200)
    ingest([full.write(tmp_path / "full.csv")], ledger, IngestOptions(source="s"))
    before = ledger_state(ledger)
    truncated = _per_account(full, lambda n: n // 2 - 1).write(tmp_path / "truncated.csv")

    with pytest.raises(LedgerError) as caught:
        ingest([truncated], ledger, IngestOptions(source="s"))

    assert caught.value.code == "ledger.shrink"
    message = str(caught.value)
    assert "shrink 2 slice(s)" in message
    assert "s/100000000001/2026-05: 76 → 37 rows" in message
    assert "--force" in message
    assert ledger_state(ledger) == before

    forced = ingest([truncated], ledger, IngestOptions(source="s", force=True))
    assert forced.versions == {"cost_and_usage": before.version + 1}
    assert ledger_rows(ledger.costs) == 37 + 61


def test_a_reimport_of_exactly_half_is_accepted(ledger: Ledger, tmp_path: Path) -> None:
    full = _per_account(focus_csv(200), lambda n: n - n % 2)
    ingest([full.write(tmp_path / "full.csv")], ledger, IngestOptions(source="s"))

    half = _per_account(full, lambda n: n // 2)
    result = ingest([half.write(tmp_path / "half.csv")], ledger, IngestOptions(source="s"))

    assert all(c.rows * 2 == c.previous_rows for c in result.slices)
    assert ledger_rows(ledger.costs) == len(full.rows) // 2


# --- the daily rollup ----------------------------------------------------------------------------


def test_an_import_rolls_up_the_cost_slices_it_committed(
    ledger: Ledger, small_csv: Callable[..., Path]
) -> None:
    result = ingest([small_csv(rows=200)], ledger, IngestOptions(source="s"))

    assert result.rollup is not None
    assert result.rollup.costs_version == result.versions["cost_and_usage"]
    assert set(result.rollup.slices) == {c.slice.key for c in result.slices}
    assert result.report.warnings == 0


def test_a_failed_rollup_write_keeps_the_import_and_warns(
    ledger: Ledger, small_csv: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*args: object) -> int:
        raise OSError("No space left on device")

    monkeypatch.setattr(rollups, "_write", fail)
    result = ingest([small_csv(rows=200)], ledger, IngestOptions(source="s"))

    assert result.versions == {"cost_and_usage": 1}
    assert result.rollup is None
    assert ledger_rows(ledger.costs) == 200
    assert result.report.per_rule("warning") == {"rollup-failed": 1}
    (finding,) = result.report.examples
    assert "No space left on device" in finding.message
    assert "costprism rollup rebuild" in finding.hint
    assert rollups.rollup_files(ledger, 1) is None


def test_contract_commitments_have_no_rollup(imported: Imported) -> None:
    ledger, result = imported(CONTRACT_COMMITMENTS)
    assert result.rollup is None
    assert not ledger.costs_daily.exists()


# --- scratch space -------------------------------------------------------------------------------


def test_an_import_clears_what_a_killed_import_left_in_its_spill_folder(
    ledger: Ledger, small_csv: Callable[..., Path]
) -> None:
    dead = ledger.root / "_spill" / "00000007"
    dead.mkdir(parents=True)
    (dead / "group-0000.parquet").write_bytes(b"left by a killed import")

    ingest([small_csv(rows=50)], ledger, IngestOptions(source="s"))

    assert list((ledger.root / "_spill").iterdir()) == []


# --- dry runs and option checks ------------------------------------------------------------------


def test_validate_stores_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, focus_data: Path
) -> None:
    bad = focus_csv(20).set(3, "BilledCost", "12,5x").write(tmp_path / "in" / "bad.csv")
    monkeypatch.chdir(tmp_path)

    result = validate([focus_data / SAMPLE_1_0, bad], IngestOptions(source="s"))

    assert result.versions == {}
    assert result.ingest_id is None
    assert result.slices == ()
    assert {Path(f.path).name: f.rows for f in result.files} == {SAMPLE_1_0: 1_000, "bad.csv": 19}
    assert result.report.per_rule("error") == {"bad-decimal": 1}
    assert result.report.per_rule("warning")["datetime-format"] == 4_000
    errors = [f for f in result.report.examples if f.severity == "error"]
    assert [(f.file, f.line, f.value) for f in errors] == [(str(bad.resolve()), 4, "12,5x")]
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["bad.csv", "in"]


@pytest.mark.parametrize("source", ["", "two words", "a/b", "x;drop"])
def test_a_bad_source_name_is_refused_before_anything_is_read(
    source: str, ledger: Ledger, small_csv: Callable[..., Path]
) -> None:
    with pytest.raises(InputError) as caught:
        ingest([small_csv()], ledger, IngestOptions(source=source))
    assert caught.value.code == "input.bad_source"
    assert repr(source) in str(caught.value)
    assert not ledger.root.exists()
