"""``/tags/report`` (tag policy compliance, as ``costprism tags report --format json``) and
``/tags/policy`` (the active policy).

The same capability as the CLI, the ``/tags`` page and the home pages' ``tag-compliance``
panel (:mod:`costprism.capabilities.tag_governance`), over the caller's scope.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from costprism.capabilities.allocation import parse_month
from costprism.capabilities.tag_governance import (
    MAX_MONTHS,
    MAX_TOP,
    MONTHS,
    TOP,
    require_policy,
    tag_report,
)
from costprism.engine.filters import parse_filters
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed

router = APIRouter(tags=["tags"])
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
Where = Annotated[list[str], Query(description="a filter in the filter language (repeatable)")]


@router.get("/tags/report", summary="% untagged and % tag-policy compliant, by month")
def get_tag_report(
    principal: Viewer,
    services: ServicesDep,
    month: Annotated[str | None, Query(description="YYYY-MM (default: the newest)")] = None,
    months: Annotated[int, Query(ge=1, le=MAX_MONTHS)] = MONTHS,
    top: Annotated[int, Query(ge=0, le=MAX_TOP)] = TOP,
    where: Where = [],  # noqa: B006 (FastAPI copies defaults)
) -> dict[str, Any]:
    chosen = parse_month(month, "month")
    scope = (*principal.scope, *parse_filters(where))
    policy = require_policy(services.ledger)
    with services.view() as view:
        report = tag_report(view, policy, scope, month=chosen, months=months, top=top)
    return report.record()


@router.get("/tags/policy", summary="The active tag policy, parsed and as written")
def get_tag_policy(_: Viewer, services: ServicesDep) -> dict[str, Any]:
    policy = require_policy(services.ledger)
    return {**policy.record(), "text": policy.text}
