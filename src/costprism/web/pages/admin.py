"""``/admin``: users with their roles and scopes, the role matrix, every API token, the audit log.

The pages call the capabilities ``/api/v1/users`` calls (:mod:`costprism.capabilities.access`),
which validate and audit every change in the same transaction. A change the capability
refuses (a bad role, a scope that doesn't parse, a weak password, a taken name) comes back
as the same form with the message and status 400 or 409, and nothing stored. Each change to
a user is its own small form posting an ``intent`` to ``/admin/users/{username}``, so each
is one audit event.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from costprism.capabilities import access
from costprism.capabilities.paging import Page, page_of
from costprism.errors import AccessError, NotFound, UserError
from costprism.roles import ACTIONS, ROLES, Principal, authorize
from costprism.server.auth import CurrentPrincipal, ServicesDep, allowed, client_address
from costprism.web.pages import page_router
from costprism.web.rendering import render

router = page_router()
UserViewer = Annotated[Principal, Depends(allowed("view-users"))]
UserManager = Annotated[Principal, Depends(allowed("manage-users"))]
AuditViewer = Annotated[Principal, Depends(allowed("view-audit"))]
Limit = Annotated[int | None, Query(ge=1, le=1000)]
Intent = Literal["access", "disable", "enable", "password"]
TextField = Annotated[str, Form()]
RolesField = Annotated[list[str] | None, Form()]


@dataclass(frozen=True, kw_only=True)
class AdminSection:
    path: str
    title: str
    action: str
    description: str

    def record(self) -> dict[str, str]:
        return {
            "path": self.path,
            "title": self.title,
            "action": self.action,
            "description": self.description,
        }


SECTIONS = (
    AdminSection(
        path="/admin/users",
        title="Users",
        action="view-users",
        description="who may sign in, with which roles and scope",
    ),
    AdminSection(
        path="/admin/roles", title="Roles", action="view-users", description="what each role may do"
    ),
    AdminSection(
        path="/admin/tokens",
        title="API tokens",
        action="manage-users",
        description="every user's tokens; revoke one",
    ),
    AdminSection(
        path="/admin/audit",
        title="Audit log",
        action="view-audit",
        description="who changed what, when, with the values before and after",
    ),
)


@router.get("/admin")
def admin_page(request: Request, principal: CurrentPrincipal) -> Response:
    decisions = [(s, authorize(principal, s.action)) for s in SECTIONS]
    open_sections = [s.record() for s, decision in decisions if decision.allowed]
    if not open_sections:
        reasons = dict.fromkeys(decision.reason for _, decision in decisions)
        raise AccessError("; ".join(reasons), code="access.denied", status=403)
    return render(request, "admin.html", {"sections": open_sections}, principal=principal)


@router.get("/admin/users")
def users_page(
    request: Request,
    principal: UserViewer,
    services: ServicesDep,
    limit: Limit = None,
    cursor: str | None = None,
) -> Response:
    users = access.list_users(services.db, limit=limit, cursor=cursor)
    context = {"users": _page_record(users)}
    return render(request, "admin_users.html", context, principal=principal)


@router.post("/admin/users")
def add_user_form(
    request: Request,
    admin: UserManager,
    services: ServicesDep,
    username: TextField,
    password: TextField,
    roles: RolesField = None,
    scope: TextField = "",
    display_name: TextField = "",
) -> Response:
    form = {
        "username": username,
        "display_name": display_name,
        "roles": roles or [],
        "scope": scope,
    }
    try:
        user = access.add_user(
            services.db,
            actor=admin.username,
            username=username.strip(),
            roles=roles or [],
            scope=scope.splitlines(),
            password=password,
            display_name=display_name.strip(),
            address=client_address(request),
        )
    except UserError as error:  # the name, roles, scope or password: shown in the form
        context = {"users": _page_record(access.list_users(services.db)), "form": form}
        return _refused(request, "admin_users.html", context, error, admin)
    return see_other(request, f"/admin/users/{user.username}?saved=created")


@router.get("/admin/users/{username}")
def user_page(
    request: Request,
    username: str,
    principal: UserViewer,
    services: ServicesDep,
    saved: str | None = None,
) -> Response:
    context = {"user": access.get_user(services.db, username).record(), "saved": saved}
    return render(request, "admin_user.html", context, principal=principal)


@router.post("/admin/users/{username}")
def change_user_form(
    request: Request,
    username: str,
    admin: UserManager,
    services: ServicesDep,
    intent: Annotated[Intent, Form()],
    roles: RolesField = None,
    scope: TextField = "",
    password: TextField = "",
) -> Response:
    change = _change_of(intent, roles=roles or [], scope=scope, password=password)
    try:
        access.update_user(
            services.db, username, actor=admin.username, address=client_address(request), **change
        )
    except NotFound:
        raise
    except UserError as error:  # roles, scope or password: shown in the form
        user = access.get_user(services.db, username).record()
        form = {"intent": intent, "roles": roles or [], "scope": scope}
        context = {"user": user, "saved": None, "form": form}
        return _refused(request, "admin_user.html", context, error, admin)
    return see_other(request, f"/admin/users/{username}?saved={intent}")


@router.get("/admin/roles")
def roles_page(request: Request, principal: UserViewer) -> Response:
    context = {
        "actions": [{"name": a.name, "description": a.description} for a in ACTIONS.values()],
        "roles": [
            {
                "name": r.name,
                "title": r.title,
                "responsibilities": r.responsibilities,
                "actions": [a for a in ACTIONS if a in r.actions],
            }
            for r in ROLES.values()
        ],
    }
    return render(request, "admin_roles.html", context, principal=principal)


@router.get("/admin/tokens")
def tokens_page(
    request: Request,
    principal: UserManager,
    services: ServicesDep,
    user: str | None = None,
    limit: Limit = None,
    cursor: str | None = None,
) -> Response:
    tokens = page_of(access.list_tokens(services.db, user or None), limit=limit, cursor=cursor)
    context = {"user": user or None, "tokens": _page_record(tokens)}
    return render(request, "admin_tokens.html", context, principal=principal)


@router.post("/admin/tokens/{username}/{name:path}/revoke")
def revoke_token_form(
    request: Request, username: str, name: str, admin: UserManager, services: ServicesDep
) -> Response:
    access.revoke_token(
        services.db, username, name, actor=admin.username, address=client_address(request)
    )
    return see_other(request, "/admin/tokens")


@router.get("/admin/audit")
def audit_page(
    request: Request,
    principal: AuditViewer,
    services: ServicesDep,
    limit: Limit = None,
    cursor: str | None = None,
) -> Response:
    events = access.audit_log(services.db, limit=limit, cursor=cursor)
    context = {"events": _page_record(events)}
    return render(request, "admin_audit.html", context, principal=principal)


def see_other(request: Request, path: str) -> RedirectResponse:
    """After a change, the page that shows it (its JSON twin when the change asked for JSON)."""
    if request.query_params.get("format") == "json":
        path += ("&" if "?" in path else "?") + "format=json"
    return RedirectResponse(path, status_code=303)


def _change_of(intent: Intent, *, roles: list[str], scope: str, password: str) -> dict[str, Any]:
    """The ``update_user`` arguments one form's intent changes (the rest stay as they are)."""
    if intent == "access":
        return {"roles": roles, "scope": scope.splitlines()}
    if intent == "password":
        return {"password": password}
    return {"disabled": intent == "disable"}


def _refused(
    request: Request, template: str, context: dict[str, Any], error: UserError, who: Principal
) -> Response:
    """The form again, with the capability's message and status (400, 409); nothing stored."""
    context["error"] = {"code": error.code, "message": error.message}
    return render(request, template, context, principal=who, status=error.status)


def _page_record(page: Page[Any]) -> dict[str, Any]:
    return {"items": [item.record() for item in page.items], "next": page.next}
