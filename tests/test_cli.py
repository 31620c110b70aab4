"""The real ``costprism`` command, run as a subprocess against homes in a temporary folder.

Exit codes: 0 success, 1 user error (with a message, never a traceback), 2 internal error.
The FOCUS 1.0 sample's totals (shared/data/focus/README.md): Σ EffectiveCost 14.976514 and
Σ BilledCost 20.520227 USD, in billing periods 2024-09 (three accounts) and 2024-10 (one).
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import costprism

SAMPLE = "focus-1.0_sample_1000.csv"
CENT = Decimal("0.01")
SAMPLE_EFFECTIVE = Decimal("14.98")
SAMPLE_BILLED = Decimal("20.52")


def _command() -> list[str]:
    if (Path(costprism.__file__).parent / "__main__.py").exists():
        return [sys.executable, "-m", "costprism"]
    return [str(Path(sys.executable).parent / "costprism")]


COMMAND = _command()


def run_cli(
    *args: str | Path, home: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``costprism ARGS [--home HOME]`` in a clean environment (no COSTPRISM_* set)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("COSTPRISM_")}
    home_option = ["--home", str(home)] if home else []
    return subprocess.run(
        [*COMMAND, *map(str, args), *home_option],
        capture_output=True,
        text=True,
        env={**clean, **(env or {})},
        timeout=120,
        check=False,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    assert result.returncode == 0, result.stderr
    return result.stdout


def records(*args: str, home: Path) -> list[dict[str, Any]]:
    return json.loads(ok(run_cli(*args, "--format", "json", home=home)))


def cents_sum(rows: list[dict[str, Any]], key: str) -> Decimal:
    return sum((Decimal(str(r[key])) for r in rows), Decimal(0)).quantize(CENT)


@pytest.fixture(scope="module")
def cli_home(tmp_path_factory: pytest.TempPathFactory, focus_data: Path) -> Path:
    """A home with the FOCUS 1.0 sample imported once, through the CLI, as source ``sample``."""
    home = tmp_path_factory.mktemp("cli-home")
    output = ok(run_cli("ingest", focus_data / SAMPLE, "--source", "sample", home=home))
    assert "1,000 rows" in output
    assert "table now at version 1" in output
    return home


@pytest.fixture(scope="module")
def restated_home(
    tmp_path_factory: pytest.TempPathFactory, focus_data: Path, doubled_sample_csv: Path
) -> Path:
    """The sample imported (version 1), then the same slices restated ×2 (version 2)."""
    home = tmp_path_factory.mktemp("cli-restated")
    ok(run_cli("ingest", focus_data / SAMPLE, "--source", "sample", home=home))
    output = ok(run_cli("ingest", doubled_sample_csv, "--source", "sample", home=home))
    assert "replaces 942 rows" in output
    return home


def test_cost_json_is_an_array_of_flat_records(cli_home: Path) -> None:
    rows = records("cost", "--by", "ProviderName", home=cli_home)
    assert isinstance(rows, list)
    assert {r["ProviderName"] for r in rows} == {"AWS", "Microsoft", "Oracle"}
    for row in rows:
        assert list(row) == ["ProviderName", "BillingCurrency", "period", "EffectiveCost"]
        assert isinstance(row["EffectiveCost"], float)
        assert row["period"] in ("2024-09-01", "2024-10-01")
    assert cents_sum(rows, "EffectiveCost") == SAMPLE_EFFECTIVE


def test_cost_csv_has_the_json_columns(cli_home: Path) -> None:
    output = ok(run_cli("cost", "--by", "ProviderName", "--format", "csv", home=cli_home))
    rows = list(csv.DictReader(io.StringIO(output)))
    assert output.splitlines()[0] == "ProviderName,BillingCurrency,period,EffectiveCost"
    assert {(r["ProviderName"], r["period"]) for r in rows} >= {("AWS", "2024-09-01")}
    assert cents_sum(rows, "EffectiveCost") == SAMPLE_EFFECTIVE


def test_cost_total_has_no_period(cli_home: Path) -> None:
    rows = records("cost", "--granularity", "total", home=cli_home)
    assert [list(r) for r in rows] == [["BillingCurrency", "EffectiveCost"]]
    assert cents_sum(rows, "EffectiveCost") == SAMPLE_EFFECTIVE


def test_cost_billed_basis_reports_billed_cost(cli_home: Path) -> None:
    rows = records("cost", "--basis", "billed", "--granularity", "billing-period", home=cli_home)
    assert all(list(r) == ["BillingCurrency", "period", "BilledCost"] for r in rows)
    assert {r["period"]: r["BilledCost"] for r in rows}["2024-10-01"] == pytest.approx(0.24)
    assert cents_sum(rows, "BilledCost") == SAMPLE_BILLED


def test_cost_table_is_the_default_format(cli_home: Path) -> None:
    output = ok(run_cli("cost", "--by", "ProviderName", "--granularity", "total", home=cli_home))
    assert "ledger version 1" in output
    assert "ProviderName" in output
    assert "13.00" in output  # AWS


def test_sources_json_lists_each_slice(cli_home: Path) -> None:
    slices = records("sources", home=cli_home)
    assert sorted((s["BillingAccountId"], s["BillingPeriodStart"], s["rows"]) for s in slices) == [
        ("/providers/Microsoft.Billing/billingAccounts/8611537", "2024-09-01", 51),
        ("1234567890123", "2024-09-01", 942),
        ("20209880", "2024-09-01", 6),
        ("20209880", "2024-10-01", 1),
    ]
    assert {(s["source"], s["version"], s["BillingCurrency"]) for s in slices} == {
        ("sample", 1, "USD")
    }
    assert cents_sum(slices, "EffectiveCost") == SAMPLE_EFFECTIVE


def test_history_lists_every_version_of_a_period(restated_home: Path) -> None:
    versions = records("history", "--source", "sample", "--period", "2024-09", home=restated_home)
    assert sorted((v["version"], v["BillingAccountId"], v["current"]) for v in versions) == sorted(
        (version, account, version == 2)
        for version in (1, 2)
        for account in (
            "20209880",
            "1234567890123",
            "/providers/Microsoft.Billing/billingAccounts/8611537",
        )
    )
    assert all(v["BillingPeriodStart"] == "2024-09-01" for v in versions)
    assert all(isinstance(v["files"], list) for v in versions)


def test_cost_as_of_reads_the_first_version(restated_home: Path) -> None:
    first = records("cost", "--granularity", "total", "--as-of", "1", home=restated_home)
    newest = records("cost", "--granularity", "total", home=restated_home)
    assert cents_sum(first, "EffectiveCost") == SAMPLE_EFFECTIVE
    assert cents_sum(newest, "EffectiveCost") == Decimal("29.95")


def test_validate_reports_file_and_line_and_exits_1(tmp_path: Path, focus_data: Path) -> None:
    lines = (focus_data / SAMPLE).read_text().splitlines(keepends=True)[:20]
    header = next(csv.reader([lines[0]]))
    row = next(csv.reader([lines[5]]))
    row[header.index("BilledCost")] = "abc"
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(row)
    lines[5] = buffer.getvalue()
    bad = tmp_path / "bad.csv"
    bad.write_text("".join(lines))
    result = run_cli("validate", bad)
    assert result.returncode == 1
    assert f"{bad}:6" in result.stderr
    assert "bad-decimal" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert ok(run_cli("validate", focus_data / SAMPLE)).count("1000 rows, 0 with errors") == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["cost", "--granularity", "fortnight"], "--granularity 'fortnight' is not one of"),
        (["cost", "--from", "2026-13-01"], "--from '2026-13-01' is not an ISO date"),
        (["cost", "--bogus"], "No such option: --bogus"),
        (["cost", "--by", "ServiceNme"], "did you mean ServiceName"),
        (["cost", "--as-of", "99"], "ledger.no_version"),
    ],
    ids=lambda value: " ".join(value) if isinstance(value, list) else None,
)
def test_bad_arguments_exit_1_with_a_message(cli_home: Path, args: list[str], message: str) -> None:
    result = run_cli(*args, home=cli_home)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


def test_numeric_filter_is_a_query_not_an_internal_error(cli_home: Path) -> None:
    result = run_cli(
        "cost",
        "--where",
        "BilledCost=0.24",
        "--granularity",
        "total",
        "--basis",
        "billed",
        "--format",
        "json",
        home=cli_home,
    )
    assert result.returncode == 0, result.stderr
    assert cents_sum(json.loads(result.stdout), "BilledCost") > 0


def test_costprism_home_variable_works_like_the_option(cli_home: Path) -> None:
    by_env = run_cli("sources", "--format", "json", env={"COSTPRISM_HOME": str(cli_home)})
    slices = json.loads(ok(by_env))
    assert sum(s["rows"] for s in slices) == 1000
    assert cents_sum(slices, "EffectiveCost") == SAMPLE_EFFECTIVE


def test_empty_home_reports_no_rows(tmp_path: Path) -> None:
    assert records("cost", "--by", "ProviderName", home=tmp_path / "fresh") == []


def test_ingest_rollup_rebuild_and_vacuum(tmp_path: Path, focus_data: Path) -> None:
    """The import rolls up its slices; ``rollup rebuild`` redoes them all; ``vacuum`` removes
    the replaced rollup files along with everything else no longer current."""
    home = tmp_path / "home"
    imported = ok(run_cli("ingest", focus_data / SAMPLE, "--source", "sample", home=home))
    assert "costs_daily (the daily rollup) now at version 1: 829 rows for 4 slice(s)" in imported

    rebuilt = ok(run_cli("rollup", "rebuild", home=home))
    assert rebuilt.strip() == (
        "costs_daily version 2: 829 rows summing 1,000 rows of 4 slice(s), costs version 1"
    )
    leftover = home / "ledger" / "_spill" / "00000099"
    leftover.mkdir(parents=True)
    (leftover / "group-0.parquet").write_bytes(b"left by a killed import")
    assert ok(run_cli("vacuum", home=home)).startswith("removed 5 file(s)")
    assert not leftover.exists()
    total = records("cost", "--granularity", "total", home=home)
    assert cents_sum(total, "EffectiveCost") == SAMPLE_EFFECTIVE


def test_rollup_rebuild_of_an_empty_home(tmp_path: Path) -> None:
    assert "the ledger is empty" in ok(run_cli("rollup", "rebuild", home=tmp_path / "fresh"))
    assert not (tmp_path / "fresh" / "ledger").exists()


def test_export_writes_focus_and_refuses_to_overwrite(cli_home: Path, tmp_path: Path) -> None:
    out = tmp_path / "sample.csv"
    printed = ok(run_cli("export", out, home=cli_home))
    assert printed.strip() == (
        f"wrote 1,000 rows, FOCUS 1.2 csv, 58 columns, to {out} (from ledger version 1)"
    )
    with out.open(newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert len(rows) == 1000
    assert sum(Decimal(r["BilledCost"]) for r in rows).quantize(CENT) == SAMPLE_BILLED
    assert rows[0]["ChargePeriodStart"].endswith("Z")

    again = run_cli("export", out, "--where", "ProviderName=Oracle", home=cli_home)
    assert again.returncode == 1
    assert again.stderr.startswith(f"error [export.exists]: {out} already exists")
    assert "--force" in again.stderr
    assert len(out.read_text().splitlines()) == 1001
    ok(run_cli("export", out, "--where", "ProviderName=Oracle", "--force", home=cli_home))
    assert len(out.read_text().splitlines()) == 1 + 7


def test_export_parquet_of_some_days(cli_home: Path, tmp_path: Path) -> None:
    import duckdb

    out = tmp_path / "september.data"
    args = ["--format", "parquet", "--from", "2024-09-01", "--to", "2024-10-01"]
    printed = ok(run_cli("export", out, *args, "--where", "ProviderName!=AWS", home=cli_home))
    assert "FOCUS 1.2 parquet" in printed
    [(rows, providers)] = duckdb.sql(
        f"SELECT count(*), list(DISTINCT ProviderName ORDER BY ProviderName) "
        f"FROM read_parquet('{out}')"
    ).fetchall()
    assert (rows, providers) == (58, ["Microsoft", "Oracle"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--focus-version", "1.3"], "error [export.bad_version]: --focus-version '1.3'"),
        (["--format", "xlsx"], "--format 'xlsx' is not one of: csv, parquet"),
        (["--where", "Nope=1"], "column 'Nope' is not in the ledger"),
    ],
)
def test_export_bad_options_exit_1(
    cli_home: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_cli("export", tmp_path / "out.csv", *args, home=cli_home)
    assert result.returncode == 1
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_cost_by_a_dimension_of_an_earlier_rule_set(tmp_path: Path, focus_data: Path) -> None:
    home = tmp_path / "home"
    ok(run_cli("ingest", focus_data / SAMPLE, "--source", "sample", home=home))
    first = tmp_path / "first.yaml"
    first.write_text(
        "dimensions: [team]\nrules:\n  - {name: all, match: {BilledCost: {is: not null}}, "
        "set: {team: everyone}}\n"
    )
    second = tmp_path / "second.yaml"
    second.write_text("dimensions: [team]\nrules: []\n")
    assert "rules version 1" in ok(run_cli("rules", "apply", first, home=home))
    assert "rules version 2" in ok(run_cli("rules", "apply", second, home=home))
    newest = records("cost", "--by", "team", "--granularity", "total", home=home)
    earlier = records(
        "cost", "--by", "team", "--granularity", "total", "--rules-version", "1", home=home
    )
    assert {r["team"] for r in newest} == {"(unallocated)"}
    assert {r["team"] for r in earlier} == {"everyone"}
    assert cents_sum(newest, "EffectiveCost") == cents_sum(earlier, "EffectiveCost")
    missing = run_cli("cost", "--by", "team", "--rules-version", "9", home=home)
    assert missing.returncode == 1
    assert "rules version 9 does not exist" in missing.stderr
