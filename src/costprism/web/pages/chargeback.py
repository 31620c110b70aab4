"""``/chargeback``: one cost center's statement for a month, as a printable document, and
``/chargeback/statement.pdf``, the same document printed to PDF by Chromium.

The form picks the month (billing periods with rows in the caller's scope, newest first),
the cost center (the values of the cost-center dimension in that month and scope), the
basis and the dimension. The statement is :func:`~costprism.capabilities.chargeback.statement`
with the GL mapping stored in the ledger, the one the API and the CLI use; the page and
the PDF include the same ``partials/chargeback_statement.html``. Both need ``view-costs``.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Request, Response
from starlette.datastructures import QueryParams

from costprism.capabilities.chargeback import (
    BASES,
    DEFAULT_DIMENSION,
    cost_centers,
    statement,
    statement_months,
    stored_gl_mapping,
)
from costprism.errors import UserError
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed
from costprism.server.errors import wants_json
from costprism.server.services import Services
from costprism.web.pages import charts, page_router  # noqa: F401 (charts: template filters)
from costprism.web.pdf import html_to_pdf
from costprism.web.rendering import STATIC, render, templates

router = page_router()
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
STATEMENT_CSS = STATIC / "statement.css"


@router.get("/chargeback")
def chargeback_page(request: Request, principal: Viewer, services: ServicesDep) -> Response:
    asked = _asked(request.query_params)
    try:
        context = _context(services, principal, asked)
    except UserError as error:
        if wants_json(request):
            raise
        failed = {"query": asked, "choices": None, "statement": None, "error": error.message}
        return render(request, "chargeback.html", failed, principal=principal, status=400)
    return render(request, "chargeback.html", context, principal=principal)


@router.get("/chargeback/statement.pdf")
def chargeback_pdf(request: Request, principal: Viewer, services: ServicesDep) -> Response:
    asked = _asked(request.query_params)
    context = _context(services, principal, asked)
    if context["statement"] is None:
        raise UserError(
            "there is no statement to print: no cost center has rows in that month and your "
            "scope; pick one on /chargeback",
            code="chargeback.empty",
        )
    css = STATEMENT_CSS.read_text(encoding="utf-8")
    html = templates.get_template("chargeback_document.html").render(**context, css=css)
    pdf = html_to_pdf(html)
    found = context["statement"]
    name = _file_name(f"chargeback-{found['cost_center']}-{found['month']}.pdf")
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _asked(params: QueryParams) -> dict[str, str]:
    return {
        "cost_center": params.get("cost_center", "").strip(),
        "month": params.get("month", "").strip(),
        "basis": params.get("basis", "").strip() or "effective",
        "dimension": params.get("dimension", "").strip() or DEFAULT_DIMENSION,
    }


def _context(services: Services, principal: Principal, asked: dict[str, str]) -> dict[str, Any]:
    """The choices, the chosen statement (None when the scope has no rows) and its links;
    a month or cost center left empty is the newest month, the first cost center."""
    mapping = stored_gl_mapping(services.ledger)
    scope = principal.scope
    with services.view() as view:
        months = statement_months(view, scope)
        month = asked["month"] or (months[0] if months else "")
        centers = (
            cost_centers(view, month, dimension_name=asked["dimension"], scope=scope)
            if month
            else []
        )
        center = asked["cost_center"] or (centers[0] if centers else "")
        found = None
        if month and center:
            found = statement(
                view, center, month, dimension_name=asked["dimension"], basis=asked["basis"],
                gl_mapping=mapping, scope=scope,
            )  # fmt: skip
        dimensions = list(view.dimensions)
    chosen = {**asked, "month": month, "cost_center": center}
    pairs = urlencode(chosen)
    return {
        "query": chosen,
        "choices": {
            "months": months,
            "cost_centers": centers,
            "bases": list(BASES),
            "dimensions": dimensions,
        },
        "statement": found.record() if found else None,
        "gl_mapping_stored": mapping is not None,
        "pdf_url": f"/chargeback/statement.pdf?{pairs}" if found else None,
        "json_url": f"/chargeback?{pairs}&format=json",
        "gl_export_url": (
            "/api/v1/chargeback/gl-export?"
            + urlencode({"month": month, "dimension": chosen["dimension"], "basis": asked["basis"]})
            if month and mapping is not None
            else None
        ),
        "error": None,
    }


def _file_name(name: str) -> str:
    """A download name: letters, digits and ``-_.``, the rest as ``_``."""
    return "".join(c if c.isascii() and (c.isalnum() or c in "-_.") else "_" for c in name)
