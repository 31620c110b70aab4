"""FOCUS files: the column set, CSV quoting, and blocks written as CSV and Parquet."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from costprism.demo.focus_file import (
    FOCUS_COLUMNS,
    Block,
    csv_bytes,
    csv_escaped,
    csv_quote,
    days_for,
    focus_file,
    focus_schema,
)
from costprism.demo.timeline import build_timeline
from costprism.focus.columns import columns_for

SAMPLE_12 = Path(__file__).resolve().parents[3] / "shared/data/focus"
SAMPLE_12 /= "focus-1.2_synthetic_aws-azure-gcp_10k.csv"
AWKWARD = ['{"team":"a, b"}', 'say "hi"', "two\nlines", "plain", None]


def test_the_columns_are_the_focus_1_2_set() -> None:
    assert len(FOCUS_COLUMNS) == len(set(FOCUS_COLUMNS)) == 57
    assert set(FOCUS_COLUMNS) == {c.name for c in columns_for("1.2")}


@pytest.mark.skipif(not SAMPLE_12.exists(), reason="shared FOCUS samples not checked out")
def test_the_columns_are_in_the_order_of_the_sample_file() -> None:
    with SAMPLE_12.open(encoding="utf-8") as f:
        assert next(csv.reader(f)) == list(FOCUS_COLUMNS)


def test_csv_quote_quotes_only_what_needs_it() -> None:
    assert [csv_quote(v) for v in AWKWARD] == [
        '"{""team"":""a, b""}"',
        '"say ""hi"""',
        '"two\nlines"',
        "plain",
        None,
    ]
    assert csv_escaped(pa.array(AWKWARD)).to_pylist() == [csv_quote(v) for v in AWKWARD]
    clean = pa.array(["a", "b"])
    assert csv_escaped(clean) is clean


def _block() -> Block:
    """Three rows over two variants, with text that needs quoting and a null number."""
    return Block(
        variant=pa.array([0, 1, 0], pa.int32()),
        columns={
            "ProviderName": pa.array(["AWS", "AWS"]),
            "ChargeDescription": csv_escaped(pa.array(AWKWARD[:2])),
            "ListUnitPrice": pa.array([0.5, 1e-7]),
            "Tags": csv_escaped(pa.array([AWKWARD[0], None])),
        },
        rows={
            "BilledCost": pa.array([1.25, None, 3.0]),
            "PricingQuantity": pa.array(["2", "4", "6"]),  # numbers may arrive as text
        },
    )


def test_csv_bytes_parse_back_to_the_values() -> None:
    text = bytes(csv_bytes(_block())).decode()
    parsed = list(csv.DictReader(io.StringIO(",".join(FOCUS_COLUMNS) + "\n" + text)))
    assert len(parsed) == 3
    assert [r["ChargeDescription"] for r in parsed] == [AWKWARD[0], AWKWARD[1], AWKWARD[0]]
    assert [r["Tags"] for r in parsed] == [AWKWARD[0], "", AWKWARD[0]]
    assert [r["BilledCost"] for r in parsed] == ["1.25", "", "3"]
    assert [r["ListUnitPrice"] for r in parsed] == ["0.5", "1e-7", "0.5"]
    assert [r["PricingQuantity"] for r in parsed] == ["2", "4", "6"]
    assert all(r["ChargeClass"] == "" for r in parsed)
    assert text.count("\n") == 3


def test_parquet_takes_typed_columns(tmp_path: Path) -> None:
    timeline = build_timeline(1, date(2026, 4, 1))
    days = days_for(timeline, "parquet")
    block = Block(
        variant=pa.array([0, 0], pa.int32()),
        columns={"ProviderName": pa.array(["AWS"]), "Tags": pa.array([None], pa.string())},
        rows={
            "BilledCost": pa.array([1.5, 2.5]),
            "ChargePeriodStart": days.take(np.array([0, 29])),
        },
    )
    with focus_file(tmp_path / "a.parquet", "parquet") as write:
        write(block)
    table = pq.read_table(tmp_path / "a.parquet")
    assert table.schema == focus_schema("parquet")
    assert table["BilledCost"].to_pylist() == [1.5, 2.5]
    assert table["ProviderName"].to_pylist() == ["AWS", "AWS"]
    starts = [t.isoformat() for t in table["ChargePeriodStart"].to_pylist()]
    assert starts == ["2026-04-01T00:00:00+00:00", "2026-04-30T00:00:00+00:00"]


def test_csv_days_are_focus_timestamps() -> None:
    days = days_for(build_timeline(2, date(2026, 2, 1)), "csv")
    assert days.values[0].as_py() == "2026-01-01T00:00:00Z"
    assert days.values[len(days.values) - 1].as_py() == "2026-03-01T00:00:00Z"
