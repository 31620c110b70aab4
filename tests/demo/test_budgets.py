"""The demo company's budgets: written by ``demo generate`` from its last month, one per
team, applied to its allocated ledger: each team's last month lands where the sizing says,
and in the month in progress the budget of ``ml`` is at risk while the others are not."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from costprism.allocation.rules import parse_rules
from costprism.budgets.spec import load_budgets, parse_budgets
from costprism.capabilities.allocation import apply_rules
from costprism.capabilities.budget_store import apply_budgets, list_budgets
from costprism.capabilities.budgets import budget_statuses
from costprism.db import Database
from costprism.demo import DemoSpec, generate
from costprism.demo.allocation import RULES_FILE
from costprism.demo.budgets import AT_RISK, AT_RISK_HEADROOM, BUDGETS_FILE, HEADROOM, demo_budgets
from costprism.demo.company import NORTHWIND
from costprism.engine.backends import open_ledger
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger


def test_the_budgets_file_has_a_budget_per_product_team() -> None:
    spend = {t.key: {"USD": Decimal(1000)} for t in NORTHWIND.teams if t.key != "platform"}
    budgets = parse_budgets(demo_budgets(spend), "demo budgets").budgets
    assert [b.name for b in budgets] == [f"{k}-monthly" for k in spend]
    for budget in budgets:
        assert (budget.period, budget.currency, budget.basis) == ("month", "USD", "effective")
        assert float(budget.holdback) == pytest.approx(float(budget.amount) / 10, rel=0.01)
        assert budget.forecast_thresholds == (Decimal(100),)
    ml = next(b for b in budgets if b.name == f"{AT_RISK}-monthly")
    assert float(ml.amount - ml.holdback) == pytest.approx(1000 * float(AT_RISK_HEADROOM), rel=0.01)


def test_generate_writes_budgets_that_fit_the_demo(tmp_path: Path) -> None:
    spec = DemoSpec(seed=3, months=3, end_month=date(2026, 5, 1), rows_per_month=3_000)
    generate(tmp_path / "demo", spec)
    ledger = Ledger.at_home(tmp_path / "home")
    ingest([tmp_path / "demo" / "focus"], ledger, IngestOptions(source="demo"))
    apply_rules(ledger, parse_rules((tmp_path / "demo" / RULES_FILE).read_text("utf-8")))
    db = Database.open(f"sqlite:///{tmp_path / 'metadata.db'}")
    try:
        apply_budgets(db, load_budgets(tmp_path / "demo" / BUDGETS_FILE), actor="test")
        budgets = list_budgets(db)
    finally:
        db.dispose()
    teams = {t.key for t in NORTHWIND.teams} - {"platform"}  # platform is shared out
    assert {b.name for b in budgets} == {f"{t}-monthly" for t in teams}
    view = open_ledger(ledger)

    may = budget_statuses(view, budgets, month=date(2026, 5, 1))
    for status in may:
        headroom = AT_RISK_HEADROOM if status.budget.name == f"{AT_RISK}-monthly" else HEADROOM
        ratio = float(status.actual * headroom / status.available)
        assert ratio == pytest.approx(1, rel=0.05)

    june = {s.budget.name: s for s in budget_statuses(view, budgets)}  # the month in progress
    assert {s.period.label for s in june.values()} == {"2026-06"}
    assert june[f"{AT_RISK}-monthly"].status == "at-risk"
    assert {s.status for n, s in june.items() if n != f"{AT_RISK}-monthly"} == {"ok"}
