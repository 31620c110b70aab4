"""The cost explorer: ``GET /explorer``, ``/explorer.csv`` and ``/explorer/rows``.

The form's fields are the API's ``/costs`` parameters (``by``, ``where``, ``from``, ``to``,
``granularity``, ``basis``, ``top``), read by
:func:`~costprism.capabilities.cost_request.parse_cost_query` and answered by
:func:`~costprism.capabilities.reporting.cost_report`, so a page, its CSV and the API give
the same numbers. ``where`` may repeat and each value may hold one condition per line.

Each figure in the table links to ``/explorer/rows`` with the same parameters plus
``cell.<key>=<value>`` for each of the row's keys (an empty value stands for "no value")
and, for further pages, the ``cursor`` the previous page gave (``limit`` sets the page
size, 50 by default); htmx puts that page of ledger rows under the table. When allocation
rules are in force each row links to ``/explorer/explain/{x_RowId}``: the rules tried, each
condition with the row's value, and the row's allocated parts
(:func:`~costprism.capabilities.allocation.explain_row`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import Depends, Path, Request, Response
from starlette.datastructures import QueryParams

from costprism.capabilities.allocation import explain_row
from costprism.capabilities.cost_request import BASES, parse_cost_query
from costprism.capabilities.drilldown import cost_rows
from costprism.capabilities.reporting import CostReport, cost_report
from costprism.engine.query import GRANULARITIES, OTHER, CostQuery
from costprism.errors import UserError
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed
from costprism.server.errors import wants_json
from costprism.web.pages import charts, page_router  # noqa: F401 (charts: template filters)
from costprism.web.rendering import render

router = page_router()
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
RowViewer = Annotated[Principal, Depends(allowed("view-rows"))]

COMMON_COLUMNS = (
    "ProviderName",
    "PublisherName",
    "InvoiceIssuerName",
    "BillingAccountName",
    "BillingAccountId",
    "SubAccountName",
    "SubAccountId",
    "ServiceCategory",
    "ServiceName",
    "RegionId",
    "RegionName",
    "ChargeCategory",
    "ChargeClass",
    "ChargeFrequency",
    "PricingCategory",
    "CommitmentDiscountType",
    "CommitmentDiscountStatus",
    "ResourceType",
    "ResourceId",
    "SkuId",
    "x_SourceId",
    "tag:team",
    "tag:product",
    "tag:CostCenter",
    "tag:Environment",
)
TABLE_LIMIT = 1000  # rows shown on the page; the CSV and the JSON twin have them all
ROW_COLUMNS = (
    "ChargePeriodStart",
    "ProviderName",
    "SubAccountName",
    "ServiceName",
    "RegionId",
    "ResourceId",
    "ChargeCategory",
    "ChargeDescription",
)
CELL = "cell."
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True, kw_only=True)
class ExplorerForm:
    """The explorer's fields as text, exactly as the form (or a link) sent them."""

    by: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    start: str = ""
    end: str = ""
    granularity: str = "month"
    basis: str = "effective"
    top: str = ""

    @classmethod
    def from_params(cls, params: QueryParams) -> ExplorerForm:
        lines = (line for value in params.getlist("where") for line in value.splitlines())
        return cls(
            by=tuple(b.strip() for b in params.getlist("by") if b.strip()),
            where=tuple(line.strip() for line in lines if line.strip()),
            start=params.get("from", "").strip(),
            end=params.get("to", "").strip(),
            granularity=params.get("granularity", "month").strip() or "month",
            basis=params.get("basis", "effective").strip() or "effective",
            top=params.get("top", "").strip(),
        )

    def query(self) -> CostQuery:
        """The cost query; a :class:`UserError` naming the first bad field."""
        return parse_cost_query(
            by=self.by,
            where=self.where,
            start=self.start,
            end=self.end,
            granularity=self.granularity,
            basis=self.basis,
            top=self._top(),
        )

    def pairs(self) -> list[tuple[str, str]]:
        """The non-empty fields as URL parameters (for links that keep the question)."""
        single = {"from": self.start, "to": self.end, "top": self.top}
        return [
            *(("by", b) for b in self.by),
            *(("where", w) for w in self.where),
            *((k, v) for k, v in single.items() if v),
            ("granularity", self.granularity),
            ("basis", self.basis),
        ]

    def record(self) -> dict[str, Any]:
        return {
            "by": list(self.by),
            "where": list(self.where),
            "from": self.start,
            "to": self.end,
            "granularity": self.granularity,
            "basis": self.basis,
            "top": self.top,
        }

    def _top(self) -> int | None:
        return _whole_number("top", self.top or None)


DEFAULT_FORM = ExplorerForm(by=("ProviderName",), top="10")


@router.get("/explorer")
def explorer(request: Request, principal: Viewer, services: ServicesDep) -> Response:
    form = _form(request.query_params)
    try:
        query = form.query()
        with services.view() as view:
            report = cost_report(view, query, principal.scope)
            dimensions = view.dimensions
    except UserError as error:
        if wants_json(request):
            raise
        context = {**_form_context(form), "error": error.message}
        return render(request, "explorer.html", context, principal=principal, status=400)
    context = {
        **_form_context(form),
        **_result(form, query, report),
        "showback": _showback(dimensions),
        "error": None,
    }
    return render(request, "explorer.html", context, principal=principal)


