"""Applying rule sets to a real ledger: versions, --from, reading dimensions like FOCUS
columns (group-by, filters, scopes), and explaining a row."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from costprism.allocation.rules import parse_rules
from costprism.capabilities.allocation import (
    allocation_totals,
    apply_rules,
    explain_row,
    rule_versions,
)
from costprism.capabilities.reporting import cost_report
from costprism.engine.backends import open_ledger
from costprism.engine.filters import parse_filters
from costprism.engine.query import CostQuery
from costprism.errors import InputError
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from tests.allocation.test_rules import EXAMPLE
from tests.conftest import SAMPLE_1000, SYNTHETIC_10K

# Owners in the synthetic sample are team-data, team-platform …; the 1.0 sample has none.
SEPTEMBER_ONLY = """\
dimensions: [team, cost_center]
rules:
  - name: everything
    match: {ChargeCategory: [Usage, Tax, Purchase, Credit, Adjustment]}
    set: {team: everyone, cost_center: CC-1}
"""


@pytest.fixture
def ledger(tmp_path: Path) -> Ledger:
    ledger = Ledger.at_home(tmp_path / "home")
    ingest([SYNTHETIC_10K], ledger, IngestOptions(source="synthetic"))  # 2026-05
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))  # 2024-09 and 2024-10
    return ledger


def _totals(
    ledger: Ledger, by: str, *, where: str = "", scope: str = "", version: int | None = None
) -> dict[tuple[str, str], Decimal]:
    filters = parse_filters([where] if where else [])
    query = CostQuery(group_by=(by,), granularity="total", filters=filters)
    view = open_ledger(ledger, rules_version=version)
    report = cost_report(view, query, parse_filters([scope] if scope else []))
    return {(row[by], row["BillingCurrency"]): row["EffectiveCost"] for row in report.rows}


def test_applied_dimensions_group_filter_and_scope_like_focus_columns(ledger: Ledger) -> None:
    result = apply_rules(ledger, parse_rules(EXAMPLE))
    assert result.version.version == 1
    assert result.version.dimensions == ("team", "cost_center")

    by_team = _totals(ledger, "team")
    by_provider = _totals(ledger, "ProviderName")
    for currency in {c for _, c in by_team}:
        allocated = sum(v for (_, c), v in by_team.items() if c == currency)
        ledger_total = sum(v for (_, c), v in by_provider.items() if c == currency)
        assert abs(allocated - ledger_total) < Decimal("0.005")
    assert {t for t, _ in by_team} >= {"data", "payments", "sandbox", "(unallocated)"}
    assert "platform" not in {t for t, _ in by_team}  # the fixed step passed platform on

    only = _totals(ledger, "team", where="team=data")
    assert set(only) == {k for k in by_team if k[0] == "data"}
    scoped = _totals(ledger, "ServiceName", scope="x_team=data")
    assert sum(scoped.values()) == pytest.approx(sum(only.values()))
    rows = result.totals
    assert all(r["allocated"] + r["unallocated"] == r["total"] for r in rows)


def test_a_new_version_from_a_period_keeps_the_months_before(ledger: Ledger) -> None:
    apply_rules(ledger, parse_rules(SEPTEMBER_ONLY))
    first = _totals(ledger, "team")
    assert {t for t, _ in first} == {"everyone"}

    apply_rules(ledger, parse_rules(EXAMPLE), from_period=date(2026, 5, 1))
    assert [v.version for v in rule_versions(ledger)] == [1, 2]
    assert rule_versions(ledger)[1].recomputed_from == "2026-05-01"
    query = CostQuery(group_by=("team", "ProviderName"), granularity="billing-period")
    rows = cost_report(open_ledger(ledger), query).rows
    for row in rows:
        if row["period"] < date(2026, 1, 1):
            assert row["team"] == "everyone"  # 2024 months kept version 1's results
        else:
            assert row["team"] != "everyone"  # 2026-05 recomputed under the example
    old = _totals(ledger, "team", version=1)
    assert {t for t, _ in old} == {"everyone"}  # version 1 stays readable


def test_from_needs_an_earlier_version(ledger: Ledger) -> None:
    with pytest.raises(InputError, match="earlier rules version") as caught:
        apply_rules(ledger, parse_rules(EXAMPLE), from_period=date(2026, 5, 1))
    assert caught.value.code == "rules.no_previous"
    with pytest.raises(InputError, match="rules version 7 does not exist"):
        open_ledger(ledger, rules_version=7)


def test_explain_says_which_rule_placed_a_row_and_why_earlier_ones_did_not(ledger: Ledger) -> None:
    apply_rules(ledger, parse_rules(EXAMPLE))
    view = open_ledger(ledger)
    costs = view.costs
    tagged = costs.filter(
        (costs["SubAccountName"] == "data-analytics") & (costs["ChargeCategory"] == "Usage")
    )
    row_id = int(tagged.select("x_RowId").limit(1).to_pyarrow().column(0)[0].as_py())
    explained = explain_row(ledger, row_id)
    names = [v.name for v in explained.verdicts]
    assert names[-1] in ("data by tag", "platform accounts", "sandbox accounts")
    first = explained.verdicts[0]
    assert first.name == "payments by tag"
    assert not first.matched
    assert first.conditions[0]["condition"].startswith("tag:Owner in (")
    assert sum(p["x_Share"] for p in explained.parts) == 1
    assert explained.record()["x_RowId"] == row_id

    with pytest.raises(InputError, match="not in the ledger"):
        explain_row(ledger, row_id, scope=parse_filters(["SubAccountName=nobody"]))


def test_totals_split_allocated_and_unallocated_per_currency(ledger: Ledger) -> None:
    assert allocation_totals(ledger) == []
    apply_rules(ledger, parse_rules(EXAMPLE))
    (usd,) = [r for r in allocation_totals(ledger) if r["BillingCurrency"] == "USD"]
    assert usd["allocated"] > 0
    assert usd["unallocated"] > 0


def test_the_allocated_rollup_answers_as_the_allocated_ledger_does(ledger: Ledger) -> None:
    from costprism.engine.allocation import allocated_costs
    from costprism.engine.query import cost_expression
    from costprism.engine.rollups import cost_source

    apply_rules(ledger, parse_rules(EXAMPLE))
    view = open_ledger(ledger)
    assert view.allocated_daily is not None
    query = CostQuery(group_by=("team", "cost_center", "ServiceName"), granularity="day")
    assert cost_source(view, query) is view.allocated_daily
    keys = [*query.keys]

    def answer(table: object) -> list[tuple[object, ...]]:
        rows = cost_expression(table, query).to_pyarrow().to_pylist()  # type: ignore[arg-type]
        return sorted((*(str(r[k]) for k in keys), round(r["EffectiveCost"], 6)) for r in rows)

    assert answer(view.allocated_daily) == answer(allocated_costs(view))
    # a column the rollup lacks (tags too) reads the allocated ledger itself
    for lacking in ("ResourceId", "tag:Environment"):
        query = CostQuery(group_by=("team", lacking))
        assert cost_source(view, query) is not view.allocated_daily


def test_an_import_re_applies_the_rules_in_force_from_its_first_period(tmp_path: Path) -> None:
    ledger = Ledger.at_home(tmp_path / "home")
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))
    apply_rules(ledger, parse_rules(EXAMPLE))
    before = _totals(ledger, "team")

    result = ingest([SYNTHETIC_10K], ledger, IngestOptions(source="synthetic"))
    assert result.allocation is not None
    assert result.allocation.version == 2
    assert result.allocation.recomputed_from == "2026-05-01"
    view = open_ledger(ledger)
    assert view.allocated_daily is not None  # current for the new ledger version
    after = _totals(ledger, "team")
    assert after[("data", "USD")] > before.get(("data", "USD"), Decimal(0))
    assert ("platform", "USD") not in after


def test_applying_edited_text_is_audited_with_the_diff(ledger: Ledger, tmp_path: Path) -> None:
    from costprism.capabilities.access import audit_log
    from costprism.capabilities.allocation import (
        AUDIT_ACTION,
        apply_rules_text,
        current_rules_text,
        rules_diff,
    )
    from costprism.db import Database

    db = Database.open(f"sqlite:///{tmp_path / 'metadata.db'}")
    assert current_rules_text(ledger) == (None, "")
    apply_rules_text(ledger, db, SEPTEMBER_ONLY, actor="ada", address="10.0.0.1")
    edited = SEPTEMBER_ONLY.replace("team: everyone", "team: all")
    result = apply_rules_text(ledger, db, edited, actor="ada", from_period=date(2026, 5, 1))
    assert result.version.version == 2
    assert result.version.recomputed_from == "2026-05-01"
    assert current_rules_text(ledger) == (2, edited)

    newest, first = audit_log(db).items
    assert (newest.action, newest.actor, newest.target) == (AUDIT_ACTION, "ada", "rules version 2")
    assert newest.before == {"rules_version": 1, "digest": rule_versions(ledger)[0].digest}
    assert newest.after is not None
    assert newest.after["rules_version"] == 2
    diff = newest.after["diff"]
    assert diff == rules_diff(SEPTEMBER_ONLY, edited, version=1)
    assert "-    set: {team: everyone, cost_center: CC-1}\n" in diff
    assert "+    set: {team: all, cost_center: CC-1}\n" in diff
    assert diff.startswith("--- rules version 1\n+++ new rules\n")
    assert first.before == {"rules_version": None, "digest": None}
    assert first.address == "10.0.0.1"

    with pytest.raises(InputError, match=r"^rules:3:") as caught:
        apply_rules_text(ledger, db, "dimensions: [team]\nrules:\n  - nope\n", actor="ada")
    assert caught.value.code == "rules.invalid"
    assert len(rule_versions(ledger)) == 2  # nothing applied
    assert len(audit_log(db).items) == 2  # nothing audited
    db.dispose()


def test_kpis_split_allocated_shared_and_validate_apportionment(ledger: Ledger) -> None:
    from costprism.capabilities.allocation import allocation_kpis

    view = open_ledger(ledger)
    assert allocation_kpis(view).currencies == []
    apply_rules(ledger, parse_rules(EXAMPLE))
    view = open_ledger(ledger)
    kpis = allocation_kpis(view)
    assert kpis.rules_version == 1
    totals = {r["BillingCurrency"]: r for r in allocation_totals(ledger)}
    for row in kpis.currencies:
        assert row["apportionment_percent"] == 100.0
        assert abs(row["parts"] - row["ledger"]) < Decimal("0.000001")
        total = totals[row["BillingCurrency"]]
        assert row["allocated"] == total["allocated"]
        assert row["allocated_percent"] == round(
            float(total["allocated"] / total["total"]) * 100, 2
        )
    (usd,) = [r for r in kpis.currencies if r["BillingCurrency"] == "USD"]
    # the shared steps moved tax (spread over teams) and platform's cost; their parts have a
    # team but the steps set no cost_center, so tax parts stay (unallocated) on cost_center
    assert usd["shared"] > 0
    assert 0 < usd["unallocated_shared"] <= usd["shared"]
    assert 0 < usd["unallocated_shared_percent"] <= 100

    may = allocation_kpis(view, start=date(2026, 5, 1), end=date(2026, 6, 1))
    september = allocation_kpis(view, start=date(2024, 9, 1), end=date(2024, 10, 1))
    (may_usd,) = [r for r in may.currencies if r["BillingCurrency"] == "USD"]
    assert may_usd["ledger"] < usd["ledger"]
    assert all(r["apportionment_percent"] == 100.0 for r in september.currencies)
    scoped = allocation_kpis(view, parse_filters(["team=data"]))
    (data,) = [r for r in scoped.currencies if r["BillingCurrency"] == "USD"]
    assert data["allocated_percent"] == 100.0


USAGE_RULES = EXAMPLE.replace(
    """  - name: platform overhead
    match: {team: [platform]}
    split: fixed
    to: team
    weights: {payments: 50, data: 30, sandbox: 20}
