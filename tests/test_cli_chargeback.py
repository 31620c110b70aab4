"""``costprism chargeback statement|gl-export|gl-mapping`` as a subprocess, on the chargeback
ledger (tests/chargeback_ledger.py); and showback as ``costprism cost --by <dimension>``."""

from __future__ import annotations

import csv
import io
import json
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.chargeback_ledger import DESCRIPTIONS, MAPPING, MONTH, HandSql, cents, chargeback_home
from tests.test_cli import ok, run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chargeback_home(tmp_path_factory)


@pytest.fixture(scope="module")
def hand(home: Path) -> Iterator[HandSql]:
    sql = HandSql(home)
    yield sql
    sql.close()


def test_statement_as_json_table_and_csv(home: Path, hand: HandSql) -> None:
    args = ("chargeback", "statement", "--cost-center", "CC-100", "--month", MONTH)
    found = json.loads(ok(run_cli(*args, "--format", "json", home=home)))
    assert (found["cost_center"], found["month"], found["basis"]) == ("CC-100", MONTH, "effective")
    assert found["gl_mapping"].endswith("gl-mapping.csv")  # the stored mapping by default
    assert {line["gl_account"] for line in found["lines"]} <= set(DESCRIPTIONS)
    expected = dict(
        hand.rows(
            "SELECT BillingCurrency, sum(effective) FROM booked WHERE x_cost_center = 'CC-100' "
            "GROUP BY 1"
        )
    )
    totals = {t["currency"]: t["total"] for t in found["totals"]}
    assert totals == pytest.approx({c: float(v) for c, v in expected.items()})

    table = ok(run_cli(*args, "--basis", "billed", home=home))
    assert "Chargeback statement: cost_center CC-100, 2026-05, BilledCost (billed)" in table
    assert "direct charges (product = product)" in table
    assert "platform overhead" in table
    assert "fixed weights" in table

    text = ok(run_cli(*args, "--format", "csv", home=home))
    rows = list(csv.DictReader(io.StringIO(text)))
    assert len(rows) == len(found["lines"])
    assert sum(Decimal(r["amount"]) for r in rows) == sum(expected.values())


def test_gl_export_to_standard_output_and_to_a_file(
    home: Path, hand: HandSql, tmp_path: Path
) -> None:
    printed = ok(run_cli("chargeback", "gl-export", "--month", MONTH, home=home))
    rows = list(csv.DictReader(io.StringIO(printed)))
    assert printed.splitlines()[0] == "period,cost_center,gl_account,amount,currency,description"
    expected = hand.rows(
        "SELECT x_cost_center, gl_account, BillingCurrency, sum(effective) FROM booked GROUP BY ALL"
    )
    assert {(r["cost_center"], r["gl_account"], r["currency"]): Decimal(r["amount"])
            for r in rows} == {tuple(e[:3]): cents(e[3]) for e in expected}  # fmt: skip

    out = tmp_path / "gl.csv"
    said = ok(run_cli("chargeback", "gl-export", "--month", MONTH, "--out", out, home=home))
    assert f"wrote {len(rows)} GL rows for {MONTH} to {out}" in said
    assert out.read_text(encoding="utf-8") == printed
    again = run_cli("chargeback", "gl-export", "--month", MONTH, "--out", out, home=home)
    assert again.returncode == 1
    assert "error [export.exists]" in again.stderr
    ok(run_cli("chargeback", "gl-export", "--month", MONTH, "--out", out, "--force", home=home))

    # a mapping given on the command line wins over the stored one
    given = tmp_path / "everything.csv"
    given.write_text("filter,gl_account,description\n*,7777,All cloud\n", encoding="utf-8")
    other = ok(
        run_cli("chargeback", "gl-export", "--month", MONTH, "--gl-mapping", given, home=home)
    )
    assert {r["gl_account"] for r in csv.DictReader(io.StringIO(other))} == {"7777"}


def test_the_mapping_is_stored_shown_and_checked(tmp_path: Path) -> None:
    home = tmp_path / "home"
    missing = run_cli("chargeback", "gl-mapping", "show", home=home)
    assert missing.returncode == 1
    assert "error [chargeback.no_mapping]" in missing.stderr
    mapping = tmp_path / "gl.csv"
    mapping.write_text(MAPPING, encoding="utf-8")
    said = ok(run_cli("chargeback", "gl-mapping", "apply", mapping, home=home))
    assert "5 rows, default account 6000" in said
    assert ok(run_cli("chargeback", "gl-mapping", "show", home=home)) == MAPPING

    bad = tmp_path / "bad.csv"
    bad.write_text("filter,gl_account\nRegionId = ,6100\n", encoding="utf-8")
    refused = run_cli("chargeback", "gl-mapping", "apply", bad, home=home)
    assert refused.returncode == 1
    assert f"error [chargeback.bad_mapping]: {bad}:2:1: filter" in refused.stderr
    assert "Traceback" not in refused.stderr


def test_bad_options_exit_1_with_the_fix(home: Path, tmp_path: Path) -> None:
    month = run_cli("chargeback", "statement", "--cost-center", "CC-100", "--month", "May",
                    home=home)  # fmt: skip
    assert month.returncode == 1
    assert "write YYYY-MM" in month.stderr
    bare = tmp_path / "bare"
    no_mapping = run_cli("chargeback", "gl-export", "--month", MONTH, home=bare)
    assert no_mapping.returncode == 1
    assert "error [chargeback.no_mapping]" in no_mapping.stderr


def test_showback_is_cost_by_a_dimension(home: Path, hand: HandSql) -> None:
    """No showback command: cost --by any dimension, for any period, is showback."""
    rows = json.loads(
        ok(run_cli("cost", "--by", "cost_center", "--granularity", "billing-period",
                   "--format", "json", home=home))
    )  # fmt: skip
    got: dict[tuple[str, str], float] = defaultdict(float)
    for row in rows:
        assert row["period"] == f"{MONTH}-01"
        got[(row["cost_center"], row["BillingCurrency"])] += row["EffectiveCost"]
    expected = hand.rows(
        "SELECT x_cost_center, BillingCurrency, sum(effective) FROM booked GROUP BY ALL"
    )
    assert dict(got) == pytest.approx({(c, k): float(v) for c, k, v in expected})
