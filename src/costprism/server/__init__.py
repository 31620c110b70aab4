"""The web server: one FastAPI app holding the REST API (``/api/v1``) and the pages.

:func:`create_app` is the composition root: it opens the shared :class:`Services`, mounts
the API and the web routers, static files, and the error translation. Routes stay thin:
parse the request, call a capability, render.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from costprism import __version__
from costprism.errors import CostPrismError
from costprism.server.auth import issue_csrf
from costprism.server.config import ServerConfig
from costprism.server.errors import error_json, wants_json
from costprism.server.inputs import refuse_nul
from costprism.server.services import Services

__all__ = ["ServerConfig", "Services", "create_app"]


def create_app(config: ServerConfig) -> FastAPI:
    from costprism import web
    from costprism.api import router as api_router

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        scheduler = None
        if config.alerts_every:
            from costprism.alerts.schedule import AlertScheduler, server_round

            scheduler = AlertScheduler(config.alerts_every, server_round(app.state.services))
            app.state.alerts_scheduler = scheduler.start()
        yield
        if scheduler is not None:
            scheduler.stop()
        app.state.services.close()

    app = FastAPI(
        title="CostPrism",
        version=__version__,
        description="FinOps over one FOCUS ledger: costs, sources, users and audit.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN; CostPrism serves nothing from one
        redoc_url=None,
        dependencies=[Depends(refuse_nul)],
    )
    app.state.services = Services(config)
    app.include_router(api_router)
    web.mount(app)
    _handle_errors(app)

    @app.middleware("http")
    async def headers(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        elapsed_ms = (time.perf_counter() - started) * 1000
        response.headers["Server-Timing"] = f"app;dur={elapsed_ms:.1f}"
        issue_csrf(request, response)
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        return response

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _handle_errors(app: FastAPI) -> None:
    from costprism.web import error_page

    async def translate(request: Request, error: Exception) -> Response:
        if wants_json(request):
            return error_json(error)
        return error_page(request, error)

    for kind in (CostPrismError, HTTPException, RequestValidationError, Exception):
        app.add_exception_handler(kind, translate)
