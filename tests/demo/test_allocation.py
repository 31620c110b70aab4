"""The demo company's allocation rules: written from its catalog, applied to its ledger."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from costprism.allocation.rules import parse_rules
from costprism.capabilities.allocation import allocation_totals, apply_rules
from costprism.capabilities.reporting import cost_report
from costprism.demo import DemoSpec, generate
from costprism.demo.allocation import RULES_FILE, demo_rules
from costprism.demo.company import NORTHWIND
from costprism.engine.backends import open_ledger
from costprism.engine.query import CostQuery
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger


def test_the_rules_cover_every_team_environment_and_account() -> None:
    rules = parse_rules(demo_rules(), "demo rules")
    teams, environments = len(NORTHWIND.teams), len(NORTHWIND.environments)
    assert len(rules.rules) == teams * environments + teams + len(NORTHWIND.sub_accounts)
    assert len(rules.rules) >= 50
    assert [s.split for s in rules.shared] == ["proportional"] * 3
    assert rules.shared[1].within == "CommitmentDiscountId"
    assert "platform" not in rules.shared[2].targets
    assert rules.spellings("platform") == ("platform", "platform", "platfrom")


def test_generate_writes_the_rules_and_they_allocate_the_demo(tmp_path: Path) -> None:
    generate(tmp_path / "demo", DemoSpec(seed=3, months=2, rows_per_month=2_000))
    path = tmp_path / "demo" / RULES_FILE
    assert path.read_text(encoding="utf-8") == demo_rules()
    ledger = Ledger.at_home(tmp_path / "home")
    ingest([tmp_path / "demo" / "focus"], ledger, IngestOptions(source="demo"))
    apply_rules(ledger, parse_rules(path.read_text(encoding="utf-8")))

    report = cost_report(open_ledger(ledger), CostQuery(group_by=("team",), granularity="total"))
    teams = {row["team"] for row in report.rows}
    assert "platform" not in teams  # passed on to the product teams
    assert teams - {"(unallocated)"} <= {t.key for t in NORTHWIND.teams}
    for row in allocation_totals(ledger):
        assert abs(row["allocated"] + row["unallocated"] - row["total"]) < Decimal("0.005")
        assert row["allocated"] > row["total"] * Decimal("0.9")  # tags, aliases, accounts


def test_the_tag_policy_and_gl_mapping_work_on_the_demo(tmp_path: Path) -> None:
    from costprism.allocation.tag_policy import parse_policy
    from costprism.capabilities.chargeback import gl_export, parse_gl_mapping
    from costprism.capabilities.tag_governance import tag_report
    from costprism.demo.allocation import GL_MAPPING_FILE, TAG_POLICY_FILE

    generate(tmp_path / "demo", DemoSpec(seed=3, months=1, rows_per_month=2_000))
    ledger = Ledger.at_home(tmp_path / "home")
    ingest([tmp_path / "demo" / "focus"], ledger, IngestOptions(source="demo"))
    apply_rules(ledger, parse_rules(demo_rules()))
    view = open_ledger(ledger)

    policy = parse_policy((tmp_path / "demo" / TAG_POLICY_FILE).read_text(encoding="utf-8"))
    report = tag_report(view, policy)
    for kpi in report.kpis:
        assert 0 < kpi.compliant_cost <= kpi.taggable_cost
    (usd,) = [kpi for kpi in report.kpis if kpi.currency == "USD"]
    assert usd.compliant_cost < usd.taggable_cost  # the catalog's misspellings are caught
    assert report.resources

    mapping = parse_gl_mapping((tmp_path / "demo" / GL_MAPPING_FILE).read_text(encoding="utf-8"))
    month = report.months[-1].strftime("%Y-%m")
    rows = gl_export(view, month, gl_mapping=mapping)
    accounts = {row.gl_account for row in rows}
    assert {"6100", "6900"} <= accounts
    assert "(unmapped)" not in accounts  # the * line catches the rest
