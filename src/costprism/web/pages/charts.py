"""Plotly figures (plain dicts) and number formats for the pages; ``static/charts.js`` draws.

A chart is ``<div class="chart" data-figure='{"data": […], "layout": {…}}'>``; the browser
script hands the two to ``Plotly.newPlot``. Figures are built here, in Python, from the
same records the JSON twins return, one figure per ``BillingCurrency`` (stacking two
currencies would add them up). Importing this module installs the filters ``money`` and
``percent`` and the globals ``trend_figures``, ``report_figures`` and ``tag_figures`` in the page
templates.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from costprism.engine.query import OTHER
from costprism.web.rendering import templates

NONE_LABEL = "(none)"
HEIGHT = 340
MAX_SERIES = 40  # a chart with more stacked series than this is unreadable; the table has all


def money(amount: float | Decimal | None, currency: str) -> str:
    """``12,345.67 USD``: thousands separators, two decimals, the currency named."""
    if amount is None:
        return "—"
    return f"{amount:,.2f} {currency}"


def percent(change: float | None) -> str:
    """``+12.3%`` (``—`` when there is nothing to compare with)."""
    return "—" if change is None else f"{change:+.1%}"


def label(value: Any) -> str:
    """How a group value reads in a chart or table: rows without one show ``(none)``."""
    return NONE_LABEL if value is None else str(value)


def trend_figures(panel: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One stacked monthly bar chart per currency of a ``trend`` panel record."""
    months = panel["months"]
    return [
        _figure(
            currency=block["BillingCurrency"],
            measure=panel["measure"],
            traces=[_bar(label(s["name"]), months, s["values"]) for s in block["series"]],
        )
        for block in panel["currencies"]
    ]


def report_figures(
    rows: Sequence[Mapping[str, Any]], group_by: Sequence[str], measure: str, has_period: bool
) -> list[dict[str, Any]]:
    """One stacked bar chart per currency of a cost report's records: periods along x
    (or the groups, for a total), one series per group."""
    by_currency: dict[str, dict[str, dict[str, float]]] = {}
    for row in rows:
        name = " · ".join(label(row[k]) for k in group_by) or "total"
        x = row["period"] if has_period else name
        points = by_currency.setdefault(row["BillingCurrency"], {}).setdefault(name, {})
        points[x] = row[measure] or 0.0  # one record per group, currency and period
    figures = []
    for currency, series in by_currency.items():
        figure = _figure(currency=currency, measure=measure, traces=_traces(series))
        figures.append({**figure, "series_left_out": max(0, len(series) - MAX_SERIES)})
    return figures


def tag_figures(report: Mapping[str, Any]) -> list[dict[str, Any]]:
    """One chart per currency of a tag report record (see
    :func:`~costprism.capabilities.tag_governance.tag_report`): per month, the taggable cost
    stacked as compliant, tagged but not compliant, and untagged; the two KPIs as lines in
    percent on the right-hand axis."""
    by_currency: dict[str, list[Mapping[str, Any]]] = {}
    for row in report["trend"]:
        by_currency.setdefault(row["BillingCurrency"], []).append(row)
    figures = []
    for currency, rows in by_currency.items():
        months = [r["month"] for r in rows]
        other = [r["taggable_cost"] - r["compliant_cost"] - r["untagged_cost"] for r in rows]
        traces = [
            _bar("compliant", months, [r["compliant_cost"] for r in rows]),
            _bar("tagged, not compliant", months, other),
            _bar("untagged", months, [r["untagged_cost"] for r in rows]),
            _line("% compliant", months, [r["compliant_percent"] for r in rows]),
            _line("% untagged", months, [r["untagged_percent"] for r in rows]),
        ]
        figure = _figure(currency=currency, measure=f"taggable {report['measure']}", traces=traces)
        figure["layout"]["yaxis2"] = {
            "overlaying": "y",
            "side": "right",
            "range": [0, 100],
            "ticksuffix": "%",
            "showgrid": False,
        }
        figure["layout"]["margin"]["r"] = 50
        figures.append(figure)
    return figures


def _line(name: str, x: Sequence[Any], y: Sequence[float | None]) -> dict[str, Any]:
    return {
        "type": "scatter",
        "mode": "lines+markers",
        "name": name,
        "x": list(x),
        "y": list(y),
        "yaxis": "y2",
        "hovertemplate": "%{x}: %{y:.2f}%<extra>" + name + "</extra>",
    }


def _traces(series: Mapping[str, Mapping[str, float]]) -> list[dict[str, Any]]:
    names = sorted(series, key=lambda n: (n == OTHER, -sum(series[n].values()), n))
    return [
        _bar(n, sorted(series[n]), [series[n][x] for x in sorted(series[n])])
        for n in names[:MAX_SERIES]
    ]


def _bar(name: str, x: Sequence[Any], y: Sequence[float]) -> dict[str, Any]:
    shown = plotly_text(name)
    return {
        "type": "bar",
        "name": shown,
        "x": [plotly_text(v) if isinstance(v, str) else v for v in x],
        "y": list(y),
        "hovertemplate": "%{x}: %{y:,.2f}<extra>" + shown + "</extra>",
    }


def plotly_text(text: str) -> str:
    """``text`` as Plotly shows it literally: Plotly reads a few HTML tags (``<b>``,
    ``<a href>``) in names and labels, and a tag value is data, not markup."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _figure(*, currency: str, measure: str, traces: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "currency": currency,
        "data": traces,
        "layout": {
            "barmode": "stack",
            "height": HEIGHT,
            "margin": {"l": 70, "r": 10, "t": 30, "b": 40},
            "title": {"text": f"{measure} · {currency}", "font": {"size": 13}},
            "yaxis": {"tickformat": ",.0f", "title": {"text": currency}},
            "xaxis": {"type": "category"},
            "legend": {"orientation": "h", "y": -0.15},
            "showlegend": True,
        },
    }


templates.env.filters.update(money=money, percent=percent, label=label)
templates.env.globals.update(
    trend_figures=trend_figures, report_figures=report_figures, tag_figures=tag_figures
)
