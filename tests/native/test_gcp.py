"""Google Cloud billing export: the nested (JSON lines, Parquet) and flat (CSV) layouts,
detection, one rule list for both, labels as tags, and bad input."""

from __future__ import annotations

import csv
import io
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from costprism.errors import ValidationFailed
from costprism.focus import columns_for
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.native import gcp
from costprism.native.registry import format_named, match_format
from tests.native.fixture_pairs import DATA, ledger_rows

FLAT = DATA / "gcp" / "billing-detailed.csv"
NESTED = DATA / "gcp" / "billing-standard.jsonl"
FOCUS = [spec.name for spec in columns_for("1.2")]


def _flat_rows(path: Path = FLAT) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _write_flat(path: Path, rows: list[dict[str, str]]) -> Path:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(rows[0]), lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(buffer.getvalue(), encoding="utf-8")
    return path


def _nested_rows() -> list[dict[str, Any]]:
    lines = NESTED.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines]


def _write_nested(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    path.write_text(text, encoding="utf-8")
    return path


def _import(path: Path, home: Path, expected: str) -> dict[str, dict[str, Any]]:
    ledger = Ledger.at_home(home)
    result = ingest([path], ledger, IngestOptions(source="gcp"))
    assert [f.source_format for f in result.files] == [expected]
    return {row["x_fixture_row"]: row for row in ledger_rows(ledger)}


def _flatten(record: dict[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested export record as the flat layout writes it: dotted names, lists as JSON."""
    flat: dict[str, str] = {}
    for key, value in record.items():
        name = prefix + key
        if isinstance(value, dict):
            flat.update(_flatten(value, name + "."))
        elif isinstance(value, list):
            flat[name] = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
        elif value is not None:
            flat[name] = str(value)
    return flat


# --- detection ------------------------------------------------------------------------------


def _header(path: Path) -> list[str]:
    if path.suffix == ".jsonl":
        return list(json.loads(path.read_text(encoding="utf-8").splitlines()[0]))
    return list(_flat_rows(path)[0])


@pytest.mark.parametrize(("path", "native"), [(FLAT, gcp.FLAT), (NESTED, gcp.NESTED)])
def test_each_layout_is_detected_from_its_header(path: Path, native: object) -> None:
    assert match_format(_header(path)) is native
    assert format_named(gcp.FLAT.name) is gcp.FLAT
    assert format_named(gcp.NESTED.name) is gcp.NESTED


def test_a_flat_header_is_not_taken_for_nested_and_back() -> None:
    assert gcp.NESTED.missing(_header(FLAT)) == ("service", "sku", "invoice")
    assert gcp.FLAT.missing(_header(NESTED)) == ("service.description", "sku.id", "invoice.month")


def test_the_standard_flat_export_without_resource_and_price_columns(tmp_path: Path) -> None:
    dropped = ("resource.", "price.", "subscription.", "transaction_type", "seller_name")
    rows = [{k: v for k, v in row.items() if not k.startswith(dropped)} for row in _flat_rows()[:1]]
    assert match_format(list(rows[0])) is gcp.FLAT
    (row,) = _import(
        _write_flat(tmp_path / "std.csv", rows), tmp_path / "home", "gcp-billing-flat"
    ).values()
    assert row["ResourceId"] is None
    assert row["ResourceType"] is None
    assert row["SkuPriceId"] == "CF4E-A0C7-E3BF"
    # no price.effective_price: cost ÷ usage.amount_in_pricing_units
    assert row["ContractedUnitPrice"] == Decimal("0.031611")
    assert row["PublisherName"] == "Google Cloud"
    assert row["InvoiceIssuerName"] == "Google"


# --- one rule list, two layouts -------------------------------------------------------------


def test_both_layouts_map_the_same_columns_with_the_same_explanations() -> None:
    flat = [(r.column, r.explain) for r in gcp.FLAT.rules]
    nested = [(r.column, r.explain) for r in gcp.NESTED.rules]
    assert flat == nested
    assert all("." not in name for rule in gcp.NESTED.rules for name in rule.sources())


def test_an_export_reads_the_same_nested_flattened_or_as_parquet(tmp_path: Path) -> None:
    records = _nested_rows()
    nested = _import(NESTED, tmp_path / "nested", "gcp-billing")

    flat_rows = [_flatten(record) for record in records]
    columns = list(dict.fromkeys(name for row in flat_rows for name in row))
    flat_path = _write_flat(
        tmp_path / "flat.csv", [{c: r.get(c, "") for c in columns} for r in flat_rows]
    )
    flat = _import(flat_path, tmp_path / "flat", "gcp-billing-flat")

    parquet = tmp_path / "export.parquet"
    with duckdb.connect() as connection:
        source = str(NESTED).replace("'", "''")
        connection.execute(
            f"COPY (SELECT * FROM read_json('{source}', format = 'newline_delimited')) "
            f"TO '{parquet}' (FORMAT PARQUET)"
        )
    from_parquet = _import(parquet, tmp_path / "parquet", "gcp-billing")

    assert set(nested) == set(flat) == set(from_parquet) == {r["fixture_row"] for r in records}
    for key, row in nested.items():
        for column in FOCUS:
            assert flat[key][column] == row[column], (key, column, "flat")
            assert from_parquet[key][column] == row[column], (key, column, "parquet")


# --- labels as tags ---------------------------------------------------------------------------


def _tags(tmp_path: Path, **fields: str) -> dict[str, str] | None:
    row = dict(_flat_rows()[0], **fields)
    (imported,) = _import(
        _write_flat(tmp_path / "t.csv", [row]), tmp_path / "h", "gcp-billing-flat"
    ).values()
    tags: dict[str, str] | None = imported["Tags"]
    return tags


def _json(value: object) -> str:
    return json.dumps(value, ensure_ascii=False)


def test_labels_written_as_a_json_object_are_read_too(tmp_path: Path) -> None:
    tags = _tags(
        tmp_path,
        **{"project.labels": "", "system_labels": "[]"},
        labels=_json({"team": "payments", 'b="c"': "d,e:f=g", "ümlaut": "ß"}),
    )
    assert tags == {"team": "payments", 'b="c"': "d,e:f=g", "ümlaut": "ß"}


def test_a_repeated_key_keeps_its_last_value_and_labels_beat_project_labels(
    tmp_path: Path,
) -> None:
    tags = _tags(
        tmp_path,
        **{
            "project.labels": _json(
                [{"key": "env", "value": "prod"}, {"key": "owner", "value": "x"}]
            ),
            "system_labels": _json([{"key": "compute.googleapis.com/cores", "value": "2"}]),
        },
        labels=_json(
            [
                {"key": "env", "value": "dev"},
                {"key": "team", "value": "a"},
                {"key": "team", "value": "b"},
            ]
        ),
    )
    assert tags == {"owner": "x", "compute.googleapis.com/cores": "2", "env": "dev", "team": "b"}


def test_resource_manager_tags_are_keyed_by_their_namespaced_name(tmp_path: Path) -> None:
    tags = _tags(
        tmp_path,
        **{"project.labels": "", "system_labels": ""},
        labels="[]",
        tags=_json(
            [
                {
                    "key": "environment",
                    "value": "production",
                    "inherited": True,
                    "namespace": "123456789012",
                },
                {"key": "tier", "value": "gold", "inherited": False, "namespace": ""},
            ]
        ),
    )
    assert tags == {"123456789012/environment": "production", "tier": "gold"}


def test_empty_keys_are_dropped_and_no_labels_means_no_tags(tmp_path: Path) -> None:
    assert _tags(
        tmp_path / "a",
        **{"project.labels": "[]", "system_labels": "[]"},
        labels=_json([{"key": "", "value": "orphan"}]),
    ) in (None, {})
    assert _tags(tmp_path / "b", **{"project.labels": "", "system_labels": ""}, labels="") in (
        None,
        {},
    )


def test_unreadable_labels_are_skipped_and_the_row_is_kept(tmp_path: Path) -> None:
    tags = _tags(tmp_path, **{"system_labels": "[]"}, labels="team=payments; env=dev")
    assert tags == {"env": "prod", "cost-center": "CC-100, EU"}  # the project's labels


# --- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize("column", ["cost", "usage.amount", "cost_at_list"])
def test_a_bad_number_is_refused_with_its_place_and_nothing_is_stored(
    column: str, tmp_path: Path
) -> None:
    rows = _flat_rows()
    rows[2][column] = "0,05 USD"
    path = _write_flat(tmp_path / "in" / "export.csv", rows)
    ledger = Ledger.at_home(tmp_path / "home")

    with pytest.raises(ValidationFailed) as caught:
        ingest([path], ledger, IngestOptions(source="gcp"))

    error = caught.value
    assert error.counts["bad-decimal"] == 1  # a bad cost also leaves BilledCost empty
    assert set(error.counts) <= {"bad-decimal", "not-null"}
    assert "nothing was stored" in str(error)
    (finding,) = [f for f in error.findings if f.rule == "bad-decimal"]
    assert (finding.file, finding.line, finding.column, finding.value) == (
        str(path),
        4,
        column,
        "0,05 USD",
    )
    assert str(finding).startswith(f"{path}:4 column {column}")
    assert ledger.costs.files() == ([], None)


def test_a_bad_cost_in_json_lines_is_refused_with_its_line(tmp_path: Path) -> None:
    records = _nested_rows()
    records[4]["cost"] = "1.2.3"
    path = _write_nested(tmp_path / "in" / "export.jsonl", records)
    ledger = Ledger.at_home(tmp_path / "home")

    with pytest.raises(ValidationFailed) as caught:
        ingest([path], ledger, IngestOptions(source="gcp"))

    (finding,) = [f for f in caught.value.findings if f.rule == "bad-decimal"]
    assert (finding.line, finding.column, finding.value) == (5, "cost", "1.2.3")
    assert ledger.costs.files() == ([], None)


def test_credits_that_cannot_be_read_leave_the_billed_cost_empty(tmp_path: Path) -> None:
    rows = _flat_rows()
    rows[0]["credits"] = "[{'name': 'Sustained Usage Discount', 'amount': -0.012644}]"
    path = _write_flat(tmp_path / "in" / "export.csv", rows)
    ledger = Ledger.at_home(tmp_path / "home")

    with pytest.raises(ValidationFailed) as caught:
        ingest([path], ledger, IngestOptions(source="gcp"))

    (finding,) = caught.value.findings
    assert (finding.rule, finding.line, finding.column) == ("not-null", 2, "BilledCost")
    assert "credits" in finding.message
    assert ledger.costs.files() == ([], None)
