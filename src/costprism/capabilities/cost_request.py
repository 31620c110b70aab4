"""A cost question as the edges receive it (text options) turned into a :class:`CostQuery`.

The CLI's ``cost`` options, the API's ``/costs`` parameters and the explorer's form fields
are the same words; this module is the one place that reads them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from costprism.engine.filters import parse_filters
from costprism.engine.query import GRANULARITIES, CostQuery
from costprism.errors import UserError

BASES = ("billed", "effective", "list", "contracted")


def parse_cost_query(
    *,
    by: Sequence[str] = (),
    where: Sequence[str] = (),
    start: str | None = None,
    end: str | None = None,
    granularity: str = "month",
    basis: str = "effective",
    top: int | None = None,
    prefix: str = "",
) -> CostQuery:
    """The query the words describe; a clear :class:`UserError` for any bad word.

    ``prefix`` is put before option names in messages (``--`` for the CLI)."""
    return CostQuery(
        basis=(choice(basis, BASES, f"{prefix}basis"),),
        group_by=tuple(b for b in by if b),
        filters=parse_filters(w for w in where if w.strip()),
        start=parse_day(start, f"{prefix}from"),
        end=parse_day(end, f"{prefix}to"),
        granularity=choice(granularity, GRANULARITIES, f"{prefix}granularity"),
        top=top,
    )


def choice(value: str, allowed: Sequence[str], option: str) -> Any:
    if value not in allowed:
        raise UserError(f"{option} {value!r} is not one of: {', '.join(allowed)}", code="usage")
    return value


def parse_day(value: str | None, option: str) -> date | None:
    if value is None or value == "":
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as error:
        raise UserError(
            f"{option} {value!r} is not an ISO date like 2026-01-31", code="usage"
        ) from error


def parse_as_of(value: str | None) -> int | datetime | None:
    """A ledger version number or an ISO timestamp (UTC when no zone is given)."""
    if value is None or value == "":
        return None
    if value.isdigit():
        return int(value)
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as error:
        raise UserError(
            f"as-of {value!r} is neither a version number nor an ISO timestamp", code="usage"
        ) from error
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
