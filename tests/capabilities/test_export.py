"""FOCUS out: the ledger's rows written as a FOCUS 1.2 file, CSV or Parquet, under a scope.

Files are read back with DuckDB (all columns as text for CSV, to see exactly what was
written) and compared with hand-written SQL over the ledger's Parquet files. Whether the
FinOps Foundation's validator accepts the files is tests/test_focus_validator_runs.py.
"""

from __future__ import annotations

import csv
import gzip
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from costprism.capabilities.export import (
    ExportRequest,
    export_focus,
    parse_export_request,
)
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import parse_filters
from costprism.errors import CostPrismError, QueryError, UserError
from costprism.focus import columns_for
from costprism.ledger import Ledger
from tests.conftest import SqlRunner

FOCUS_1_2 = [spec.name for spec in columns_for("1.2")]
DATETIMES = [s.name for s in columns_for("1.2") if s.focus_type == "datetime"]
DECIMALS = [s.name for s in columns_for("1.2") if s.focus_type == "decimal"]
ISO_UTC = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
PLAIN_DECIMAL = re.compile(r"^-?\d+(\.\d*[1-9])?$")  # no exponent, no trailing zeros
BILLED_BY_PERIOD = (
    "SELECT BillingPeriodStart::TIMESTAMPTZ, BillingCurrency, sum(BilledCost::DECIMAL(38, 12)), "
    "count(*) FROM {} GROUP BY ALL ORDER BY ALL"
)


def export(view: LedgerView, out: Path, scope: str | None = None, **words: Any) -> Path:
    request = parse_export_request(out=out, **words)
    export_focus(view, out, request, parse_filters([scope] if scope else []))
    return out


def read(path: Path) -> duckdb.DuckDBPyRelation:
    """The file as a relation: CSV with every column as text, Parquet as typed."""
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    if path.suffix == ".parquet":
        return connection.sql(f"SELECT * FROM read_parquet('{path}')")
    return connection.sql(f"SELECT * FROM read_csv('{path}', all_varchar = true, header = true)")


def header(path: Path) -> list[str]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", newline="") as handle:  # type: ignore[operator]
        return next(csv.reader(handle))


def test_columns_are_focus_1_2_in_spec_order_then_extensions(
    sample_view: LedgerView, tmp_path: Path
) -> None:
    """57 FOCUS 1.2 columns, then the ledger's x_ columns (the 1.0 sample's Id as x_Id);
    the bookkeeping x_SourceId, x_IngestId, x_RowId and x_Slice are left out."""
    out = export(sample_view, tmp_path / "all.csv")
    assert len(FOCUS_1_2) == 57
    assert header(out) == [*FOCUS_1_2, "x_Id"]


def test_ledger_ids_add_source_ingest_and_row_ids(
    sample_view: LedgerView, sample_sql: SqlRunner, tmp_path: Path
) -> None:
    out = export(sample_view, tmp_path / "ids.parquet", ledger_ids=True)
    assert pq.read_schema(out).names[57:] == ["x_Id", "x_SourceId", "x_IngestId", "x_RowId"]
    ids = read(out).aggregate(
        "count(DISTINCT x_RowId), list(DISTINCT x_SourceId ORDER BY x_SourceId)"
    )
    [(count,)] = sample_sql("SELECT count(*) FROM costs")
    assert ids.fetchall() == [(count, ["sample", "synthetic"])]


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".csv.gz"])
def test_billed_cost_per_period_and_currency_equals_the_ledger(
    sample_view: LedgerView, sample_sql: SqlRunner, tmp_path: Path, suffix: str
) -> None:
    out = export(sample_view, tmp_path / f"all{suffix}")
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    exported = connection.sql(BILLED_BY_PERIOD.format(f"'{out}'")).fetchall()
    assert exported == sample_sql(BILLED_BY_PERIOD.format("costs"))
    assert len(exported) == 3  # 2026-05 (synthetic), 2024-09 and 2024-10 (sample), all USD


