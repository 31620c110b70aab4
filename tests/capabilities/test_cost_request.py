"""Text words → CostQuery, the same for the CLI, the API and the explorer."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from costprism.capabilities.cost_request import parse_as_of, parse_cost_query, parse_day
from costprism.engine.filters import Filter
from costprism.errors import QueryError, UserError


def test_words_become_a_query() -> None:
    query = parse_cost_query(
        by=["ServiceName", "tag:team", ""],
        where=["RegionId=us-east-1", " "],
        start="2026-01-01",
        end="2026-04-01",
        granularity="week",
        basis="billed",
        top=5,
    )
    assert query.group_by == ("ServiceName", "tag:team")
    assert query.filters == (Filter(column="RegionId", op="=", values=("us-east-1",)),)
    assert (query.start, query.end) == (date(2026, 1, 1), date(2026, 4, 1))
    assert query.granularity == "week"
    assert query.measures == ("BilledCost",)
    assert query.top == 5


@pytest.mark.parametrize(
    ("words", "message"),
    [
        ({"granularity": "fortnight"}, "--granularity 'fortnight' is not one of"),
        ({"basis": "amortized"}, "--basis 'amortized' is not one of"),
        ({"start": "2026-13-01"}, "--from '2026-13-01' is not an ISO date"),
        ({"end": "tomorrow"}, "--to 'tomorrow' is not an ISO date"),
    ],
)
def test_bad_words_name_the_option_and_value(words: dict[str, str], message: str) -> None:
    with pytest.raises(UserError, match=message):
        parse_cost_query(prefix="--", **words)  # type: ignore[arg-type]


def test_messages_without_prefix_for_the_api() -> None:
    with pytest.raises(UserError, match=r"^granularity 'x'"):
        parse_cost_query(granularity="x")


def test_bad_filter_is_a_query_error() -> None:
    with pytest.raises(QueryError) as raised:
        parse_cost_query(where=["RegionId ~ us"])
    assert raised.value.code == "query.bad_filter"


def test_empty_day_is_none() -> None:
    assert parse_day("", "from") is None
    assert parse_day(None, "from") is None


def test_as_of_takes_a_version_or_a_timestamp() -> None:
    assert parse_as_of("3") == 3
    assert parse_as_of("2026-03-01T10:00:00") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_as_of("2026-03-01T10:00:00Z") == datetime(2026, 3, 1, 10, tzinfo=UTC)
    assert parse_as_of(None) is None
    with pytest.raises(UserError, match="neither a version number nor an ISO timestamp"):
        parse_as_of("yesterday")
