"""``/tokens``: the caller's own API tokens: list, create (the secret shown once), revoke.

The same capability calls as ``/api/v1/tokens``. The page that answers a creation is the
only place the secret ever appears; it is sent with ``Cache-Control: no-store`` so the
browser keeps no copy, and a reload does not show it again.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response

from costprism.capabilities import access
from costprism.errors import NotFound, UserError
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed, client_address
from costprism.server.services import Services
from costprism.web.pages import page_router
from costprism.web.pages.admin import see_other
from costprism.web.rendering import render

router = page_router()
TokenOwner = Annotated[Principal, Depends(allowed("manage-own-tokens"))]
MAX_EXPIRY_DAYS = 3650


@router.get("/tokens")
def tokens_page(request: Request, principal: TokenOwner, services: ServicesDep) -> Response:
    return render(request, "tokens.html", _tokens(services, principal), principal=principal)


@router.post("/tokens")
def create_token_form(
    request: Request,
    principal: TokenOwner,
    services: ServicesDep,
    name: Annotated[str, Form()],
    expires: Annotated[str, Form()] = "90",
) -> Response:
    try:
        token, secret = access.create_token(
            services.db,
            principal.username,
            actor=principal.username,
            name=name.strip(),
            expires_in_days=expiry_days(expires),
            address=client_address(request),
        )
    except NotFound:
        raise
    except UserError as error:  # a bad or taken name, a bad expiry: shown in the form
        context = {**_tokens(services, principal), "form": {"name": name, "expires": expires}}
        context["error"] = {"code": error.code, "message": error.message}
        return render(request, "tokens.html", context, principal=principal, status=error.status)
    context = {**_tokens(services, principal), "created": {**token.record(), "secret": secret}}
    page = render(request, "tokens.html", context, principal=principal, status=201)
    page.headers["Cache-Control"] = "no-store"
    return page


@router.post("/tokens/{name:path}/revoke")
def revoke_token_form(
    request: Request, name: str, principal: TokenOwner, services: ServicesDep
) -> Response:
    access.revoke_token(
        services.db,
        principal.username,
        name,
        actor=principal.username,
        address=client_address(request),
    )
    return see_other(request, "/tokens")


def expiry_days(choice: str) -> int | None:
    """Days until a new token expires, from the form (``never`` for no expiry)."""
    if choice.strip() == "never":
        return None
    if not choice.strip().isdigit() or not 1 <= int(choice) <= MAX_EXPIRY_DAYS:
        raise UserError(
            f"expiry {choice!r}: choose 1 to {MAX_EXPIRY_DAYS} days, or never",
            code="token.bad_expiry",
        )
    return int(choice)


def _tokens(services: Services, principal: Principal) -> dict[str, Any]:
    tokens = access.list_tokens(services.db, principal.username)
    return {"tokens": [t.record() for t in tokens]}
