"""``/budgets``: every budget the caller sees with a status bar; ``/budgets/{name}``: one
budget's actual vs budget vs forecast (a chart of the period's running actual and forecast
against the available budget, and one of the periods before), the definition and, for
``manage-budgets``, the holdback release form; ``/budgets/new`` and
``/budgets/{name}/edit``: the create/edit form. Each has its ``?format=json`` twin.

The figures are :mod:`costprism.capabilities.budgets` (the CLI's and the API's); the
changes (``POST /budgets/save``, ``POST /budgets/{name}/release-holdback``, ``POST
/budgets/{name}/delete``) are :mod:`costprism.capabilities.budget_store`'s audited ones,
each a CSRF-protected form. A budget outside the caller's scope answers 404.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Form, Request, Response

from costprism.budgets.periods import PERIOD_KINDS, fiscal_year_start, parse_month
from costprism.budgets.periods import period_containing as containing
from costprism.budgets.spec import BASES, budget_from_fields, check_columns
from costprism.capabilities.budget_store import (
    StoredBudget,
    delete_budget,
    get_budget,
    list_budgets,
    release_amount,
    release_holdback,
    save_budget,
)
from costprism.capabilities.budgets import budget_detail, budget_statuses, day_in_progress
from costprism.errors import UserError
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed, client_address
from costprism.server.errors import wants_json
from costprism.server.services import Services
from costprism.web.pages import charts, page_router
from costprism.web.pages.admin import see_other
from costprism.web.rendering import render, templates

router = page_router()
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
Manager = Annotated[Principal, Depends(allowed("manage-budgets"))]
FormText = Annotated[str, Form()]
FIELDS = ("name", "scope", "period", "amount", "currency", "basis", "actual_thresholds",
          "forecast_thresholds", "owners", "holdback")  # fmt: skip


@router.get("/budgets")
def budgets_page(
    request: Request, principal: Viewer, services: ServicesDep, month: str = ""
) -> Response:
    try:
        asked = parse_month(month, "month") if month else None
    except UserError as error:
        if wants_json(request):
            raise
        failed = {"month": month, "budgets": [], "scope": [], "error": error.message}
        return render(request, "budgets.html", failed, principal=principal, status=400)
    budgets = list_budgets(services.db, principal.scope)
    with services.view() as view:
        statuses = budget_statuses(view, budgets, principal.scope, month=asked)
    context: dict[str, Any] = {
        "month": month,
        "budgets": [s.record() for s in statuses],
        "scope": [str(f) for f in principal.scope],
        "error": None,
    }
    return render(request, "budgets.html", context, principal=principal)


@router.get("/budgets/new")
def new_budget(request: Request, principal: Manager) -> Response:
    fields = {"period": "month", "basis": "effective", "actual_thresholds": "80, 100",
              "forecast_thresholds": "100", "holdback": "0",
              "scope": "\n".join(str(f) for f in principal.scope)}  # fmt: skip
    return _form(request, principal, fields, original="")


@router.get("/budgets/{name}")
def budget_page(
    request: Request,
    name: str,
    principal: Viewer,
    services: ServicesDep,
    month: str = "",
    saved: int = 0,
    released: int = 0,
) -> Response:
    asked = parse_month(month, "month") if month else None
    budget = get_budget(services.db, name, principal.scope)
    with services.view() as view:
        detail = budget_detail(view, budget, principal.scope, month=asked).record()
    context = {
        "budget": detail,
        "month": month,
        "saved": bool(saved),
        "released": bool(released),
        "error": None,
    }
    return render(request, "budget.html", context, principal=principal)


@router.get("/budgets/{name}/edit")
def edit_budget(request: Request, name: str, principal: Manager, services: ServicesDep) -> Response:
    budget = get_budget(services.db, name, principal.scope)
    return _form(request, principal, _fields_of(budget), original=name)


@router.post("/budgets/save")
def save_budget_form(
    request: Request,
    principal: Manager,
    services: ServicesDep,
    original: FormText = "",
    name: FormText = "",
    scope: FormText = "",
    period: FormText = "",
    amount: FormText = "",
    currency: FormText = "",
    basis: FormText = "",
    actual_thresholds: FormText = "",
    forecast_thresholds: FormText = "",
    owners: FormText = "",
    holdback: FormText = "",
) -> Response:
    fields = dict(zip(FIELDS, (name, scope, period, amount, currency, basis, actual_thresholds,
                               forecast_thresholds, owners, holdback), strict=True))  # fmt: skip
    try:
        spec = budget_from_fields(fields)
        check_columns(spec, _dimensions(services))
        if original:
            get_budget(services.db, original, principal.scope)
        save_budget(
            services.db, spec, actor=principal.username, scope=principal.scope,
            address=client_address(request), replace=original or None,
        )  # fmt: skip
    except UserError as error:
        if wants_json(request):
            raise
        return _form(request, principal, fields, original=original, error=error)
    return see_other(request, f"/budgets/{quote(spec.name, safe='')}?saved=1")


@router.post("/budgets/{name}/release-holdback")
def release_form(
    request: Request,
    name: str,
    principal: Manager,
    services: ServicesDep,
    month: FormText = "",
    amount: FormText = "",
) -> Response:
    budget = get_budget(services.db, name, principal.scope)
    try:
        period = _period_of(services, principal, budget, month)
        release_holdback(
            services.db, name, period, actor=principal.username,
            amount=release_amount(amount, "amount"), scope=principal.scope,
            address=client_address(request),
        )  # fmt: skip
    except UserError as error:
        if wants_json(request):
            raise
        with services.view() as view:
            detail = budget_detail(view, budget, principal.scope).record()
        context = {"budget": detail, "month": month, "saved": False, "released": False,
                   "error": error.message}  # fmt: skip
        return render(request, "budget.html", context, principal=principal, status=error.status)
    query = f"?released=1&month={period.start:%Y-%m}"
    return see_other(request, f"/budgets/{quote(name, safe='')}{query}")


@router.post("/budgets/{name}/delete")
def delete_form(request: Request, name: str, principal: Manager, services: ServicesDep) -> Response:
    get_budget(services.db, name, principal.scope)
    delete_budget(
        services.db, name, actor=principal.username, scope=principal.scope,
        address=client_address(request),
    )  # fmt: skip
    return see_other(request, "/budgets")


def _form(
    request: Request,
    principal: Principal,
    fields: Mapping[str, str],
    *,
    original: str,
    error: UserError | None = None,
) -> Response:
    context = {
        "fields": {k: fields.get(k, "") for k in FIELDS},
        "original": original,
        "periods": list(PERIOD_KINDS),
        "bases": list(BASES),
        "error": {"code": error.code, "message": error.message} if error else None,
    }
    status = error.status if error else 200
    return render(request, "budget_form.html", context, principal=principal, status=status)


def _fields_of(budget: StoredBudget) -> dict[str, str]:
    spec = budget.spec
    return {
        "name": spec.name,
        "scope": "\n".join(str(f) for f in spec.scope),
        "period": spec.period,
        "amount": str(spec.amount),
        "currency": spec.currency,
        "basis": spec.basis,
        "actual_thresholds": ", ".join(f"{t:f}" for t in spec.actual_thresholds),
        "forecast_thresholds": ", ".join(f"{t:f}" for t in spec.forecast_thresholds),
        "owners": ", ".join(spec.owners),
        "holdback": str(spec.holdback),
    }


def _period_of(services: Services, principal: Principal, budget: StoredBudget, month: str) -> Any:
    if month:
        day = parse_month(month, "month")
    else:
        with services.view() as view:
            day = day_in_progress(view, principal.scope)
    return containing(budget.spec.period, day, fiscal_year_start())


def _dimensions(services: Services) -> tuple[str, ...]:
    with services.view() as view:
        return view.dimensions


# --- charts -----------------------------------------------------------------------------


def budget_figures(detail: Mapping[str, Any]) -> list[dict[str, Any]]:
    """The period's running actual (a line by day), the forecast from the last complete
    day to the period's end (dashed), the available budget (flat); then the periods before
    (actual as bars, the available budget as a line)."""
    currency, measure = detail["BillingCurrency"], detail["measure"]
    period = detail["period"]
    running, total, days = [], 0.0, []
    for point in detail["daily"]:
        total += point["actual"]
        days.append(point["day"])
        running.append(total)
    last_day = (date.fromisoformat(period["end"]) - timedelta(days=1)).isoformat()
    traces: list[dict[str, Any]] = [
        _scatter("actual (running total)", days, running, {}),
        _scatter("available budget", [period["start"], last_day], [detail["available"]] * 2,
                 {"dash": "dot"}),
    ]  # fmt: skip
    if detail["forecast"] is not None and detail["through"] and detail["through"] < last_day:
        base = sum(p["actual"] for p in detail["daily"] if p["day"] <= detail["through"])
        traces.append(
            _scatter("forecast", [detail["through"], last_day], [base, detail["forecast"]],
                     {"dash": "dash"})
        )  # fmt: skip
    current = charts._figure(currency=currency, measure=f"{measure}, {period['label']}",
                             traces=traces)  # fmt: skip
    current["layout"]["xaxis"] = {"type": "date"}
    months = [p["label"] for p in detail["history"]]
    history = charts._figure(
        currency=currency,
        measure=f"{measure} per {period['kind']}",
        traces=[
            charts._bar("actual", months, [p["actual"] for p in detail["history"]]),
            {**_scatter("available budget", months, [p["available"] for p in detail["history"]],
                        {"dash": "dot"}), "mode": "lines+markers"},
        ],
    )  # fmt: skip
    return [current, history]


def _scatter(name: str, x: list[Any], y: list[Any], line: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": x,
        "y": y,
        "line": line,
        "hovertemplate": "%{x}: %{y:,.2f}<extra>" + name + "</extra>",
    }


templates.env.globals.update(budget_figures=budget_figures)
