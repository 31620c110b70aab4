"""Rows an import rejected under ``--quarantine``, with the findings that rejected them."""

from __future__ import annotations

import json
from typing import Any

import ibis

from costprism.engine.backends import open_table
from costprism.ledger import Ledger


def quarantined_rows(ledger: Ledger, *, source: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest quarantined rows first: source, file, line, findings, raw values."""
    rows = open_table(ledger.quarantine, "quarantine")
    if source:
        rows = rows.filter(rows.x_SourceId == source)
    ordered = rows.order_by([ibis.desc("x_IngestId"), "file", "line"]).limit(limit)
    return [_record(row) for row in ordered.to_pyarrow().to_pylist()]


def _record(row: dict[str, Any]) -> dict[str, Any]:
    findings = json.loads(row["findings"])
    return {
        "source": row["x_SourceId"],
        "ingest_id": row["x_IngestId"],
        "file": row["file"],
        "line": row["line"],
        "findings": "; ".join(f"{f['rule']} {f['column']}={f['value']!r}" for f in findings),
        "row": json.dumps(dict(row["row"] or [])),
    }
