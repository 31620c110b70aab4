"""``/api/v1/forecasts`` answers the capability's records over the caller's scope; saved
versions, accuracy and drift; who may do what."""

from __future__ import annotations

from costprism.capabilities.forecast import forecast
from costprism.capabilities.forecast_versions import forecast_versions
from costprism.db import AuditEvent
from costprism.engine.backends import open_ledger
from costprism.engine.filters import parse_filters
from tests.web.fixtures_forecast import ForecastSite, forecast_site  # noqa: F401 (the fixture)


def test_the_forecast_is_the_capabilitys_records(forecast_site: ForecastSite) -> None:  # noqa: F811
    params = {"by": "team", "horizon": "30d", "granularity": "month"}
    response = forecast_site.api("pat").get("/api/v1/forecasts", params=params)
    assert response.status_code == 200, response.text
    expected = forecast(
        open_ledger(forecast_site.ledger), group_by=["team"], horizon="30d", granularity="month"
    )
    assert response.json() == expected.records()
    first = response.json()[0]
    assert set(first) >= {"team", "BillingCurrency", "period", "EffectiveCost", "lo80", "hi80",
                          "lo95", "hi95"}  # fmt: skip


def test_the_callers_scope_and_where_narrow_it(forecast_site: ForecastSite) -> None:  # noqa: F811
    params = {"by": ["ServiceName"], "where": "ServiceName=Object Storage", "horizon": "10d"}
    body = forecast_site.api("fin").get("/api/v1/forecasts", params=params).json()
    expected = forecast(
        open_ledger(forecast_site.ledger), group_by=["ServiceName"], horizon="10d",
        filters=parse_filters(["ServiceName=Object Storage"]),
        scope=parse_filters(["tag:team=payments"]),
    )  # fmt: skip
    assert body == expected.records()
    assert {r["ServiceName"] for r in body} == {"Object Storage"}


def test_errors_and_access(forecast_site: ForecastSite) -> None:  # noqa: F811
    client = forecast_site.api("pat")
    bad = client.get("/api/v1/forecasts", params={"horizon": "soon"})
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "usage"
    assert forecast_site.client().get("/api/v1/forecasts").status_code == 401
    assert forecast_site.client().get("/api/v1/forecasts/versions").status_code == 401
    refused = forecast_site.api("sec").post("/api/v1/forecasts/versions", json={})
    assert refused.status_code == 403
    assert "save-forecasts" in refused.json()["error"]["message"]
    missing = client.get("/api/v1/forecasts/versions/99/accuracy")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "forecast.unknown"


def test_versions_are_saved_audited_and_seen_by_scope(forecast_site: ForecastSite) -> None:  # noqa: F811
    pat, fin = forecast_site.api("pat"), forecast_site.api("fin")
    saved = pat.post("/api/v1/forecasts/versions", json={"by": ["team"], "horizon": "20d"})
    assert saved.status_code == 201, saved.text
    whole = saved.json()
    assert whole["group_by"] == ["team"]
    assert whole["scope"] == []
    mine = fin.post("/api/v1/forecasts/versions", json={"by": ["team"], "horizon": "20d"}).json()
    assert mine["scope"] == ["tag:team=payments"]
    assert [v["version"] for v in pat.get("/api/v1/forecasts/versions").json()] == [
        whole["version"], mine["version"],
    ]  # fmt: skip
    assert [v["version"] for v in fin.get("/api/v1/forecasts/versions").json()] == [mine["version"]]
    hidden = fin.get(f"/api/v1/forecasts/versions/{whole['version']}/accuracy")
    assert hidden.status_code == 404
    stored = forecast_versions(forecast_site.ledger)
    assert [v.version for v in stored] == [whole["version"], mine["version"]]
    with forecast_site.app.state.services.db.session() as session:
        events = session.query(AuditEvent).filter_by(action="forecast.save").all()
        assert sorted((e.actor, e.target) for e in events) == [
            ("fin", f"forecast version {mine['version']}"),
            ("pat", f"forecast version {whole['version']}"),
        ]


def test_accuracy_and_drift_answer_their_records(forecast_site: ForecastSite) -> None:  # noqa: F811
    pat = forecast_site.api("pat")
    first = pat.post("/api/v1/forecasts/versions", json={"horizon": "15d"}).json()["version"]
    second = pat.post("/api/v1/forecasts/versions", json={"horizon": "10d"}).json()["version"]
    accuracy = pat.get(f"/api/v1/forecasts/versions/{first}/accuracy").json()
    assert accuracy["kind"] == "accuracy"
    assert accuracy["first_day"] is None  # none of its days is complete yet
    drift = pat.get(
        "/api/v1/forecasts/drift", params={"previous": first, "new": second, "granularity": "day"}
    ).json()
    assert drift["first_day"] == "2026-05-21"
    assert drift["last_day"] == "2026-05-30"
    assert all(r["drift"] == 0 for r in drift["rows"])  # the same ledger, the same models
    other = pat.post("/api/v1/forecasts/versions", json={"by": ["team"]}).json()["version"]
    refused = pat.get("/api/v1/forecasts/drift", params={"previous": first, "new": other})
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "forecast.incomparable"
