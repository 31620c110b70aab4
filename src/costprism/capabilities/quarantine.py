"""Rows an import rejected under ``--quarantine``, with the findings that rejected them."""

from __future__ import annotations

import json
from typing import Any

import duckdb

from costprism.ledger import Ledger


def quarantined_rows(ledger: Ledger, *, source: str | None, limit: int) -> list[dict[str, Any]]:
    """The newest quarantined rows first: source, file, line, findings, raw values."""
    files, _ = ledger.quarantine.files()
    if not files:
        return []
    connection = duckdb.connect()
    where = "WHERE x_SourceId = $source" if source else ""
    rows = connection.execute(
        f"SELECT x_SourceId, x_IngestId, file, line, findings, row FROM read_parquet($files) "
        f"{where} ORDER BY x_IngestId DESC, file, line LIMIT $limit",
        {"files": files, "limit": limit, **({"source": source} if source else {})},
    ).fetchall()
    return [
        {
            "source": src,
            "ingest_id": ingest_id,
            "file": file,
            "line": line,
            "findings": "; ".join(
                f"{f['rule']} {f['column']}={f['value']!r}" for f in json.loads(found)
            ),
            "row": json.dumps(dict(raw)),
        }
        for src, ingest_id, file, line, found, raw in rows
    ]