""",
    """  - name: platform overhead
    match: {team: [platform]}
    split: proportional
    to: team
    targets: [payments, data, sandbox]
    usage: {file: usage/platform.csv, metric: builds}
""",
)


def test_a_usage_metric_file_is_kept_with_its_version_and_read_again_from_there(
    ledger: Ledger, tmp_path: Path
) -> None:
    from costprism.allocation.rules import load_rules
    from costprism.capabilities.allocation import parse_rules_text
    from costprism.engine.allocation import SHARED

    folder = tmp_path / "rules"
    (folder / "usage").mkdir(parents=True)
    usage = "month,team,builds\n2026-05,payments,1\n2026-05,data,3\n2026-05,sandbox,0\n"
    (folder / "usage" / "platform.csv").write_text(usage)
    (folder / "rules.yaml").write_text(USAGE_RULES)
    result = apply_rules(ledger, load_rules(folder / "rules.yaml"))
    assert (result.version.path / "usage" / "platform.csv").read_text() == usage

    view = open_ledger(ledger)
    query = CostQuery(
        group_by=("team", SHARED), filters=parse_filters(["x_Shared=platform overhead"])
    )
    moved = {
        row["team"]: row["EffectiveCost"]
        for row in cost_report(view, query).rows
        if row["BillingCurrency"] == "USD"
    }
    assert set(moved) == {"payments", "data"}  # sandbox used nothing
    assert moved["data"] == pytest.approx(3 * moved["payments"], rel=Decimal("1e-9"))

    # the web editor and re-allocation after an import read the copy in the version
    (folder / "usage" / "platform.csv").unlink()
    again = parse_rules_text(ledger, USAGE_RULES)
    assert again.digest == result.version.digest
    result = ingest([SYNTHETIC_10K], ledger, IngestOptions(source="synthetic-again"))
    assert result.allocation is not None
    assert (result.allocation.path / "usage" / "platform.csv").read_text() == usage
