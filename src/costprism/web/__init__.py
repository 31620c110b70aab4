"""The web pages: server-rendered Jinja2 with htmx, Plotly charts, no build step.

Every page has a JSON twin (``?format=json``) made from the same capability call: a route
builds a context dict from capabilities, then :func:`render` returns either the template
or that dict as JSON. plotly.js is served from the installed ``plotly`` package, htmx
from this package's ``static`` folder; nothing comes from a CDN.
"""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from costprism.errors import CostPrismError
from costprism.roles import Principal
from costprism.server.auth import optional_principal
from costprism.server.errors import described
from costprism.web.rendering import PLOTLY_JS, STATIC, render

__all__ = ["error_page", "mount"]


def mount(app: FastAPI) -> None:
    """Add the pages and static files to ``app``."""
    from costprism.web import pages

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.get("/static-vendor/plotly.min.js", include_in_schema=False, name="plotly")
    def plotly_js() -> FileResponse:
        return FileResponse(PLOTLY_JS, media_type="text/javascript")

    for router in pages.routers():
        app.include_router(router, include_in_schema=False)


def error_page(request: Request, error: Exception) -> Response:
    """The page for an error: the login page when not signed in, else the message."""
    status, code, message = described(error)
    if status == 401:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={_quoted(target)}", status_code=303)
    context = {"status": status, "code": code, "message": message}
    return render(request, "error.html", context, principal=_caller(request), status=status)


def _caller(request: Request) -> Principal | None:
    try:
        return optional_principal(request)
    except CostPrismError:
        return None


def _quoted(path: str) -> str:
    from urllib.parse import quote

    return quote(path, safe="")
