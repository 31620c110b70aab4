"""``costprism budgets apply|list|show|release-holdback|delete`` as a subprocess, on the
chargeback ledger (tests/chargeback_ledger.py) with a metadata database of their own."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from costprism.capabilities.access import audit_log
from costprism.db import Database
from tests.budgets_site import BUDGETS
from tests.chargeback_ledger import HandSql, cents, chargeback_home
from tests.test_cli import ok, run_cli


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chargeback_home(tmp_path_factory)


@pytest.fixture(scope="module")
def hand(home: Path) -> Iterator[HandSql]:
    sql = HandSql(home)
    yield sql
    sql.close()


@pytest.fixture(scope="module")
def database(tmp_path_factory: pytest.TempPathFactory) -> str:
    return f"sqlite:///{tmp_path_factory.mktemp('cli-budgets') / 'metadata.db'}"


@pytest.fixture(scope="module")
def budgets_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("cli-budgets-file") / "budgets.yaml"
    path.write_text(BUDGETS, encoding="utf-8")
    return path


def budgets(*args: str, home: Path, database: str) -> str:
    return ok(run_cli("budgets", *args, "--database-url", database, home=home))


def test_apply_list_show_release(
    home: Path, hand: HandSql, database: str, budgets_file: Path
) -> None:
    applied = budgets("apply", str(budgets_file), home=home, database=database)
    assert "3 created, 0 updated, 0 unchanged, 0 deleted" in applied
    again = budgets("apply", str(budgets_file), home=home, database=database)
    assert "0 created, 0 updated, 3 unchanged" in again

    listed = json.loads(budgets("list", "--month", "2026-05", "--format", "json", home=home,
                                database=database))  # fmt: skip
    by_name = {r["name"]: r for r in listed}
    ((expected,),) = hand.rows(
        "SELECT sum(effective) FROM allocated WHERE x_team = 'payments' AND BillingCurrency = 'USD'"
    )
    payments = by_name["payments-monthly"]
    assert cents(Decimal(str(payments["actual"]))) == cents(expected)
    assert payments["available"] == 90000.0
    table = budgets("list", "--month", "2026-05", home=home, database=database)
    assert "payments-monthly" in table
    assert "2026-05" in table
    rows = list(csv.DictReader(io.StringIO(
        budgets("list", "--month", "2026-05", "--format", "csv", home=home, database=database)
    )))  # fmt: skip
    assert {r["name"] for r in rows} == set(by_name)
    assert {r["status"] for r in rows} <= {"ok", "warning", "at-risk", "over"}

    shown = json.loads(budgets("show", "payments-monthly", "--month", "2026-05", "--format",
                               "json", home=home, database=database))  # fmt: skip
    assert shown["actual"] == payments["actual"]
    assert len(shown["history"]) == 12

    released = budgets("release-holdback", "payments-monthly", "--month", "2026-05",
                       "--amount", "4000", home=home, database=database)  # fmt: skip
    assert "released 4000 of holdback 10000; available 94000 USD" in released
    db = Database.open(database)
    try:
        event = audit_log(db, limit=1).items[0]
    finally:
        db.dispose()
    assert (event.action, event.target) == ("budgets.release-holdback", "payments-monthly")
    assert (event.actor or "").startswith("cli:")

    assert "deleted" in budgets("delete", "platform-monthly", home=home, database=database)
    gone = run_cli("budgets", "show", "platform-monthly", "--database-url", database, home=home)
    assert (gone.returncode, "budgets.unknown" in gone.stderr) == (1, True)


def test_errors_exit_1_with_the_place(home: Path, database: str, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("currency: USD\nbudgets:\n  - name: x\n    scope: squad=a\n"
                   "    period: month\n    amount: 5\n", encoding="utf-8")  # fmt: skip
    result = run_cli("budgets", "apply", bad, "--database-url", database, home=home)
    assert result.returncode == 1
    assert f"error [budgets.invalid]: {bad}:4:12: budget 'x': scope column 'squad'" in " ".join(
        result.stderr.split()
    )
    unknown = run_cli("budgets", "show", "nope", "--database-url", database, home=home)
    assert (unknown.returncode, "budgets.unknown" in unknown.stderr) == (1, True)
    month = run_cli("budgets", "list", "--month", "May", "--database-url", database, home=home)
    assert (month.returncode, "budgets.bad_period" in month.stderr) == (1, True)
