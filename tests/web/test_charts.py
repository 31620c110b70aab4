"""The figures and number formats the pages draw with (``costprism.web.pages.charts``)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from costprism.engine.query import OTHER
from costprism.web.pages.charts import (
    MAX_SERIES,
    label,
    money,
    percent,
    plotly_text,
    report_figures,
    tag_figures,
    trend_figures,
)
from costprism.web.rendering import templates


@pytest.mark.parametrize(
    ("amount", "currency", "shown"),
    [
        (1234567.891, "USD", "1,234,567.89 USD"),
        (Decimal("-4865.035"), "EUR", "-4,865.04 EUR"),
        (0, "JPY", "0.00 JPY"),
        (None, "USD", "—"),
    ],
)
def test_money_has_thousands_separators_and_names_the_currency(
    amount: Any, currency: str, shown: str
) -> None:
    assert money(amount, currency) == shown


def test_percent_and_label() -> None:
    assert (percent(0.1234), percent(-0.05), percent(None)) == ("+12.3%", "-5.0%", "—")
    assert (label(None), label("AWS")) == ("(none)", "AWS")


def test_the_page_templates_have_the_filters_and_figure_builders() -> None:
    assert templates.env.filters["money"] is money
    assert templates.env.globals["trend_figures"] is trend_figures


def test_a_trend_gets_one_stacked_figure_per_currency() -> None:
    panel = {
        "measure": "BilledCost",
        "months": ["2026-04", "2026-05"],
        "currencies": [
            {"BillingCurrency": "USD", "series": [{"name": "AWS", "values": [1.0, 2.0]}]},
            {"BillingCurrency": "EUR", "series": [{"name": None, "values": [3.0, 4.0]}]},
        ],
    }
    usd, eur = trend_figures(panel)
    assert (usd["currency"], eur["currency"]) == ("USD", "EUR")
    assert usd["layout"]["barmode"] == "stack"
    assert usd["layout"]["title"]["text"] == "BilledCost · USD"
    assert usd["data"] == [
        {
            "type": "bar",
            "name": "AWS",
            "x": ["2026-04", "2026-05"],
            "y": [1.0, 2.0],
            "hovertemplate": "%{x}: %{y:,.2f}<extra>AWS</extra>",
        }
    ]
    assert eur["data"][0]["name"] == "(none)"


def records(groups: list[tuple[str | None, str, str, float]]) -> list[dict[str, Any]]:
    return [
        {"ServiceName": g, "BillingCurrency": c, "period": p, "EffectiveCost": v}
        for g, c, p, v in groups
    ]


def test_report_figures_never_stack_two_currencies() -> None:
    rows = records(
        [
            ("EC2", "USD", "2026-04-01", 10.0),
            ("EC2", "USD", "2026-05-01", 12.0),
            (OTHER, "USD", "2026-05-01", 99.0),
            ("VMs", "EUR", "2026-05-01", 5.0),
        ]
    )
    usd, eur = report_figures(rows, ["ServiceName"], "EffectiveCost", has_period=True)
    assert [(t["name"], t["x"], t["y"]) for t in usd["data"]] == [
        ("EC2", ["2026-04-01", "2026-05-01"], [10.0, 12.0]),
        (OTHER, ["2026-05-01"], [99.0]),
    ]
    assert [(t["name"], t["y"]) for t in eur["data"]] == [("VMs", [5.0])]
    total = report_figures(rows[:2], [], "EffectiveCost", has_period=False)
    assert [t["name"] for t in total[0]["data"]] == ["total"]


def test_report_figures_leave_out_the_smallest_series_past_the_limit() -> None:
    rows = records([(f"s{i:03}", "USD", "2026-05-01", float(i)) for i in range(MAX_SERIES + 3)])
    [figure] = report_figures(rows, ["ServiceName"], "EffectiveCost", has_period=True)
    assert len(figure["data"]) == MAX_SERIES
    assert figure["series_left_out"] == 3
    assert "s000" not in {t["name"] for t in figure["data"]}


def test_names_that_look_like_markup_are_shown_literally() -> None:
    assert plotly_text("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"
    rows = records([('<a href="javascript:alert(1)">', "USD", "2026-05-01", 1.0)])
    [figure] = report_figures(rows, ["ServiceName"], "EffectiveCost", has_period=False)
    [trace] = figure["data"]
    assert "<a" not in trace["name"]
    assert "<a" not in trace["x"][0]


def test_tag_figures_stack_taggable_cost_and_draw_the_kpis_as_lines() -> None:
    month = {
        "taggable_cost": 100.0, "compliant_cost": 60.0, "untagged_cost": 15.0,
        "compliant_percent": 60.0, "untagged_percent": 15.0,
    }  # fmt: skip
    report = {
        "measure": "EffectiveCost",
        "trend": [
            {**month, "month": "2026-04", "BillingCurrency": "USD"},
            {**month, "month": "2026-04", "BillingCurrency": "EUR", "untagged_percent": None},
            {**month, "month": "2026-05", "BillingCurrency": "USD", "compliant_cost": 70.0},
        ],
    }
    usd, eur = tag_figures(report)
    assert (usd["currency"], eur["currency"]) == ("USD", "EUR")
    bars = {t["name"]: t["y"] for t in usd["data"] if t["type"] == "bar"}
    assert bars == {
        "compliant": [60.0, 70.0],
        "tagged, not compliant": [25.0, 15.0],
        "untagged": [15.0, 15.0],
    }
    lines = [t for t in usd["data"] if t["type"] == "scatter"]
    assert [t["yaxis"] for t in lines] == ["y2", "y2"]
    assert usd["layout"]["barmode"] == "stack"
    assert usd["layout"]["yaxis2"]["range"] == [0, 100]
    assert [t["y"] for t in eur["data"] if t["name"] == "% untagged"] == [[None]]
    assert tag_figures({"measure": "EffectiveCost", "trend": []}) == []
