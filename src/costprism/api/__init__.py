"""The REST API under ``/api/v1``: what the CLI can read, JSON in and out.

Each route parses its parameters, calls the same capability the CLI and the pages call,
and returns its records. Lists page with ``limit`` and an opaque ``cursor``.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends

from costprism.api import (
    access,
    alerts,
    allocation,
    anomalies,
    budgets,
    chargeback,
    costs,
    forecasts,
    sources,
    tags,
)
from costprism.server.auth import csrf_protect_session
from costprism.server.errors import ErrorResponse

ERRORS: dict[int | str, dict[str, object]] = {
    status: {"model": ErrorResponse, "description": text}
    for status, text in (
        (400, "a bad parameter (the code says which)"),
        (401, "not signed in; send 'Authorization: Bearer TOKEN'"),
        (403, "the caller's roles don't allow it"),
        (404, "no such record"),
        (422, "a parameter of the wrong type"),
    )
}

router = APIRouter(prefix="/api/v1", dependencies=[Depends(csrf_protect_session)], responses=ERRORS)
for module in (
    costs, sources, access, allocation, chargeback, tags, budgets, forecasts, anomalies, alerts,
):  # fmt: skip
    router.include_router(module.router)
