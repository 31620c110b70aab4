"""Sign in and out. Single sign-on (later) adds a button here and ends in ``start_session``."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlparse

from fastapi import Form, Request, Response
from fastapi.responses import RedirectResponse

from costprism.capabilities.sessions import sign_in, sign_out
from costprism.errors import AccessError
from costprism.server.auth import (
    SESSION_COOKIE,
    ServicesDep,
    client_address,
    optional_principal,
    served_over_https,
    session_cookie_value,
    session_id_of,
)
from costprism.web.pages import page_router
from costprism.web.rendering import render

router = page_router()


@router.get("/login")
def login_form(request: Request, next: str = "/home") -> Response:
    if optional_principal(request) is not None:
        return RedirectResponse(_safe_next(next), status_code=303)
    return render(request, "login.html", {"next": _safe_next(next), "error": None}, principal=None)


@router.post("/login")
def login(
    request: Request,
    services: ServicesDep,
    username: Annotated[str, Form()],
    password: Annotated[str, Form()],
    next: Annotated[str, Form()] = "/home",
) -> Response:
    try:
        session_id = sign_in(services.db, username, password, address=client_address(request))
    except AccessError as error:
        context = {"next": _safe_next(next), "error": error.message, "username": username}
        return render(request, "login.html", context, principal=None, status=error.status)
    response = RedirectResponse(_safe_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        session_cookie_value(request, session_id),
        httponly=True,
        samesite="lax",
        secure=served_over_https(request),
        max_age=12 * 3600,
    )
    return response


@router.post("/logout")
def logout(request: Request, services: ServicesDep) -> Response:
    session_id = session_id_of(request)
    if session_id is not None:
        sign_out(services.db, session_id, address=client_address(request))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
def root() -> Response:
    return RedirectResponse("/home", status_code=303)


def _safe_next(target: str) -> str:
    """Only a path on this site (no open redirect)."""
    parsed = urlparse(target)
    if parsed.scheme or parsed.netloc or not target.startswith("/") or target.startswith("//"):
        return "/home"
    return target
