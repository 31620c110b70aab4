"""The canonical Arrow schemas FOCUS data is stored in: the cost ledger and contract commitments.

The ledger is FOCUS 1.2 (``LEDGER_VERSION``) plus the eight Cost and Usage columns FOCUS 1.3
added, so a 1.0, 1.1, 1.2 or 1.3 file lands in one table; columns a file's version lacks are
null. Every FOCUS field is nullable at the Arrow level: FOCUS nullability is enforced by
validation, which can report it row by row, not by Arrow. The three ``x_`` extension columns
that follow identify where each row came from and are never null.

``x_RowId`` is unique within a ledger version: ``x_IngestId * 2**40 + ordinal``, the ordinal
being the row's 0-based position within its ingest (see :func:`row_id`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from types import MappingProxyType

import pyarrow as pa

from costprism.focus.columns import CONTRACT_COMMITMENT_COLUMNS, ColumnSpec, columns_for

LEDGER_VERSION = "1.2"

ROW_ORDINAL_BITS = 40
"""Bits of ``x_RowId`` given to the row's ordinal within its ingest (2**40 rows per ingest)."""

EXTENSION_COLUMNS: tuple[pa.Field, ...] = (
    pa.field("x_SourceId", pa.string(), nullable=False),
    pa.field("x_IngestId", pa.int64(), nullable=False),
    pa.field("x_RowId", pa.int64(), nullable=False),
)

MEASURES: Mapping[str, str] = MappingProxyType(
    {
        "billed": "BilledCost",
        "effective": "EffectiveCost",
        "list": "ListCost",
        "contracted": "ContractedCost",
    }
)
"""Cost basis name -> the FOCUS column that holds it."""


def ledger_columns() -> tuple[ColumnSpec, ...]:
    """The ledger's FOCUS columns: 1.2's 57, then 1.3's 8 additions made nullable."""
    base = columns_for(LEDGER_VERSION)
    base_names = {spec.name for spec in base}
    added = tuple(
        dataclasses.replace(spec, nullable=True)
        for spec in columns_for("1.3")
        if spec.name not in base_names
    )
    return base + added


def _schema(specs: Iterable[ColumnSpec]) -> pa.Schema:
    focus = [pa.field(spec.name, spec.arrow_type, nullable=True) for spec in specs]
    return pa.schema([*focus, *EXTENSION_COLUMNS])


def row_id(ingest_id: int, ordinal: int) -> int:
    """The ``x_RowId`` of the row at 0-based ``ordinal`` within ingest ``ingest_id``."""
    if not 0 <= ordinal < 2**ROW_ORDINAL_BITS:
        raise ValueError(f"row ordinal {ordinal} is outside 0 .. 2**{ROW_ORDINAL_BITS} - 1")
    if not 0 <= ingest_id < 2 ** (63 - ROW_ORDINAL_BITS):
        raise ValueError(f"ingest id {ingest_id} is outside 0 .. 2**{63 - ROW_ORDINAL_BITS} - 1")
    return (ingest_id << ROW_ORDINAL_BITS) + ordinal


LEDGER_SCHEMA: pa.Schema = _schema(ledger_columns())
CONTRACT_COMMITMENT_SCHEMA: pa.Schema = _schema(CONTRACT_COMMITMENT_COLUMNS)
