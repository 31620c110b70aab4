"""Budget periods: months, fiscal quarters and fiscal years as runs of billing periods."""

from __future__ import annotations

from datetime import date

import pytest

from costprism.budgets.periods import (
    FISCAL_YEAR_START_ENV,
    Period,
    add_months,
    fiscal_year,
    fiscal_year_start,
    parse_month,
    period_containing,
    shifted,
)
from costprism.errors import InputError


def test_a_month_is_one_billing_period() -> None:
    period = period_containing("month", date(2026, 5, 17))
    assert (period.start, period.end, period.label, period.days) == (
        date(2026, 5, 1), date(2026, 6, 1), "2026-05", 31,
    )  # fmt: skip
    assert period.billing_periods == (date(2026, 5, 1),)


@pytest.mark.parametrize(
    ("day", "start", "label"),
    [
        (date(2026, 4, 1), date(2026, 4, 1), "FY2027-Q1"),
        (date(2026, 6, 30), date(2026, 4, 1), "FY2027-Q1"),
        (date(2026, 7, 1), date(2026, 7, 1), "FY2027-Q2"),
        (date(2026, 12, 31), date(2026, 10, 1), "FY2027-Q3"),
        (date(2027, 1, 15), date(2027, 1, 1), "FY2027-Q4"),
        (date(2027, 3, 31), date(2027, 1, 1), "FY2027-Q4"),
        (date(2026, 3, 31), date(2026, 1, 1), "FY2026-Q4"),
    ],
)
def test_quarters_follow_a_fiscal_year_starting_in_april(
    day: date, start: date, label: str
) -> None:
    period = period_containing("quarter", day, 4)
    assert (period.start, period.end, period.label) == (start, add_months(start, 3), label)
    assert len(period.billing_periods) == 3
    assert period.start <= day < period.end


def test_a_fiscal_year_starting_in_april_is_named_by_the_year_it_ends_in() -> None:
    period = period_containing("fiscal-year", date(2026, 11, 5), 4)
    assert (period.start, period.end, period.label, period.days) == (
        date(2026, 4, 1), date(2027, 4, 1), "FY2027", 365,
    )  # fmt: skip
    assert period.billing_periods[0] == date(2026, 4, 1)
    assert period.billing_periods[-1] == date(2027, 3, 1)
    assert period_containing("fiscal-year", date(2026, 3, 31), 4).label == "FY2026"


def test_calendar_quarters_and_years_by_default() -> None:
    assert period_containing("quarter", date(2026, 5, 2)).label == "FY2026-Q2"
    assert period_containing("quarter", date(2026, 5, 2)).start == date(2026, 4, 1)
    year = period_containing("fiscal-year", date(2026, 5, 2))
    assert (year.start, year.end, year.label) == (date(2026, 1, 1), date(2027, 1, 1), "FY2026")
    assert fiscal_year(date(2026, 12, 31), 1) == 2026


@pytest.mark.parametrize("start_month", range(1, 13))
def test_every_day_of_a_year_falls_in_exactly_one_quarter(start_month: int) -> None:
    seen: dict[date, Period] = {}
    day = date(2026, 1, 1)
    while day.year == 2026:
        quarter = period_containing("quarter", day, start_month)
        assert quarter.start <= day < quarter.end
        assert (quarter.start.month - start_month) % 3 == 0
        seen.setdefault(quarter.start, quarter)
        day = date.fromordinal(day.toordinal() + 1)
    assert len(seen) in (4, 5)  # a year cut by quarters not aligned to January touches 5


def test_shifted_walks_whole_periods() -> None:
    quarter = period_containing("quarter", date(2026, 5, 2), 4)
    assert shifted(quarter, -1).label == "FY2026-Q4"
    assert shifted(quarter, 4).label == "FY2028-Q1"
    month = period_containing("month", date(2026, 1, 9))
    assert shifted(month, -1).label == "2025-12"


def test_elapsed_days_are_clamped_to_the_period() -> None:
    month = period_containing("month", date(2026, 2, 1))
    assert month.elapsed_days(None) == 0
    assert month.elapsed_days(date(2026, 1, 31)) == 0
    assert month.elapsed_days(date(2026, 2, 1)) == 1
    assert month.elapsed_days(date(2026, 2, 10)) == 10
    assert month.elapsed_days(date(2026, 5, 1)) == 28


def test_the_fiscal_year_start_is_a_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FISCAL_YEAR_START_ENV, raising=False)
    assert fiscal_year_start() == 1
    monkeypatch.setenv(FISCAL_YEAR_START_ENV, "4")
    assert fiscal_year_start() == 4
    for bad in ("0", "13", "April"):
        monkeypatch.setenv(FISCAL_YEAR_START_ENV, bad)
        with pytest.raises(InputError, match=FISCAL_YEAR_START_ENV) as error:
            fiscal_year_start()
        assert error.value.code == "budgets.bad_setting"


def test_months_are_parsed_strictly() -> None:
    assert parse_month("2026-05") == date(2026, 5, 1)
    for bad in ("2026-13", "2026-5", "May", ""):
        with pytest.raises(InputError) as error:
            parse_month(bad, "--month")
        assert error.value.code == "budgets.bad_period"
        assert "--month" in error.value.message
