"""Native billing exports (AWS CUR, Azure cost details, Google Cloud billing export,
Alibaba Cloud and Oracle Cloud cost reports) read as FOCUS 1.2.

Each format is a table of rules (:class:`Rule`), one per FOCUS column, written as SQL
over the export's own columns; :mod:`costprism.ingest.reader` runs that SQL inside its one
streaming pass, so a native file is checked, typed and stored exactly as a FOCUS file is.
"""

from costprism.native.mapping import (
    FOCUS_VERSION,
    NativeFormat,
    NativeRelation,
    Rule,
    bad_name,
    extension_name,
    lookup,
    mapping_table,
    native_relation,
    raw_name,
    service_rules,
)
from costprism.native.registry import (
    FOCUS_FORMAT,
    FORMATS,
    Attempt,
    attempts,
    format_named,
    format_names,
    match_format,
)

__all__ = [
    "FOCUS_FORMAT",
    "FOCUS_VERSION",
    "FORMATS",
    "Attempt",
    "NativeFormat",
    "NativeRelation",
    "Rule",
    "attempts",
    "bad_name",
    "extension_name",
    "format_named",
    "format_names",
    "lookup",
    "mapping_table",
    "match_format",
    "native_relation",
    "raw_name",
    "service_rules",
]
