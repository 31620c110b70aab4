"""Cursors are opaque round trips; pages cover a list exactly once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from costprism.capabilities.paging import (
    MAX_LIMIT,
    checked_limit,
    decode_cursor,
    encode_cursor,
    page_of,
)
from costprism.errors import QueryError


@given(st.dictionaries(st.text(max_size=5), st.integers() | st.text(max_size=10), max_size=3))
def test_cursor_round_trip(position: dict[str, object]) -> None:
    assert decode_cursor(encode_cursor(position)) == position


def test_no_cursor_is_the_first_page() -> None:
    assert decode_cursor(None) == {}
    assert decode_cursor("") == {}


@pytest.mark.parametrize("cursor", ["!!!", "bm90IGpzb24", encode_cursor({"a": 1})[:-3] + "~~"])
def test_damaged_cursor_is_a_clear_error(cursor: str) -> None:
    with pytest.raises(QueryError) as raised:
        decode_cursor(cursor)
    assert raised.value.code == "query.bad_cursor"


def test_a_cursor_that_is_json_but_not_an_object_is_refused() -> None:
    import base64

    with pytest.raises(QueryError, match="not one this server gave out"):
        decode_cursor(base64.urlsafe_b64encode(b"[1, 2]").decode())


@pytest.mark.parametrize("limit", [0, -1, MAX_LIMIT + 1])
def test_limits_out_of_range_are_refused(limit: int) -> None:
    with pytest.raises(QueryError, match=f"limit {limit}"):
        checked_limit(limit)


@given(st.lists(st.integers(), max_size=60), st.integers(min_value=1, max_value=25))
def test_pages_cover_a_list_exactly_once(items: list[int], limit: int) -> None:
    seen: list[int] = []
    cursor = None
    while True:
        page = page_of(items, limit=limit, cursor=cursor)
        assert len(page.items) <= limit
        seen.extend(page.items)
        if page.next is None:
            break
        cursor = page.next
    assert seen == items
