"""``/alerts``: the alerts history for ``view-alerts`` (admins): the deliveries, newest
first (as ``costprism alerts deliveries --format json``), and the configured channels
(secrets never shown). Deliveries name recipients and subjects across every scope, hence
the admin-only action.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from costprism.capabilities.alerts import list_channels, list_deliveries
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed

router = APIRouter(tags=["alerts"])
Admin = Annotated[Principal, Depends(allowed("view-alerts"))]


@router.get("/alerts/deliveries", summary="Alert deliveries (newest first) and the channels")
def get_deliveries(
    principal: Admin,
    services: ServicesDep,
    status: Annotated[str | None, Query(json_schema_extra={"enum": ["sent", "failed"]})] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> dict[str, Any]:
    return {
        "deliveries": list_deliveries(services.db, limit=limit, status=status),
        "channels": list_channels(services.db),
    }
