"""Daily series per scope from the engine: one row per scope and currency, NaN before a
scope's first charge, 0 on later days without charges, the caller's scope applied."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from costprism.anomalies.series import read_series, series_from_frame
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import parse_filters
from tests.anomaly_ledger import FIRST, LAST, NEW_REGION, shop_charges
from tests.forecast_ledger import apply_team_rules, build_home, forecast_sources


def test_series_hold_the_ledger_sums_per_scope_and_day(shop_view: LedgerView) -> None:
    series = read_series(shop_view, ("SubAccountId", "RegionId"))
    assert series.days[0] == FIRST
    assert series.days[-1] == LAST
    row = series.scopes.index({"SubAccountId": "111", "RegionId": "us-east-1"})
    expected = sum(
        u.amount for u in shop_charges() if u.account == "111" and u.region == "us-east-1"
        and u.day == date(2026, 3, 11)
    )  # fmt: skip
    assert series.values[row, series.days.index(date(2026, 3, 11))] == pytest.approx(expected)
    assert set(series.currencies) == {"USD"}


def test_days_before_the_first_charge_are_nan(shop_view: LedgerView) -> None:
    series = read_series(shop_view, ("SubAccountId", "RegionId"))
    row = series.scopes.index({"SubAccountId": "222", "RegionId": "eu-west-1"})
    first = series.days.index(NEW_REGION)
    assert np.isnan(series.values[row, :first]).all()
    assert (series.values[row, first:] == 60.0).all()


def test_the_callers_scope_is_applied_by_the_engine(shop_view: LedgerView) -> None:
    series = read_series(shop_view, ("ServiceName",), scope=parse_filters(["tag:team=data"]))
    assert {s["ServiceName"] for s in series.scopes} == {"Storage Service", "Compute Service"}
    compute = series.values[series.scopes.index({"ServiceName": "Compute Service"})]
    assert np.nansum(compute) == pytest.approx(2_400.0)  # only account 222's GPU days


def test_missing_days_are_zero_after_the_first_charge() -> None:
    frame = pd.DataFrame(
        {
            "ServiceName": ["a", "a", "b"],
            "BillingCurrency": ["USD", "USD", "EUR"],
            "period": [date(2026, 1, 1), date(2026, 1, 3), date(2026, 1, 2)],
            "EffectiveCost": [1.0, 3.0, 2.0],
        }
    )
    series = series_from_frame(frame, ("ServiceName",))
    assert series.currencies == ("USD", "EUR") or series.currencies == ("EUR", "USD")
    a = series.values[series.scopes.index({"ServiceName": "a"})]
    b = series.values[series.scopes.index({"ServiceName": "b"})]
    assert a.tolist() == [1.0, 0.0, 3.0]
    assert np.isnan(b[0])
    assert b[1:].tolist() == [2.0, 0.0]


def test_an_allocation_dimension_can_be_watched(tmp_path: Path) -> None:
    """The forecast tests' ledger, allocated by team (tests/forecast_ledger.py)."""
    ledger = build_home(tmp_path, forecast_sources())
    apply_team_rules(ledger)
    series = read_series(open_ledger(ledger), ("team",))
    assert {s["team"] for s in series.scopes} == {"payments", "data"}
    assert {c for s, c in zip(series.scopes, series.currencies, strict=True)
            if s["team"] == "data"} == {"USD", "EUR"}  # fmt: skip
