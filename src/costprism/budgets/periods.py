"""Budget periods: months, fiscal quarters and fiscal years, as runs of billing periods.

A budget follows **billing periods** (``BillingPeriodStart``, one per calendar month), so
every budget period is a run of whole months: a ``month`` is one, a ``quarter`` three, a
``fiscal-year`` twelve. Quarters are fiscal quarters: they start with the fiscal year,
whose first month is the setting ``COSTPRISM_FISCAL_YEAR_START`` (1-12, default 1 =
January; read when asked, never at import time). With April (4), Q1 is April-June.

A fiscal year is named by the calendar year it ends in (the common convention): with
April, ``FY2027`` runs from 2026-04-01 to 2027-03-31; with January, ``FY2026`` is 2026.
Labels: ``2026-05``, ``FY2027-Q1``, ``FY2027``. All dates are UTC days; ``end`` is the
first day after the period.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from typing import Literal

from costprism.errors import InputError

PeriodKind = Literal["month", "quarter", "fiscal-year"]
PERIOD_KINDS: tuple[PeriodKind, ...] = ("month", "quarter", "fiscal-year")
FISCAL_YEAR_START_ENV = "COSTPRISM_FISCAL_YEAR_START"
_MONTHS: dict[PeriodKind, int] = {"month": 1, "quarter": 3, "fiscal-year": 12}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, kw_only=True, order=True)
class Period:
    """One budget period: ``[start, end)``, whole calendar months."""

    start: date
    end: date
    kind: PeriodKind
    fiscal_year_start: int = 1

    @property
    def label(self) -> str:
        if self.kind == "month":
            return f"{self.start:%Y-%m}"
        year = fiscal_year(self.start, self.fiscal_year_start)
        if self.kind == "fiscal-year":
            return f"FY{year}"
        quarter = _months_since_fiscal_start(self.start, self.fiscal_year_start) // 3 + 1
        return f"FY{year}-Q{quarter}"

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def billing_periods(self) -> tuple[date, ...]:
        """The first day of each month in the period (the ``BillingPeriodStart`` values)."""
        return tuple(add_months(self.start, i) for i in range(_MONTHS[self.kind]))

    def elapsed_days(self, through: date | None) -> int:
        """Days of the period up to and including ``through`` (0 before, all after)."""
        if through is None or through < self.start:
            return 0
        return min(self.days, (through - self.start).days + 1)

    def record(self) -> dict[str, str]:
        return {
            "label": self.label,
            "kind": self.kind,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
        }


def fiscal_year_start() -> int:
    """The fiscal year's first month from ``COSTPRISM_FISCAL_YEAR_START`` (default 1)."""
    raw = os.environ.get(FISCAL_YEAR_START_ENV, "").strip()
    if not raw:
        return 1
    if not raw.isdigit() or not 1 <= int(raw) <= 12:
        raise InputError(
            f"{FISCAL_YEAR_START_ENV}={raw!r} is not a month number; set 1 (January) to 12 "
            "(December), e.g. 4 for a fiscal year starting in April",
            code="budgets.bad_setting",
        )
    return int(raw)


def period_containing(kind: PeriodKind, day: date, fiscal_start: int = 1) -> Period:
    """The ``kind`` period that ``day`` falls in."""
    first = day.replace(day=1)
    length = _MONTHS[kind]
    if length > 1:
        first = add_months(first, -(_months_since_fiscal_start(first, fiscal_start) % length))
    return Period(
        start=first, end=add_months(first, length), kind=kind, fiscal_year_start=fiscal_start
    )


def shifted(period: Period, count: int) -> Period:
    """The period ``count`` periods after (negative: before) ``period``."""
    start = add_months(period.start, count * _MONTHS[period.kind])
    return period_containing(period.kind, start, period.fiscal_year_start)


def parse_month(text: str, what: str = "--period") -> date:
    """``YYYY-MM`` as that month's first day; an :class:`InputError` naming ``what``."""
    found = _MONTH.match(text.strip())
    if found is None or not 1 <= int(found[2]) <= 12:
        raise InputError(
            f"{what} {text!r} is not a month; write YYYY-MM, e.g. 2026-05 (a quarter or fiscal "
            "year is named by any of its months)",
            code="budgets.bad_period",
        )
    return date(int(found[1]), int(found[2]), 1)


def fiscal_year(day: date, fiscal_start: int) -> int:
    """The fiscal year ``day`` is in, named by the calendar year it ends in."""
    return day.year if fiscal_start == 1 or day.month < fiscal_start else day.year + 1


def add_months(first: date, months: int) -> date:
    """The first day of the month ``months`` after (or before) ``first``'s month."""
    index = first.year * 12 + first.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def _months_since_fiscal_start(day: date, fiscal_start: int) -> int:
    return (day.month - fiscal_start) % 12
