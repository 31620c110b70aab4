"""Detection on series built here: spikes found with their impact, weekly seasons, month
edges and trends not flagged, unfinished days left out, runs grouped, severities."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from costprism.anomalies.detection import (
    DetectionSettings,
    chart_number,
    detect,
    expectation,
    runs,
    same_position_days,
)
from costprism.anomalies.series import DailySeries

START = date(2026, 1, 1)  # a Thursday
DAYS = 180


def calendar(days: int = DAYS) -> tuple[date, ...]:
    return tuple(START + timedelta(days=i) for i in range(days))


def series(*rows: np.ndarray) -> DailySeries:
    values = np.vstack(rows)
    return DailySeries(
        dimensions=("ServiceName",),
        scopes=tuple({"ServiceName": f"s{i}"} for i in range(len(rows))),
        currencies=("USD",) * len(rows),
        days=calendar(values.shape[1]),
        values=values,
    )


def weekly(level: float = 100.0, weekend: float = 0.4, noise: float = 0.03, seed: int = 1):
    rng = np.random.default_rng(seed)
    weekdays = np.array([d.weekday() for d in calendar()])
    shape = np.where(weekdays >= 5, weekend, 1.0)
    return level * shape * rng.lognormal(0, noise, DAYS)


def month_start_charges(values: np.ndarray, amount: float) -> np.ndarray:
    firsts = np.array([d.day == 1 for d in calendar()])
    return values + firsts * amount


SETTINGS = DetectionSettings(unfinished_days=0)


def test_an_injected_spike_is_found_with_its_impact() -> None:
    values = weekly()
    baseline = values.copy()
    values[100:103] *= 4  # three days at four times the usual
    (found,) = detect(series(values), SETTINGS)
    assert (found.start, found.end) == (START + timedelta(days=100), START + timedelta(days=102))
    assert found.impact == pytest.approx(3 * baseline[100:103].sum(), rel=0.1)
    assert found.scope == {"ServiceName": "s0"}
    assert found.currency == "USD"
    assert [d["anomalous"] for d in found.daily if d["day"] == "2026-04-11"] == [True]


def test_a_weekly_pattern_and_noise_are_not_anomalies() -> None:
    assert detect(series(weekly(weekend=0.2), weekly(seed=2), weekly(seed=3)), SETTINGS) == []


def test_month_start_charges_are_expected_after_the_first_month() -> None:
    values = month_start_charges(weekly(), 2_500.0)
    assert detect(series(values), SETTINGS) == []
    model = expectation(values[None, :], calendar(), SETTINGS)
    april_first = calendar().index(date(2026, 4, 1))
    assert model.expected[0, april_first] == pytest.approx(values[april_first], rel=0.1)


def test_a_month_start_charge_much_larger_than_usual_is_an_anomaly() -> None:
    values = month_start_charges(weekly(), 500.0)
    may_first = calendar().index(date(2026, 5, 1))
    values[may_first] += 5_000.0
    (found,) = detect(series(values), SETTINGS)
    assert found.start == found.end == date(2026, 5, 1)
    assert found.impact == pytest.approx(5_000.0, rel=0.1)


def test_steady_growth_is_followed() -> None:
    growth = np.exp(0.006 * np.arange(DAYS))  # about 20% a month
    assert detect(series(weekly() * growth), SETTINGS) == []


def test_a_slow_leak_over_weeks_is_found() -> None:
    values = weekly()
    values[100:135] *= 1 + 3 * np.arange(1, 36) / 35  # to 4x in five weeks
    found = detect(series(values), SETTINGS)
    assert found
    assert all(100 <= calendar().index(f.start) < 135 for f in found)


def test_an_anomaly_does_not_raise_the_expectation_after_it() -> None:
    values = weekly()
    values[100:110] *= 5
    model = expectation(values[None, :], calendar(), SETTINGS)
    after = model.expected[0, 111:125] / weekly()[111:125]
    assert (after < 1.3).all()  # the five-fold days were clipped before later days read them
    assert not model.anomalous[0, 110:].any()


def test_the_unfinished_days_are_left_out() -> None:
    values = weekly(level=1_000.0)
    values[-2:] *= 6
    assert detect(series(values), DetectionSettings()) == []  # the default leaves out 2
    (found,) = detect(series(values), SETTINGS)
    assert found.end == calendar()[-1]
    values[-3] *= 6
    (found,) = detect(series(values), DetectionSettings())
    assert found.start == found.end == calendar()[-3]


def test_no_anomaly_before_enough_history() -> None:
    values = np.full(DAYS, np.nan)
    values[170:] = 100.0
    values[172] = 900.0  # two days into the scope's history
    assert detect(series(values), SETTINGS) == []


def test_sensitivity_finds_smaller_changes() -> None:
    values = weekly(level=1_000.0, noise=0.1)
    values[130:133] *= 1.35
    assert detect(series(values), SETTINGS) == []
    sensitive = DetectionSettings(unfinished_days=0, sensitivity=2.0)
    found = detect(series(values), sensitive)
    assert (calendar()[130], calendar()[132]) in {(f.start, f.end) for f in found}


def test_small_impacts_are_dropped_and_severity_follows_the_thresholds() -> None:
    small, large = weekly(level=10.0), weekly(level=10_000.0, seed=2)
    small[100:102] *= 4
    large[100:102] *= 4
    found = {f.scope["ServiceName"]: f for f in detect(series(small, large), SETTINGS)}
    assert set(found) == {"s1"}
    assert found["s1"].severity == "high"
    settings = DetectionSettings()
    assert [settings.severity(x) for x in (10, 250, 2_500, 25_000)] == [
        "low",
        "medium",
        "high",
        "critical",
    ]


def test_runs_group_consecutive_days() -> None:
    flags = np.array([[0, 1, 1, 0, 1], [1, 0, 0, 0, 0]], dtype=bool)
    assert runs(flags) == [(0, 1, 3), (0, 4, 5), (1, 0, 1)]


def test_month_edges_compare_with_the_same_position_in_earlier_months() -> None:
    days = calendar(120)
    earlier = same_position_days(days)
    april_first, march_31 = days.index(date(2026, 4, 1)), days.index(date(2026, 3, 31))
    assert [days[i] for i in earlier[april_first]] == [
        date(2026, 1, 1),
        date(2026, 2, 1),
        date(2026, 3, 1),
    ]
    assert [days[i] for i in earlier[march_31]] == [date(2026, 1, 31), date(2026, 2, 28)]
    assert earlier[days.index(date(2026, 3, 15))] == []
    assert earlier[0] == [0]  # the first month edge: nothing earlier


def month_end_batches(values: np.ndarray, factor: float) -> np.ndarray:
    """The last three days of every month at ``factor`` times their usage."""
    last_three = np.array([(d + timedelta(days=3)).month != d.month for d in calendar()])
    return values * np.where(last_three, factor, 1.0)


def test_month_end_batches_that_scale_with_the_day_are_not_anomalies() -> None:
    # 1.8x the day's usage: a weekend's month end adds less than a weekday's, so the extra
    # of earlier months, as an amount, would flag a weekday month end after a weekend one
    values = month_end_batches(weekly(level=1_000.0, weekend=0.4), 1.8)
    assert detect(series(values), SETTINGS) == []
    model = expectation(values[None, :], calendar(), SETTINGS)
    march_31 = calendar().index(date(2026, 3, 31))  # a Tuesday, after two Saturday month ends
    assert model.expected[0, march_31] == pytest.approx(values[march_31], rel=0.15)


def test_a_spike_on_a_month_end_is_still_an_anomaly() -> None:
    values = month_end_batches(weekly(level=1_000.0, weekend=0.4), 1.8)
    june_29 = calendar().index(date(2026, 6, 29))
    values[june_29] *= 4
    (found,) = detect(series(values), SETTINGS)
    assert found.start == found.end == date(2026, 6, 29)


def test_the_first_month_teaches_no_month_edge_charge() -> None:
    # before four weeks of history the weekday base is unformed: January's edges (and the
    # first days of February) are not learned, so February's end is not judged either;
    # nor do those edges enter the weekday base as usual days
    values = month_end_batches(weekly(level=1_000.0, weekend=0.4), 1.8)
    model = expectation(values[None, :], calendar(), SETTINGS)
    feb_26 = calendar().index(date(2026, 2, 26))
    assert not model.anomalous[0, : feb_26 + 3].any()
    assert np.isnan(model.expected[0, :4]).all()  # January 1-3 are no base for January 4
    assert not np.isnan(model.expected[0, 4:]).any()
    january_29 = calendar().index(date(2026, 1, 29))  # a month-end Thursday
    assert model.expected[0, january_29 + 7] == pytest.approx(values[january_29 - 7], rel=0.1)


def test_a_lasting_step_becomes_the_new_normal() -> None:
    values = weekly()
    values[60:] *= 3  # a new workload that stays
    (found,) = detect(series(values), SETTINGS)
    assert found.start == calendar()[60]
    assert (found.end - found.start).days < 40
    unbounded = DetectionSettings(unfinished_days=0, max_run_days=10_000)
    assert len(detect(series(values), unbounded)) > 1  # clipped history keeps flagging it


def test_chart_points_are_json_that_postgresql_stores() -> None:
    # PostgreSQL's JSON has no NaN or Infinity: a day without a value is null
    assert [chart_number(v) for v in (float("nan"), float("inf"), -float("inf"))] == [None] * 3
    assert chart_number(np.float64(1.234567)) == 1.2346
