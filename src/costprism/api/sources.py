"""``/sources`` (slices), ``/history`` (their versions) and ``/quarantine`` (rejected rows)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from costprism.api.schemas import PageOut, SliceOut, SliceVersionOut
from costprism.capabilities.datasources import list_slices, slice_history, visible_slices
from costprism.capabilities.paging import page_of
from costprism.capabilities.quarantine import quarantined_rows
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed

router = APIRouter(tags=["sources"])
Limit = Annotated[int | None, Query(ge=1, le=1000)]


@router.get("/sources", summary="Slices in the ledger with rows and totals per currency")
def get_sources(
    principal: Annotated[Principal, Depends(allowed("view-sources"))],
    services: ServicesDep,
    limit: Limit = None,
    cursor: str | None = None,
) -> PageOut[SliceOut]:
    with services.view() as view:
        slices = list_slices(services.ledger, view, principal.scope)
    page = page_of([SliceOut(**s.record()) for s in slices], limit=limit, cursor=cursor)
    return PageOut(items=list(page.items), next=page.next)


@router.get("/history", summary="Every version of the slices of a source and period")
def get_history(
    principal: Annotated[Principal, Depends(allowed("view-sources"))],
    services: ServicesDep,
    source: str | None = None,
    period: Annotated[str | None, Query(description="billing period YYYY-MM")] = None,
    limit: Limit = None,
    cursor: str | None = None,
) -> PageOut[SliceVersionOut]:
    with services.view() as view:
        visible = visible_slices(view, principal.scope)
    versions = slice_history(services.ledger, source=source, period=period, visible=visible)
    page = page_of([SliceVersionOut(**v.record()) for v in versions], limit=limit, cursor=cursor)
    return PageOut(items=list(page.items), next=page.next)


@router.get("/quarantine", summary="Rows imports rejected, with their findings")
def get_quarantine(
    _: Annotated[Principal, Depends(allowed("view-quarantine"))],
    services: ServicesDep,
    source: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return quarantined_rows(services.ledger, source=source, limit=limit)
