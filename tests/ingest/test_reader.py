"""The reader (plans, groups, null literals) on small files cut from the 10k sample; the
pass itself is tested in test_scan.py and test_slices.py."""

from __future__ import annotations

from pathlib import Path

import duckdb

from costprism.ingest.files import discover
from costprism.ingest.pipeline import IngestOptions, connect
from costprism.ingest.reader import ReadPlan, group_plans, null_literals, plan_read
from tests.ingest.conftest import focus_csv


def _plans(paths: list[Path], connection: duckdb.DuckDBPyConnection) -> list[ReadPlan]:
    return [plan_read(f, connection) for f in discover(paths)]


def test_files_of_one_layout_are_read_together(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    first = focus_csv(10).write(tmp_path / "a.csv")
    second = focus_csv(range(10, 25)).write(tmp_path / "b.csv")
    other = focus_csv(5).drop("Tags").write(tmp_path / "c.csv")
    groups = group_plans(_plans([first, second, other], connection))
    assert sorted(len(group) for group in groups) == [1, 2]
    together = next(group for group in groups if len(group) == 2)
    assert sorted(Path(plan.file.name).name for plan in together) == ["a.csv", "b.csv"]


def test_null_literals_are_found_in_the_first_rows(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    path = (
        focus_csv(5).set(2, "RegionId", "NULL").set(4, "RegionId", "null").write(tmp_path / "n.csv")
    )
    [plan] = _plans([path], connection)
    assert null_literals(plan) == {"RegionId": 2}


def test_a_byte_budget_splits_files_of_one_layout(tmp_path: Path) -> None:
    connection = connect(IngestOptions(source="t"))
    paths = [focus_csv(10).write(tmp_path / f"{n}.csv") for n in range(3)]
    plans = _plans(paths, connection)
    size = plans[0].file.size
    assert [len(g) for g in group_plans(plans)] == [3]
    assert [len(g) for g in group_plans(plans, budget=2 * size)] == [2, 1]
    assert [len(g) for g in group_plans(plans, budget=1)] == [1, 1, 1]
