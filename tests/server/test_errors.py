"""One error shape: every exception becomes (status, stable code, message)."""

from __future__ import annotations

import json

from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from costprism.errors import AccessError, NotFound, QueryError
from costprism.server.errors import described, error_json


def test_costprism_errors_keep_their_code_and_status() -> None:
    assert described(QueryError("bad", code="query.bad_filter")) == (400, "query.bad_filter", "bad")
    assert described(NotFound("gone", code="user.unknown"))[:2] == (404, "user.unknown")
    assert described(AccessError("no", status=401, code="access.unauthenticated"))[0] == 401


def test_request_validation_names_the_parameter_and_value() -> None:
    error = RequestValidationError(
        [{"loc": ("query", "limit"), "msg": "Input should be a valid integer", "input": "ten"}]
    )
    status, code, message = described(error)
    assert (status, code) == (422, "request.invalid")
    assert "limit" in message
    assert "'ten'" in message


def test_http_errors_get_codes() -> None:
    assert described(HTTPException(404, "Not Found"))[:2] == (404, "not_found")
    assert described(HTTPException(405, "Method Not Allowed"))[:2] == (405, "http.405")


def test_unexpected_errors_hide_their_details() -> None:
    status, code, message = described(RuntimeError("password=hunter2 in the traceback"))
    assert (status, code) == (500, "internal")
    assert "hunter2" not in message


def test_the_json_shape() -> None:
    response = error_json(AccessError("sign in", status=401, code="access.unauthenticated"))
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert json.loads(response.body) == {
        "error": {"code": "access.unauthenticated", "message": "sign in", "status": 401}
    }
