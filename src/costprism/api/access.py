"""``/me``, ``/users``, ``/tokens`` and ``/audit``: the admin surface of the API."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from costprism.api.schemas import (
    AuditOut,
    MeOut,
    PageOut,
    TokenCreate,
    TokenCreated,
    TokenOut,
    UserCreate,
    UserOut,
    UserUpdate,
)
from costprism.capabilities import access
from costprism.roles import ACTIONS, Principal, authorize
from costprism.server.auth import CurrentPrincipal, ServicesDep, allowed, client_address

router = APIRouter(tags=["access"])
Limit = Annotated[int | None, Query(ge=1, le=1000)]
Admin = Annotated[Principal, Depends(allowed("manage-users"))]
TokenOwner = Annotated[Principal, Depends(allowed("manage-own-tokens"))]


@router.get("/me", summary="The caller: roles, scope and the actions they may take")
def get_me(principal: CurrentPrincipal) -> MeOut:
    return MeOut(
        username=principal.username,
        roles=list(principal.roles),
        scope=[str(f) for f in principal.scope],
        actions=[a for a in ACTIONS if authorize(principal, a).allowed],
    )


@router.get("/users", summary="Users with their roles and scopes")
def get_users(
    _: Annotated[Principal, Depends(allowed("view-users"))],
    services: ServicesDep,
    limit: Limit = None,
    cursor: str | None = None,
) -> PageOut[UserOut]:
    page = access.list_users(services.db, limit=limit, cursor=cursor)
    return PageOut(items=[UserOut(**u.record()) for u in page.items], next=page.next)


@router.post("/users", status_code=201, summary="Add a user")
def post_user(body: UserCreate, admin: Admin, services: ServicesDep, request: Request) -> UserOut:
    user = access.add_user(
        services.db,
        actor=admin.username,
        username=body.username,
        roles=body.roles,
        scope=body.scope,
        password=body.password,
        display_name=body.display_name,
        address=client_address(request),
    )
    return UserOut(**user.record())


@router.patch("/users/{username}", summary="Change a user's roles, scope, password or state")
def patch_user(
    username: str, body: UserUpdate, admin: Admin, services: ServicesDep, request: Request
) -> UserOut:
    user = access.update_user(
        services.db,
        username,
        actor=admin.username,
        roles=body.roles,
        scope=body.scope,
        disabled=body.disabled,
        password=body.password,
        address=client_address(request),
    )
    return UserOut(**user.record())


@router.get("/tokens", summary="The caller's API tokens (never their secrets)")
def get_tokens(principal: TokenOwner, services: ServicesDep) -> list[TokenOut]:
    return [TokenOut(**t.record()) for t in access.list_tokens(services.db, principal.username)]


@router.post("/tokens", status_code=201, summary="Create an API token; the secret is shown once")
def post_token(
    body: TokenCreate, principal: TokenOwner, services: ServicesDep, request: Request
) -> TokenCreated:
    token, secret = access.create_token(
        services.db,
        principal.username,
        actor=principal.username,
        name=body.name,
        expires_in_days=body.expires_in_days,
        address=client_address(request),
    )
    return TokenCreated(**token.record(), secret=secret)


@router.delete("/tokens/{name}", summary="Revoke one of the caller's tokens")
def delete_token(
    name: str, principal: TokenOwner, services: ServicesDep, request: Request
) -> TokenOut:
    token = access.revoke_token(
        services.db,
        principal.username,
        name,
        actor=principal.username,
        address=client_address(request),
    )
    return TokenOut(**token.record())


@router.get("/audit", summary="The audit log, newest first")
def get_audit(
    _: Annotated[Principal, Depends(allowed("view-audit"))],
    services: ServicesDep,
    limit: Limit = None,
    cursor: str | None = None,
) -> PageOut[AuditOut]:
    page = access.audit_log(services.db, limit=limit, cursor=cursor)
    return PageOut(items=[AuditOut(**e.record()) for e in page.items], next=page.next)
