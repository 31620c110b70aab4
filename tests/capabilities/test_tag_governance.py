"""The tag report on the sample ledger against hand-written SQL: KPIs per month and currency,
the trend window, the top non-compliant resources with owners and failing keys, scopes
(a column, a tag, an allocation dimension); setting and reading the active policy."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from costprism.allocation.rules import parse_rules
from costprism.allocation.tag_policy import parse_policy
from costprism.capabilities.allocation import apply_rules, parse_month
from costprism.capabilities.tag_governance import (
    active_policy,
    apply_policy,
    require_policy,
    tag_report,
)
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import parse_filters
from costprism.errors import NotFound, UserError
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from tests.allocation.test_rules import EXAMPLE as RULES
from tests.allocation.test_tag_policy import EXAMPLE
from tests.conftest import SYNTHETIC_10K, SqlRunner
from tests.engine.test_tagging import STRICT, monthly_sql, strict_sql, tag_sql

MAY = date(2026, 5, 1)
SEPTEMBER = date(2024, 9, 1)


def test_kpis_and_trend_equal_sql(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    report = tag_report(sample_view, STRICT, month=MAY, months=21, top=0)
    assert report.month == MAY
    assert report.months[0] == SEPTEMBER
    assert report.months[-1] == MAY
    assert len(report.months) == 21
    expected = monthly_sql(sample_sql)  # charges in 2024-09 and 2026-05, both in the window
    found = [
        (m.month, m.currency, m.total_cost, m.taggable_cost, m.untagged_cost, m.compliant_cost,
         m.rows, m.taggable_rows, m.untagged_rows, m.compliant_rows)
        for m in report.trend
    ]  # fmt: skip
    assert found == expected
    [may] = report.kpis
    _, _, _, taggable, untagged, compliant, *_ = expected[-1]
    assert may.untagged_percent == round(float(untagged / taggable * 100), 2) == 0.0
    assert may.compliant_percent == round(float(compliant / taggable * 100), 2)
    assert 0 < may.compliant_percent < 100
    september = report.trend[0]
    assert september.untagged_percent is not None
    assert september.untagged_percent > 0
    assert september.compliant_percent == 0.0
    record = report.record()
    assert record["kpis"] == [may.record()]
    assert record["measure"] == "EffectiveCost"
    assert record["policy"]["digest"] == STRICT.digest


def test_the_window_and_the_default_month(sample_view: LedgerView) -> None:
    latest = tag_report(sample_view, STRICT, top=0, today=date(2026, 12, 3))
    assert latest.month == MAY
    assert [m.month for m in latest.trend] == [MAY]  # 13 months back is 2025-05
    earlier = tag_report(sample_view, STRICT, top=0, months=2, today=date(2025, 1, 15))
    assert earlier.month == SEPTEMBER  # charges after "today" do not choose the month
    assert earlier.months == (date(2024, 8, 1), SEPTEMBER)
    assert [m.month for m in earlier.trend] == [SEPTEMBER]
    empty = tag_report(sample_view, STRICT, month=date(2025, 3, 1), months=6, top=5)
    assert (empty.kpis, empty.trend, empty.resources) == ((), (), ())
    nothing = tag_report(sample_view, STRICT, parse_filters(["ProviderName=none"]), top=5)
    assert (nothing.month, nothing.months, nothing.trend) == (None, (), ())


def test_top_noncompliant_resources_with_owners_and_failing_keys(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    report = tag_report(sample_view, STRICT, month=MAY, top=5)
    expected = sample_sql(
        strict_sql("ChargePeriodStart >= TIMESTAMPTZ '2026-05-01'")
        + """
    SELECT cur, ResourceId, sum(cost) AS total, max(SubAccountName), max(o)
    FROM f WHERE taggable AND bad GROUP BY ALL ORDER BY cur, total DESC, ResourceId LIMIT 5"""
    )
    assert [(r.currency, r.resource_id, r.cost) for r in report.resources] == [
        row[:3] for row in expected
    ]
    for resource, (*_, sub_account, owner) in zip(report.resources, expected, strict=True):
        assert resource.sub_account == sub_account
        assert (resource.owner, resource.owner_source) == (owner, "tag")
        assert resource.missing or resource.invalid
        assert set(resource.missing) <= {"DataClassification"}  # synthetic rows carry the rest
        assert set(resource.invalid) <= {"Environment"}  # dev is not allowed
    record = report.resources[0].record()
    assert set(record) == {
        "BillingCurrency", "ResourceId", "ResourceName", "SubAccountName", "owner",
        "owner_source", "cost", "rows", "missing", "invalid",
    }  # fmt: skip
    untagged = tag_report(sample_view, STRICT, month=SEPTEMBER, top=3).resources
    assert all(r.owner_source == "sub-account" and r.owner == r.sub_account for r in untagged)
    assert all({"Owner", "CostCenter"} <= set(r.missing) for r in untagged)


def test_the_scope_is_applied_by_the_engine(sample_view: LedgerView, sample_sql: SqlRunner) -> None:
    scope = parse_filters(["tag:Owner=team-data", "SubAccountName like prod-%"])
    report = tag_report(sample_view, STRICT, scope, month=MAY, top=50)
    where = f"{tag_sql('owner')} = 'team-data' AND SubAccountName LIKE 'prod-%'"
    [expected] = monthly_sql(sample_sql, where)
    [may] = report.kpis
    assert (may.taggable_cost, may.compliant_cost, may.taggable_rows) == (
        expected[3], expected[5], expected[7],
    )  # fmt: skip
    assert may.compliant_cost == 0  # prod-% needs DataClassification, which nobody has
    assert {r.owner for r in report.resources} == {"team-data"}
    assert {r.sub_account for r in report.resources} == {"prod-platform"}
    assert report.scope == ("tag:Owner=team-data", "SubAccountName like prod-%")


def test_the_documented_example_on_the_synthetic_month(
    sample_view: LedgerView, sample_sql: SqlRunner
) -> None:
    policy = parse_policy(EXAMPLE)
    [may] = tag_report(sample_view, policy, month=MAY, top=0).kpis
    [(compliant, prod)] = sample_sql(
        f"""SELECT sum(EffectiveCost) FILTER (NOT coalesce(SubAccountName LIKE 'prod-%', false)),
                  sum(EffectiveCost) FILTER (SubAccountName LIKE 'prod-%')
           FROM costs WHERE ResourceId IS NOT NULL
             AND ChargePeriodStart >= TIMESTAMPTZ '2026-05-01' AND {tag_sql("owner")} IS NOT NULL"""
    )
    assert may.compliant_cost == compliant  # all but the prod-% accounts' resources
    assert may.taggable_cost == compliant + prod


@pytest.fixture(scope="module")
def allocated(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    ledger = Ledger.at_home(tmp_path_factory.mktemp("tags-allocated"))
    ingest([SYNTHETIC_10K], ledger, IngestOptions(source="synthetic"))
    apply_rules(ledger, parse_rules(RULES))
    return ledger


def test_a_scope_on_an_allocation_dimension_weighs_by_the_allocated_parts(
    allocated: Ledger,
) -> None:
    view = open_ledger(allocated)
    whole = tag_report(view, STRICT, month=MAY, top=0).kpis[0]
    teams = ("payments", "data", "sandbox", "platform", "(unallocated)")
    parts = [
        tag_report(view, STRICT, parse_filters([f"team={t}"]), month=MAY, top=0) for t in teams
    ]
    kpis = [p.kpis[0] for p in parts if p.kpis]
    for field in ("taggable_cost", "untagged_cost", "compliant_cost"):
        total = sum((getattr(k, field) for k in kpis), Decimal(0))
        assert abs(total - getattr(whole, field)) < Decimal("0.000001"), field
    data = tag_report(view, STRICT, parse_filters(["team=data"]), month=MAY, top=3)
    assert data.resources
    assert all(r.cost > 0 for r in data.resources)


def test_the_active_policy_is_set_read_and_required(tmp_path: Path) -> None:
    ledger = Ledger.at_home(tmp_path)
    assert active_policy(ledger) is None
    with pytest.raises(NotFound, match="costprism tags policy apply FILE") as caught:
        require_policy(ledger)
    assert caught.value.code == "tags.no_policy"
    path = apply_policy(ledger, parse_policy(EXAMPLE))
    assert path == ledger.root / "tag_policy" / "policy.yaml"
    assert require_policy(ledger).digest == parse_policy(EXAMPLE).digest


def test_bad_options_say_what_to_give(sample_view: LedgerView) -> None:
    assert parse_month("2026-05") == MAY
    assert parse_month("") is None
    with pytest.raises(UserError, match="--month '2026-13' is not a month; write YYYY-MM"):
        parse_month("2026-13", "--month")
    with pytest.raises(UserError, match="months 0 is out of range"):
        tag_report(sample_view, STRICT, months=0)
    with pytest.raises(UserError, match="top -1 is out of range") as caught:
        tag_report(sample_view, STRICT, top=-1)
    assert caught.value.code == "usage"
