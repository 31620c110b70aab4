"""The server over a real demo ledger, shared by the API tests and the security tests.

:func:`demo_server` generates two months of the Northwind demo (about 40,000 rows) and
ingests them as source ``demo`` (ledger version 1), then ten rows of the FOCUS 1.2 sample
with one broken ``BilledCost`` as source ``uploads`` under ``--quarantine`` (version 2: nine
rows stored, one quarantined). The app runs on a SQLite metadata database in the same
home, built once per test session (the API tests and ``tests/web/test_security.py`` share
it), with the users below, each with a password and an API token:

============  ==========  ========================================
user          roles       scope
============  ==========  ========================================
admin         admin       the whole ledger
finance       finance     the whole ledger
fin-cc110     finance     ``tag:CostCenter in (CC-110, cc-110)``
security      security    the whole ledger
============  ==========  ========================================

Tests that change users or tokens make their own, so that the shared ones stay as listed.
:class:`Browser` is a signed-in (or anonymous) browser: a cookie jar and the CSRF token the
pages gave it. ``ledger_sql`` runs hand-written DuckDB SQL over the ledger's Parquet files,
for answers computed without the engine.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from costprism.capabilities.access import add_user, create_token
from costprism.db import Database
from costprism.demo import DemoSpec, generate
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.server import ServerConfig, create_app
from costprism.server.auth import CSRF_HEADER
from tests.ingest.conftest import focus_csv

PASSWORD = "a long enough password"
CC110_SCOPE = "tag:CostCenter in (CC-110, cc-110)"
CC110_VALUES = ("CC-110", "cc-110")
USERS: dict[str, tuple[list[str], list[str]]] = {
    "admin": (["admin"], []),
    "finance": (["finance"], []),
    "fin-cc110": (["finance"], [CC110_SCOPE]),
    "security": (["security"], []),
}
# A row is in CC-110's scope when a tag key that normalizes to 'costcenter' (case, '-' and
# '_' ignored) holds one of the two spellings: the scope filter, written out in plain SQL.
IN_CC110 = (
    "len(list_filter(map_entries(Tags), e -> "
    "replace(replace(lower(e.key), '-', ''), '_', '') = 'costcenter' "
    "AND e.value IN ('CC-110', 'cc-110'))) > 0"
)
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')

SqlRunner = Callable[[str], list[tuple[Any, ...]]]


@dataclass
class DemoServer:
    home: Path
    app: FastAPI
    db: Database
    ledger_sql: SqlRunner
    tokens: dict[str, str] = field(default_factory=dict)

    def client(self, token: str | None = None) -> TestClient:
        """A client with no cookies; with ``token`` it sends it as a bearer token."""
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return TestClient(self.app, headers=headers, follow_redirects=False)

    def api(self, username: str) -> TestClient:
        """A client sending ``username``'s API token."""
        return self.client(self.tokens[username])

    def browser(self, username: str | None = None) -> Browser:
        """A browser that fetched the sign-in page and, given ``username``, signed in."""
        browser = Browser(self.client())
        if username is not None:
            response = browser.sign_in(username, PASSWORD)
            assert response.status_code == 303, response.text
        return browser


@dataclass
class Browser:
    """A cookie jar plus the CSRF token from the sign-in page's form."""

    client: TestClient
    csrf: str = ""

    def __post_init__(self) -> None:
        page = self.client.get("/login")
        found = _CSRF_FIELD.search(page.text)
        assert found, "the sign-in page has no CSRF field"
        self.csrf = found.group(1)

    def sign_in(self, username: str, password: str) -> httpx.Response:
        form = {"username": username, "password": password, "csrf_token": self.csrf}
        return self.client.post("/login", data=form)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        """A POST carrying the CSRF token in the header, as htmx sends it."""
        return self.client.post(url, headers={CSRF_HEADER: self.csrf}, **kwargs)


_built: dict[str, DemoServer] = {}


def demo_server(tmp_path_factory: pytest.TempPathFactory) -> DemoServer:
    """The shared server (built on first use in a test session)."""
    if "demo" not in _built:
        _built["demo"] = _build(tmp_path_factory.mktemp("api-demo"))
    return _built["demo"]


def close_demo_server() -> None:
    server = _built.pop("demo", None)
    if server is not None:
        server.app.state.services.close()


def second_app(server: DemoServer, database_url: str) -> FastAPI:
    """Another app over the same ledger with its own metadata database."""
    return create_app(ServerConfig.load(server.home, database_url=database_url))


def _build(root: Path) -> DemoServer:
    home = root / "home"
    generate(root / "demo", DemoSpec(months=2, rows_per_month=20_000))
    ledger = Ledger.at_home(home)
    ingest([str(root / "demo" / "focus")], ledger, IngestOptions(source="demo"))
    broken = focus_csv(10).set(4, "BilledCost", "12,5x").write(root / "uploads.csv")
    ingest([broken], ledger, IngestOptions(source="uploads", quarantine=True))
    app = create_app(ServerConfig.load(home, database_url=f"sqlite:///{home / 'metadata.db'}"))
    db: Database = app.state.services.db
    server = DemoServer(home=home, app=app, db=db, ledger_sql=_sql_over(ledger))
    for username, (roles, scope) in USERS.items():
        add_user(db, actor=None, username=username, roles=roles, scope=scope, password=PASSWORD)
        _, secret = create_token(db, username, actor=None, name="tests")
        server.tokens[username] = secret
    return server


def _sql_over(ledger: Ledger) -> SqlRunner:
    files, _ = ledger.costs.files()
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    connection.execute(
        f"CREATE VIEW costs AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
    )

    def run(sql: str) -> list[tuple[Any, ...]]:
        return connection.execute(sql).fetchall()

    return run
