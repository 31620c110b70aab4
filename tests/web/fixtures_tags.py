"""A site for the tag governance tests (page, API, home panels): a real app on its own small
ledger with a tag policy in force, and a bare one without a policy.

``tags_site`` is built once per test module: the shared 10k synthetic FOCUS sample (2026-05)
and the FOCUS 1.0 sample (2024-09), the policy ``STRICT`` of ``tests/engine/test_tagging.py``
applied, a SQLite metadata database with these users, each with a password and an API token:

=======  ============  ===========================  =========================================
user     roles         scope
=======  ============  ===========================  =========================================
``pat``  practitioner  whole ledger
``fin``  finance       ``tag:Owner=team-data``      sees only that owner's charges
``eng``  engineering   whole ledger                 (no tag-compliance panel on its home)
=======  ============  ===========================  =========================================

``tags_site.bare`` is an app over an empty home with no policy and the user ``pat``.
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
from costprism.capabilities.tag_governance import apply_policy
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.server import ServerConfig, Services, create_app
from tests.conftest import SAMPLE_1000, SYNTHETIC_10K
from tests.engine.test_tagging import STRICT

PASSWORD = "a long enough password"
USERS = {
    "pat": (["practitioner"], []),
    "fin": (["finance"], ["tag:Owner=team-data"]),
    "eng": (["engineering"], []),
}
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class TagsSite:
    home: Path
    ledger: Ledger
    app: FastAPI
    bare: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def services(self) -> Services:
        found: Services = self.app.state.services
        return found

    def client(self) -> TestClient:
        """A client with no credentials."""
        return TestClient(self.app, follow_redirects=False)

    def api(self, username: str, *, bare: bool = False) -> TestClient:
        """A client sending ``username``'s API token (of the bare app with ``bare``)."""
        token = self.tokens[f"bare:{username}" if bare else username]
        headers = {"Authorization": f"Bearer {token}"}
        return TestClient(self.bare if bare else self.app, headers=headers, follow_redirects=False)

    def signed_in(self, username: str, *, bare: bool = False) -> TestClient:
        """A client signed in through the login form (to the bare app with ``bare``)."""
        client = TestClient(self.bare if bare else self.app, follow_redirects=False)
        token = CSRF_FIELD.search(client.get("/login").text)
        assert token is not None
        form = {"username": username, "password": PASSWORD, "csrf_token": token.group(1)}
        response = client.post("/login", data=form)
        assert response.status_code == 303, response.text
        return client


def _app(home: Path) -> FastAPI:
    return create_app(ServerConfig.load(home, database_url=f"sqlite:///{home / 'metadata.db'}"))


@pytest.fixture(scope="module")
def tags_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TagsSite]:
    home = tmp_path_factory.mktemp("tags-site")
    ledger = Ledger.at_home(home)
    ingest([SYNTHETIC_10K], ledger, IngestOptions(source="synthetic"))
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))
    apply_policy(ledger, STRICT)
    bare_home = tmp_path_factory.mktemp("tags-bare")
    site = TagsSite(home=home, ledger=ledger, app=_app(home), bare=_app(bare_home))
    for app, users in ((site.app, USERS), (site.bare, {"pat": USERS["pat"]})):
        db = app.state.services.db
        for username, (roles, scope) in users.items():
            add_user(db, actor=None, username=username, roles=roles, scope=scope, password=PASSWORD)
            _, secret = create_token(db, username, actor=None, name="tests")
            site.tokens[username if app is site.app else f"bare:{username}"] = secret
    yield site
    site.app.state.services.close()
    site.bare.state.services.close()
