"""Budget vs actual vs forecast against hand-written DuckDB SQL over the chargeback tests'
ledger (tests/chargeback_ledger.py: billing period 2026-05, USD and EUR, allocated by team,
cost center and product): actual per billing period, variance, burn rate, thresholds and
status, the caller's scope pushed down, the forecast from the forecast capability, the
periods before, the home pages' budgets panel."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from costprism.budgets.periods import FISCAL_YEAR_START_ENV, Period, period_containing
from costprism.budgets.spec import BudgetSpec
from costprism.capabilities.budget_store import StoredBudget
from costprism.capabilities.budgets import (
    BudgetStatus,
    budget_detail,
    budget_status,
    budget_statuses,
    ledger_through,
    status_row,
)
from costprism.capabilities.forecast import forecast
from costprism.capabilities.home import home_page
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import Filter, parse_filters
from costprism.ledger import Ledger
from tests.chargeback_ledger import HandSql, cents, chargeback_home

MAY = period_containing("month", date(2026, 5, 1))
THROUGH = date(2026, 5, 20)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return chargeback_home(tmp_path_factory)


@pytest.fixture(scope="module")
def view(home: Path) -> LedgerView:
    return open_ledger(Ledger.at_home(home))


@pytest.fixture(scope="module")
def hand(home: Path) -> Iterator[HandSql]:
    sql = HandSql(home)
    yield sql
    sql.close()


def budget(
    amount: str = "100000", scope: tuple[str, ...] = ("team=payments",), **fields: object
) -> StoredBudget:
    spec = BudgetSpec(
        name=str(fields.pop("name", "b")),
        scope=parse_filters(scope),
        period=fields.pop("period", "month"),  # type: ignore[arg-type]
        amount=Decimal(amount),
        currency=str(fields.pop("currency", "USD")),
        **fields,  # type: ignore[arg-type]
    )
    return StoredBudget(spec=spec)


def no_forecast(*_: object) -> tuple[date, Decimal] | None:
    return None


def fixed(remaining: str) -> object:
    def forecaster(*_: object) -> tuple[date, Decimal]:
        return THROUGH, Decimal(remaining)

    return forecaster


def hand_actual(hand: HandSql, where: str, column: str = "effective") -> Decimal:
    ((total,),) = hand.rows(
        f"SELECT coalesce(sum({column}), 0) FROM allocated WHERE {where} "
        "AND BillingPeriodStart = TIMESTAMPTZ '2026-05-01 00:00:00+00'"
    )
    return Decimal(total)


def test_actual_and_variance_match_hand_sql(view: LedgerView, hand: HandSql) -> None:
    found = budget_status(view, budget("100000"), MAY, through=THROUGH, forecaster=no_forecast)
    expected = hand_actual(hand, "x_team = 'payments' AND BillingCurrency = 'USD'")
    assert cents(found.actual) == cents(expected)
    assert cents(found.variance) == cents(Decimal(100000) - expected)
    assert found.variance_percent == pytest.approx(float((100000 - expected) / 100000 * 100))
    billed = budget_status(view, budget("100000", basis="billed"), MAY, through=THROUGH,
                           forecaster=no_forecast)  # fmt: skip
    assert cents(billed.actual) == cents(
        hand_actual(hand, "x_team = 'payments' AND BillingCurrency = 'USD'", "billed")
    )
    eur = budget_status(view, budget("500", currency="EUR"), MAY, through=THROUGH,
                        forecaster=no_forecast)  # fmt: skip
    assert cents(eur.actual) == cents(
        hand_actual(hand, "x_team = 'payments' AND BillingCurrency = 'EUR'")
    )


def test_daily_actual_and_burn_rate(view: LedgerView, hand: HandSql) -> None:
    found = budget_status(view, budget("62000"), MAY, through=THROUGH, forecaster=no_forecast)
    rows = hand.rows(
        "SELECT CAST(date_trunc('day', ChargePeriodStart) AS DATE), sum(effective) "
        "FROM allocated WHERE x_team = 'payments' AND BillingCurrency = 'USD' GROUP BY 1 "
        "ORDER BY 1"
    )
    assert [(d, cents(v)) for d, v in found.daily] == [(d, cents(Decimal(v))) for d, v in rows]
    assert found.elapsed_days == 20
    assert found.burn_rate is not None
    assert cents(found.burn_rate) == cents(found.actual / 20)
    assert found.budget_rate == Decimal(2000)  # 62000 over May's 31 days
    assert found.burn_ratio == pytest.approx(float(found.actual / 20 / 2000))
    assert found.run_rate_total is not None
    assert cents(found.run_rate_total) == cents(found.actual / 20 * 31)


def test_quarters_and_fiscal_years_follow_the_setting(
    view: LedgerView, monkeypatch: pytest.MonkeyPatch
) -> None:
    month = budget_status(view, budget(), MAY, through=THROUGH, forecaster=no_forecast).actual
    may = date(2026, 5, 1)
    for start, label, actual in ((3, "FY2027-Q1", month), (6, "FY2026-Q4", month),
                                 (4, "FY2027-Q1", month)):  # fmt: skip
        monkeypatch.setenv(FISCAL_YEAR_START_ENV, str(start))
        (found,) = budget_statuses(view, [budget(period="quarter")], month=may,
                                   through=THROUGH, forecaster=no_forecast)  # fmt: skip
        assert (found.period.label, found.actual) == (label, actual)
        assert may in found.period.billing_periods
    monkeypatch.setenv(FISCAL_YEAR_START_ENV, "6")
    (june,) = budget_statuses(view, [budget(period="quarter")], month=date(2026, 6, 1),
                              through=THROUGH, forecaster=no_forecast)  # fmt: skip
    assert (june.period.start, june.actual, june.elapsed_days) == (date(2026, 6, 1), 0, 0)
    assert june.burn_rate is None
    (year,) = budget_statuses(view, [budget(period="fiscal-year")], month=may,
                              through=THROUGH, forecaster=no_forecast)  # fmt: skip
    assert (year.period.label, year.period.days, year.actual) == ("FY2026", 365, month)
    assert year.elapsed_days == (THROUGH - date(2025, 6, 1)).days + 1


def test_holdback_thresholds_and_status(view: LedgerView) -> None:
    actual = budget_status(view, budget(), MAY, through=THROUGH, forecaster=no_forecast).actual

    def status(amount: Decimal, remaining: str | None, **fields: object) -> BudgetStatus:
        chosen = budget(str(amount), **fields)
        forecaster = fixed(remaining) if remaining is not None else no_forecast
        return budget_status(view, chosen, MAY, through=THROUGH, forecaster=forecaster)  # type: ignore[arg-type]

    ok = status(actual * 2, "0")
    assert (ok.status, ok.crossed_actual, ok.crossed_forecast) == ("ok", (), ())
    warned = status(actual / Decimal("0.85"), "0")  # actual at 85 %
    assert (warned.status, warned.crossed_actual) == ("warning", (Decimal(80),))
    assert warned.record()["actual_percent"] == pytest.approx(85.0)
    risky = status(actual / Decimal("0.85"), str(actual * Decimal("0.5")))
    assert risky.forecast is not None
    assert (risky.status, risky.crossed_forecast) == ("at-risk", (Decimal(100),))
    over = status(actual / 2, "0")
    assert (over.status, over.crossed_actual) == ("over", (Decimal(80), Decimal(100)))
    held = status(actual * Decimal("1.1"), "0", holdback=actual * Decimal("0.2"))
    assert held.available == actual * Decimal("0.9")
    assert held.status == "over"  # the holdback is not the owners' to spend
    released = StoredBudget(spec=held.budget.spec, released={MAY.start: actual * Decimal("0.2")})
    freed = budget_status(view, released, MAY, through=THROUGH, forecaster=no_forecast)
    assert (freed.available, freed.status) == (actual * Decimal("1.1"), "warning")
    custom = status(actual * 2, "0", actual_thresholds=(Decimal(25), Decimal(50)),
                    forecast_thresholds=(Decimal(30),))  # fmt: skip
    assert (custom.crossed_actual, custom.crossed_forecast, custom.status) == (
        (Decimal(25), Decimal(50)), (Decimal(30),), "at-risk",
    )  # fmt: skip
    row = status_row(risky)
    assert (row["status"], row["crossed_forecast"], row["period"]) == ("at-risk", "100%", "2026-05")


def test_the_caller_scope_is_pushed_down(view: LedgerView, hand: HandSql) -> None:
    scope = parse_filters(["ServiceCategory=Compute"])
    found = budget_status(view, budget(), MAY, scope, through=THROUGH, forecaster=no_forecast)
    expected = hand_actual(
        hand, "x_team = 'payments' AND BillingCurrency = 'USD' AND ServiceCategory = 'Compute'"
    )
    assert cents(found.actual) == cents(expected)
    whole = budget_status(view, budget(), MAY, through=THROUGH, forecaster=no_forecast)
    assert 0 < found.actual < whole.actual


def test_the_forecast_comes_from_the_forecast_capability(view: LedgerView) -> None:
    """A quarter in progress: its actual up to the last complete day plus the forecast
    capability's point forecast of each later day of the quarter."""
    chosen = budget(period="quarter")
    through = ledger_through(view)
    assert through is not None
    quarter = period_containing("quarter", through)
    assert through < quarter.end - timedelta(days=1)
    found = budget_status(view, chosen, quarter, through=through)
    currency = Filter(column="BillingCurrency", op="=", values=("USD",))
    horizon = (quarter.end - through).days - 1
    expected = forecast(view, horizon=horizon, filters=(*chosen.spec.scope, currency))
    (series,) = expected.series
    remaining = sum(v for d, v in zip(series.days, series.point, strict=True) if d < quarter.end)
    so_far = sum((v for d, v in found.daily if d <= expected.last_complete_day), Decimal(0))
    assert found.forecast is not None
    assert float(found.forecast) == pytest.approx(float(so_far) + remaining, rel=1e-9)
    assert found.forecast > found.actual
    finished = budget_status(view, chosen, quarter, through=quarter.end)
    assert finished.forecast == finished.actual  # a finished period's forecast is its actual


