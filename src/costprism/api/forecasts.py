"""``/forecasts`` (the same JSON array as ``costprism forecast --format json``) and the
saved versions: ``/forecasts/versions`` (list, save), their accuracy and drift.

The same capabilities as ``costprism forecast`` and ``costprism forecast-versions …``
(:mod:`costprism.capabilities.forecast`, :mod:`costprism.capabilities.forecast_versions`),
within the caller's scope; saving is audited as ``forecast.save``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from costprism.capabilities.forecast import BASES, DEFAULT_HORIZON, forecast
from costprism.capabilities.forecast_versions import (
    forecast_accuracy,
    forecast_drift,
    forecast_versions,
    save_forecast_audited,
)
from costprism.engine.filters import parse_filters
from costprism.forecasting.aggregate import GRANULARITIES
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed, client_address

router = APIRouter(tags=["forecasts"])
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
Saver = Annotated[Principal, Depends(allowed("save-forecasts"))]
By = Annotated[list[str], Query(description="group by a column, tag:KEY or dimension")]
Where = Annotated[list[str], Query(description="a filter in the filter language (repeatable)")]
Horizon = Annotated[str, Query(description="days ahead: 90d, 12w, 3m, 1y", max_length=20)]
# checked by the capability, as for the CLI (a bad one is a 400 with code 'usage')
Granularity = Annotated[str, Query(json_schema_extra={"enum": list(GRANULARITIES)})]
Basis = Annotated[str, Query(json_schema_extra={"enum": list(BASES)})]
Version = Annotated[int, Path(ge=1, le=999_999)]


class ForecastSave(BaseModel):
    by: list[str] = Field(default=[], description="group by (like --by)", max_length=10)
    where: list[str] = Field(default=[], description="filters (like --where)", max_length=50)
    horizon: str = Field(default=f"{DEFAULT_HORIZON}d", max_length=20)
    basis: str = Field(default="effective", max_length=20)


@router.get("/forecasts", summary="Forecast cost per group with 80% and 95% intervals")
def get_forecasts(
    principal: Viewer,
    services: ServicesDep,
    by: By = [],  # noqa: B006 (FastAPI copies defaults)
    where: Where = [],  # noqa: B006
    horizon: Horizon = f"{DEFAULT_HORIZON}d",
    granularity: Granularity = "day",
    basis: Basis = "effective",
    top: Annotated[int | None, Query(ge=1, le=10_000)] = None,
) -> list[dict[str, Any]]:
    with services.view() as view:
        found = forecast(
            view, group_by=by, horizon=horizon, granularity=granularity,
            filters=parse_filters(w for w in where if w.strip()), scope=principal.scope,
            basis=basis, top=top,
        )  # fmt: skip
    return found.records()


@router.get("/forecasts/versions", summary="The saved forecast versions in the caller's scope")
def get_versions(principal: Viewer, services: ServicesDep) -> list[dict[str, Any]]:
    return [v.record() for v in forecast_versions(services.ledger, principal.scope)]


@router.post("/forecasts/versions", status_code=201, summary="Save a forecast as a new version")
def post_version(
    body: ForecastSave, principal: Saver, services: ServicesDep, request: Request
) -> dict[str, Any]:
    with services.view() as view:
        found = forecast(
            view, group_by=body.by, horizon=body.horizon,
            filters=parse_filters(w for w in body.where if w.strip()), scope=principal.scope,
            basis=body.basis,
        )  # fmt: skip
    saved = save_forecast_audited(
        services.ledger, services.db, found, actor=principal.username,
        address=client_address(request),
    )  # fmt: skip
    return saved.record()


@router.get(
    "/forecasts/versions/{version}/accuracy",
    summary="Forecast accuracy of a saved version against the actual cost now",
)
def get_accuracy(
    principal: Viewer, services: ServicesDep, version: Version, granularity: Granularity = "month"
) -> dict[str, Any]:
    with services.view() as view:
        found = forecast_accuracy(
            view, services.ledger, version, granularity=granularity, scope=principal.scope
        )
    return found.record()


@router.get("/forecasts/drift", summary="Forecast drift between two saved versions")
def get_drift(
    principal: Viewer,
    services: ServicesDep,
    previous: Annotated[int, Query(ge=1, le=999_999, description="the earlier version")],
    new: Annotated[int, Query(ge=1, le=999_999, description="the later version")],
    granularity: Granularity = "month",
) -> dict[str, Any]:
    found = forecast_drift(
        services.ledger, previous, new, granularity=granularity, scope=principal.scope
    )
    return found.record()