def test_csv_values_are_in_focus_form(sample_view: LedgerView, tmp_path: Path) -> None:
    """ISO UTC timestamps, plain decimals (no exponent, no quotes, no trailing zeros),
    Tags as a JSON object, and a null as an empty field."""
    out = export(sample_view, tmp_path / "all.csv")
    rows = read(out)
    for name in DATETIMES:
        values = {v for (v,) in rows.select(name).fetchall()}
        assert values, name
        assert all(ISO_UTC.match(v) for v in values), name
    for name in DECIMALS:
        values = {v for (v,) in rows.select(name).fetchall()} - {None}
        assert all(PLAIN_DECIMAL.match(v) for v in values), (name, sorted(values)[:5])
    assert {"0", "0.0000004"} <= {v for (v,) in rows.select("ListUnitPrice").fetchall()}
    first = out.read_text().splitlines()[1]
    row = dict(zip(FOCUS_1_2, next(csv.reader([first])), strict=False))
    assert f",{row['BilledCost']},{row['BillingAccountId']}," in first  # unquoted
    tags = [json.loads(v) for (v,) in rows.select("Tags").fetchall() if v is not None]
    assert len(tags) > 10_000
    assert all(isinstance(t, dict) for t in tags)


def test_tags_are_the_ledgers_maps(
    sample_view: LedgerView, sample_sql: SqlRunner, tmp_path: Path
) -> None:
    out = export(sample_view, tmp_path / "all.csv", where=["ProviderName=Microsoft"])
    exported = sorted(
        json.dumps(json.loads(v), sort_keys=True) if v else ""
        for (v,) in read(out).select("Tags").fetchall()
    )
    ledger = sorted(
        json.dumps(dict(tags), sort_keys=True) if tags is not None else ""
        for (tags,) in sample_sql("SELECT Tags FROM costs WHERE ProviderName = 'Microsoft'")
    )
    assert exported == ledger
    assert any(" org" in t for t in exported)  # a key with a leading space, kept


def test_parquet_has_focus_types(sample_view: LedgerView, tmp_path: Path) -> None:
    schema = pq.read_schema(export(sample_view, tmp_path / "all.parquet"))
    assert schema.field("ChargePeriodStart").type == pa.timestamp("us", tz="UTC")
    assert schema.field("BilledCost").type == pa.decimal128(38, 12)
    assert schema.field("Tags").type == pa.string()  # FOCUS key-value format: a JSON object
    assert schema.field("InvoiceId").type == pa.string()


def test_where_from_and_to_select_rows_like_cost(
    sample_view: LedgerView, sample_sql: SqlRunner, tmp_path: Path
) -> None:
    out = export(
        sample_view,
        tmp_path / "some.csv",
        where=["ProviderName in (AWS, Microsoft)"],
        start="2024-09-10",
        end="2024-09-20",
    )
    rows = (
        read(out)
        .aggregate("count(*), list(DISTINCT ProviderName ORDER BY ProviderName)")
        .fetchall()
    )
    [(count,)] = sample_sql(
        "SELECT count(*) FROM costs WHERE ProviderName IN ('AWS', 'Microsoft') "
        "AND ChargePeriodStart >= '2024-09-10' AND ChargePeriodStart < '2024-09-20'"
    )
    assert rows == [(count, ["AWS", "Microsoft"])]
    assert 0 < count < 1000


def test_scope_bounds_the_rows_and_a_filter_cannot_widen_it(
    sample_view: LedgerView, sample_sql: SqlRunner, tmp_path: Path
) -> None:
    scope = "tag:environment=prod"
    inside = export(sample_view, tmp_path / "scoped.csv", scope=scope)
    [(count,)] = sample_sql(
        "SELECT count(*) FROM costs WHERE len(list_filter(map_entries(Tags), "
        "e -> lower(e.key) = 'environment' AND e.value = 'prod')) > 0"
    )
    assert read(inside).aggregate("count(*)").fetchall() == [(count,)]
    assert 0 < count < 11_000
    forged = export(
        sample_view, tmp_path / "forged.csv", scope=scope, where=["tag:environment=dev"]
    )
    assert read(forged).aggregate("count(*)").fetchall() == [(0,)]


def test_as_of_exports_an_older_version(restated_ledger: Ledger, tmp_path: Path) -> None:
    sums = []
    for as_of in (1, None):
        out = export(open_ledger(restated_ledger, as_of=as_of), tmp_path / f"v{as_of}.parquet")
        [(billed,)] = read(out).aggregate("sum(BilledCost)").fetchall()
        sums.append(billed.quantize(Decimal("0.000001")))
    assert sums == [Decimal("20.520227"), Decimal("41.040453")]


