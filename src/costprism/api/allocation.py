"""``/rules`` (rule-set versions, applying a new one) and ``/explain/{row_id}``.

The same capabilities as ``costprism rules …``, ``costprism explain`` and the ``/rules``
page (:mod:`costprism.capabilities.allocation`); applying is audited there.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, Field

from costprism.capabilities.allocation import (
    apply_rules_text,
    explain_row,
    parse_month,
    rule_versions,
    view_allocation_totals,
)
from costprism.errors import NotFound
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed, client_address

router = APIRouter(tags=["allocation"])
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
RowViewer = Annotated[Principal, Depends(allowed("view-rows"))]
RulesManager = Annotated[Principal, Depends(allowed("manage-rules"))]
BIGINT = 2**63 - 1


class RulesApply(BaseModel):
    rules: str = Field(description="the rules file's YAML text", max_length=1_000_000)
    from_month: str | None = Field(
        default=None,
        description="recompute billing periods from this month (YYYY-MM) on, like --from",
        max_length=10,
    )


@router.get("/rules", summary="The rule-set versions, the newest with its allocated totals")
def get_rules(principal: Viewer, services: ServicesDep) -> dict[str, Any]:
    versions = rule_versions(services.ledger)
    with services.view() as view:
        totals = view_allocation_totals(view, principal.scope)
    current = view.allocation.record() if view.allocation else None
    return {
        "current": None if current is None else {**current, "totals": totals},
        "versions": [v.record() for v in versions],
    }


@router.get("/rules/{version}", summary="One rule-set version with its rules text")
def get_rules_version(
    version: Annotated[int, Path(ge=1, le=BIGINT)], _: Viewer, services: ServicesDep
) -> dict[str, Any]:
    for stored in rule_versions(services.ledger):
        if stored.version == version:
            return {**stored.record(), "rules_text": stored.rules_text}
    raise NotFound(
        f"rules version {version} does not exist; GET /api/v1/rules lists them",
        code="rules.unknown_version",
    )


@router.post("/rules", status_code=201, summary="Apply a rules file as a new rule-set version")
def post_rules(
    body: RulesApply, principal: RulesManager, services: ServicesDep, request: Request
) -> dict[str, Any]:
    result = apply_rules_text(
        services.ledger,
        services.db,
        body.rules,
        actor=principal.username,
        from_period=parse_month(body.from_month, "from_month"),
        address=client_address(request),
    )
    services.forget()
    return result.record()


@router.get("/explain/{row_id}", summary="Which rule placed a ledger row, and why not the others")
def get_explain(
    row_id: Annotated[int, Path(ge=0, le=BIGINT)], principal: RowViewer, services: ServicesDep
) -> dict[str, Any]:
    return explain_row(services.ledger, row_id, scope=principal.scope).record()
