"""The ``/alerts`` page: channels and deliveries for admins, its JSON twin equal to the
API's answer, refused to others."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

import pytest

from costprism.capabilities.alerts import run_alerts
from tests.alerts_site import SECRET, AlertSite, alert_site, serve

NOW = datetime(2026, 12, 7, 9)


@pytest.fixture
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AlertSite]:
    with alert_site(tmp_path_factory) as found:
        yield found


def test_the_page_shows_channels_and_deliveries_with_a_json_twin(site: AlertSite) -> None:
    site.smtp.refuse.add("data-owner@example.com")
    run = run_alerts(site.view, site.db, site.config(), owners=site.owners, now=NOW)
    served = serve(site)
    client = served.signed_in("al-admin")

    page = client.get("/alerts")

    assert page.status_code == 200
    assert 'href="/alerts"' in page.text  # in the navigation
    assert page.text.count('class="channel"') == 5
    assert "HMAC-signed" in page.text
    assert page.text.count('class="delivery ') == len(run.outcomes)
    assert page.text.count('class="delivery failed"') == run.count("failed") > 0
    assert "550" in page.text
    assert SECRET not in page.text
    twin = client.get("/alerts?format=json").json()
    api = served.api("al-admin").get("/api/v1/alerts/deliveries").json()
    assert twin["deliveries"] == api["deliveries"]
    assert twin["channels"] == api["channels"]
    failed = client.get("/alerts?status=failed&format=json").json()["deliveries"]
    assert len(failed) == run.count("failed")
    bad = client.get("/alerts?status=lost")
    assert bad.status_code == 400
    assert "--status &#39;lost&#39;: use sent or failed" in bad.text


def test_the_page_is_for_admins_only(site: AlertSite) -> None:
    served = serve(site)
    client = served.signed_in("al-finance")

    assert client.get("/alerts").status_code == 403
    assert 'href="/alerts"' not in client.get("/").text
    empty = served.signed_in("al-admin").get("/alerts")
    assert "Nothing sent yet." in empty.text
    assert "No channels yet" in empty.text
