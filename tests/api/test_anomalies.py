"""``/api/v1/anomalies``: the records of the capability (figures checked in
tests/capabilities/test_anomalies.py), who sees which anomaly, who may triage, audited
changes, detection, and the JSON shape."""

from __future__ import annotations

import pytest

from costprism.capabilities.access import audit_log
from tests.anomalies_site import AnomalySite, anomalies_site

API = "/api/v1/anomalies"
KEYS = {
    "id", "kind", "rule", "scope", "dimensions", "start", "end", "BillingCurrency", "impact",
    "actual", "expected", "severity", "state", "owner", "route", "drivers", "detected_at",
    "acknowledged_at", "resolved_at",
}  # fmt: skip


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> AnomalySite:
    return anomalies_site(tmp_path_factory)


def test_the_list_has_the_json_shape_and_kpis(site: AnomalySite) -> None:
    response = site.api("an-admin").get(API)
    assert response.status_code == 200
    body = response.json()
    assert len(body["anomalies"]) == 7
    assert all(set(r) == KEYS for r in body["anomalies"])
    assert body["kpis"]["anomalies"] == 7
    security = site.api("an-admin").get(API, params={"kind": "security"}).json()["anomalies"]
    assert {r["rule"] for r in security} == {"new_region", "new_service", "gpu_spend",
                                            "egress_spike"}  # fmt: skip
    assert site.api("an-admin").get(API, params={"state": "nope"}).status_code == 400


def test_scoped_callers_see_only_their_anomalies(site: AnomalySite) -> None:
    payments = site.api("an-payments").get(API).json()["anomalies"]
    data = site.api("an-data").get(API).json()["anomalies"]
    assert {r["scope"]["SubAccountId"] for r in payments} == {"111"}
    assert {r["scope"]["SubAccountId"] for r in data} == {"222"}
    assert len(payments) + len(data) == 7
    other = data[0]["id"]
    assert site.api("an-payments").get(f"{API}/{other}").status_code == 404
    assert site.api("an-data").get(f"{API}/{other}").status_code == 200
    assert site.api().get(API).status_code == 401


def test_triage_needs_the_action_and_is_audited(site: AnomalySite) -> None:
    anomaly = site.api("an-payments").get(API).json()["anomalies"][0]["id"]
    refused = site.api("an-viewer").post(f"{API}/{anomaly}/state", json={"state": "acknowledged"})
    assert refused.status_code == 403
    hidden = site.api("an-data").post(f"{API}/{anomaly}/state", json={"state": "acknowledged"})
    assert hidden.status_code == 404
    moved = site.api("an-payments").post(
        f"{API}/{anomaly}/state", json={"state": "acknowledged", "comment": "mine"}
    )
    assert moved.status_code == 200
    assert moved.json()["state"] == "acknowledged"
    commented = site.api("an-payments").post(f"{API}/{anomaly}/comments", json={"text": "ok"})
    owned = site.api("an-payments").put(f"{API}/{anomaly}/owner", json={"owner": "lin"})
    assert (commented.status_code, owned.json()["owner"]) == (200, "lin")
    bad = site.api("an-payments").post(f"{API}/{anomaly}/state", json={"state": "acknowledged"})
    assert (bad.status_code, bad.json()["error"]["code"]) == (400, "anomalies.bad_transition")
    actions = [e.action for e in audit_log(site.db, limit=50).items]
    assert {"anomalies.acknowledged", "anomalies.comment", "anomalies.owner"} <= set(actions)


def test_detect_runs_within_the_callers_scope(site: AnomalySite) -> None:
    response = site.api("an-data").post(f"{API}/detect", json={"by": ["SubAccountId"]})
    assert response.status_code == 200
    run = response.json()
    assert run["dimensions"] == ["SubAccountId"]
    assert run["found"] >= 1
    assert site.api("an-viewer").post(f"{API}/detect", json={}).status_code == 403
