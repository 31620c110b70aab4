"""The FOCUS model: column specs, the canonical ledger schema, and header detection.

Pure data and logic on top of pyarrow; nothing here reads files. Readers (``costprism.ingest``)
use :func:`detect_header` on a file's header, then cast its columns to ``LEDGER_SCHEMA``.
"""

from costprism.focus.columns import (
    CONTRACT_COMMITMENT_COLUMNS,
    DATASETS,
    ENUMS,
    FOCUS_VERSIONS,
    RENAMES,
    SERVICE_SUBCATEGORY_PARENT,
    ColumnSpec,
    Dataset,
    FocusLookupError,
    FocusType,
    Kind,
    Level,
    check_version,
    column,
    columns_for,
    release_rank,
)
from costprism.focus.detect import HeaderDetection, clean_name, detect_header
from costprism.focus.schema import (
    CONTRACT_COMMITMENT_SCHEMA,
    EXTENSION_COLUMNS,
    LEDGER_SCHEMA,
    LEDGER_VERSION,
    MEASURES,
    ROW_ORDINAL_BITS,
    ledger_columns,
    row_id,
)

__all__ = [
    "CONTRACT_COMMITMENT_COLUMNS",
    "CONTRACT_COMMITMENT_SCHEMA",
    "DATASETS",
    "ENUMS",
    "EXTENSION_COLUMNS",
    "FOCUS_VERSIONS",
    "LEDGER_SCHEMA",
    "LEDGER_VERSION",
    "MEASURES",
    "RENAMES",
    "ROW_ORDINAL_BITS",
    "SERVICE_SUBCATEGORY_PARENT",
    "ColumnSpec",
    "Dataset",
    "FocusLookupError",
    "FocusType",
    "HeaderDetection",
    "Kind",
    "Level",
    "check_version",
    "clean_name",
    "column",
    "columns_for",
    "detect_header",
    "ledger_columns",
    "release_rank",
    "row_id",
]
