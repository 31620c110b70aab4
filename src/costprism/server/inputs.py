"""What any request's text may hold: no NUL characters, anywhere.

PostgreSQL text columns cannot store NUL and DuckDB SQL literals cannot carry it, so a NUL in
a user name, a token name, a scope, a filter or a source name would otherwise fail deep in a
query as a 500. No CostPrism input has a use for it; :func:`refuse_nul`, a dependency of
every route, answers 422 ``request.invalid`` naming where it was found.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError

NUL = "\x00"


async def refuse_nul(request: Request) -> None:
    """Refuse a request with a NUL in its path, query, form fields or JSON strings."""
    for where, value in await _texts(request):
        if NUL in value:
            shown = "(not shown)" if "password" in where else value
            raise RequestValidationError(
                [{"loc": (where,), "msg": "a NUL character is not allowed", "input": shown}]
            )


async def _texts(request: Request) -> list[tuple[str, str]]:
    """(where, text) for every piece of text the request carries."""
    texts = [("path", str(request.scope.get("path", "")))]
    texts += list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "")
    if "form" in content_type:
        form = await request.form()
        texts += [(name, value) for name, value in form.multi_items() if isinstance(value, str)]
    elif "json" in content_type:
        texts += list(_strings("request body", await _json(request)))
    return texts


async def _json(request: Request) -> Any:
    try:
        return await request.json()
    except ValueError:  # not JSON (json.JSONDecodeError, UnicodeDecodeError): the route says so
        return None


def _strings(where: str, value: Any) -> Iterator[tuple[str, str]]:
    if isinstance(value, str):
        yield where, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield where, str(key)
            yield from _strings(str(key), item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(where, item)
