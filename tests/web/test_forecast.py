"""``GET /forecast``: the capability's rows over the caller's scope as charts and a table,
the JSON twin, errors on the page."""

from __future__ import annotations

import json
import re

from costprism.capabilities.forecast import forecast
from costprism.engine.backends import open_ledger
from costprism.engine.filters import parse_filters
from tests.web.fixtures_forecast import ForecastSite, forecast_site  # noqa: F401 (the fixture)

FIGURE = re.compile(
    r"<div class=\"chart\" data-currency=\"(\w+)\" data-series=\"([^\"]+)\" "
    r"data-figure='([^']+)'>"
)


def test_the_page_draws_actual_forecast_and_bands(forecast_site: ForecastSite) -> None:  # noqa: F811
    html = forecast_site.signed_in("pat").get("/forecast?by=team&horizon=30d").text
    figures = FIGURE.findall(html)
    assert sorted((c, s) for c, s, _ in figures) == [
        ("EUR", "data"), ("USD", "data"), ("USD", "payments"),
    ]  # fmt: skip
    payments = json.loads(next(raw for c, s, raw in figures if s == "payments"))
    names = [t["name"] for t in payments["data"]]
    assert names == ["95% interval", "80% interval", "forecast", "actual"]
    band, _, line, actual = payments["data"]
    assert len(line["x"]) == 30
    assert line["x"][0] == "2026-05-21"
    assert len(band["x"]) == 60  # the upper bound forwards, the lower backwards
    assert actual["x"][-1] == "2026-05-20"
    assert len(actual["x"]) == 90
    assert '<a href="/forecast">Forecast</a>' in html
    assert "the day after the last complete day in the ledger" in html
    table = html[html.index('id="table"') :]
    assert table.count("<tr>") == 1 + 3 * 30


def test_the_json_twin_is_the_capability_over_the_callers_scope(
    forecast_site: ForecastSite,  # noqa: F811
) -> None:
    body = forecast_site.signed_in("fin").get(
        "/forecast?by=ServiceName&horizon=2m&granularity=month&format=json"
    )
    assert body.status_code == 200
    found = forecast(
        open_ledger(forecast_site.ledger), group_by=["ServiceName"], horizon="2m",
        granularity="month", scope=parse_filters(["tag:team=payments"]),
    )  # fmt: skip
    twin = body.json()
    assert twin["rows"] == found.records()
    assert twin["forecast"]["granularity"] == "month"
    assert twin["forecast"]["scope"] == ["tag:team=payments"]
    history = [h for h in twin["history"] if h["ServiceName"] == "Object Storage"]
    assert [h["period"] for h in history][-1] == "2026-04-01"  # months before May
    assert history[-1]["EffectiveCost"] == 30.0 * 30  # April: 30 a day


def test_errors_show_on_the_page_and_in_the_twin(forecast_site: ForecastSite) -> None:  # noqa: F811
    client = forecast_site.signed_in("pat")
    page = client.get("/forecast?horizon=soon")
    assert page.status_code == 400
    assert 'id="forecast-error"' in page.text
    assert "horizon &#39;soon&#39; is not a number of days" in page.text
    twin = client.get("/forecast?by=Nope&format=json")
    assert twin.status_code == 400
    assert twin.json()["error"]["code"] == "query.unknown_column"


def test_signed_out_is_sent_to_sign_in(forecast_site: ForecastSite) -> None:  # noqa: F811
    response = forecast_site.client().get("/forecast?by=team")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fforecast%3Fby%3Dteam"
