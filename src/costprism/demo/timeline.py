"""The demo's calendar: consecutive whole months, and days counted from the first one."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta


@dataclass(frozen=True, kw_only=True)
class Month:
    index: int  # 0 for the first generated month
    first: date
    start: int  # index of its first day in the timeline
    days: int

    @property
    def label(self) -> str:
        return f"{self.first:%Y-%m}"

    @property
    def end(self) -> int:
        """Index of the day after the month (exclusive end)."""
        return self.start + self.days


@dataclass(frozen=True, kw_only=True)
class Timeline:
    months: tuple[Month, ...]
    day0: date
    days: int

    def date(self, day: int) -> date:
        return self.day0 + timedelta(days=day)


def build_timeline(months: int, end_month: date | None) -> Timeline:
    """``months`` months ending with ``end_month``; by default the last complete month (UTC)."""
    end = end_month or add_months(datetime.now(UTC).date().replace(day=1), -1)
    built, start = [], 0
    for i in range(months):
        first = add_months(end, i - months + 1)
        days = calendar.monthrange(first.year, first.month)[1]
        built.append(Month(index=i, first=first, start=start, days=days))
        start += days
    return Timeline(months=tuple(built), day0=built[0].first, days=start)


def add_months(first: date, n: int) -> date:
    k = first.year * 12 + first.month - 1 + n
    return date(k // 12, k % 12 + 1, 1)
