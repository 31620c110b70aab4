"""One error shape for every API response, and the translation of errors into it.

``{"error": {"code": "query.bad_filter", "message": "…", "status": 400}}``. Errors are
translated here and only here (and as pages in :mod:`costprism.web`); a traceback never
reaches a client.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException

from costprism.errors import CostPrismError

log = logging.getLogger("costprism.server")

_HTTP_CODES = {401: "access.unauthenticated", 403: "access.denied", 404: "not_found"}


class ErrorBody(BaseModel):
    code: str
    message: str
    status: int


class ErrorResponse(BaseModel):
    """What every API error looks like."""

    error: ErrorBody


def described(error: Exception) -> tuple[int, str, str]:
    """(HTTP status, stable code, message) for any exception."""
    if isinstance(error, CostPrismError):
        return error.status, error.code, error.message
    if isinstance(error, RequestValidationError):
        return 422, "request.invalid", _validation_message(error)
    if isinstance(error, HTTPException):
        code = _HTTP_CODES.get(error.status_code, f"http.{error.status_code}")
        return error.status_code, code, str(error.detail)
    log.exception("unexpected error", exc_info=error)
    return 500, "internal", "an internal error happened; it has been logged"


def error_json(error: Exception) -> JSONResponse:
    status, code, message = described(error)
    body = ErrorResponse(error=ErrorBody(code=code, message=message, status=status))
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body.model_dump(), status_code=status, headers=headers)


def wants_json(request: Request) -> bool:
    return request.url.path.startswith("/api/") or request.query_params.get("format") == "json"


def _validation_message(error: RequestValidationError) -> str:
    parts = []
    for item in error.errors()[:5]:
        where = ".".join(str(p) for p in item.get("loc", ()) if p not in ("query", "body"))
        given: Any = item.get("input")
        parts.append(f"{where}: {item.get('msg', 'invalid')} (got {str(given)[:60]!r})")
    return "; ".join(parts) or "the request is not valid"
