"""Who is calling and what they may do, as FastAPI dependencies shared by the API and pages.

A caller is a :class:`~costprism.roles.Principal` found from an ``Authorization: Bearer``
API token or from the signed session cookie. Permission checks are one dependency,
:func:`allowed`, over the resolver in :mod:`costprism.roles` (never inline in routes).

CSRF: every form carries the token of a signed double-submit cookie; unsafe requests
authenticated by cookie must send it back (form field ``csrf_token`` or header
``X-CSRF-Token``). Requests with a bearer token carry no ambient credentials and are exempt.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, Request, Response
from itsdangerous import BadSignature, URLSafeSerializer

from costprism.capabilities.sessions import principal_for_session, principal_for_token
from costprism.errors import AccessError
from costprism.roles import Principal, authorize
from costprism.server.services import Services

SESSION_COOKIE = "costprism_session"
CSRF_COOKIE = "costprism_csrf"
CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


def _serializer(request: Request, purpose: str) -> URLSafeSerializer:
    return URLSafeSerializer(services(request).config.secret_key, salt=f"costprism.{purpose}")


def session_cookie_value(request: Request, session_id: str) -> str:
    return _serializer(request, "session").dumps(session_id)


def session_id_of(request: Request) -> str | None:
    raw = request.cookies.get(SESSION_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer(request, "session").loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def bearer_of(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


def optional_principal(request: Request) -> Principal | None:
    """The caller, or ``None`` when not signed in (cached on the request)."""
    if hasattr(request.state, "principal"):
        cached: Principal | None = request.state.principal
        return cached
    db = services(request).db
    token = bearer_of(request)
    session_id = session_id_of(request)
    principal = None
    if token is not None:
        principal = principal_for_token(db, token)
    elif session_id is not None:
        principal = principal_for_session(db, session_id)
    request.state.principal = principal
    return principal


def current_principal(request: Request) -> Principal:
    principal = optional_principal(request)
    if principal is None:
        raise AccessError(
            "sign in first, or send an API token as 'Authorization: Bearer TOKEN'",
            code="access.unauthenticated",
            status=401,
        )
    return principal


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def allowed(action: str) -> Callable[[Principal], Principal]:
    """A dependency: the caller, if the resolver grants ``action``; else 403 with the reason."""

    def check(principal: CurrentPrincipal) -> Principal:
        decision = authorize(principal, action)
        if not decision.allowed:
            raise AccessError(decision.reason, code="access.denied", status=403)
        return principal

    check.__name__ = f"allowed_{action.replace('-', '_')}"
    return check


def csrf_token(request: Request) -> str:
    """This browser's CSRF token (a new one is set as a cookie by :func:`issue_csrf`)."""
    existing = _csrf_from_cookie(request)
    if existing:
        return existing
    if not hasattr(request.state, "new_csrf"):
        request.state.new_csrf = secrets.token_urlsafe(24)
    token: str = request.state.new_csrf
    return token


def issue_csrf(request: Request, response: Response) -> None:
    """Set the CSRF cookie when this request created a token."""
    new = getattr(request.state, "new_csrf", None)
    if new:
        response.set_cookie(
            CSRF_COOKIE,
            _serializer(request, "csrf").dumps(new),
            httponly=True,
            samesite="lax",
            secure=served_over_https(request),
        )


async def csrf_protect(request: Request) -> None:
    """Refuse an unsafe cookie-authenticated request without the matching CSRF token."""
    if request.method not in UNSAFE or bearer_of(request) is not None:
        return
    expected = _csrf_from_cookie(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        value = (await request.form()).get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not expected or not sent or not hmac.compare_digest(expected, sent):
        raise AccessError(
            "the form's CSRF token is missing or stale; reload the page and submit again",
            code="access.csrf",
            status=403,
        )


async def csrf_protect_session(request: Request) -> None:
    """The API's CSRF check: only a request carrying a session cookie needs the token.

    Without the cookie there is no ambient credential to abuse: the request is a bearer-token
    call or a stranger, whom the sign-in check answers with 401 (not a CSRF refusal). Pages
    keep :func:`csrf_protect`, which also guards the sign-in form itself."""
    if request.cookies.get(SESSION_COOKIE):
        await csrf_protect(request)


def _csrf_from_cookie(request: Request) -> str | None:
    raw = request.cookies.get(CSRF_COOKIE)
    if not raw:
        return None
    try:
        value = _serializer(request, "csrf").loads(raw)
    except BadSignature:
        return None
    return value if isinstance(value, str) else None


def served_over_https(request: Request) -> bool:
    """Whether cookies get the Secure flag: ``--https``, or the request came over HTTPS."""
    return services(request).config.https or request.url.scheme == "https"


def client_address(request: Request) -> str:
    return request.client.host if request.client else ""
