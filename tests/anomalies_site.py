"""A site for the anomaly tests (API, pages, CLI): a copy of the shop ledger
(tests/anomaly_ledger.py) with its own SQLite metadata database, anomalies detected by
``SubAccountId × ServiceName`` (with the security rules), and these users, each with a
password and an API token:

=================  ===========  ======================  ==================================
user               roles        scope                   sees
=================  ===========  ======================  ==================================
``an-admin``       admin        whole ledger            every anomaly; may triage
``an-payments``    engineering  ``tag:team=payments``   account 111's anomalies; may triage
``an-data``        security     ``SubAccountId=222``    account 222's anomalies; may triage
``an-viewer``      procurement  whole ledger            every anomaly; may not triage
=================  ===========  ======================  ==================================

:func:`anomalies_site` builds a new one per call (tests triage anomalies).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from costprism.capabilities.access import add_user, create_token
from costprism.capabilities.anomalies import detect_anomalies
from costprism.db import Database
from costprism.engine.backends import open_ledger
from costprism.ledger import Ledger
from costprism.server import ServerConfig, create_app
from tests.anomaly_ledger import shop_home

PASSWORD = "a long enough password"
USERS: dict[str, tuple[list[str], list[str]]] = {
    "an-admin": (["admin"], []),
    "an-payments": (["engineering"], ["tag:team=payments"]),
    "an-data": (["security"], ["SubAccountId=222"]),
    "an-viewer": (["procurement"], []),
}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class AnomalySite:
    home: Path
    app: FastAPI
    db: Database
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, username: str | None = None) -> TestClient:
        headers = {"Authorization": f"Bearer {self.tokens[username]}"} if username else {}
        return TestClient(self.app, headers=headers, follow_redirects=False)

    def signed_in(self, username: str) -> TestClient:
        client = TestClient(self.app, follow_redirects=False)
        client.post("/login", data={"username": username, "password": PASSWORD,
                                     "csrf_token": csrf(client.get("/login").text)})  # fmt: skip
        assert client.cookies.get("costprism_session")
        return client


def csrf(page: str) -> str:
    found = _CSRF.search(page)
    assert found is not None
    return found.group(1)


def anomalies_site(factory: pytest.TempPathFactory) -> AnomalySite:
    home = factory.mktemp("anomalies-site")
    shutil.copytree(shop_home(factory), home, dirs_exist_ok=True)
    database = home / "metadata.db"
    app = create_app(ServerConfig.load(home, database_url=f"sqlite:///{database}"))
    db: Database = app.state.services.db
    site = AnomalySite(home=home, app=app, db=db)
    for username, (roles, scope) in USERS.items():
        add_user(db, actor=None, username=username, roles=roles, scope=scope, password=PASSWORD)
        _, site.tokens[username] = create_token(db, username, actor=None, name="tests")
    detect_anomalies(open_ledger(Ledger.at_home(home)), db, actor="setup")
    return site
