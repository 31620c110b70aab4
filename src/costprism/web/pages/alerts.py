"""``/alerts``: the alerts history for ``view-alerts`` (admins): the channels configured
(as the last ``alerts run`` synced them; never a secret) and the deliveries, newest first,
with failures and their errors. ``?format=json`` gives the same as ``GET
/api/v1/alerts/deliveries``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request, Response

from costprism.capabilities.alerts import list_channels, list_deliveries
from costprism.errors import UserError
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed
from costprism.server.errors import wants_json
from costprism.web.pages import page_router
from costprism.web.rendering import render

router = page_router()
Admin = Annotated[Principal, Depends(allowed("view-alerts"))]


@router.get("/alerts")
def alerts_page(
    request: Request, principal: Admin, services: ServicesDep, status: str = ""
) -> Response:
    context: dict[str, Any] = {"status": status, "error": None}
    try:
        deliveries = list_deliveries(services.db, status=status or None)
    except UserError as error:
        if wants_json(request):
            raise
        deliveries, context["error"] = [], error.message
    context |= {"deliveries": deliveries, "channels": list_channels(services.db)}
    return render(request, "alerts.html", context, principal=principal,
                  status=400 if context["error"] else 200)  # fmt: skip
