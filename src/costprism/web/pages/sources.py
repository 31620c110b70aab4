"""``/sources``: what the ledger holds and how fresh it is, for anyone with ``view-sources``.

One page, five parts, each from the capability the API and CLI call: the slices with
their totals within the caller's scope (:func:`list_slices`), freshness per source
(:func:`source_freshness`), the version history (:func:`slice_history`, paged by
``cursor``), the findings each import recorded (:func:`import_findings`, paged by
``imports_cursor``), and the quarantine (:func:`quarantined_rows`), which only callers
with ``view-quarantine`` see. ``source`` and ``period`` narrow the history, findings and
quarantine; pager links swap their own section in with htmx and work without it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response

from costprism.capabilities.datasources import (
    import_findings,
    list_slices,
    slice_history,
    source_freshness,
    visible_slices,
)
from costprism.capabilities.paging import Page, page_of
from costprism.capabilities.quarantine import quarantined_rows
from costprism.roles import Principal, authorize
from costprism.server.auth import ServicesDep, allowed
from costprism.server.services import Services
from costprism.web.pages import page_router
from costprism.web.rendering import render

router = page_router()
Viewer = Annotated[Principal, Depends(allowed("view-sources"))]
Limit = Annotated[int | None, Query(ge=1, le=1000)]
QUARANTINE_ROWS = 100


@router.get("/sources")
def sources_page(
    request: Request,
    principal: Viewer,
    services: ServicesDep,
    source: str | None = None,
    period: Annotated[str | None, Query(description="billing period YYYY-MM")] = None,
    limit: Limit = None,
    cursor: str | None = None,
    imports_cursor: str | None = None,
) -> Response:
    source, period = source or None, period or None
    context: dict[str, Any] = {"filters": {"source": source, "period": period}}
    context.update(_ledger_now(services, principal))
    visible = context.pop("visible")
    history = slice_history(services.ledger, source=source, period=period, visible=visible)
    context["history"] = _page_record(page_of(history, limit=limit, cursor=cursor))
    imports = import_findings(services.ledger, source=source, visible=visible)
    context["imports"] = _page_record(page_of(imports, limit=limit, cursor=imports_cursor))
    if authorize(principal, "view-quarantine").allowed:
        context["quarantine"] = quarantined_rows(
            services.ledger, source=source, limit=QUARANTINE_ROWS
        )
    return render(request, "sources.html", context, principal=principal)


def _ledger_now(services: Services, principal: Principal) -> dict[str, Any]:
    """The slices and freshness of the newest ledger version, within the caller's scope."""
    with services.view() as view:
        slices = list_slices(services.ledger, view, principal.scope)
        freshness = source_freshness(services.ledger, view, principal.scope)
        visible = visible_slices(view, principal.scope)
        version = view.version
    return {
        "version": version,
        "slices": [s.record() for s in slices],
        "freshness": [f.record() for f in freshness],
        "visible": visible,
    }


def _page_record(page: Page[Any]) -> dict[str, Any]:
    return {"items": [item.record() for item in page.items], "next": page.next}
