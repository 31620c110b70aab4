"""A site for the allocation-rules tests (page, API, explain, home KPIs): a real app on its
own small ledger, which these tests change (they apply rule sets).

``rules_site`` is built once per test module: the shared 10k synthetic FOCUS sample
(2026-05, Owner tags ``team-data``, ``team-payments``…) as source ``synthetic``, no rules
applied, a SQLite metadata database with these users, each with a password and an API token:

=============  ============  =================================  ===========================
user           roles         scope                              may
=============  ============  =================================  ===========================
``pat``        practitioner  whole ledger                       manage-rules, view-rows
``fin``        finance       whole ledger                       view-rows (no manage-rules)
``eng``        engineering   ``SubAccountName=data-analytics``  view-rows in that scope
=============  ============  =================================  ===========================
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
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.server import ServerConfig, Services, create_app
from tests.conftest import SYNTHETIC_10K

PASSWORD = "a long enough password"
USERS = {
    "pat": (["practitioner"], []),
    "fin": (["finance"], []),
    "eng": (["engineering"], ["SubAccountName=data-analytics"]),
}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class RulesSite:
    home: Path
    ledger: Ledger
    app: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        found: Services = self.app.state.services
        return found

    def api(self, username: str) -> TestClient:
        headers = {"Authorization": f"Bearer {self.tokens[username]}"}
        return TestClient(self.app, headers=headers, follow_redirects=False)

    def signed_in(self, username: str) -> tuple[TestClient, str]:
        """A client signed in through the login form, and its CSRF token."""
        client = TestClient(self.app, follow_redirects=False)
        token = CSRF_FIELD.search(client.get("/login").text)
        assert token is not None
        form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
        response = client.post("/login", data=form)
        assert response.status_code == 303, response.text
        return client, token.group(1)


@pytest.fixture(scope="module")
def rules_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RulesSite]:
    home = tmp_path_factory.mktemp("rules-site")
    ledger = Ledger.at_home(home)
    ingest([SYNTHETIC_10K], ledger, IngestOptions(source="synthetic"))
    app = create_app(ServerConfig.load(home, database_url=f"sqlite:///{home / 'metadata.db'}"))
    site = RulesSite(home=home, ledger=ledger, app=app)
    db = app.state.services.db
    for username, (roles, scope) in USERS.items():
        add_user(db, actor=None, username=username, roles=roles, scope=scope, password=PASSWORD)
        _, site.tokens[username] = create_token(db, username, actor=None, name="tests")
    yield site
    app.state.services.close()
