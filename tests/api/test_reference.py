"""Every API route is in docs/reference/api.md (a new endpoint without docs fails here)."""

from __future__ import annotations

from pathlib import Path

from fastapi.routing import APIRoute

from costprism.api import router

DOC = Path(__file__).parents[2] / "docs" / "reference" / "api.md"


def test_every_api_route_is_documented() -> None:
    text = DOC.read_text()
    missing = [
        f"{method} {route.path}"
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in sorted(route.methods)
        if f"`{method} {route.path}`" not in text
    ]
    assert not missing, f"add to docs/reference/api.md: {missing}"
