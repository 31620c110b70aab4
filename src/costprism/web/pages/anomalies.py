"""``GET /anomalies`` (the list with KPIs) and ``GET /anomalies/{id}`` (one anomaly: a chart
of actual vs expected cost around it, the driver breakdown, its history, and for
``triage-anomalies`` the triage buttons, a comment box and the owner), each with its JSON
twin (``?format=json``); ``POST /anomalies/{id}/state``, ``/comment`` and ``/owner`` take
the forms (CSRF-protected, audited). The figures are
:mod:`costprism.capabilities.anomalies`', as in ``/api/v1/anomalies`` and ``costprism
anomalies``; every list obeys the viewer's scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from fastapi import Depends, Form, Request, Response

from costprism.anomalies.store import STATES, TRANSITIONS
from costprism.capabilities.anomalies import (
    KINDS,
    SEVERITIES,
    anomaly_detail,
    anomaly_kpis,
    assign_anomaly,
    comment_anomaly,
    list_anomalies,
    triage_anomaly,
)
from costprism.errors import UserError
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed, client_address
from costprism.server.errors import wants_json
from costprism.web.pages import charts, page_router
from costprism.web.pages.admin import see_other
from costprism.web.rendering import render, templates

router = page_router()
Viewer = Annotated[Principal, Depends(allowed("view-anomalies"))]
Triager = Annotated[Principal, Depends(allowed("triage-anomalies"))]
FormText = Annotated[str, Form()]
ACTIONS = {
    "acknowledged": "Acknowledge",
    "resolved": "Resolve",
    "expected": "Expected",
    "false_positive": "False positive",
    "open": "Reopen",
}


@router.get("/anomalies")
def anomalies_page(
    request: Request,
    principal: Viewer,
    services: ServicesDep,
    state: str | None = None,
    severity: str | None = None,
    kind: str | None = None,
) -> Response:
    form = {"state": state or "", "severity": severity or "", "kind": kind or ""}
    context: dict[str, Any] = {
        "form": form, "states": list(STATES), "severities": list(SEVERITIES),
        "kinds": list(KINDS), "anomalies": [], "kpis": None, "error": None,
    }  # fmt: skip
    try:
        with services.view() as view:
            records = list_anomalies(
                view, services.db, scope=principal.scope, state=state or None,
                severity=severity or None, kind=kind or None,
            )  # fmt: skip
            context["kpis"] = anomaly_kpis(view, records, principal.scope)
    except UserError as error:
        if wants_json(request):
            raise
        context["error"] = error.message
        return render(request, "anomalies.html", context, principal=principal, status=400)
    context["anomalies"] = records
    return render(request, "anomalies.html", context, principal=principal)


@router.get("/anomalies/{anomaly_id}")
def anomaly_page(
    request: Request, anomaly_id: int, principal: Viewer, services: ServicesDep
) -> Response:
    with services.view() as view:
        detail = anomaly_detail(view, services.db, anomaly_id, scope=principal.scope)
    return _detail(request, principal, detail)


def _detail(
    request: Request, principal: Principal, detail: dict[str, Any], error: str | None = None
) -> Response:
    moves = sorted(TRANSITIONS.get(detail["state"], frozenset()), key=list(ACTIONS).index)
    context = {"anomaly": detail, "moves": [(m, ACTIONS[m]) for m in moves], "error": error}
    return render(
        request, "anomaly.html", context, principal=principal, status=400 if error else 200
    )


@router.post("/anomalies/{anomaly_id}/state")
def state_form(
    request: Request,
    anomaly_id: int,
    principal: Triager,
    services: ServicesDep,
    state: FormText = "",
    comment: FormText = "",
) -> Response:
    with services.view() as view:
        triage_anomaly(
            view, services.db, anomaly_id, state, scope=principal.scope,
            actor=principal.username, comment=comment, address=client_address(request),
        )  # fmt: skip
    return see_other(request, f"/anomalies/{anomaly_id}")


@router.post("/anomalies/{anomaly_id}/comment")
def comment_form(
    request: Request, anomaly_id: int, principal: Triager, services: ServicesDep,
    text: FormText = "",
) -> Response:  # fmt: skip
    with services.view() as view:
        comment_anomaly(
            view, services.db, anomaly_id, text, scope=principal.scope,
            actor=principal.username, address=client_address(request),
        )  # fmt: skip
    return see_other(request, f"/anomalies/{anomaly_id}")


@router.post("/anomalies/{anomaly_id}/owner")
def owner_form(
    request: Request, anomaly_id: int, principal: Triager, services: ServicesDep,
    owner: FormText = "",
) -> Response:  # fmt: skip
    with services.view() as view:
        assign_anomaly(
            view, services.db, anomaly_id, owner, scope=principal.scope,
            actor=principal.username, address=client_address(request),
        )  # fmt: skip
    return see_other(request, f"/anomalies/{anomaly_id}")


def anomaly_figure(anomaly: Mapping[str, Any]) -> dict[str, Any]:
    """Actual and expected cost per day around the anomaly, its days shaded."""
    series = anomaly["series"]
    days = [d["day"] for d in series]
    currency = anomaly["BillingCurrency"]
    flagged = [d["actual"] if d["anomalous"] else None for d in series]
    return {
        "currency": currency,
        "data": [
            _trace("actual", days, [d["actual"] for d in series], "lines+markers"),
            _trace("expected", days, [d["expected"] for d in series], "lines"),
            _trace("anomalous days", days, flagged, "markers"),
        ],
        "layout": {
            "height": charts.HEIGHT,
            "margin": {"l": 70, "r": 10, "t": 30, "b": 40},
            "title": {"text": f"EffectiveCost per day · {currency}", "font": {"size": 13}},
            "yaxis": {"tickformat": ",.0f", "title": {"text": currency}},
            "xaxis": {"type": "date"},
            "legend": {"orientation": "h", "y": -0.15},
        },
    }


def _trace(name: str, x: list[str], y: list[Any], mode: str) -> dict[str, Any]:
    return {"type": "scatter", "mode": mode, "name": name, "x": x, "y": y,
            "hovertemplate": "%{x}: %{y:,.2f}<extra>" + name + "</extra>"}  # fmt: skip


templates.env.globals.update(anomaly_figure=anomaly_figure)
