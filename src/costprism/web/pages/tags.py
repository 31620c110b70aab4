"""``GET /tags``: tag governance over the caller's scope (and its JSON twin, ``?format=json``).

The page shows the active tag policy, this month's KPIs per currency (% untagged and % tag-
policy compliant of taggable EffectiveCost), their monthly trend as a chart and a table,
and the non-compliant resources with the most cost, each linking to the cost explorer.
``month`` (YYYY-MM) and ``top`` choose the month and the list's length. The figures are
:func:`~costprism.capabilities.tag_governance.tag_report`'s, as in ``GET /api/v1/tags/report``
and ``costprism tags report``. Without a policy the page says how to set one.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response

from costprism.capabilities.allocation import parse_month
from costprism.capabilities.home import add_months
from costprism.capabilities.tag_governance import (
    TOP,
    TagReport,
    active_policy,
    tag_report,
)
from costprism.errors import UserError
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed
from costprism.server.errors import wants_json
from costprism.web.pages import charts, page_router  # noqa: F401 (charts: template filters)
from costprism.web.rendering import render

router = page_router()
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]


@router.get("/tags")
def tags_page(
    request: Request,
    principal: Viewer,
    services: ServicesDep,
    month: str | None = None,
    top: str | None = None,
) -> Response:
    form = {"month": (month or "").strip(), "top": (top or "").strip()}
    policy = active_policy(services.ledger)
    context: dict[str, Any] = {"form": form, "policy": None, "report": None, "error": None}
    if policy is None:
        return render(request, "tags.html", context, principal=principal)
    context["policy"] = {**policy.record(), "text": policy.text}
    try:
        chosen = parse_month(form["month"], "month")
        size = _whole_number("top", form["top"]) if form["top"] else TOP
        with services.view() as view:
            report = tag_report(view, policy, principal.scope, month=chosen, top=size)
    except UserError as error:
        if wants_json(request):
            raise
        context["error"] = error.message
        return render(request, "tags.html", context, principal=principal, status=400)
    context["report"] = report.record()
    context["explore"] = _explore_urls(report)
    return render(request, "tags.html", context, principal=principal)


def _whole_number(name: str, text: str) -> int:
    if not text.isdigit():
        raise UserError(f"{name} {text!r} is not a whole number like 20", code="usage")
    return int(text)


def _explore_urls(report: TagReport) -> list[str | None]:
    """Per non-compliant resource, the cost explorer showing its month by service."""
    if report.month is None:
        return []
    return [_explore(report.month, r.resource_id) for r in report.resources]


def _explore(month: date, resource_id: str | None) -> str | None:
    if resource_id is None:
        return None
    params = {
        "by": "ServiceName",
        "where": f"ResourceId={resource_id}",
        "from": month.isoformat(),
        "to": add_months(month, 1).isoformat(),
        "granularity": "total",
    }
    return "/explorer?" + urlencode(params)
