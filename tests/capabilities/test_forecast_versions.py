"""Saved forecast versions, forecast accuracy and drift on a constructed case: a ledger
through April, a forecast saved; May's first ten days imported, a second forecast saved;
accuracy against the known May charges, drift between the two."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import pyarrow.compute as pc
import pytest

from costprism.capabilities.forecast import forecast
from costprism.capabilities.forecast_versions import (
    accuracy_rate,
    drift_rate,
    forecast_accuracy,
    forecast_drift,
    forecast_versions,
    get_version,
    save_forecast,
)
from costprism.engine.backends import open_ledger
from costprism.engine.filters import parse_filters
from costprism.errors import NotFound, UserError
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.ledger.forecasts import ForecastVersion
from tests.forecast_ledger import Charge, build_home, daily_rows, series_charges

APRIL_END = date(2026, 4, 30)
MAY_DAYS = 10
MAY = [date(2026, 5, d) for d in range(1, MAY_DAYS + 1)]


@dataclass
class Case:
    ledger: Ledger
    first: ForecastVersion  # saved with data through April: May 1 … May 20
    second: ForecastVersion  # saved with May 1 … 10 in: May 11 … June 9
    may_actual: dict[str, float]  # team → May 1 … 10 cost


def _may(team: str, amount: float) -> list[Charge]:
    return [Charge(day=d, team=team, amount=amount) for d in MAY]


@pytest.fixture(scope="module")
def case(tmp_path_factory: pytest.TempPathFactory) -> Case:
    home = tmp_path_factory.mktemp("versions")
    ledger = build_home(
        home,
        {
            "april": [
                *series_charges("payments", date(2026, 1, 1), APRIL_END),
                *series_charges("data", date(2026, 1, 1), APRIL_END, level=40, trend=0.1),
            ]
        },
    )
    first = save_forecast(
        ledger, forecast(open_ledger(ledger), group_by=["tag:team"], horizon="20d")
    )
    may = [*_may("payments", 250.0), *_may("data", 30.0)]
    ingest([daily_rows(home / "may.csv", may)], ledger, IngestOptions(source="may"))
    second = save_forecast(
        ledger, forecast(open_ledger(ledger), group_by=["tag:team"], horizon="30d")
    )
    return Case(
        ledger=ledger, first=first, second=second,
        may_actual={"payments": 250.0 * MAY_DAYS, "data": 30.0 * MAY_DAYS},
    )  # fmt: skip


def stored_sum(version: ForecastVersion, team: str, first: date, last: date) -> float:
    table = version.daily()
    keep = pc.and_(
        pc.equal(table["key0"], team),
        pc.and_(pc.greater_equal(table["day"], first), pc.less_equal(table["day"], last)),
    )
    return float(pc.sum(table.filter(keep)["point"]).as_py())


def test_versions_are_numbered_and_describe_what_they_forecast(case: Case) -> None:
    assert (case.first.version, case.second.version) == (1, 2)
    assert case.first.path.name == "v000001"
    meta = case.first.meta
    assert meta["ledger_version"] == 1
    assert case.second.meta["ledger_version"] == 2
    assert meta["group_by"] == ["tag:team"]
    assert meta["start"] == "2026-05-01"
    assert meta["end"] == "2026-05-20"
    assert meta["horizon_days"] == 20
    assert meta["models"] == {"MSTL": 2}
    assert meta["scope"] == []
    assert "created_at" in meta
    assert case.second.start == date(2026, 5, 11)
    assert case.first.daily().num_rows == 2 * 20
    assert [v.version for v in forecast_versions(case.ledger)] == [1, 2]


def test_a_version_is_never_changed(case: Case) -> None:
    before = {p.name: p.read_bytes() for p in case.first.path.iterdir()}
    save_forecast(case.ledger, forecast(open_ledger(case.ledger), horizon="5d"))
    after = {p.name: p.read_bytes() for p in get_version(case.ledger, 1).path.iterdir()}
    assert after == before
    assert not [p for p in case.first.path.parent.iterdir() if p.name.startswith("_")]


def test_accuracy_against_the_actuals_now_in_the_ledger(case: Case) -> None:
    found = forecast_accuracy(open_ledger(case.ledger), case.ledger, 1)
    assert found.first_day == date(2026, 5, 1)
    assert found.last_day == date(2026, 5, MAY_DAYS)  # only days complete now
    rows = {r["tag:team"]: r for r in found.rows}
    for team in ("payments", "data"):
        forecast_total = stored_sum(case.first, team, MAY[0], MAY[-1])
        row = rows[team]
        assert row["period"] == date(2026, 5, 1)
        assert row["forecast"] == pytest.approx(forecast_total)
        assert row["actual"] == pytest.approx(case.may_actual[team])
        assert row["accuracy"] == pytest.approx(
            (forecast_total - case.may_actual[team]) / forecast_total
        )
    (usd,) = found.totals
    forecast_all = sum(rows[t]["forecast"] for t in rows)
    assert usd["accuracy"] == pytest.approx((forecast_all - 2800.0) / forecast_all)


def test_accuracy_by_day(case: Case) -> None:
    found = forecast_accuracy(open_ledger(case.ledger), case.ledger, 1, granularity="day")
    payments = [r for r in found.rows if r["tag:team"] == "payments"]
    assert [r["period"] for r in payments] == MAY
    assert all(r["actual"] == pytest.approx(250.0) for r in payments)


def test_no_day_to_compare_yet(case: Case) -> None:
    found = forecast_accuracy(open_ledger(case.ledger), case.ledger, 2)
    assert found.first_day is None
    assert found.rows == ()
    assert found.record()["rows"] == []


def test_drift_between_versions_over_the_days_both_forecast(case: Case) -> None:
    found = forecast_drift(case.ledger, 1, 2)
    assert (found.first_day, found.last_day) == (date(2026, 5, 11), date(2026, 5, 20))
    rows = {r["tag:team"]: r for r in found.rows}
    for team in ("payments", "data"):
        previous = stored_sum(case.first, team, date(2026, 5, 11), date(2026, 5, 20))
        new = stored_sum(case.second, team, date(2026, 5, 11), date(2026, 5, 20))
        assert rows[team]["previous"] == pytest.approx(previous)
        assert rows[team]["new"] == pytest.approx(new)
        assert rows[team]["drift"] == pytest.approx((new - previous) / previous)
    # May's actuals (250 a day for payments) sit well above April's trend: it drifted up
    assert rows["payments"]["drift"] > 0.05


def test_drift_needs_versions_of_the_same_forecast(case: Case) -> None:
    other = save_forecast(case.ledger, forecast(open_ledger(case.ledger), horizon="5d"))
    with pytest.raises(UserError, match="different things") as raised:
        forecast_drift(case.ledger, 1, other.version)
    assert raised.value.code == "forecast.incomparable"


def test_scoped_callers_see_only_versions_of_their_scope(case: Case, tmp_path: Path) -> None:
    scope = parse_filters(["tag:team=data"])
    mine = save_forecast(
        case.ledger, forecast(open_ledger(case.ledger), group_by=["tag:team"], scope=scope)
    )
    assert mine.meta["scope"] == ["tag:team=data"]
    assert [v.version for v in forecast_versions(case.ledger, scope)] == [mine.version]
    with pytest.raises(NotFound, match="another scope"):
        get_version(case.ledger, 1, scope)
    with pytest.raises(NotFound, match="does not exist") as raised:
        get_version(case.ledger, 999)
    assert raised.value.code == "forecast.unknown"
    found = forecast_accuracy(open_ledger(case.ledger), case.ledger, mine.version, scope=scope)
    assert {r["tag:team"] for r in found.rows} <= {"data"}


def test_the_rates() -> None:
    assert accuracy_rate(110.0, 100.0) == pytest.approx(10 / 110)
    assert accuracy_rate(0.0, 5.0) is None
    assert drift_rate(100.0, 120.0) == pytest.approx(0.2)
    assert drift_rate(0.0, 1.0) is None


def test_days_are_dates(case: Case) -> None:
    days = case.first.daily().column("day").to_pylist()
    assert min(days) == date(2026, 5, 1)
    assert max(days) == date(2026, 5, 1) + timedelta(days=19)
