"""Tests for costprism.focus.schema: the ledger and contract commitment Arrow schemas."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pyarrow as pa
import pytest

from costprism.focus import (
    CONTRACT_COMMITMENT_COLUMNS,
    CONTRACT_COMMITMENT_SCHEMA,
    EXTENSION_COLUMNS,
    LEDGER_SCHEMA,
    LEDGER_VERSION,
    MEASURES,
    column,
    columns_for,
    ledger_columns,
    row_id,
)

ADDED_IN_1_3 = [
    "AllocatedMethodDetails",
    "AllocatedMethodId",
    "AllocatedResourceId",
    "AllocatedResourceName",
    "AllocatedTags",
    "ContractApplied",
    "HostProviderName",
    "ServiceProviderName",
]
EXTENSIONS = ["x_SourceId", "x_IngestId", "x_RowId"]


def test_ledger_version() -> None:
    assert LEDGER_VERSION == "1.2"


def test_ledger_columns_are_1_2_then_the_1_3_additions() -> None:
    names = [spec.name for spec in ledger_columns()]
    assert len(names) == 65
    assert names[:57] == [spec.name for spec in columns_for("1.2")]
    assert names[57:] == ADDED_IN_1_3


def test_ledger_makes_the_1_3_columns_nullable_without_changing_the_specs() -> None:
    specs = {spec.name: spec for spec in ledger_columns()}
    assert all(specs[name].nullable for name in ADDED_IN_1_3)
    assert column("ServiceProviderName").nullable is False
    assert specs["ServiceProviderName"].level == "mandatory"
    assert specs["BilledCost"].nullable is False


def test_ledger_schema_field_order() -> None:
    assert LEDGER_SCHEMA.names == [spec.name for spec in ledger_columns()] + EXTENSIONS
    assert len(LEDGER_SCHEMA) == 68


def test_focus_fields_are_nullable_and_extensions_are_not() -> None:
    nullable = {field.name: field.nullable for field in LEDGER_SCHEMA}
    assert [name for name, ok in nullable.items() if not ok] == EXTENSIONS


@pytest.mark.parametrize(
    ("name", "arrow_type"),
    [
        ("BilledCost", pa.decimal128(38, 12)),
        ("PricingQuantity", pa.decimal128(38, 12)),
        ("ChargePeriodStart", pa.timestamp("us", tz="UTC")),
        ("Tags", pa.map_(pa.string(), pa.string())),
        ("AllocatedTags", pa.map_(pa.string(), pa.string())),
        ("SkuPriceDetails", pa.string()),
        ("ContractApplied", pa.string()),
        ("ServiceName", pa.string()),
        ("x_SourceId", pa.string()),
        ("x_IngestId", pa.int64()),
        ("x_RowId", pa.int64()),
    ],
)
def test_ledger_field_types(name: str, arrow_type: pa.DataType) -> None:
    assert LEDGER_SCHEMA.field(name).type == arrow_type


def test_extension_columns() -> None:
    assert [(f.name, f.type, f.nullable) for f in EXTENSION_COLUMNS] == [
        ("x_SourceId", pa.string(), False),
        ("x_IngestId", pa.int64(), False),
        ("x_RowId", pa.int64(), False),
    ]


def test_a_ledger_row_round_trips_through_the_schema() -> None:
    row: dict[str, object] = {name: None for name in LEDGER_SCHEMA.names}
    row |= {
        "BilledCost": Decimal("0.000000123456"),
        "ChargePeriodStart": datetime(2026, 5, 1, tzinfo=UTC),
        "Tags": [("CostCenter", "1234"), ("env", "prod")],
        "x_SourceId": "aws-payer",
        "x_IngestId": 7,
        "x_RowId": row_id(7, 0),
    }
    table = pa.Table.from_pylist([row], schema=LEDGER_SCHEMA)
    back = table.to_pylist()[0]
    assert back["BilledCost"] == Decimal("0.000000123456")
    assert back["ChargePeriodStart"] == datetime(2026, 5, 1, tzinfo=UTC)
    assert back["Tags"] == [("CostCenter", "1234"), ("env", "prod")]
    assert back["x_RowId"] == 7 * 2**40


def test_contract_commitment_schema() -> None:
    names = [spec.name for spec in CONTRACT_COMMITMENT_COLUMNS]
    assert CONTRACT_COMMITMENT_SCHEMA.names == names + EXTENSIONS
    assert len(CONTRACT_COMMITMENT_SCHEMA) == 16
    assert CONTRACT_COMMITMENT_SCHEMA.field("ContractCommitmentCost").type == pa.decimal128(38, 12)
    assert CONTRACT_COMMITMENT_SCHEMA.field("ContractPeriodEnd").type == pa.timestamp(
        "us", tz="UTC"
    )
    assert CONTRACT_COMMITMENT_SCHEMA.field("ContractCommitmentId").nullable is True


def test_measures_name_mandatory_cost_metrics() -> None:
    assert dict(MEASURES) == {
        "billed": "BilledCost",
        "effective": "EffectiveCost",
        "list": "ListCost",
        "contracted": "ContractedCost",
    }
    for name in MEASURES.values():
        spec = column(name)
        assert (spec.kind, spec.level, spec.nullable) == ("metric", "mandatory", False)
        assert name in LEDGER_SCHEMA.names


def test_row_id_layout() -> None:
    assert row_id(0, 0) == 0
    assert row_id(3, 5) == 3 * 2**40 + 5
    assert row_id(1, 2**40 - 1) < row_id(2, 0)
    largest = row_id(2**23 - 1, 2**40 - 1)
    assert pa.array([largest], pa.int64()).to_pylist() == [2**63 - 1]


@pytest.mark.parametrize(("ingest_id", "ordinal"), [(0, 2**40), (0, -1), (2**23, 0), (-1, 0)])
def test_row_id_rejects_out_of_range_parts(ingest_id: int, ordinal: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        row_id(ingest_id, ordinal)