def test_the_default_period_is_the_one_in_progress(view: LedgerView) -> None:
    through = ledger_through(view)
    assert through is not None
    (found,) = budget_statuses(view, [budget()], forecaster=no_forecast)
    assert found.through == through
    assert found.period == period_containing("month", through + timedelta(days=1))


def test_the_detail_holds_the_periods_before(view: LedgerView, hand: HandSql) -> None:
    detail = budget_detail(view, budget("1000", holdback=Decimal(100)), through=THROUGH,
                           periods=3, forecaster=no_forecast)  # fmt: skip
    assert [p.period.label for p in detail.history] == ["2026-03", "2026-04", "2026-05"]
    assert [p.actual for p in detail.history][:2] == [0, 0]
    assert cents(detail.history[-1].actual) == cents(
        hand_actual(hand, "x_team = 'payments' AND BillingCurrency = 'USD'")
    )
    record = detail.record()
    assert record["history"][0]["available"] == 900.0
    assert record["definition"]["holdback"] == 100.0
    assert record["daily"][0]["day"] == "2026-05-01"
    assert set(record) >= {"name", "period", "actual", "forecast", "variance_percent",
                           "burn_rate", "burn_ratio", "crossed", "status", "through"}  # fmt: skip


def test_the_home_page_budgets_panel(view: LedgerView, home: Path) -> None:
    budgets = (budget("1", name="tiny"), budget("10000000", name="huge"))
    page = home_page(view, Ledger.at_home(home), "finance", budgets=budgets).record()
    (panel,) = [p for p in page["panels"] if p["kind"] == "budgets"]
    assert [b["name"] for b in panel["budgets"]] == ["tiny", "huge"]  # the most urgent first
    tiny, huge = panel["budgets"]
    assert tiny["status"] in ("over", "at-risk")  # as the month in progress has it
    assert huge["status"] == "ok"
    assert panel["counts"][tiny["status"]] == 1
    assert panel["counts"]["ok"] == 1
    practitioner = home_page(view, Ledger.at_home(home), "practitioner", budgets=budgets)
    assert "budgets" not in [p.spec.kind for p in practitioner.panels]


def test_periods_are_whole_months_of_billing_periods() -> None:
    assert Period(start=date(2026, 5, 1), end=date(2026, 6, 1), kind="month").days == 31
    assert MAY.end - timedelta(days=1) == date(2026, 5, 31)


def test_budgets_on_one_column_are_forecast_together_with_the_same_answer(
    view: LedgerView,
) -> None:
    from costprism.capabilities.budgets import forecast_remaining

    chosen = [
        budget(name="pay", scope=("team=payments",), period="quarter"),
        budget(name="data", scope=("team=data",), period="quarter"),
        budget(name="sandbox-eur", scope=("team=sandbox",), currency="EUR", period="quarter"),
        budget(name="compute", scope=("ServiceCategory=Compute",), period="quarter"),
    ]
    together = budget_statuses(view, chosen)
    alone = budget_statuses(view, chosen, forecaster=forecast_remaining)
    assert [s.budget.name for s in together] == [s.budget.name for s in alone]
    for batched, single in zip(together, alone, strict=True):
        assert batched.forecast is not None
        assert single.forecast is not None
        assert float(batched.forecast) == pytest.approx(float(single.forecast), rel=1e-9)
        assert batched.forecast > batched.actual  # the quarter is in progress
