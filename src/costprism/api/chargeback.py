"""``/chargeback/statement`` (one cost center's month, as ``costprism chargeback statement
--format json``) and ``/chargeback/gl-export`` (the month's GL rows as CSV).

Both use the GL mapping stored in the ledger (``costprism chargeback gl-mapping apply``)
and answer within the caller's scope.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response

from costprism.capabilities.chargeback import (
    BASES,
    DEFAULT_DIMENSION,
    gl_csv,
    gl_export,
    parse_month,
    statement,
    stored_gl_mapping,
)
from costprism.errors import InputError
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed

router = APIRouter(tags=["chargeback"])
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
Month = Annotated[str, Query(description="the billing period, YYYY-MM", examples=["2026-05"])]
Dimension = Annotated[str, Query(description="the allocation dimension holding cost centers")]
# checked by the capability, as for the CLI (a bad one is a 400, not a 422)
Basis = Annotated[str, Query(json_schema_extra={"enum": list(BASES)})]


@router.get("/chargeback/statement", summary="One cost center's chargeback statement")
def get_statement(
    principal: Viewer,
    services: ServicesDep,
    cost_center: Annotated[str, Query(description="a value of the dimension, e.g. CC-100")],
    month: Month,
    dimension: Dimension = DEFAULT_DIMENSION,
    basis: Basis = "effective",
    product: Annotated[str | None, Query(description="the column naming products")] = None,
) -> dict[str, Any]:
    mapping = stored_gl_mapping(services.ledger)
    with services.view() as view:
        found = statement(
            view, cost_center, month, dimension_name=dimension, basis=basis,
            gl_mapping=mapping, product=product, scope=principal.scope,
        )  # fmt: skip
    return found.record()


@router.get(
    "/chargeback/gl-export",
    summary="The month's charges per cost center and GL account, as CSV",
    response_class=Response,
    responses={200: {"content": {"text/csv": {}}, "description": "the GL export"}},
)
def get_gl_export(
    principal: Viewer,
    services: ServicesDep,
    month: Month,
    dimension: Dimension = DEFAULT_DIMENSION,
    basis: Basis = "effective",
) -> Response:
    mapping = stored_gl_mapping(services.ledger)
    if mapping is None:
        raise InputError(
            "no GL mapping is stored; run costprism chargeback gl-mapping apply FILE on the "
            "server's home",
            code="chargeback.no_mapping",
        )
    with services.view() as view:
        rows = gl_export(
            view, month, gl_mapping=mapping, dimension_name=dimension, basis=basis,
            scope=principal.scope,
        )  # fmt: skip
    name = f"costprism-gl-{parse_month(month):%Y-%m}.csv"
    return Response(
        gl_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
