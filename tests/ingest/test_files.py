"""Tests for costprism.ingest.files: finding input files, telling formats apart, headers."""

from __future__ import annotations

import gzip
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from costprism.errors import InputError
from costprism.ingest.files import discover, open_input, sniff_format
from tests.ingest.conftest import focus_csv

HEADER = "BillingAccountId,BilledCost,BillingCurrency\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """exports/ with two CSVs, a gzip CSV and a Parquet file in sub-folders, plus other files."""
    root = tmp_path / "exports"
    (root / "2026" / "05").mkdir(parents=True)
    (root / "b.csv").write_text(HEADER + "1,2.5,USD\n")
    (root / "2026" / "a.csv").write_text(HEADER + "1,2.5,USD\n")
    (root / "2026" / "05" / "c.csv.gz").write_bytes(gzip.compress(HEADER.encode()))
    pq.write_table(pa.table({"BilledCost": [1.5]}), root / "2026" / "05" / "d.parquet")
    (root / "README.txt").write_text("not data")
    (root / "2026" / "manifest.json").write_text("{}")
    return root


def test_a_directory_is_searched_recursively_for_data_files(tree: Path) -> None:
    found = discover([tree])

    assert [f.path.relative_to(tree).as_posix() for f in found] == [
        "2026/05/c.csv.gz",
        "2026/05/d.parquet",
        "2026/a.csv",
        "b.csv",
    ]
    assert [f.format for f in found] == ["csv.gz", "parquet", "csv", "csv"]
    assert found[0].header == ("BillingAccountId", "BilledCost", "BillingCurrency")
    assert found[1].header == ("BilledCost",)


def test_a_glob_and_repeated_paths_give_each_file_once(tree: Path) -> None:
    found = discover([f"{tree}/**/*.csv", tree / "b.csv", tree / "2026" / ".." / "b.csv"])
    assert [f.path.name for f in found] == ["a.csv", "b.csv"]
    assert all(f.path.is_absolute() for f in found)


def test_a_missing_path_is_refused(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "*.csv"
    with pytest.raises(InputError) as caught:
        discover([missing])
    assert caught.value.code == "input.not_found"
    assert str(caught.value).startswith(f"{missing}: no such file, directory or matching glob")


def test_a_directory_without_data_files_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError) as caught:
        discover([tmp_path])
    assert caught.value.code == "input.empty_directory"
    assert ".csv, .csv.gz, .parquet or .jsonl" in str(caught.value)


def test_formats_are_told_apart_by_content_not_name(tmp_path: Path) -> None:
    gz_named_csv = tmp_path / "export.csv"
    gz_named_csv.write_bytes(gzip.compress(HEADER.encode()))
    parquet_no_suffix = tmp_path / "export"
    pq.write_table(pa.table({"BilledCost": [1.0]}), parquet_no_suffix)
    plain_named_gz = tmp_path / "export.csv.gz"
    plain_named_gz.write_text(HEADER)

    assert sniff_format(gz_named_csv) == "csv.gz"
    assert sniff_format(parquet_no_suffix) == "parquet"
    assert sniff_format(plain_named_gz) == "csv"
    assert open_input(gz_named_csv).header == ("BillingAccountId", "BilledCost", "BillingCurrency")


def test_a_damaged_parquet_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "cut.parquet"
    pq.write_table(pa.table({"BilledCost": [1.0] * 100}), path)
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(InputError) as caught:
        open_input(path)
    assert caught.value.code == "input.bad_parquet"
    assert str(caught.value).startswith(f"{path}: not a readable Parquet file")


@pytest.mark.parametrize(
    ("first_line", "delimiter", "names"),
    [
        ("\ufeffBilledCost,BillingCurrency\r\n", ",", ("BilledCost", "BillingCurrency")),
        (" BilledCost , BillingCurrency\n", ",", ("BilledCost", "BillingCurrency")),
        ('"Bil;ledCost",BillingCurrency\n', ",", ("Bil;ledCost", "BillingCurrency")),
        ("BilledCost\n", ",", ("BilledCost",)),
    ],
)
def test_the_header_names_and_delimiter(
    first_line: str, delimiter: str, names: tuple[str, ...], tmp_path: Path
) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(first_line.encode())
    found = open_input(path)
    assert (found.delimiter, found.header) == (delimiter, names)


@pytest.mark.parametrize("separator", [";", "\t", "|"])
def test_a_header_split_by_another_delimiter_is_refused(separator: str, tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(f"BilledCost{separator}BillingCurrency\n1{separator}USD\n".encode())
    with pytest.raises(InputError) as caught:
        open_input(path)
    assert caught.value.code == "input.delimiter"
    assert str(caught.value) == (
        f"{path}:1: the header is separated by {separator!r}, not by commas; "
        "export the file as CSV with ',' between fields"
    )


def test_a_header_that_is_not_utf8_names_the_byte(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b"BilledCost,Billing\xe9Currency\n1,USD\n")
    with pytest.raises(InputError) as caught:
        open_input(path)
    assert caught.value.code == "input.encoding"
    assert str(caught.value) == (
        f"{path}:1 column 19: the header is not UTF-8 (byte 0xe9); re-save the file as UTF-8"
    )


def test_an_empty_file_and_a_blank_first_line_are_refused(tmp_path: Path) -> None:
    for name, content in (("empty.csv", b""), ("blank.csv", b"\n\nBilledCost\n")):
        path = tmp_path / name
        path.write_bytes(content)
        with pytest.raises(InputError) as caught:
            open_input(path)
        assert caught.value.code == "input.empty_file"


def test_the_sample_header_is_read_whole(tmp_path: Path) -> None:
    table = focus_csv(3)
    found = open_input(table.write(tmp_path / "s.csv"))
    assert found.header == tuple(table.header)
    assert len(found.header) == 57


def test_json_lines_are_told_apart_and_read_with_their_nested_types(tmp_path: Path) -> None:
    lines = '{"cost": 1.5, "service": {"id": "A"}, "note": null}\n{"cost": 2, "note": "x"}\n'
    plain = tmp_path / "export.json"
    plain.write_text(lines)
    packed = tmp_path / "export.jsonl.gz"
    packed.write_bytes(gzip.compress(lines.encode()))

    assert sniff_format(plain) == "jsonl"
    assert sniff_format(packed) == "jsonl.gz"
    read = open_input(packed)
    assert read.header == ("cost", "service", "note")
    # a key that is null in the first records reads as text, not DuckDB's JSON type
    assert read.types == ("DOUBLE", "STRUCT(id VARCHAR)", "VARCHAR")


@pytest.mark.parametrize("first", ['{"cost": 1.5', "{}"])
def test_a_first_line_that_is_not_a_json_object_is_refused(first: str, tmp_path: Path) -> None:
    path = tmp_path / "export.jsonl"
    path.write_text(first + "\n")
    with pytest.raises(InputError) as caught:
        open_input(path)
    assert caught.value.code == "input.bad_json"
    assert str(caught.value).startswith(f"{path}:1")
