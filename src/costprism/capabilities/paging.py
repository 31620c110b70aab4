"""Pagination for every list: ``limit`` and an opaque ``cursor``; a page says where the next starts.

A cursor is the URL-safe base64 of a small JSON document (for keyset pages: the last key
seen). Clients must treat it as opaque; a damaged cursor is a clear error, not a 500.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from costprism.errors import QueryError

T = TypeVar("T")
DEFAULT_LIMIT = 50
MAX_LIMIT = 1000


@dataclass(frozen=True, kw_only=True)
class Page(Generic[T]):
    items: tuple[T, ...]
    next: str | None


def encode_cursor(position: dict[str, Any]) -> str:
    text = json.dumps(position, separators=(",", ":"), sort_keys=True)
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> dict[str, Any]:
    """The position a cursor points at (``{}`` for the first page)."""
    if not cursor:
        return {}
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        position = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError) as error:
        raise QueryError(
            f"cursor {cursor[:40]!r} is not one this server gave out; "
            "start again without a cursor and follow each page's 'next'",
            code="query.bad_cursor",
        ) from error
    if not isinstance(position, dict):
        raise QueryError(
            f"cursor {cursor[:40]!r} is not one this server gave out; start again without it",
            code="query.bad_cursor",
        )
    return position


def cursor_key(position: dict[str, Any], name: str) -> int | None:
    """The integer key ``name`` of a decoded cursor (``None`` when absent), checked: a
    forged cursor holding text, a boolean or a number no row id can be is refused."""
    value: object = position.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise QueryError(
            f"cursor position {name}={str(value)[:40]!r} is not one this server gave out; "
            "start again without a cursor",
            code="query.bad_cursor",
        )
    return value


def cursor_text(position: dict[str, Any], name: str) -> str:
    """The text key ``name`` of a decoded cursor (``""`` when absent), checked likewise."""
    value: object = position.get(name, "")
    if not isinstance(value, str) or "\x00" in value:
        raise QueryError(
            f"cursor position {name}={str(value)[:40]!r} is not one this server gave out; "
            "start again without a cursor",
            code="query.bad_cursor",
        )
    return value


def checked_limit(limit: int | None) -> int:
    """``limit`` within 1..MAX_LIMIT (the default when absent)."""
    if limit is None:
        return DEFAULT_LIMIT
    if not 1 <= limit <= MAX_LIMIT:
        raise QueryError(
            f"limit {limit} is out of range; use 1 to {MAX_LIMIT}", code="query.bad_limit"
        )
    return limit


def page_of(items: Sequence[T], *, limit: int | None, cursor: str | None) -> Page[T]:
    """A page of a short list already in memory (slices, versions): an offset cursor."""
    size = checked_limit(limit)
    start = cursor_key(decode_cursor(cursor), "offset") or 0
    chunk = tuple(items[start : start + size])
    more = start + size < len(items)
    return Page(items=chunk, next=encode_cursor({"offset": start + size}) if more else None)
