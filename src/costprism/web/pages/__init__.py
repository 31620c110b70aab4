"""The page routers, one module per page family."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from costprism.server.auth import csrf_protect


def routers() -> list[APIRouter]:
    from costprism.web.pages import (
        admin,
        alerts,
        anomalies,
        budgets,
        chargeback,
        explorer,
        forecast,
        home,
        rules,
        signin,
        sources,
        tags,
        tokens,
    )

    modules = [
        signin, home, explorer, sources, admin, tokens, rules, chargeback, tags, budgets, forecast,
        anomalies, alerts,
    ]  # fmt: skip
    return [module.router for module in modules]


def page_router() -> APIRouter:
    """A router for pages: every unsafe request must carry the CSRF token."""
    return APIRouter(dependencies=[Depends(csrf_protect)])
