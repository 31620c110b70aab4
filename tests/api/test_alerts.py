"""``GET /api/v1/alerts/deliveries``: the alerts history for admins only, as the CLI's."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from costprism.capabilities.alerts import list_deliveries, run_alerts
from tests.alerts_site import SECRET, AlertSite, alert_site, serve

NOW = datetime(2026, 12, 7, 9)


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertSite]:
    with alert_site(tmp_path_factory) as found:
        yield found


def test_admins_read_the_deliveries_and_channels(site: AlertSite) -> None:
    site.http.statuses["/teams"] = 500
    run_alerts(site.view, site.db, site.config(), owners=site.owners, now=NOW)
    served = serve(site)

    answer = served.api("al-admin").get("/api/v1/alerts/deliveries", params={"limit": 1000})

    assert answer.status_code == 200
    body = answer.json()
    assert body["deliveries"] == list_deliveries(site.db, limit=1000)
    assert {d["status"] for d in body["deliveries"]} == {"sent", "failed"}
    failed = served.api("al-admin").get("/api/v1/alerts/deliveries?status=failed").json()
    assert failed["deliveries"]
    assert all(d["channel"] == "data-teams" and "HTTP 500" in d["error"]
               for d in failed["deliveries"])  # fmt: skip
    assert {c["name"] for c in body["channels"]} == {"email", "payments-slack", "data-teams",
                                                      "siem", "file"}  # fmt: skip
    assert SECRET not in answer.text


def test_others_are_refused(site: AlertSite) -> None:
    served = serve(site)

    refused = served.api("al-finance").get("/api/v1/alerts/deliveries")
    assert refused.status_code == 403
    assert "view-alerts needs one of the roles admin" in refused.json()["error"]["message"]
    assert served.api().get("/api/v1/alerts/deliveries").status_code == 401
    bad = served.api("al-admin").get("/api/v1/alerts/deliveries?status=lost")
    assert bad.status_code == 400
