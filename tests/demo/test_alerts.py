"""The demo company's alert routing: ``demo generate`` writes alerts.yaml and owners.yaml
that parse, reach every routed demo user on a log channel of their own, and, run on the
demo's ledger, tell finance-minded roles about the budget at risk and security about
security anomalies — each within their scope."""

from __future__ import annotations

import json
import shutil
from datetime import date
from pathlib import Path

from costprism.alerts.config import parse_config
from costprism.allocation.rules import parse_rules
from costprism.anomalies.owners import parse_owners
from costprism.budgets.spec import load_budgets
from costprism.capabilities.alerts import run_alerts
from costprism.capabilities.allocation import apply_rules
from costprism.capabilities.anomalies import owners_for
from costprism.capabilities.budget_store import apply_budgets
from costprism.db import Database
from costprism.demo import DemoSpec, generate
from costprism.demo.alerts import ALERTS_FILE, OWNERS_FILE, ROUTING, demo_alerts, demo_owners
from costprism.demo.allocation import RULES_FILE
from costprism.demo.budgets import AT_RISK, BUDGETS_FILE
from costprism.demo.company import NORTHWIND
from costprism.demo.users import create_demo_users, demo_users
from costprism.engine.backends import open_ledger
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger


def test_every_routed_demo_user_has_a_log_channel_of_their_own(tmp_path: Path) -> None:
    config = parse_config(demo_alerts(), "demo alerts", home=tmp_path, environ={})

    routed = [u for u in demo_users() if u.role in ROUTING]
    assert {u.role for u in routed} == {"finance", "practitioner", "management", "security",
                                        "engineering"}  # fmt: skip
    for user in routed:
        (channel,) = config.reach(user.username).channels
        assert config.channels[channel].path == tmp_path / "alerts" / f"{user.username}.jsonl"
    assert config.smtp is None
    assert config.roles["finance"].immediate == ("budget",)
    assert config.roles["security"].immediate == ("security",)


def test_every_sub_account_and_team_has_an_owner() -> None:
    owners = parse_owners(demo_owners(), "demo owners")

    for account in NORTHWIND.sub_accounts:
        owner = owners.owner_of({"SubAccountId": account.id})
        assert owner is not None
        assert owner.channels == (f"log:{account.team}-owners",)
        assert owner.users == (("demo-engineering",) if account.team == "payments" else ())
    for team in NORTHWIND.teams:
        found = owners.owner_of({"team": team.key})
        assert found is not None
        assert found.channels == (f"log:{team.key}-owners",)


def test_the_demo_routes_the_budget_at_risk_and_security_anomalies(tmp_path: Path) -> None:
    spec = DemoSpec(seed=3, months=3, end_month=date(2026, 5, 1), rows_per_month=3_000)
    out, home = tmp_path / "demo", tmp_path / "home"
    generate(out, spec)
    ledger = Ledger.at_home(home)
    ingest([out / "focus"], ledger, IngestOptions(source="demo"))
    apply_rules(ledger, parse_rules((out / RULES_FILE).read_text("utf-8")))
    for name in (ALERTS_FILE, OWNERS_FILE):
        shutil.copy(out / name, home / name)
    db = Database.open(f"sqlite:///{home / 'metadata.db'}")
    try:
        apply_budgets(db, load_budgets(out / BUDGETS_FILE), actor="test")
        create_demo_users(db, actor="test")
        config = parse_config((home / ALERTS_FILE).read_text(), home=home, environ={})
        run = run_alerts(
            open_ledger(ledger), db, config, owners=owners_for(home), detect=True, actor="test"
        )
    finally:
        db.dispose()

    assert run.count("failed") == 0
    assert run.count("sent") > 0
    told = _told(home)
    at_risk = f"budget:{AT_RISK}-monthly"
    for reader in ("demo-practitioner", "demo-management", f"{AT_RISK}-owners"):
        assert any(a.startswith(at_risk) for a in told[reader]), reader
    # security hears of the security anomalies, of no cost anomaly and no budget
    security = [line for line in _lines(home, "demo-security") if line["type"] == "anomaly"]
    assert security
    assert {line["anomaly"]["kind"] for line in security} == {"security"}  # type: ignore[index]
    assert not [a for a in told["demo-security"] if a.startswith("budget:")]
    # finance is scoped to the payments cost center: no team budget lies inside it
    assert not [a for a in told.get("demo-finance", []) if a.startswith("budget:")]
    # engineering (payments) hears only of anomalies its scope sees
    for line in _lines(home, "demo-engineering"):
        if line.get("type") == "anomaly":
            assert (
                line["anomaly"]["scope"].get("SubAccountId")
                in {a.id for a in NORTHWIND.sub_accounts if a.team == "payments"}
                or line["anomaly"]["scope"].get("team") == "payments"
            )


def _lines(home: Path, name: str) -> list[dict[str, object]]:
    path = home / "alerts" / f"{name}.jsonl"
    return [json.loads(x) for x in path.read_text().splitlines()] if path.exists() else []


def _told(home: Path) -> dict[str, list[str]]:
    told: dict[str, list[str]] = {}
    for path in sorted((home / "alerts").glob("*.jsonl")):
        for line in _lines(home, path.stem):
            data = line.get("budget") or line.get("anomaly") or {}
            assert isinstance(data, dict)
            kind = str(line.get("type"))
            key = f"{kind}:{data.get('name', data.get('id', ''))}"
            told.setdefault(path.stem, []).append(key)
    return told
