"""``/costs`` (the same JSON array as ``costprism cost --format json``) and ``/costs/rows``."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from costprism.api.schemas import PageOut
from costprism.capabilities.cost_request import BASES, parse_cost_query
from costprism.capabilities.drilldown import cost_rows
from costprism.capabilities.reporting import cost_report
from costprism.engine.query import GRANULARITIES
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed

router = APIRouter(tags=["costs"])
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
RowViewer = Annotated[Principal, Depends(allowed("view-rows"))]
By = Annotated[list[str], Query(description="group by a column or tag:KEY (repeatable)")]
Where = Annotated[list[str], Query(description="a filter in the filter language (repeatable)")]
Start = Annotated[str | None, Query(alias="from", description="first day, inclusive (ISO)")]
End = Annotated[str | None, Query(alias="to", description="last day, exclusive (ISO)")]
# The allowed words are listed in the schema, but checked by parse_cost_query, as for the CLI
# (a bad one is a 400 with code 'usage', not a 422).
Granularity = Annotated[str, Query(json_schema_extra={"enum": list(GRANULARITIES)})]
Basis = Annotated[str, Query(json_schema_extra={"enum": list(BASES)})]


@router.get("/costs", summary="Cost by columns and tags over time, per currency")
def get_costs(
    principal: Viewer,
    services: ServicesDep,
    by: By = [],  # noqa: B006 (FastAPI copies defaults)
    where: Where = [],  # noqa: B006
    start: Start = None,
    end: End = None,
    granularity: Granularity = "month",
    basis: Basis = "effective",
    top: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> list[dict[str, Any]]:
    query = parse_cost_query(
        by=by, where=where, start=start, end=end, granularity=granularity, basis=basis, top=top
    )
    with services.view() as view:
        return cost_report(view, query, principal.scope).records()


@router.get("/costs/rows", summary="The ledger rows behind a figure, paged")
def get_cost_rows(
    principal: RowViewer,
    services: ServicesDep,
    where: Where = [],  # noqa: B006
    start: Start = None,
    end: End = None,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
    cursor: str | None = None,
) -> PageOut[dict[str, Any]]:
    query = parse_cost_query(where=where, start=start, end=end, granularity="total")
    with services.view() as view:
        page = cost_rows(view, query, principal.scope, limit=limit, cursor=cursor)
    return PageOut(items=list(page.items), next=page.next)
