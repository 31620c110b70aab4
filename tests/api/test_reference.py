"""Every API route is in docs/reference/api.md (a new endpoint without docs fails here)."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute, iter_route_contexts

from costprism.api import router

DOC = Path(__file__).parents[2] / "docs" / "reference" / "api.md"


def test_every_api_route_is_documented() -> None:
    text = DOC.read_text()
    routes = [
        f"{method} {route.path}"
        for route in iter_route_contexts(router.routes)  # router.routes holds included routers
        if isinstance(route.original_route, APIRoute)
        for method in sorted(route.methods or ())
    ]
    assert len(routes) > 10
    missing = [route for route in routes if f"`{route}`" not in text]
    assert not missing, f"add to docs/reference/api.md: {missing}"
