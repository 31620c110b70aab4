"""The ``/anomalies`` pages: the list with KPIs, an anomaly's detail with the actual vs
expected chart, drivers and history, the triage forms (CSRF-protected, audited), each
page's JSON twin equal to the API's records, and scopes."""

from __future__ import annotations

import json
import re

import pytest

from costprism.capabilities.access import audit_log
from tests.anomalies_site import AnomalySite, anomalies_site, csrf


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> AnomalySite:
    return anomalies_site(tmp_path_factory)


def test_the_list_page_and_its_json_twin(site: AnomalySite) -> None:
    client = site.signed_in("an-admin")
    page = client.get("/anomalies")
    assert page.status_code == 200
    assert page.text.count('class="anomaly ') == 7
    assert 'id="anomaly-kpis"' in page.text
    assert 'href="/anomalies"' in page.text  # in the navigation
    twin = client.get("/anomalies?format=json").json()
    api = site.api("an-admin").get("/api/v1/anomalies").json()
    assert twin["anomalies"] == api["anomalies"]
    assert twin["kpis"] == api["kpis"]
    bad = client.get("/anomalies?severity=huge")
    assert bad.status_code == 400
    assert "--severity &#39;huge&#39;: use one of low" in bad.text


def test_the_detail_page_has_the_chart_drivers_and_triage(site: AnomalySite) -> None:
    client = site.signed_in("an-payments")
    listed = client.get("/anomalies?format=json").json()["anomalies"]
    anomaly = next(
        a for a in listed if a["kind"] == "cost" and a["scope"]["ServiceName"] == "Compute Service"
    )
    page = client.get(f"/anomalies/{anomaly['id']}")
    assert page.status_code == 200
    (figure,) = [json.loads(f.replace("&#39;", "'"))
                 for f in re.findall(r"data-figure='([^']+)'", page.text)]  # fmt: skip
    assert [t["name"] for t in figure["data"]] == ["actual", "expected", "anomalous days"]
    flagged = [d for d, y in zip(figure["data"][2]["x"], figure["data"][2]["y"], strict=True)
               if y is not None]  # fmt: skip
    assert (flagged[0], flagged[-1]) == (anomaly["start"], anomaly["end"])
    assert anomaly["drivers"][0]["value"] in page.text
    assert 'value="acknowledged"' in page.text
    twin = client.get(f"/anomalies/{anomaly['id']}?format=json").json()
    assert (
        twin["anomaly"] == site.api("an-payments").get(f"/api/v1/anomalies/{anomaly['id']}").json()
    )
    token = csrf(page.text)
    form = {"state": "acknowledged", "comment": "on it", "csrf_token": token}
    moved = client.post(f"/anomalies/{anomaly['id']}/state", data=form)
    assert moved.status_code == 303
    client.post(
        f"/anomalies/{anomaly['id']}/comment", data={"text": "deploy 42", "csrf_token": token}
    )
    client.post(f"/anomalies/{anomaly['id']}/owner", data={"owner": "lin", "csrf_token": token})
    after = client.get(f"/anomalies/{anomaly['id']}?format=json").json()["anomaly"]
    assert (after["state"], after["owner"]) == ("acknowledged", "lin")
    assert [h["kind"] for h in after["history"]] == ["detected", "state", "comment", "owner"]
    assert "anomalies.acknowledged" in {e.action for e in audit_log(site.db, limit=50).items}
    forged = client.post(f"/anomalies/{anomaly['id']}/state", data={"state": "resolved"})
    assert forged.status_code == 403


def test_scopes_and_permissions(site: AnomalySite) -> None:
    data = site.signed_in("an-data")
    mine = data.get("/anomalies?format=json").json()["anomalies"]
    assert {a["scope"]["SubAccountId"] for a in mine} == {"222"}
    payments = site.signed_in("an-payments").get("/anomalies?format=json").json()["anomalies"]
    assert data.get(f"/anomalies/{payments[0]['id']}").status_code == 404
    viewer = site.signed_in("an-viewer")
    page = viewer.get(f"/anomalies/{mine[0]['id']}")
    assert page.status_code == 200
    assert 'value="acknowledged"' not in page.text
    token = csrf(page.text)
    refused = viewer.post(f"/anomalies/{mine[0]['id']}/state",
                          data={"state": "acknowledged", "csrf_token": token})  # fmt: skip
    assert refused.status_code == 403
