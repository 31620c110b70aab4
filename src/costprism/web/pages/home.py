"""``GET /home``: the caller's role home page (and its JSON twin, ``?format=json``).

The page shows the workspace of one role the caller holds (the first by default, another
with ``?role=``), computed by :func:`~costprism.capabilities.home.home_page` over the
caller's scope. Each panel is drawn by ``templates/panels/<kind>.html``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response

from costprism.capabilities.budget_store import list_budgets
from costprism.capabilities.home import add_months, home_page
from costprism.capabilities.tag_governance import active_policy
from costprism.errors import AccessError
from costprism.roles import ROLES, Principal
from costprism.roles.workspaces import TREND_MONTHS
from costprism.server.auth import ServicesDep, allowed
from costprism.web.pages import charts, page_router  # noqa: F401 (charts: template filters)
from costprism.web.rendering import render

router = page_router()
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]


@router.get("/home")
def home(
    request: Request, principal: Viewer, services: ServicesDep, role: str | None = None
) -> Response:
    chosen = held_role(principal, role)
    now = _ten_minutes(datetime.now(UTC))
    policy = active_policy(services.ledger)  # a new tag policy is a new page
    budgets = list_budgets(services.db, principal.scope)  # so is a changed budget
    page = services.remembered(
        ("home", chosen, principal.scope, now, policy.digest if policy else None,
         tuple(repr(b.record()) for b in budgets)),
        lambda view: home_page(
            view, services.ledger, chosen, principal.scope, today=now.date(), now=now,
            budgets=budgets,
        ),
    ).record()  # fmt: skip
    context = {
        "role": chosen,
        "roles": [_role_choice(name, chosen) for name in principal.roles],
        "home": page,
        "explore": {p["key"]: _explore_url(page, p) for p in page["panels"] if _explorable(p)},
    }
    return render(request, "home.html", context, principal=principal)


def _ten_minutes(moment: datetime) -> datetime:
    """``moment`` rounded down to ten minutes: a remembered home page (see
    :meth:`~costprism.server.services.Services.remembered`) is at most that much older than
    its freshness figures say."""
    return moment.replace(minute=moment.minute - moment.minute % 10, second=0, microsecond=0)


def held_role(principal: Principal, role: str | None) -> str:
    """``role`` when the caller holds it, the caller's first role when none is asked."""
    if role is None and principal.roles:
        return principal.roles[0]
    if role is None or role not in principal.roles:
        held = ", ".join(principal.roles) or "no role"
        raise AccessError(
            f"{principal.username} does not hold the role {role!r}, so cannot see its home "
            f"page; {principal.username} has {held}",
            code="access.denied",
            status=403,
        )
    return role


def _role_choice(name: str, chosen: str) -> dict[str, Any]:
    title = ROLES[name].title if name in ROLES else name
    return {"name": name, "title": title, "current": name == chosen}


def _explorable(panel: dict[str, Any]) -> bool:
    return panel["kind"] in ("trend", "top") and bool(panel.get("dimension"))


def _explore_url(page: dict[str, Any], panel: dict[str, Any]) -> str | None:
    """The cost explorer showing what a trend or top panel shows (None without charges)."""
    if page["this_month"] is None:
        return None
    this = _first_day(page["this_month"])
    start = add_months(this, 1 - TREND_MONTHS) if panel["kind"] == "trend" else this
    params = {
        "by": panel["dimension"],
        "from": start.isoformat(),
        "to": add_months(this, 1).isoformat(),
        "granularity": "month" if panel["kind"] == "trend" else "total",
        "basis": page["basis"],
        "top": "10",
    }
    return "/explorer?" + urlencode(params)


def _first_day(month: str) -> date:
    return date.fromisoformat(f"{month}-01")
