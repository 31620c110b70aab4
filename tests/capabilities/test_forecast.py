"""The forecast capability on a constructed ledger (``tests/forecast_ledger.py``): where it
starts, what it reads, scope, periods and the JSON shape."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from costprism.capabilities.forecast import forecast, last_complete_day, parse_horizon
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import parse_filters
from costprism.errors import UserError
from costprism.ledger import Ledger
from tests.forecast_ledger import (
    FIRST,
    LAST,
    Charge,
    apply_team_rules,
    build_home,
    forecast_sources,
    pattern,
)

KEYS = {"BillingCurrency", "period", "EffectiveCost", "lo80", "hi80", "lo95", "hi95"}


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Ledger:
    built = build_home(tmp_path_factory.mktemp("forecast"), forecast_sources())
    apply_team_rules(built)
    return built


@pytest.fixture(scope="module")
def view(ledger: Ledger) -> LedgerView:
    return open_ledger(ledger)


def test_the_forecast_starts_after_the_last_complete_day(view: LedgerView) -> None:
    """Account 1 has 12 hours of the 21st (not complete); account 3 stopped in January."""
    assert last_complete_day(view) == LAST
    found = forecast(view, group_by=["tag:team"], horizon="14d")
    assert found.start == LAST + timedelta(days=1)
    assert found.end == LAST + timedelta(days=14)
    assert {r["period"] for r in found.rows} == {LAST + timedelta(days=i) for i in range(1, 15)}
    payments = next(s for s in found.history if s.key == ("payments", "USD"))
    assert payments.end == LAST  # the partial day's 999 is not history
    assert payments.values.max() < 999


def test_an_account_behind_holds_the_start_back(tmp_path: Path) -> None:
    sources = forecast_sources()
    sources["b"] = [c for c in sources["b"] if c.day <= LAST - timedelta(days=3)]
    view = open_ledger(build_home(tmp_path, sources))
    assert last_complete_day(view) == LAST - timedelta(days=3)
    # within a scope that account 2 (source b) has no rows in, it does not count
    assert last_complete_day(view, parse_filters(["ServiceName!=Object Storage"])) == LAST


def test_a_day_ending_at_midnight_is_complete(tmp_path: Path) -> None:
    charges = [Charge(day=date(2026, 3, d), team="x", amount=1.0) for d in range(1, 11)]
    charges.append(Charge(day=date(2026, 3, 11), team="x", amount=1.0, hours=23))
    view = open_ledger(build_home(tmp_path, {"only": charges}))
    assert last_complete_day(view) == date(2026, 3, 10)


def test_a_known_weekly_pattern_with_trend_is_forecast_within_tolerance(view: LedgerView) -> None:
    found = forecast(view, group_by=["tag:team"], horizon="28d")
    rows = [r for r in found.rows if r["tag:team"] == "payments"]
    assert {r["model"] for r in rows} == {"MSTL"}
    expected = [pattern(r["period"], first=FIRST) + 30.0 for r in rows]  # + b's storage
    for row, truth in zip(rows, expected, strict=True):
        assert row["EffectiveCost"] == pytest.approx(truth, rel=0.03)
        assert row["lo95"] <= row["lo80"] <= row["EffectiveCost"] <= row["hi80"] <= row["hi95"]
    assert sum(r["EffectiveCost"] for r in rows) == pytest.approx(sum(expected), rel=0.02)


def test_currencies_are_separate_series_and_never_added(view: LedgerView) -> None:
    found = forecast(view, group_by=["tag:team"], horizon="7d")
    keys = {(r["tag:team"], r["BillingCurrency"]) for r in found.rows}
    assert keys == {("payments", "USD"), ("data", "USD"), ("data", "EUR")}
    eur = [r for r in found.rows if r["BillingCurrency"] == "EUR"]
    assert all(r["model"] == "SeasonalNaive" for r in eur)  # flat 20 a day
    assert all(r["EffectiveCost"] == pytest.approx(20.0) for r in eur)


def test_an_allocation_dimension_is_grouped_by_its_own_name(view: LedgerView) -> None:
    by_team = forecast(view, group_by=["team"], horizon="7d").records()
    by_tag = forecast(view, group_by=["tag:team"], horizon="7d").records()
    assert {r["team"] for r in by_team} == {"payments", "data"}
    assert [r["EffectiveCost"] for r in by_team] == pytest.approx(
        [r["EffectiveCost"] for r in by_tag]
    )


def test_a_scoped_forecast_is_the_forecast_of_the_filtered_ledger(
    view: LedgerView, tmp_path: Path
) -> None:
    scope = parse_filters(["tag:team=payments"])
    scoped = forecast(view, group_by=["ServiceName"], horizon="30d", scope=scope)
    only = {
        name: [c for c in charges if c.team == "payments"]
        for name, charges in forecast_sources().items()
    }
    filtered = open_ledger(build_home(tmp_path, {k: v for k, v in only.items() if v}))
    expected = forecast(filtered, group_by=["ServiceName"], horizon="30d")
    assert scoped.records() == expected.records()
    assert scoped.scope == scope
    assert {r["ServiceName"] for r in scoped.rows} == {"Compute Service", "Object Storage"}


def test_where_narrows_like_a_scope(view: LedgerView) -> None:
    where = forecast(view, horizon="10d", filters=parse_filters(["tag:team=data"]))
    scope = forecast(view, horizon="10d", scope=parse_filters(["tag:team=data"]))
    assert where.records() == scope.records()
    assert {r["BillingCurrency"] for r in where.rows} == {"USD", "EUR"}


def test_month_totals_are_actual_so_far_plus_the_forecast_rest(view: LedgerView) -> None:
    daily = forecast(view, group_by=["tag:team"], horizon="60d")
    monthly = forecast(view, group_by=["tag:team"], horizon="60d", granularity="month")
    assert monthly.end == date(2026, 7, 31)  # the horizon runs to the end of its month
    may = next(
        r for r in monthly.rows
        if r["tag:team"] == "payments" and r["period"] == date(2026, 5, 1)
    )  # fmt: skip
    actual = sum(pattern(date(2026, 5, d), first=FIRST) + 30.0 for d in range(1, 21))
    assert may["actual"] == pytest.approx(actual)
    rest = sum(
        r["EffectiveCost"] for r in daily.rows
        if r["tag:team"] == "payments" and r["period"].month == 5
    )  # fmt: skip
    assert may["EffectiveCost"] == pytest.approx(actual + rest)
    assert may["lo95"] <= may["lo80"] <= may["EffectiveCost"] <= may["hi80"] <= may["hi95"]
    june = next(
        r for r in monthly.rows
        if r["tag:team"] == "payments" and r["period"] == date(2026, 6, 1)
    )  # fmt: skip
    assert june["actual"] == 0
    assert "actual cost already in the ledger" in monthly.summary()["note"]


def test_quarter_and_year(view: LedgerView) -> None:
    quarters = forecast(view, horizon="30d", granularity="quarter")
    assert sorted({r["period"] for r in quarters.rows}) == [date(2026, 4, 1)]
    assert quarters.end == date(2026, 6, 30)
    years = forecast(view, horizon="1d", granularity="year")
    assert {r["period"] for r in years.rows} == {date(2026, 1, 1)}
    assert years.end == date(2026, 12, 31)


def test_json_records_have_the_issues_shape(view: LedgerView) -> None:
    records = forecast(view, group_by=["tag:team"], horizon="3d").records()
    assert len(records) == 9  # 3 series × 3 days
    for record in records:
        assert KEYS | {"tag:team"} <= set(record)
        assert isinstance(record["period"], str)
        date.fromisoformat(record["period"])
        assert isinstance(record["EffectiveCost"], float)


def test_billed_basis_names_its_measure(view: LedgerView) -> None:
    records = forecast(view, horizon="2d", basis="billed").records()
    assert "BilledCost" in records[0]
    assert "EffectiveCost" not in records[0]


@pytest.mark.parametrize(
    ("text", "days"), [("90d", 90), ("90", 90), ("12w", 84), ("3m", 90), ("1y", 365), (7, 7)]
)
def test_horizons(text: str | int, days: int) -> None:
    assert parse_horizon(text) == days


@pytest.mark.parametrize("text", ["", "0d", "ninety", "-5d", "5000d"])
def test_bad_horizons_say_what_to_write(text: str) -> None:
    with pytest.raises(UserError, match="horizon"):
        parse_horizon(text)


def test_bad_words_and_empty_scopes(view: LedgerView) -> None:
    with pytest.raises(UserError, match="granularity 'week'"):
        forecast(view, granularity="week")
    with pytest.raises(UserError, match="nothing to forecast") as raised:
        forecast(view, scope=parse_filters(["tag:team=nobody"]))
    assert raised.value.code == "forecast.no_data"
