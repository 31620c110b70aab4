"""The home-page and explorer tests' site: a real app over a small ingested demo ledger.

``role_site`` is built once per test session: two months of the Northwind demo (April and
May 2026, about 40,000 rows) ingested as source ``demo``, a SQLite metadata database in
the same home with one user per role (``home-<role>``, twelve with ``home-admin``) and a
user holding two roles, made through :func:`~costprism.capabilities.access.add_user`:

====================  ==========================  =====================================
user                  roles                       scope
====================  ==========================  =====================================
``home-engineering``  engineering                 ``tag:team=payments``
``home-product``      product                     ``tag:product=checkout``
``home-finance``      finance                     ``tag:CostCenter in (CC-110, cc-110)``
``home-<other>``      that role                   the whole ledger
``home-two-roles``    management, procurement     the whole ledger
====================  ==========================  =====================================

Tests must not change it. ``role_site.signed_in(user)`` is a TestClient signed in through
the login form; ``live_server`` serves the same app with uvicorn on a free loopback port
(for the browser test).
"""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient

from costprism.capabilities.access import add_user, scope_filters
from costprism.demo import DemoSpec, generate
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.filters import Filter
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.roles import ROLES
from costprism.server import ServerConfig, Services, create_app

DEMO = DemoSpec(seed=7, months=2, end_month=date(2026, 5, 1), rows_per_month=20_000)
PASSWORD = "a long enough password"
SCOPES: dict[str, tuple[str, ...]] = {
    "engineering": ("tag:team=payments",),
    "product": ("tag:product=checkout",),
    "finance": ("tag:CostCenter in (CC-110, cc-110)",),
}
TWO_ROLES = "home-two-roles"
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def user_of(role: str) -> str:
    return f"home-{role}"


@dataclass(frozen=True, kw_only=True)
class RoleSite:
    home: Path
    ledger: Ledger
    app: FastAPI

    @property
    def services(self) -> Services:
        found: Services = self.app.state.services
        return found

    def client(self) -> TestClient:
        """A client with no cookies."""
        return TestClient(self.app, follow_redirects=False)

    def signed_in(self, username: str) -> TestClient:
        """A client signed in as ``username`` through the login form."""
        client = self.client()
        form = client.get("/login")
        token = _CSRF_FIELD.search(form.text)
        assert token is not None, form.text
        response = client.post(
            "/login",
            data={"username": username, "password": PASSWORD, "csrf_token": token.group(1)},
        )
        assert response.status_code == 303, response.text
        return client

    def scope_of(self, username: str) -> tuple[Filter, ...]:
        role = username.removeprefix("home-")
        return scope_filters(list(SCOPES.get(role, ())))

    def view(self) -> LedgerView:
        """A view of the newest ledger version, opened apart from the app's pool."""
        return open_ledger(self.ledger)


@pytest.fixture(scope="session")
def role_site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RoleSite]:
    home = tmp_path_factory.mktemp("role-site")
    demo = generate(home / "demo-data", DEMO)
    ledger = Ledger.at_home(home)
    ingest([demo.out / "focus"], ledger, IngestOptions(source="demo"))
    app = create_app(ServerConfig.load(home, database_url=f"sqlite:///{home / 'metadata.db'}"))
    db = app.state.services.db
    for role in ROLES:
        add_user(
            db,
            actor=None,
            username=user_of(role),
            roles=[role],
            scope=list(SCOPES.get(role, ())),
            password=PASSWORD,
        )
    add_user(
        db, actor=None, username=TWO_ROLES, roles=["management", "procurement"], password=PASSWORD
    )
    yield RoleSite(home=home, ledger=ledger, app=app)
    app.state.services.close()


@pytest.fixture(scope="session")
def live_server(role_site: RoleSite) -> Iterator[str]:
    """The site served by uvicorn in a thread; yields its base URL."""
    with serving(role_site.app) as base:
        yield base


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free loopback port; yields its base URL."""
    port = _free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start within 20 seconds")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port
