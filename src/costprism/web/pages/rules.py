"""``/rules``: the allocation rule set in force, its versions, and (for ``manage-rules``) an
editor.

Everyone who may read costs sees the current version (dimensions, digest, when, the ledger
version it allocated, its rows, EffectiveCost allocated and unallocated per currency in
their scope), the list of versions and the rules text. The editor is two steps, each a
CSRF-protected form: ``POST /rules/preview`` parses the text (an error names line:column
and nothing is applied) and shows the unified diff against the current version;
``POST /rules/apply`` applies it as the next version (optionally from a month on, like
``costprism rules apply --from``), audited as ``rules.apply`` with the diff.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response

from costprism.capabilities.allocation import (
    apply_rules_text,
    current_rules_text,
    parse_month,
    parse_rules_text,
    rule_versions,
    rules_diff,
    view_allocation_totals,
)
from costprism.errors import UserError
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed, client_address
from costprism.server.errors import wants_json
from costprism.server.services import Services
from costprism.web.pages import page_router
from costprism.web.pages.admin import see_other
from costprism.web.rendering import render

router = page_router()
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
RulesManager = Annotated[Principal, Depends(allowed("manage-rules"))]
RulesField = Annotated[str, Form()]


@router.get("/rules")
def rules_page(
    request: Request, principal: Viewer, services: ServicesDep, applied: int | None = None
) -> Response:
    context = _overview(services, principal)
    context["applied"] = applied
    return render(request, "rules.html", context, principal=principal)


@router.post("/rules/preview")
def preview_rules(
    request: Request,
    principal: RulesManager,
    services: ServicesDep,
    rules: RulesField,
    from_month: RulesField = "",
) -> Response:
    context = _overview(services, principal)
    context["editor"] = {"text": rules, "from_month": from_month}
    try:
        parse_rules_text(services.ledger, rules)
        parse_month(from_month, "from month")
    except UserError as error:
        if wants_json(request):
            raise
        context["error"] = {"code": error.code, "message": error.message}
        return render(request, "rules.html", context, principal=principal, status=error.status)
    version, before = current_rules_text(services.ledger)
    context["diff"] = rules_diff(before, rules, version=version)
    return render(request, "rules.html", context, principal=principal)


@router.post("/rules/apply")
def apply_rules_form(
    request: Request,
    principal: RulesManager,
    services: ServicesDep,
    rules: RulesField,
    from_month: RulesField = "",
) -> Response:
    try:
        result = apply_rules_text(
            services.ledger,
            services.db,
            rules,
            actor=principal.username,
            from_period=parse_month(from_month, "from month"),
            address=client_address(request),
        )
    except UserError as error:
        if wants_json(request):
            raise
        context = _overview(services, principal)
        context["editor"] = {"text": rules, "from_month": from_month}
        context["error"] = {"code": error.code, "message": error.message}
        return render(request, "rules.html", context, principal=principal, status=error.status)
    services.forget()
    return see_other(request, f"/rules?applied={result.version.version}")


def _overview(services: Services, principal: Principal) -> dict[str, Any]:
    versions = rule_versions(services.ledger)
    with services.view() as view:
        totals = view_allocation_totals(view, principal.scope)
        current = view.allocation
    text = current.rules_text if current else ""
    return {
        "current": None if current is None else {**current.record(), "totals": totals},
        "versions": [v.record() for v in reversed(versions)],
        "rules_text": text,
        "editor": {"text": text, "from_month": ""},
        "diff": None,
        "error": None,
        "scope": [str(f) for f in principal.scope],
    }
