"""``/budgets``: budget vs actual vs forecast (as ``costprism budgets list|show --format
json``), and for ``manage-budgets`` creating, changing, deleting budgets, applying a budgets
file and releasing holdback, each audited.

A caller sees only the budgets whose whole scope lies inside their own, and their figures
are computed under their scope (see :mod:`costprism.capabilities.budget_store`); a budget
outside it answers 404, as if it did not exist.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, Field

from costprism.budgets.periods import (
    PERIOD_KINDS,
    fiscal_year_start,
    parse_month,
    period_containing,
)
from costprism.budgets.spec import (
    budget_from_fields,
    check_columns,
    check_dimensions,
    parse_budgets,
)
from costprism.capabilities.budget_store import (
    apply_budgets,
    delete_budget,
    get_budget,
    list_budgets,
    release_amount,
    release_holdback,
    save_budget,
)
from costprism.capabilities.budgets import budget_detail, budget_statuses, day_in_progress
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed, client_address
from costprism.server.services import Services

router = APIRouter(tags=["budgets"])
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
Manager = Annotated[Principal, Depends(allowed("manage-budgets"))]
Name = Annotated[str, Path(description="the budget's name", max_length=100)]
Month = Annotated[
    str | None,
    Query(description="a month (YYYY-MM) of the period; default: the period in progress",
          examples=["2026-05"]),
]  # fmt: skip


class BudgetPut(BaseModel):
    """A budget's definition (the name is in the path, or ``name`` renames it)."""

    name: str | None = Field(default=None, max_length=100, description="a new name")
    scope: list[str] = Field(default=[], max_length=50, description="filters, ANDed")
    period: str = Field(json_schema_extra={"enum": list(PERIOD_KINDS)}, max_length=20)
    amount: str = Field(description="per period, in the currency", max_length=40)
    currency: str = Field(max_length=3, examples=["USD"])
    basis: str = Field(default="effective", json_schema_extra={"enum": ["effective", "billed"]})
    actual_thresholds: list[str] = Field(default=["80", "100"], max_length=20)
    forecast_thresholds: list[str] = Field(default=["100"], max_length=20)
    owners: list[str] = Field(default=[], max_length=50)
    holdback: str = Field(default="0", max_length=40)


class BudgetsApply(BaseModel):
    budgets: str = Field(description="the budgets file's YAML text", max_length=1_000_000)
    prune: bool = Field(default=False, description="delete budgets the file does not name")


class HoldbackRelease(BaseModel):
    month: str | None = Field(default=None, description="a month of the period (YYYY-MM)")
    amount: str | None = Field(default=None, description="default: all still held back")


@router.get("/budgets", summary="Every budget you see, in its period")
def get_budgets(principal: Viewer, services: ServicesDep, month: Month = None) -> dict[str, Any]:
    asked = parse_month(month, "month") if month else None
    budgets = list_budgets(services.db, principal.scope)
    with services.view() as view:
        statuses = budget_statuses(view, budgets, principal.scope, month=asked)
    return {"budgets": [s.record() for s in statuses]}


@router.get("/budgets/{name}", summary="One budget: its period's figures and the periods before")
def get_one(
    name: Name, principal: Viewer, services: ServicesDep, month: Month = None
) -> dict[str, Any]:
    asked = parse_month(month, "month") if month else None
    budget = get_budget(services.db, name, principal.scope)
    with services.view() as view:
        return budget_detail(view, budget, principal.scope, month=asked).record()


@router.put("/budgets/{name}", summary="Create or change a budget (audited)")
def put_budget(
    name: Name, body: BudgetPut, principal: Manager, services: ServicesDep, request: Request
) -> dict[str, Any]:
    fields = {
        "name": body.name or name,
        "scope": "\n".join(body.scope),
        "period": body.period,
        "amount": body.amount,
        "currency": body.currency,
        "basis": body.basis,
        "actual_thresholds": ",".join(body.actual_thresholds),
        "forecast_thresholds": ",".join(body.forecast_thresholds),
        "owners": ",".join(body.owners),
        "holdback": body.holdback,
    }
    spec = budget_from_fields(fields)
    check_columns(spec, _dimensions(services))
    exists = any(b.name == name for b in list_budgets(services.db))
    stored = save_budget(
        services.db, spec, actor=principal.username, scope=principal.scope,
        address=client_address(request), replace=name if exists else None,
    )  # fmt: skip
    return stored.record()


@router.delete("/budgets/{name}", status_code=204, summary="Delete a budget (audited)")
def delete_one(name: Name, principal: Manager, services: ServicesDep, request: Request) -> Response:
    get_budget(services.db, name, principal.scope)
    delete_budget(
        services.db, name, actor=principal.username, scope=principal.scope,
        address=client_address(request),
    )  # fmt: skip
    return Response(status_code=204)


@router.post("/budgets/apply", summary="Apply a budgets file (each change audited)")
def post_apply(
    body: BudgetsApply, principal: Manager, services: ServicesDep, request: Request
) -> dict[str, Any]:
    budgets = parse_budgets(body.budgets, "budgets")
    check_dimensions(budgets, _dimensions(services))
    result = apply_budgets(
        services.db, budgets, actor=principal.username, prune=body.prune,
        scope=principal.scope, address=client_address(request),
    )  # fmt: skip
    return result.record()


@router.post("/budgets/{name}/release-holdback", summary="Release holdback in a period (audited)")
def post_release(
    name: Name, body: HoldbackRelease, principal: Manager, services: ServicesDep, request: Request
) -> dict[str, Any]:
    budget = get_budget(services.db, name, principal.scope)
    with services.view() as view:
        day = (
            parse_month(body.month, "month")
            if body.month
            else day_in_progress(view, principal.scope)
        )
    period = period_containing(budget.spec.period, day, fiscal_year_start())
    stored = release_holdback(
        services.db, name, period, actor=principal.username,
        amount=release_amount(body.amount, "amount"), scope=principal.scope,
        address=client_address(request),
    )  # fmt: skip
    return {**stored.record(), "period": period.record()}


def _dimensions(services: Services) -> tuple[str, ...]:
    with services.view() as view:
        return view.dimensions
