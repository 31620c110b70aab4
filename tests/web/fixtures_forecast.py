"""A site for the forecast tests (page and API): a real app over the constructed forecast
ledger of ``tests/forecast_ledger.py`` (teams payments and data, through 2026-05-20), a
SQLite metadata database and these users, each with a password and an API token:

=======  ============  ======================  ========================================
user     roles         scope                   may save forecast versions
=======  ============  ======================  ========================================
``pat``  practitioner  whole ledger            yes
``fin``  finance       ``tag:team=payments``   yes
``sec``  security      whole ledger            no
=======  ============  ======================  ========================================
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from costprism.capabilities.access import add_user, create_token
from costprism.ledger import Ledger
from costprism.server import ServerConfig, create_app
from tests.forecast_ledger import apply_team_rules, build_home, forecast_sources

PASSWORD = "a long enough password"
USERS = {
    "pat": (["practitioner"], []),
    "fin": (["finance"], ["tag:team=payments"]),
    "sec": (["security"], []),
}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class ForecastSite:
    home: Path
    ledger: Ledger
    app: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self) -> TestClient:
        return TestClient(self.app, follow_redirects=False)

    def api(self, username: str) -> TestClient:
        headers = {"Authorization": f"Bearer {self.tokens[username]}"}
        return TestClient(self.app, headers=headers, follow_redirects=False)

    def signed_in(self, username: str) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        token = CSRF_FIELD.search(client.get("/login").text)
        assert token is not None
        form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
        assert client.post("/login", data=form).status_code == 303
        return client


@pytest.fixture(scope="module")
def forecast_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ForecastSite]:
    home = tmp_path_factory.mktemp("forecast-site")
    ledger = build_home(home, forecast_sources())
    apply_team_rules(ledger)
    config = ServerConfig.load(home, database_url=f"sqlite:///{home / 'metadata.db'}")
    site = ForecastSite(home=home, ledger=ledger, app=create_app(config))
    db = site.app.state.services.db
    for username, (roles, scope) in USERS.items():
        add_user(db, actor=None, username=username, roles=roles, scope=scope, password=PASSWORD)
        _, secret = create_token(db, username, actor=None, name="tests")
        site.tokens[username] = secret
    yield site
    site.app.state.services.close()
