"""A site for the budget tests (API, pages, CLI): the chargeback tests' ledger (read only,
see tests/chargeback_ledger.py: billing period 2026-05, allocated by team, cost center and
product) served with its own SQLite metadata database holding :data:`BUDGETS` and these
users, each with a password and an API token:

================  ===========  ==================  ==================================
user              roles        scope               sees
================  ===========  ==================  ==================================
``bg-finance``    finance      whole ledger        every budget; manage-budgets
``bg-payments``   finance      ``team=payments``   ``payments-monthly``; manage-budgets
``bg-engineer``   engineering  ``team=payments``   ``payments-monthly``; read only
================  ===========  ==================  ==================================

:func:`budgets_site` builds a new one per call (tests change budgets); the ledger is shared.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from costprism.budgets.spec import parse_budgets
from costprism.capabilities.access import add_user, create_token
from costprism.capabilities.budget_store import apply_budgets
from costprism.db import Database
from costprism.server import ServerConfig, create_app
from tests.chargeback_ledger import chargeback_home

PASSWORD = "a long enough password"
USERS: dict[str, tuple[list[str], list[str]]] = {
    "bg-finance": (["finance"], []),
    "bg-payments": (["finance"], ["team=payments"]),
    "bg-engineer": (["engineering"], ["team=payments"]),
}
BUDGETS = """\
currency: USD
budgets:
  - name: payments-monthly
    scope: team=payments
    period: month
    amount: 100000
    holdback: 10000
    owners: [bg-payments]
  - name: platform-monthly
    scope: team=platform
    period: month
    amount: 1000000
  - name: company-quarter
    period: quarter
    amount: 2000000
    basis: billed
"""
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass
class BudgetSite:
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


def budgets_site(factory: pytest.TempPathFactory) -> BudgetSite:
    home = chargeback_home(factory)
    database = factory.mktemp("budgets-db") / "metadata.db"
    app = create_app(ServerConfig.load(home, database_url=f"sqlite:///{database}"))
    db: Database = app.state.services.db
    site = BudgetSite(home=home, app=app, db=db)
    for username, (roles, scope) in USERS.items():
        add_user(db, actor=None, username=username, roles=roles, scope=scope, password=PASSWORD)
        _, site.tokens[username] = create_token(db, username, actor=None, name="tests")
    apply_budgets(db, parse_budgets(BUDGETS, "budgets.yaml"), actor="setup")
    return site
