"""The quarantine table: rows an import rejected, with the raw values and their findings.

Quarantine slices are keyed like ledger slices but by (source, file), so re-importing a
file replaces its earlier rejects.
"""

from __future__ import annotations

import pyarrow as pa

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("x_SourceId", pa.string(), nullable=False),
        pa.field("x_IngestId", pa.int64(), nullable=False),
        pa.field("file", pa.string(), nullable=False),
        pa.field("line", pa.int64()),
        pa.field("row", pa.map_(pa.string(), pa.string())),
        pa.field("findings", pa.string(), nullable=False),
        pa.field("quarantined_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)
