"""The alert tests' company: the shop ledger (tests/anomaly_ledger.py: account 111 is team
payments, 222 team data) with its anomalies detected, two budgets, an owners file and
these users (e-mail addresses under ``recipients:`` in the alerts configuration):

==============  ===========  ======================  ================================
user            roles        scope                   what routing gives them
==============  ===========  ======================  ================================
``fin``         finance      whole ledger            every budget alert, weekly digest
``fin-data``    finance      ``SubAccountId=222``    only the data budget
``pay-eng``     engineering  ``tag:team=payments``   owner of 111's anomalies, budget
``data-sec``    security     ``SubAccountId=222``    owner of 222; security role
``sec``         security     whole ledger            every security anomaly
==============  ===========  ======================  ================================

Budgets: ``payments-quarter`` (``tag:team=payments``, 3,000 a quarter: April alone is
over it) and ``data-monthly`` (``SubAccountId=222``, 1,200 a month: May's forecast is
over it), owned by ``pay-eng`` and by the outside address ``data-owner@example.com``.

The template (users, anomalies, budgets) is built once; each test gets a copy.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from costprism.alerts.config import AlertsConfig, parse_config
from costprism.anomalies.owners import OwnersFile, parse_owners
from costprism.budgets.spec import parse_budgets
from costprism.capabilities.access import add_user, create_token
from costprism.capabilities.anomalies import detect_anomalies
from costprism.capabilities.budget_store import apply_budgets
from costprism.db import Database
from costprism.engine.backends import LedgerView, open_ledger
from costprism.ledger import Ledger
from costprism.server import ServerConfig, create_app
from tests.alerts.receivers import HttpReceiver, SmtpHandler, http_receiver, smtp_server
from tests.anomaly_ledger import shop_home

USERS: dict[str, tuple[list[str], list[str]]] = {
    "fin": (["finance"], []),
    "fin-data": (["finance"], ["SubAccountId=222"]),
    "pay-eng": (["engineering"], ["tag:team=payments"]),
    "data-sec": (["security"], ["SubAccountId=222"]),
    "sec": (["security"], []),
}
BUDGETS = """\
currency: USD
budgets:
  - name: payments-quarter
    scope: tag:team=payments
    period: quarter
    amount: 3000
    owners: [pay-eng]
  - name: data-monthly
    scope: SubAccountId=222
    period: month
    amount: 1200
    owners: [data-owner@example.com]
"""
OWNERS = """\
owners:
  - match: SubAccountId=111
    users: [pay-eng]
    emails: [payments-oncall@example.com]
    channels: ["slack:payments-slack"]
  - match: SubAccountId=222
    users: [data-sec]
    channels: ["teams:data-teams"]
"""
SECRET = "a shared webhook secret for the tests"


@dataclass
class AlertSite:
    home: Path
    db: Database
    view: LedgerView
    owners: OwnersFile
    smtp: SmtpHandler
    smtp_port: int
    http: HttpReceiver

    def config(self, extra: str = "", *, roles: str | None = None) -> AlertsConfig:
        """The alerts configuration pointing at the local receivers."""
        text = self.config_text(extra, roles=roles)
        return parse_config(
            text, "alerts.yaml", home=self.home, environ={"TEST_HOOK_SECRET": SECRET}
        )

    def config_text(self, extra: str = "", *, roles: str | None = None) -> str:
        """alerts.yaml's text (the webhook's key in ``TEST_HOOK_SECRET``)."""
        return f"""\
email:
  host: 127.0.0.1
  port: {self.smtp_port}
  from: costprism@example.com
channels:
  - name: payments-slack
    type: slack
    url: {self.http.url("/slack")}
  - name: data-teams
    type: teams
    url: {self.http.url("/teams")}
  - name: siem
    type: webhook
    url: {self.http.url("/hook")}
    secret_env: TEST_HOOK_SECRET
  - name: file
    type: log
    path: alerts.jsonl
recipients:
  fin: {{email: fin@example.com}}
  fin-data: {{email: fin-data@example.com}}
  pay-eng: {{email: pay-eng@example.com}}
  data-sec: {{email: data-sec@example.com}}
  sec: {{email: sec@example.com, channels: [siem]}}
{roles if roles is not None else ""}{extra}"""


_TEMPLATE: Path | None = None


def _template(factory: pytest.TempPathFactory) -> Path:
    global _TEMPLATE
    if _TEMPLATE is None:
        home = factory.mktemp("alerts-template")
        shutil.copytree(shop_home(factory), home, dirs_exist_ok=True)
        db = Database.open(f"sqlite:///{home / 'metadata.db'}")
        for name, (roles, scope) in USERS.items():
            add_user(db, actor=None, username=name, roles=roles, scope=scope, password=None)
        owners = parse_owners(OWNERS, "owners.yaml")
        detect_anomalies(open_ledger(Ledger.at_home(home)), db, owners=owners, actor="setup")
        apply_budgets(db, parse_budgets(BUDGETS), actor=None)
        db.dispose()
        _TEMPLATE = home
    return _TEMPLATE


@contextmanager
def alert_site(factory: pytest.TempPathFactory) -> Iterator[AlertSite]:
    """A copy of the template with its own receivers (a test's ``site`` fixture)."""
    home = factory.mktemp("alerts-site")
    shutil.copytree(_template(factory), home, dirs_exist_ok=True)
    (home / "owners.yaml").write_text(OWNERS)
    db = Database.open(f"sqlite:///{home / 'metadata.db'}")
    with smtp_server() as (handler, port), http_receiver() as receiver:
        yield AlertSite(
            home=home, db=db, view=open_ledger(Ledger.at_home(home)),
            owners=parse_owners(OWNERS, "owners.yaml"), smtp=handler, smtp_port=port,
            http=receiver,
        )  # fmt: skip
    db.dispose()


PASSWORD = "a long enough password"
STAFF = {"al-admin": ["admin"], "al-finance": ["finance"]}


@dataclass
class Served:
    """The site served: ``al-admin`` (admin) and ``al-finance`` (finance), each with a
    password and an API token."""

    app: FastAPI
    tokens: dict[str, str]

    def api(self, username: str | None = None) -> TestClient:
        headers = {"Authorization": f"Bearer {self.tokens[username]}"} if username else {}
        return TestClient(self.app, headers=headers, follow_redirects=False)

    def signed_in(self, username: str) -> TestClient:
        from tests.anomalies_site import csrf

        client = TestClient(self.app, follow_redirects=False)
        client.post("/login", data={"username": username, "password": PASSWORD,
                                     "csrf_token": csrf(client.get("/login").text)})  # fmt: skip
        assert client.cookies.get("costprism_session")
        return client


def serve(site: AlertSite) -> Served:
    app = create_app(
        ServerConfig.load(site.home, database_url=f"sqlite:///{site.home / 'metadata.db'}")
    )
    db: Database = app.state.services.db
    served = Served(app=app, tokens={})
    for name, roles in STAFF.items():
        add_user(db, actor=None, username=name, roles=roles, password=PASSWORD)
        _, served.tokens[name] = create_token(db, name, actor=None, name="tests")
    return served