@router.get("/explorer.csv")
def explorer_csv(request: Request, principal: Viewer, services: ServicesDep) -> Response:
    query = _form(request.query_params).query()
    with services.view() as view:
        report = cost_report(view, query, principal.scope)
    return Response(
        _csv(report),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="costprism-costs.csv"'},
    )


@router.get("/explorer/rows")
def explorer_rows(request: Request, principal: RowViewer, services: ServicesDep) -> Response:
    form = _form(request.query_params)
    cell = _cell(request.query_params)
    cursor = request.query_params.get("cursor") or None
    limit = request.query_params.get("limit") or None
    partial = request.headers.get("HX-Request") == "true"
    template = "partials/explorer_rows.html" if partial else "explorer_rows.html"
    try:
        query = form.query()
        size = _whole_number("limit", limit)
        with services.view() as view:
            page = cost_rows(view, query, principal.scope, cell=cell, limit=size, cursor=cursor)
            explainable = view.allocation is not None
    except UserError as error:
        if wants_json(request):
            raise
        failed: dict[str, Any] = {"error": error.message, "items": [], "cell": cell}
        return render(request, template, failed, principal=principal, status=400)
    context = {
        "items": list(page.items),
        "next": page.next,
        "next_url": _rows_url(form, cell, page.next, limit) if page.next else None,
        "cell": cell,
        "measure": query.measures[0],
        "columns": list(ROW_COLUMNS),
        "query": form.record(),
        "explainable": explainable,
        "error": None,
    }
    return render(request, template, context, principal=principal)


@router.get("/explorer/explain/{row_id}")
def explorer_explain(
    request: Request,
    principal: RowViewer,
    services: ServicesDep,
    row_id: Annotated[int, Path(ge=0, le=2**63 - 1)],
) -> Response:
    """Why the allocation put ledger row ``row_id`` where it is (htmx: the partial only)."""
    found = explain_row(services.ledger, row_id, scope=principal.scope)
    partial = request.headers.get("HX-Request") == "true"
    template = "partials/explain.html" if partial else "explain.html"
    return render(request, template, {"explanation": found.record()}, principal=principal)


def _whole_number(name: str, text: str | None) -> int | None:
    if text is None:
        return None
    if not text.isdigit():
        raise UserError(f"{name} {text!r} is not a whole number like 10", code="usage")
    return int(text)


def _form(params: QueryParams) -> ExplorerForm:
    paging = ("format", "cursor", "limit")
    asked = [k for k in params if k not in paging and not k.startswith(CELL)]
    return ExplorerForm.from_params(params) if asked else DEFAULT_FORM


def _form_context(form: ExplorerForm) -> dict[str, Any]:
    return {
        "query": form.record(),
        "columns_known": list(COMMON_COLUMNS),
        "granularities": list(GRANULARITIES),
        "bases": list(BASES),
    }


def _result(form: ExplorerForm, query: CostQuery, report: CostReport) -> dict[str, Any]:
    records = report.records()
    return {
        "columns": list(report.columns),
        "group_by": list(query.group_by),
        "measure": query.measures[0],
        "has_period": "period" in report.columns,
        "rows": records,
        "rows_urls": [_drill_url(form, query, row) for row in records],
        "table_limit": TABLE_LIMIT,
        "totals": {c: float(m[query.measures[0]]) for c, m in report.totals().items()},
        "csv_url": "/explorer.csv?" + urlencode(form.pairs()),
        "version": report.version,
    }


def _showback(dimensions: Iterable[str]) -> list[dict[str, str]]:
    """Presets: cost by each allocation dimension per billing period (showback)."""
    return [
        {
            "dimension": d,
            "url": "/explorer?" + urlencode({"by": d, "granularity": "billing-period"}),
        }
        for d in dimensions
    ]


def _drill_url(form: ExplorerForm, query: CostQuery, row: Mapping[str, Any]) -> str | None:
    """The rows behind one result row; None for "(other)", which folds many groups."""
    if any(row[k] == OTHER for k in query.group_by):
        return None
    cell = {k: row[k] for k in query.keys}
    return _rows_url(form, cell)


def _rows_url(
    form: ExplorerForm,
    cell: Mapping[str, Any],
    cursor: str | None = None,
    limit: str | None = None,
) -> str:
    pairs = [*form.pairs(), *((CELL + k, "" if v is None else str(v)) for k, v in cell.items())]
    paging = {"limit": limit, "cursor": cursor}
    return "/explorer/rows?" + urlencode([*pairs, *((k, v) for k, v in paging.items() if v)])


def _cell(params: QueryParams) -> dict[str, str | None]:
    """``cell.KEY=VALUE`` parameters as a drill-down cell (an empty value means null)."""
    return {k[len(CELL) :]: (v or None) for k, v in params.items() if k.startswith(CELL)}


def _csv(report: CostReport) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(report.columns)
    writer.writerows(_csv_values(row[c] for c in report.columns) for row in report.rows)
    return out.getvalue()


def _csv_values(values: Iterable[Any]) -> list[str]:
    return [_csv_value(v) for v in values]


def _csv_value(value: Any) -> str:
    """Amounts at full precision, dates in ISO; text that a spreadsheet would run as a
    formula (``=…``, ``+…``, ``@…``) gets a leading apostrophe."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_START) else text
