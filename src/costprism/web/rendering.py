"""Templates, static paths, and :func:`render`: one context, as a page or as its JSON twin."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import plotly
from fastapi import Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from fastapi.templating import Jinja2Templates

from costprism.roles import ACTIONS, ROLES, Principal, authorize
from costprism.server.auth import csrf_token

HERE = Path(__file__).parent
STATIC = HERE / "static"
PLOTLY_JS = Path(plotly.__file__).parent / "package_data" / "plotly.min.js"
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals["ROLES"] = ROLES


def render(
    request: Request,
    template: str,
    context: dict[str, Any],
    *,
    principal: Principal | None,
    status: int = 200,
) -> Response:
    """``template`` filled with ``context``, or ``context`` as JSON for ``?format=json``."""
    if request.query_params.get("format") == "json":
        return JSONResponse(jsonable_encoder(context), status_code=status)
    page = {
        **context,
        "principal": principal,
        "can": _permissions(principal),
        "csrf_token": csrf_token(request),
    }
    return templates.TemplateResponse(request, template, page, status_code=status)


def _permissions(principal: Principal | None) -> dict[str, bool]:
    if principal is None:
        return {}
    return {name: authorize(principal, name).allowed for name in ACTIONS}
