"""Role home pages: every panel's figures against hand-written SQL over the ledger's files.

The ledger: two demo months (April and May 2026, USD and EUR) as source ``demo`` (version
1), then the FOCUS 1.0 sample (charges in September 2024) as source ``sample`` (version 2).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costprism.capabilities.datasources import source_freshness
from costprism.capabilities.home import PANELS, HomeContext, HomePage, add_months, home_page
from costprism.capabilities.reporting import cost_report
from costprism.demo import DemoSpec, generate
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import parse_filters
from costprism.engine.query import OTHER, CostQuery
from costprism.errors import NotFound
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.roles.workspaces import TREND_MONTHS, WORKSPACES, PanelSpec, Workspace

SqlRunner = Callable[[str], list[tuple[Any, ...]]]
DEMO = DemoSpec(seed=11, months=2, end_month=date(2026, 5, 1), rows_per_month=6_000)
NOW = datetime(2026, 7, 1, 12, tzinfo=UTC)
PAYMENTS = ("tag:team=payments",)
# The payments scope written out in plain SQL: a tag key that normalizes to 'team'.
IN_PAYMENTS = (
    "len(list_filter(map_entries(Tags), e -> replace(replace(lower(e.key), '-', ''), '_', '')"
    " = 'team' AND e.value = 'payments')) > 0"
)


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory, focus_data: Path) -> Ledger:
    root = tmp_path_factory.mktemp("home-ledger")
    demo = generate(root / "demo", DEMO)
    ledger = Ledger.at_home(root / "home")
    ingest([demo.out / "focus"], ledger, IngestOptions(source="demo"))
    ingest([focus_data / "focus-1.0_sample_1000.csv"], ledger, IngestOptions(source="sample"))
    return ledger


@pytest.fixture(scope="module")
def view(ledger: Ledger) -> LedgerView:
    opened = open_ledger(ledger)
    assert opened.daily is not None  # the pages read the rollup here
    return opened


@pytest.fixture(scope="module")
def sql(ledger: Ledger) -> Iterator[SqlRunner]:
    files, _ = ledger.costs.files()
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    listed = ", ".join(f"'{f}'" for f in files)
    connection.execute(f"CREATE VIEW costs AS SELECT * FROM read_parquet([{listed}])")
    yield lambda text: connection.execute(text).fetchall()
    connection.close()


def page(view: LedgerView, ledger: Ledger, role: str, scope: tuple[str, ...] = ()) -> HomePage:
    return home_page(view, ledger, role, parse_filters(scope), now=NOW)


def panel_of(home: HomePage, key: str) -> dict[str, Any]:
    found = [p.record() for p in home.panels if p.spec.key == key]
    assert len(found) == 1, key
    return found[0]


def month_totals(sql: SqlRunner, where: str = "true") -> dict[tuple[str, str], Decimal]:
    """(currency, YYYY-MM) → EffectiveCost, summed by DuckDB over the raw rows."""
    rows = sql(
        "SELECT BillingCurrency, strftime(ChargePeriodStart, '%Y-%m'), sum(EffectiveCost) "
        f"FROM costs WHERE {where} GROUP BY ALL"
    )
    return {(currency, month): amount for currency, month, amount in rows}


def cents(value: float | Decimal | None) -> Decimal:
    return Decimal(str(value or 0)).quantize(Decimal("0.01"))


def test_this_month_is_the_newest_charge_month_in_scope(
    view: LedgerView, ledger: Ledger, sql: SqlRunner
) -> None:
    [(newest,)] = sql("SELECT max(ChargePeriodStart)::DATE FROM costs")
    home = page(view, ledger, "practitioner")
    assert (home.through, home.this_month, home.last_month) == (
        newest,
        date(2026, 5, 1),
        date(2026, 4, 1),
    )
    [(sample_newest,)] = sql(
        "SELECT max(ChargePeriodStart)::DATE FROM costs WHERE x_SourceId = 'sample'"
    )
    sample = page(view, ledger, "practitioner", ("x_SourceId=sample",))
    assert sample.through == sample_newest
    assert sample.this_month == sample_newest.replace(day=1)
    assert sample.last_month == add_months(sample_newest.replace(day=1), -1)


def test_charges_after_today_do_not_choose_this_month(view: LedgerView, ledger: Ledger) -> None:
    home = home_page(view, ledger, "practitioner", today=date(2026, 4, 20), now=NOW)
    assert (home.through, home.this_month, home.last_month) == (
        date(2026, 4, 20),
        date(2026, 4, 1),
        date(2026, 3, 1),
    )
    summary = panel_of(home, "spend-summary")
    assert all(c["last_month"] == 0 and c["change"] is None for c in summary["currencies"])


@pytest.mark.parametrize(("scope", "where"), [((), "true"), (PAYMENTS, IN_PAYMENTS)])
def test_spend_summary_equals_sql_per_currency(
    view: LedgerView, ledger: Ledger, sql: SqlRunner, scope: tuple[str, ...], where: str
) -> None:
    summary = panel_of(page(view, ledger, "engineering", scope), "spend-summary")
    expected = month_totals(sql, where)
    currencies = {c for c, m in expected if m == "2026-05"}
    assert {c["BillingCurrency"] for c in summary["currencies"]} == currencies
    for row in summary["currencies"]:
        currency = row["BillingCurrency"]
        assert cents(row["this_month"]) == cents(expected[(currency, "2026-05")])
        assert cents(row["last_month"]) == cents(expected[(currency, "2026-04")])
        change = (expected[(currency, "2026-05")] / expected[(currency, "2026-04")]) - 1
        assert row["change"] == pytest.approx(float(change))
    assert (summary["this_month"], summary["last_month"]) == ("2026-05", "2026-04")


def test_each_trend_month_adds_up_to_that_month_per_currency(
    view: LedgerView, ledger: Ledger, sql: SqlRunner
) -> None:
    home = page(view, ledger, "management")
    trend = panel_of(home, "trend:ProviderName")
    assert len(trend["months"]) == TREND_MONTHS
    assert (trend["months"][0], trend["months"][-1]) == ("2025-05", "2026-05")
    expected = month_totals(sql)
    assert [c["BillingCurrency"] for c in trend["currencies"]] == ["USD", "EUR"]
    for block in trend["currencies"]:
        for position, month in enumerate(trend["months"]):
            stacked = sum(Decimal(str(s["values"][position])) for s in block["series"])
            assert cents(stacked) == cents(expected.get((block["BillingCurrency"], month)))


def test_trend_keeps_the_largest_series_and_folds_the_rest_last(
    view: LedgerView, ledger: Ledger, sql: SqlRunner
) -> None:
    trend = panel_of(page(view, ledger, "engineering"), "trend:ServiceName")
    [usd] = [c for c in trend["currencies"] if c["BillingCurrency"] == "USD"]
    names = [s["name"] for s in usd["series"]]
    [(services,)] = sql(
        "SELECT count(DISTINCT ServiceName) FROM costs WHERE BillingCurrency = 'USD' "
        "AND ChargePeriodStart >= '2025-05-01'"
    )
    assert services > 8
    assert len(names) == 9
    assert names[-1] == OTHER
    totals = [sum(s["values"]) for s in usd["series"][:-1]]
    assert totals == sorted(totals, reverse=True)


def test_top_lists_rank_each_currency_and_show_last_month(
    view: LedgerView, ledger: Ledger, sql: SqlRunner
) -> None:
    top = panel_of(page(view, ledger, "engineering", PAYMENTS), "top:ServiceName")
    rows = sql(
        "SELECT ServiceName, BillingCurrency, strftime(ChargePeriodStart, '%Y-%m'), "
        f"sum(EffectiveCost) FROM costs WHERE {IN_PAYMENTS} GROUP BY ALL"
    )
    expected = {(name, cur, month): amount for name, cur, month, amount in rows}
    named = [i for i in top["items"] if i["value"] != OTHER]
    assert 0 < len(named) <= 8
    for item in named:
        key = (item["value"], item["BillingCurrency"])
        assert cents(item["this_month"]) == cents(expected[(*key, "2026-05")])
        assert cents(item["last_month"]) == cents(expected.get((*key, "2026-04")))
    for currency in {i["BillingCurrency"] for i in named}:
        amounts = [i["this_month"] for i in named if i["BillingCurrency"] == currency]
        assert amounts == sorted(amounts, reverse=True)
        month_total = sum(
            v for (_, c, m), v in expected.items() if c == currency and m == "2026-05"
        )
        listed = sum(
            Decimal(str(i["this_month"])) for i in top["items"] if i["BillingCurrency"] == currency
        )
        assert cents(listed) == cents(month_total)
    assert all(i["last_month"] is None for i in top["items"] if i["value"] == OTHER)


def test_a_small_currency_gets_its_own_top_list(
    view: LedgerView, ledger: Ledger, sql: SqlRunner
) -> None:
    """Ranked alone, EUR's services are listed, not folded away by USD's larger amounts."""
    top = panel_of(page(view, ledger, "practitioner"), "top:ServiceName")
    [(services,)] = sql(
        "SELECT count(DISTINCT ServiceName) FROM costs WHERE BillingCurrency = 'EUR' "
        "AND ChargePeriodStart >= '2026-05-01'"
    )
    eur = [i["value"] for i in top["items"] if i["BillingCurrency"] == "EUR"]
    assert 0 < len(eur) == min(services, 8) + (services > 8)
    assert OTHER not in eur[:-1]


def test_freshness_agrees_with_the_data_sources_page_within_the_scope(
    view: LedgerView, ledger: Ledger
) -> None:
    whole = panel_of(page(view, ledger, "admin"), "freshness")
    expected = [s.record() for s in source_freshness(ledger, view, now=NOW)]
    assert [s["source"] for s in whole["sources"]] == ["demo", "sample"]
    for shown, other in zip(whole["sources"], expected, strict=True):
        assert shown["source"] == other["source"]
        assert shown["newest_charge"] == other["newest_ChargePeriodStart"][:10]
        assert (shown["last_import_at"], shown["age_hours"]) == (
            other["last_import_at"],
            other["age_hours"],
        )
    assert [s["version"] for s in whole["sources"]] == [1, 2]
    assert whole["newest_charge"] == "2026-05-31"
    assert whole["days_behind"] == (NOW.date() - date(2026, 5, 31)).days
    scoped = panel_of(page(view, ledger, "admin", ("x_SourceId=demo",)), "freshness")
    assert [s["source"] for s in scoped["sources"]] == ["demo"]


def test_freshness_reads_the_viewed_version(ledger: Ledger) -> None:
    first = open_ledger(ledger, as_of=1)
    sources = panel_of(home_page(first, ledger, "admin", now=NOW), "freshness")["sources"]
    assert [(s["source"], s["version"]) for s in sources] == [("demo", 1)]


def test_the_page_reads_the_same_from_the_rollup_as_from_the_raw_ledger(
    view: LedgerView, ledger: Ledger
) -> None:
    raw = replace(view, daily=None)
    scope = ("tag:CostCenter in (CC-110, cc-110)",)
    from_rollup = page(view, ledger, "finance", scope).record()
    assert rounded(from_rollup) == rounded(page(raw, ledger, "finance", scope).record())


def rounded(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 2)
    if isinstance(value, dict):
        return {k: rounded(v) for k, v in value.items()}
    if isinstance(value, list):
        return [rounded(v) for v in value]
    return value


def test_finance_reads_billed_cost_and_the_record_is_json(view: LedgerView, ledger: Ledger) -> None:
    home = page(view, ledger, "finance")
    record = json.loads(json.dumps(home.record()))
    assert (record["basis"], record["measure"]) == ("billed", "BilledCost")
    summary = panel_of(home, "spend-summary")
    billed = cost_report(
        view,
        CostQuery(
            basis=("billed",), granularity="month", start=date(2026, 5, 1), end=date(2026, 6, 1)
        ),
    )
    assert {c["BillingCurrency"]: cents(c["this_month"]) for c in summary["currencies"]} == {
        currency: cents(m["BilledCost"]) for currency, m in billed.totals().items()
    }
    assert (record["role"], record["title"]) == ("finance", WORKSPACES["finance"].title)


def test_an_unknown_role_is_not_found(view: LedgerView, ledger: Ledger) -> None:
    with pytest.raises(NotFound) as raised:
        home_page(view, ledger, "astronaut")
    assert raised.value.code == "role.unknown"
    assert "practitioner" in raised.value.message


def test_an_empty_ledger_gives_empty_panels(tmp_path: Path) -> None:
    empty = Ledger.at_home(tmp_path)
    home = home_page(open_ledger(empty), empty, "practitioner", now=NOW)
    assert (home.this_month, home.through, home.version) == (None, None, None)
    records = [p.record() for p in home.panels]
    assert [r.get("currencies", r.get("items", r.get("sources"))) for r in records] == [
        [] for _ in records
    ]


@dataclass(frozen=True, kw_only=True)
class CurrencyCount:
    """A panel kind made up for the test: how many currencies the scope holds."""

    spec: PanelSpec
    currencies: int

    def record(self) -> dict[str, Any]:
        return {"kind": self.spec.kind, "currencies": self.currencies}


def count_currencies(context: HomeContext, spec: PanelSpec) -> CurrencyCount:
    report = context.report(CostQuery(granularity="total"))
    return CurrencyCount(spec=spec, currencies=len(report.rows))


def test_a_registered_panel_kind_is_built_for_a_workspace_naming_it(
    view: LedgerView, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(PANELS, "currency-count", count_currencies)
    spec = PanelSpec(kind="currency-count", title="Currencies")
    workspace = Workspace(role="tester", title="Tester", purpose="testing", panels=(spec,))
    monkeypatch.setitem(WORKSPACES, "tester", workspace)
    assert [p.record() for p in page(view, ledger, "tester").panels] == [
        {"kind": "currency-count", "currencies": 2}
    ]
    scoped = page(view, ledger, "tester", ("BillingCurrency=EUR",))
    assert [p.record() for p in scoped.panels] == [{"kind": "currency-count", "currencies": 1}]


def test_tag_compliance_needs_a_policy_and_follows_the_scope(
    view: LedgerView, ledger: Ledger
) -> None:
    from costprism.allocation.tag_policy import parse_policy, policy_path
    from costprism.capabilities.tag_governance import apply_policy, tag_report

    empty = panel_of(page(view, ledger, "practitioner"), "tag-compliance")
    assert (empty["policy"], empty["currencies"]) == (None, [])
    policy = parse_policy(
        "required: [{keys: [CostCenter, Environment]}]\nallowed: {Environment: [prod, staging]}\n"
    )
    apply_policy(ledger, policy)
    try:
        for role, scope in (("practitioner", ()), ("finance", PAYMENTS)):
            home = page(view, ledger, role, scope)
            record = panel_of(home, "tag-compliance")
            assert (record["policy"], record["this_month"]) == (policy.digest, "2026-05")
            report = tag_report(
                view, policy, parse_filters(scope), month=date(2026, 5, 1), months=2, top=0
            )
            months = {(m.currency, m.month.month): m for m in report.trend}
            summary = panel_of(home, "spend-summary")
            currencies = [c["BillingCurrency"] for c in summary["currencies"]]
            assert [c["BillingCurrency"] for c in record["currencies"]] == currencies
            for row in record["currencies"]:
                this, last = (
                    months[(row["BillingCurrency"], 5)],
                    months[(row["BillingCurrency"], 4)],
                )
                assert row["compliant_percent"] == this.compliant_percent
                assert row["untagged_percent"] == this.untagged_percent
                assert row["last_compliant_percent"] == last.compliant_percent
                assert row["taggable_cost"] == float(this.taggable_cost)
                assert 0 < row["compliant_cost"] < row["taggable_cost"]
    finally:
        policy_path(ledger.root).unlink()
