"""The demo calendar."""

from __future__ import annotations

from datetime import date

from costprism.demo.timeline import add_months, build_timeline


def test_months_are_consecutive_and_end_with_the_end_month() -> None:
    timeline = build_timeline(13, date(2026, 2, 1))
    assert [m.label for m in timeline.months][::6] == ["2025-02", "2025-08", "2026-02"]
    assert timeline.months[-1].days == 28
    assert timeline.days == sum(m.days for m in timeline.months) == 28 + 337 + 28
    for before, after in zip(timeline.months, timeline.months[1:], strict=False):
        assert after.start == before.end
        assert timeline.date(after.start) == after.first


def test_add_months_crosses_years() -> None:
    assert add_months(date(2026, 1, 1), -1) == date(2025, 12, 1)
    assert add_months(date(2025, 12, 1), 14) == date(2027, 2, 1)
