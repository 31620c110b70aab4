"""``GET /forecast``: the forecast of the caller's scope as charts and a table (and its JSON
twin, ``?format=json``).

The form picks the group-by (a column, ``tag:KEY`` or allocation dimension; empty for the
total), the horizon and the granularity. The figures are
:func:`~costprism.capabilities.forecast.forecast`'s, as in ``GET /api/v1/forecasts`` and
``costprism forecast``. One chart per (group, currency) series, the largest
:data:`MAX_CHARTS` by forecast: the actual cost before the forecast, the point forecast,
and the 80% and 95% bands; the table lists every row. Needs ``view-costs``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from costprism.capabilities.forecast import DEFAULT_HORIZON, Forecast, forecast
from costprism.errors import UserError
from costprism.forecasting.aggregate import GRANULARITIES, period_start
from costprism.roles import Principal
from costprism.server.auth import ServicesDep, allowed
from costprism.server.errors import wants_json
from costprism.web.pages import charts, page_router
from costprism.web.rendering import render, templates

router = page_router()
Viewer = Annotated[Principal, Depends(allowed("view-costs"))]
MAX_CHARTS = 12
HISTORY_DAYS = 90  # actual days shown before a daily forecast
HISTORY_PERIODS = 12  # actual periods shown before a monthly, quarterly or yearly one


@router.get("/forecast")
def forecast_page(
    request: Request,
    principal: Viewer,
    services: ServicesDep,
    by: str | None = None,
    horizon: str | None = None,
    granularity: str | None = None,
) -> Response:
    form = {
        "by": (by or "").strip(),
        "horizon": (horizon or "").strip() or f"{DEFAULT_HORIZON}d",
        "granularity": (granularity or "").strip() or "day",
    }
    context: dict[str, Any] = {
        "form": form, "granularities": list(GRANULARITIES), "forecast": None, "rows": [],
        "history": [], "error": None, "dimensions": [],
    }  # fmt: skip
    try:
        with services.view() as view:
            context["dimensions"] = list(view.dimensions)
            found = forecast(
                view, group_by=[b.strip() for b in form["by"].split(",") if b.strip()],
                horizon=form["horizon"], granularity=form["granularity"], scope=principal.scope,
            )  # fmt: skip
    except UserError as error:
        if wants_json(request):
            raise
        context["error"] = error.message
        return render(request, "forecast.html", context, principal=principal, status=400)
    context["forecast"] = found.summary()
    context["rows"] = found.records()
    context["history"] = history_records(found)
    return render(request, "forecast.html", context, principal=principal)


def history_records(found: Forecast) -> list[dict[str, Any]]:
    """The actual cost shown before the forecast, per series and period (periods wholly
    before the forecast's first; the current period's actual is in its forecast row)."""
    first = period_start(found.start, found.granularity)
    if found.granularity == "day":
        since = found.start - timedelta(days=HISTORY_DAYS)
    else:
        since = first
        for _ in range(HISTORY_PERIODS):
            since = period_start(since - timedelta(days=1), found.granularity)
    records = []
    for series in found.history:
        keys = dict(zip((*found.group_by, "BillingCurrency"), series.key, strict=True))
        sums: dict[date, float] = {}
        for i, amount in enumerate(series.values):
            day = series.start + timedelta(days=i)
            if since <= day < first:
                period = period_start(day, found.granularity)
                sums[period] = sums.get(period, 0.0) + float(amount)
        for period, amount in sorted(sums.items()):
            records.append({**keys, "period": period.isoformat(), found.measure: amount})
    return records


def forecast_figures(
    rows: Sequence[Mapping[str, Any]],
    history: Sequence[Mapping[str, Any]],
    summary: Mapping[str, Any],
) -> list[dict[str, Any]]:
    """One figure per (group, currency) series, the largest :data:`MAX_CHARTS` first."""
    group_by, measure = summary["group_by"], summary["measure"]

    def name(row: Mapping[str, Any]) -> tuple[str, str]:
        return " · ".join(charts.label(row[k]) for k in group_by) or "total", row["BillingCurrency"]

    series: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in rows:
        series.setdefault(name(row), []).append(row)
    past: dict[tuple[str, str], list[Mapping[str, Any]]] = {}
    for row in history:
        past.setdefault(name(row), []).append(row)
    ranked = sorted(series, key=lambda k: -sum(r[measure] for r in series[k]))
    return [_figure(key, past.get(key, []), series[key], measure) for key in ranked[:MAX_CHARTS]]


def _figure(
    key: tuple[str, str],
    past: Sequence[Mapping[str, Any]],
    ahead: Sequence[Mapping[str, Any]],
    measure: str,
) -> dict[str, Any]:
    label, currency = key
    x = [r["period"] for r in ahead]
    traces = [
        _band("95% interval", x, ahead, "lo95", "hi95", "rgba(31,119,180,0.15)"),
        _band("80% interval", x, ahead, "lo80", "hi80", "rgba(31,119,180,0.30)"),
        {
            "type": "scatter", "mode": "lines+markers", "name": "forecast", "x": x,
            "y": [r[measure] for r in ahead], "line": {"color": "#1f77b4", "dash": "dash"},
            "hovertemplate": "%{x}: %{y:,.2f}<extra>forecast</extra>",
        },
        {
            "type": "scatter", "mode": "lines", "name": "actual",
            "x": [r["period"] for r in past], "y": [r[measure] for r in past],
            "line": {"color": "#333"}, "hovertemplate": "%{x}: %{y:,.2f}<extra>actual</extra>",
        },
    ]  # fmt: skip
    return {
        "currency": currency,
        "series": label,
        "data": traces,
        "layout": {
            "height": charts.HEIGHT,
            "margin": {"l": 70, "r": 10, "t": 30, "b": 40},
            "title": {"text": f"{charts.plotly_text(label)} · {currency}", "font": {"size": 13}},
            "yaxis": {"tickformat": ",.0f", "title": {"text": f"{measure} ({currency})"}},
            "legend": {"orientation": "h", "y": -0.15},
            "showlegend": True,
        },
    }


def _band(
    name: str, x: Sequence[str], rows: Sequence[Mapping[str, Any]], lo: str, hi: str, color: str
) -> dict[str, Any]:
    """A filled band: the upper bound forwards, then the lower bound backwards."""
    return {
        "type": "scatter",
        "mode": "lines",
        "name": name,
        "x": [*x, *reversed(x)],
        "y": [*(r[hi] for r in rows), *(r[lo] for r in reversed(rows))],
        "fill": "toself",
        "fillcolor": color,
        "line": {"width": 0},
        "hoverinfo": "skip",
    }


templates.env.globals.update(forecast_figures=forecast_figures)
