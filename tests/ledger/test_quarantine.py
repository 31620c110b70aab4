import pyarrow as pa

from costprism.ledger.quarantine import QUARANTINE_SCHEMA


def test_quarantine_rows_keep_raw_values_and_findings() -> None:
    assert QUARANTINE_SCHEMA.names == [
        "x_SourceId",
        "x_IngestId",
        "file",
        "line",
        "row",
        "findings",
        "quarantined_at",
    ]
    assert QUARANTINE_SCHEMA.field("row").type == pa.map_(pa.string(), pa.string())
    assert QUARANTINE_SCHEMA.field("quarantined_at").type == pa.timestamp("us", tz="UTC")
