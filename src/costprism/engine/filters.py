"""The one filter language: ``--where``, ``--scope``, the API's ``where=`` and YAML ``match:``.

Grammar (one condition per string; several conditions are ANDed)::

    COL=VAL            COL!=VAL
    COL in (A, B, …)   COL not in (A, B, …)
    COL like PATTERN   (SQL LIKE: % any run, _ one character)
    COL is null        COL is not null

``COL`` is a ledger column (``RegionId``), ``tag:KEY`` (keys match ignoring case and
``-``/``_``) or, later, an allocation dimension. Values may be quoted with ``'`` or ``"``.
This module only parses; :mod:`costprism.engine.expressions` compiles filters to Ibis.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from costprism.errors import QueryError

Operator = Literal["=", "!=", "in", "not in", "like", "is null", "is not null"]

_COLUMN = r"(?P<col>tag:[^\s=!]+|[A-Za-z_][A-Za-z0-9_]*)"
_PATTERNS: tuple[tuple[Operator, re.Pattern[str]], ...] = (
    ("is not null", re.compile(rf"^{_COLUMN}\s+is\s+not\s+null$", re.IGNORECASE)),
    ("is null", re.compile(rf"^{_COLUMN}\s+is\s+null$", re.IGNORECASE)),
    ("not in", re.compile(rf"^{_COLUMN}\s+not\s+in\s*\((?P<val>.*)\)$", re.IGNORECASE)),
    ("in", re.compile(rf"^{_COLUMN}\s+in\s*\((?P<val>.*)\)$", re.IGNORECASE)),
    ("like", re.compile(rf"^{_COLUMN}\s+like\s+(?P<val>.+)$", re.IGNORECASE)),
    ("!=", re.compile(rf"^{_COLUMN}\s*!=\s*(?P<val>.*)$")),
    ("=", re.compile(rf"^{_COLUMN}\s*=\s*(?P<val>.*)$")),
)

HINT = (
    "write COL=VAL, COL!=VAL, 'COL in (A, B)', 'COL like PATTERN', 'COL is null' or "
    "'COL is not null'; COL is a FOCUS column such as RegionId or tag:KEY"
)


@dataclass(frozen=True, kw_only=True)
class Filter:
    """One condition on one column; ``values`` is empty for the null tests."""

    column: str
    op: Operator
    values: tuple[str, ...] = ()

    @property
    def is_tag(self) -> bool:
        return self.column.startswith("tag:")

    @property
    def tag_key(self) -> str:
        return self.column[len("tag:") :]

    def __str__(self) -> str:
        if self.op in ("is null", "is not null"):
            return f"{self.column} {self.op}"
        if self.op in ("in", "not in"):
            return f"{self.column} {self.op} ({', '.join(self.values)})"
        if self.op == "like":
            return f"{self.column} like {self.values[0]}"
        return f"{self.column}{self.op}{self.values[0]}"


def parse_filter(text: str) -> Filter:
    """Parse one condition, e.g. ``"tag:team in (payments, data)"``."""
    stripped = text.strip()
    for op, pattern in _PATTERNS:
        match = pattern.match(stripped)
        if match:
            return Filter(column=match["col"], op=op, values=_values(op, match, text))
    raise QueryError(f"filter {text!r} is not understood; {HINT}", code="query.bad_filter")


def parse_filters(texts: Iterable[str]) -> tuple[Filter, ...]:
    """Parse several conditions (ANDed); a condition may also hold several joined by ' and '."""
    return tuple(parse_filter(part) for text in texts for part in _split_and(text))


def normalize_tag_key(key: str) -> str:
    """The form tag keys are compared in: ``CostCenter``, ``cost-center``, ``cost_center`` agree."""
    return key.lower().replace("-", "").replace("_", "")


def _values(op: Operator, match: re.Match[str], text: str) -> tuple[str, ...]:
    if op in ("is null", "is not null"):
        return ()
    raw = match["val"].strip()
    if op in ("in", "not in"):
        items = tuple(_unquote(item.strip()) for item in _split_list(raw))
        if not items or any(item == "" for item in items):
            raise QueryError(
                f"filter {text!r} has an empty list item; write 'COL in (A, B)'",
                code="query.bad_filter",
            )
        return items
    if raw == "":
        raise QueryError(
            f"filter {text!r} has no value; to match missing values write '{match['col']} is null'",
            code="query.bad_filter",
        )
    return (_unquote(raw),)


def _split_list(raw: str) -> list[str]:
    """Split on commas outside quotes."""
    items: list[str] = []
    current: list[str] = []
    quote: str | None = None
    for char in raw:
        if quote is None and char in "'\"":
            quote = char
        elif quote == char:
            quote = None
        if char == "," and quote is None:
            items.append("".join(current))
            current = []
        else:
            current.append(char)
    items.append("".join(current))
    return items


def _split_and(text: str) -> list[str]:
    """Split ``A=1 and B=2`` into conditions, leaving quoted text and lists alone."""
    parts: list[str] = []
    start, depth, quote = 0, 0, ""
    lowered = text.lower()
    for index, char in enumerate(text):
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
        elif (
            depth == 0
            and lowered.startswith(" and ", index)
            and _starts_condition(text[index + len(" and ") :])
        ):
            parts.append(text[start:index])
            start = index + len(" and ")
    parts.append(text[start:])
    return [part for part in parts if part.strip()]


def _starts_condition(text: str) -> bool:
    """Whether ``text`` begins like a condition (``COL op …``), not like more of a value."""
    return any(pattern.match(text.strip()) for _, pattern in _PATTERNS)


def _unquote(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
        return value[1:-1]
    return value
