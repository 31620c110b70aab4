"""``/anomalies``: cost anomalies (as ``costprism anomalies list|show --format json``) with
their KPIs, triage for ``triage-anomalies`` (state moves, comments, owner; each audited)
and ``POST /anomalies/detect`` to scan the ledger within the caller's scope.

A caller sees an anomaly only when its whole cost lies inside their scope (see
:func:`costprism.capabilities.anomalies.visible`); any other answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from pydantic import BaseModel, Field

from costprism.anomalies.detection import DetectionSettings
from costprism.anomalies.store import STATES
from costprism.capabilities.anomalies import (
    DEFAULT_BY,
    KINDS,
    SEVERITIES,
    anomaly_detail,
    anomaly_kpis,
    assign_anomaly,
    comment_anomaly,
    detect_anomalies,
    list_anomalies,
    owners_for,
    triage_anomaly,
)
from costprism.engine.filters import parse_filters
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed, client_address

router = APIRouter(tags=["anomalies"])
Viewer = Annotated[Principal, Depends(allowed("view-anomalies"))]
Triager = Annotated[Principal, Depends(allowed("triage-anomalies"))]
AnomalyId = Annotated[int, Path(description="the anomaly's id", ge=1, le=2**31 - 1)]


class StateChange(BaseModel):
    state: str = Field(json_schema_extra={"enum": list(STATES)}, max_length=30)
    comment: str = Field(default="", max_length=5_000)


class Comment(BaseModel):
    text: str = Field(min_length=1, max_length=5_000)


class Owner(BaseModel):
    owner: str = Field(max_length=300)


class Detect(BaseModel):
    by: list[str] = Field(default=list(DEFAULT_BY), min_length=1, max_length=10)
    where: list[str] = Field(default=[], max_length=50)
    sensitivity: float = Field(default=1.0, gt=0, le=100)
    unfinished_days: int = Field(default=2, ge=0, le=60)
    min_impact: float = Field(default=250.0, ge=0)
    security: bool = True


@router.get("/anomalies", summary="The anomalies you see, newest first, with their KPIs")
def get_anomalies(
    principal: Viewer,
    services: ServicesDep,
    state: Annotated[str | None, Query(json_schema_extra={"enum": list(STATES)})] = None,
    severity: Annotated[str | None, Query(json_schema_extra={"enum": list(SEVERITIES)})] = None,
    kind: Annotated[str | None, Query(json_schema_extra={"enum": list(KINDS)})] = None,
) -> dict[str, Any]:
    with services.view() as view:
        records = list_anomalies(
            view, services.db, scope=principal.scope, state=state, severity=severity, kind=kind
        )
        kpis = anomaly_kpis(view, records, principal.scope)
    return {"anomalies": records, "kpis": kpis}


@router.get("/anomalies/{anomaly_id}", summary="One anomaly: drivers, chart series, history")
def get_anomaly(anomaly_id: AnomalyId, principal: Viewer, services: ServicesDep) -> dict[str, Any]:
    with services.view() as view:
        return anomaly_detail(view, services.db, anomaly_id, scope=principal.scope)


@router.post("/anomalies/{anomaly_id}/state", summary="Move an anomaly to a state (audited)")
def post_state(
    anomaly_id: AnomalyId,
    body: StateChange,
    principal: Triager,
    services: ServicesDep,
    request: Request,
) -> dict[str, Any]:
    with services.view() as view:
        return triage_anomaly(
            view, services.db, anomaly_id, body.state, scope=principal.scope,
            actor=principal.username, comment=body.comment, address=client_address(request),
        )  # fmt: skip


@router.post("/anomalies/{anomaly_id}/comments", summary="Comment on an anomaly (audited)")
def post_comment(
    anomaly_id: AnomalyId, body: Comment, principal: Triager, services: ServicesDep,
    request: Request,
) -> dict[str, Any]:  # fmt: skip
    with services.view() as view:
        return comment_anomaly(
            view, services.db, anomaly_id, body.text, scope=principal.scope,
            actor=principal.username, address=client_address(request),
        )  # fmt: skip


@router.put("/anomalies/{anomaly_id}/owner", summary="Set an anomaly's owner (audited)")
def put_owner(
    anomaly_id: AnomalyId, body: Owner, principal: Triager, services: ServicesDep,
    request: Request,
) -> dict[str, Any]:  # fmt: skip
    with services.view() as view:
        return assign_anomaly(
            view, services.db, anomaly_id, body.owner, scope=principal.scope,
            actor=principal.username, address=client_address(request),
        )  # fmt: skip


@router.post("/anomalies/detect", summary="Detect anomalies within your scope and record them")
def post_detect(body: Detect, principal: Triager, services: ServicesDep) -> dict[str, Any]:
    settings = DetectionSettings(
        sensitivity=body.sensitivity, unfinished_days=body.unfinished_days,
        min_impact=body.min_impact,
    )  # fmt: skip
    with services.view() as view:
        run = detect_anomalies(
            view, services.db, by=tuple(body.by), settings=settings, scope=principal.scope,
            filters=parse_filters(body.where), owners=owners_for(services.config.home),
            security=body.security, actor=principal.username,
        )  # fmt: skip
    return run.record()
