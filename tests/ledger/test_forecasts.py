"""The forecast version store: numbered immutable folders, visible by scope."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pyarrow as pa

from costprism.ledger.forecasts import ForecastStore, daily_schema, visible


def rows(value: float) -> pa.Table:
    schema = daily_schema(1)
    return pa.table(
        {
            "key0": ["a"], "BillingCurrency": ["USD"], "day": [date(2026, 1, 1)],
            "model": ["MSTL"], "point": [value], "lo80": [value], "hi80": [value],
            "lo95": [value], "hi95": [value], "baseline": [value], "sigma": [0.0],
        },
        schema=schema,
    )  # fmt: skip


META = {"group_by": ["team"], "filters": [], "scope": ["team=a"], "start": "2026-01-01",
        "end": "2026-01-01"}  # fmt: skip


def test_versions_count_up_and_keep_their_rows(tmp_path: Path) -> None:
    store = ForecastStore(tmp_path)
    assert store.versions() == []
    first = store.save(rows(1.0), META)
    second = store.save(rows(2.0), META)
    assert [v.version for v in store.versions()] == [1, 2]
    assert first.path == tmp_path / "forecasts" / "v000001"
    assert first.daily().column("point").to_pylist() == [1.0]
    assert second.daily().column("point").to_pylist() == [2.0]
    assert store.get(2).meta["created_at"]
    assert sorted(p.name for p in (tmp_path / "forecasts").iterdir()) == ["v000001", "v000002"]


def test_a_taken_number_moves_to_the_next(tmp_path: Path) -> None:
    """Another writer's version appearing between the listing and the rename is kept."""
    store = ForecastStore(tmp_path)
    store.save(rows(1.0), META)
    listed = store.versions

    def stale() -> list:  # type: ignore[type-arg]
        found = listed()
        if len(found) == 1 and not (store.root / "v000002").exists():
            other = ForecastStore(tmp_path)
            other.versions = listed  # type: ignore[method-assign]
            other.save(rows(9.0), META)  # the other writer takes 2
            return found
        return found

    store.versions = stale  # type: ignore[method-assign]
    mine = store.save(rows(3.0), META)
    assert mine.version == 3
    assert ForecastStore(tmp_path).get(2).daily().column("point").to_pylist() == [9.0]


def test_visibility_by_scope(tmp_path: Path) -> None:
    version = ForecastStore(tmp_path).save(rows(1.0), META)
    assert visible(version, [])
    assert visible(version, ["team=a"])
    assert not visible(version, ["team=b"])
    assert not visible(version, ["team=a", "env=prod"])