def test_an_existing_file_is_replaced_only_with_force(
    sample_view: LedgerView, tmp_path: Path
) -> None:
    out = tmp_path / "taken.csv"
    out.write_text("keep me\n")
    with pytest.raises(UserError, match=r"already exists.*--force") as raised:
        export(sample_view, out, where=["ProviderName=Oracle"])
    assert raised.value.code == "export.exists"
    assert out.read_text() == "keep me\n"
    export(sample_view, out, where=["ProviderName=Oracle"], force=True)
    assert read(out).aggregate("count(*)").fetchall() == [(7,)]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.csv"]


def test_a_failed_export_leaves_no_file(tmp_path: Path, focus_data: Path) -> None:
    from costprism.ingest.pipeline import IngestOptions, ingest

    ledger = Ledger.at_home(tmp_path / "home")
    ingest([focus_data / "focus-1.0_sample_1000.csv"], ledger, IngestOptions(source="s"))
    view = open_ledger(ledger)
    files, _ = ledger.costs.files()
    Path(files[0]).unlink()  # the export's read fails half-way
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(duckdb.Error):
        export(view, folder / "broken.csv")
    assert list(folder.iterdir()) == []


def test_an_empty_ledger_exports_the_header_alone(tmp_path: Path) -> None:
    view = open_ledger(Ledger.at_home(tmp_path / "empty"))
    out = export(view, tmp_path / "empty.csv")
    assert out.read_text().splitlines() == [",".join(FOCUS_1_2)]


def test_progress_reaches_100(sample_view: LedgerView, tmp_path: Path) -> None:
    seen: list[float] = []
    out = tmp_path / "progress.csv"
    export_focus(sample_view, out, ExportRequest(), progress=seen.append)
    assert seen[-1:] == [100.0]
    assert all(0 <= p <= 100 for p in seen)


@pytest.mark.parametrize(
    ("words", "code", "message"),
    [
        ({"focus_version": "1.3"}, "export.bad_version", "writes FOCUS 1.2 only"),
        ({"focus_version": "2"}, "export.bad_version", "--focus-version 1.2"),
        ({"file_format": "xlsx"}, "usage", "--format 'xlsx' is not one of: csv, parquet"),
        ({"out": Path("costs.txt")}, "usage", "can't tell the format"),
        ({"start": "2024-09-02", "end": "2024-09-01"}, "query.bad_range", "is not before"),
        ({"start": "yesterday"}, "usage", "not an ISO date"),
        ({"where": ["BilledCost > 3"]}, "query.bad_filter", "not understood"),
    ],
)
def test_bad_words_are_clear_errors(words: dict[str, Any], code: str, message: str) -> None:
    arguments: dict[str, Any] = {"out": Path("costs.csv"), "prefix": "--", **words}
    with pytest.raises(CostPrismError, match=re.escape(message)) as raised:
        parse_export_request(**arguments)
    assert raised.value.code == code


def test_format_comes_from_the_suffix_unless_given() -> None:
    assert parse_export_request(out=Path("a.parquet")).file_format == "parquet"
    assert parse_export_request(out=Path("a.CSV")).file_format == "csv"
    assert parse_export_request(out=Path("a.csv.gz")).file_format == "csv"
    assert parse_export_request(out=Path("a.out"), file_format="parquet").file_format == "parquet"


@pytest.mark.parametrize("where", [["Nope=1"], ["BilledCost=abc"]])
def test_bad_filters_fail_before_writing(
    sample_view: LedgerView, tmp_path: Path, where: list[str]
) -> None:
    with pytest.raises(QueryError):
        export(sample_view, tmp_path / "x.csv", where=where)
    assert list(tmp_path.iterdir()) == []


def test_a_folder_or_a_missing_folder_is_not_a_file(
    sample_view: LedgerView, tmp_path: Path
) -> None:
    for out in (tmp_path, tmp_path / "missing" / "x.csv"):
        with pytest.raises(UserError, match="folder") as raised:
            export(sample_view, out, file_format="csv")
        assert raised.value.code == "export.bad_path"
