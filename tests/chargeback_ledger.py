"""The chargeback tests' ledger and the hand-written SQL their numbers are checked against.

:func:`chargeback_home` builds, once per test session (a marker file guards it, as each
test module importing a fixture gets its own copy), a home holding the 10k synthetic FOCUS
1.2 sample (billing period 2026-05, USD) as source ``synthetic``, its first 60 rows again
billed in EUR as source ``eur``, :data:`RULES` applied (rules version 1) and
:data:`MAPPING` stored as the GL mapping. Tests must not change it.
:func:`chargeback_site` serves it (one app per test session) to :data:`USERS`: a finance
user seeing the whole ledger and a product user scoped to ``product=checkout`` (an
allocation dimension), each with a password and an API token.

:class:`HandSql` reads the ledger's and the allocation's Parquet files with DuckDB, without
the engine: ``allocated`` is the ledger joined to its allocation parts, amounts scaled by
the share at 12 decimals; ``gl_account`` is :data:`MAPPING` written as a ``CASE``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from costprism.allocation.rules import parse_rules
from costprism.capabilities.access import add_user, create_token
from costprism.capabilities.allocation import apply_rules
from costprism.capabilities.chargeback import store_gl_mapping
from costprism.engine.backends import open_ledger
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.ledger.allocations import AllocationStore
from costprism.server import ServerConfig, create_app
from tests.conftest import SYNTHETIC_10K
from tests.ingest.conftest import focus_csv

MONTH = "2026-05"
# The example rules with a product dimension, the shared steps spreading over cost
# centers: tax in proportion to each cost center's cost, the platform's cost by fixed weights.
RULES = """\
dimensions: [team, cost_center, product]
rules:
  - name: payments by tag
    match: {tag:Owner: [team-payments, payments, pay]}
    set: {team: payments, cost_center: CC-100, product: checkout}
  - name: data by tag
    match: {tag:Owner: [team-data]}
    set: {team: data, cost_center: CC-200, product: insights}
  - name: sandbox accounts
    match: {SubAccountName: {like: "sandbox-%"}}
    set: {team: sandbox, cost_center: CC-900, product: sandbox}
  - name: platform accounts
    match: {SubAccountName: {like: "%platform%"}}
    set: {team: platform, cost_center: CC-300, product: shared}
shared:
  - name: tax by cost
    match: {ChargeCategory: [Tax]}
    split: proportional
    to: cost_center
    targets: [CC-100, CC-200, CC-900]
  - name: platform overhead
    match: {cost_center: [CC-300]}
    split: fixed
    to: cost_center
    weights: {CC-100: 50, CC-200: 30, CC-900: 20}
"""
MAPPING = """\
filter,gl_account,description
ChargeCategory=Tax,6900,Cloud taxes
ServiceCategory=Compute and ProviderName=AWS,6110,AWS compute
product=shared,6500,Shared platform
ServiceCategory=Compute,6100,Cloud compute
"ServiceCategory in (Storage, Databases)",6200,Storage and databases
*,6000,Other cloud services
"""
# MAPPING by hand, over the ``allocated`` view's columns
GL_CASE = """CASE
    WHEN ChargeCategory = 'Tax' THEN '6900'
    WHEN ServiceCategory = 'Compute' AND ProviderName = 'AWS' THEN '6110'
    WHEN x_product = 'shared' THEN '6500'
    WHEN ServiceCategory = 'Compute' THEN '6100'
    WHEN ServiceCategory IN ('Storage', 'Databases') THEN '6200'
    ELSE '6000' END"""
DESCRIPTIONS = {
    "6900": "Cloud taxes",
    "6110": "AWS compute",
    "6500": "Shared platform",
    "6100": "Cloud compute",
    "6200": "Storage and databases",
    "6000": "Other cloud services",
}
EUR_ROWS = 60
_MARKER = ".built"
PASSWORD = "a long enough password"
# user: (roles, scope)
USERS: dict[str, tuple[list[str], list[str]]] = {
    "cb-finance": (["finance"], []),
    "cb-checkout": (["product"], ["product=checkout"]),
}
_CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


def chargeback_home(factory: pytest.TempPathFactory) -> Path:
    """The shared chargeback home (built by the first caller of the session)."""
    home = factory.getbasetemp() / "chargeback-home"
    if (home / _MARKER).exists():
        return home
    ledger = Ledger.at_home(home)
    ingest([SYNTHETIC_10K], ledger, IngestOptions(source="synthetic"))
    eur = focus_csv(EUR_ROWS).map_column("BillingCurrency", lambda _: "EUR")
    eur_file = eur.write(home / "inputs" / "eur.csv")
    ingest([eur_file], ledger, IngestOptions(source="eur"))
    apply_rules(ledger, parse_rules(RULES, "rules.yaml"))
    mapping = home / "inputs" / "gl-mapping.csv"
    mapping.write_text(MAPPING, encoding="utf-8")
    store_gl_mapping(ledger, mapping, open_ledger(ledger))
    (home / _MARKER).touch()
    return home


@dataclass
class ChargebackSite:
    """The app over the chargeback home, its users and their API tokens."""

    home: Path
    app: FastAPI
    tokens: dict[str, str] = field(default_factory=dict)

    def api(self, username: str | None = None) -> TestClient:
        """A client sending ``username``'s API token (none without a name)."""
        token = self.tokens[username] if username else None
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return TestClient(self.app, headers=headers, follow_redirects=False)

    def signed_in(self, username: str) -> TestClient:
        """A client signed in through the login form."""
        client = TestClient(self.app, follow_redirects=False)
        found = _CSRF_FIELD.search(client.get("/login").text)
        assert found is not None
        form = {"username": username, "password": PASSWORD, "csrf_token": found.group(1)}
        assert client.post("/login", data=form).status_code == 303
        return client


_sites: dict[str, ChargebackSite] = {}


def chargeback_site(factory: pytest.TempPathFactory) -> ChargebackSite:
    """The shared site, built on first use in a test session (its database engine is left
    to the end of the process, as several test modules share it)."""
    if "site" not in _sites:
        home = chargeback_home(factory)
        database = factory.mktemp("chargeback-db") / "metadata.db"
        app = create_app(ServerConfig.load(home, database_url=f"sqlite:///{database}"))
        site = ChargebackSite(home=home, app=app)
        db = app.state.services.db
        for username, (roles, scope) in USERS.items():
            add_user(db, actor=None, username=username, roles=roles, scope=scope,
                     password=PASSWORD)  # fmt: skip
            _, site.tokens[username] = create_token(db, username, actor=None, name="tests")
        _sites["site"] = site
    return _sites["site"]


class HandSql:
    """DuckDB over the Parquet files of the ledger and of the newest allocation."""

    def __init__(self, home: Path) -> None:
        ledger = Ledger.at_home(home)
        files, _ = ledger.costs.files()
        allocation = AllocationStore(ledger.root).latest()
        assert allocation is not None
        self.connection = duckdb.connect()
        self.connection.execute("SET TimeZone = 'UTC'")
        self.connection.execute(
            f"CREATE VIEW costs AS SELECT * FROM read_parquet({_listed(files)}, "
            "union_by_name = true)"
        )
        self.connection.execute(
            f"CREATE VIEW parts AS SELECT * FROM read_parquet({_listed(allocation.files)})"
        )
        self.connection.execute(
            """CREATE VIEW allocated AS
            SELECT c.*,
                coalesce(p.x_team, '(unallocated)') AS x_team,
                coalesce(p.x_cost_center, '(unallocated)') AS x_cost_center,
                coalesce(p.x_product, '(unallocated)') AS x_product,
                p.x_Shared,
                round(c.EffectiveCost * coalesce(p.x_Share, 1), 12) AS effective,
                round(c.BilledCost * coalesce(p.x_Share, 1), 12) AS billed
            FROM costs c LEFT JOIN parts p ON """
            + " AND ".join(f'{_key(k)} IS NOT DISTINCT FROM p."{k}"' for k in allocation.keys)
        )
        self.connection.execute(
            f"""CREATE VIEW booked AS SELECT *, {GL_CASE} AS gl_account FROM allocated
            WHERE BillingPeriodStart = TIMESTAMPTZ '2026-05-01 00:00:00+00'"""
        )

    def rows(self, sql: str, parameters: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        return self.connection.execute(sql, list(parameters)).fetchall()

    def close(self) -> None:
        self.connection.close()


def cents(amount: Decimal) -> Decimal:
    return amount.quantize(Decimal("0.01"))


def _key(column: str) -> str:
    """A row's value of an allocation key: a column, or a tag (keys compared ignoring case,
    ``-`` and ``_``; the value trimmed and lower-cased)."""
    if not column.startswith("x_tag:"):
        return f'c."{column}"'
    key = column.removeprefix("x_tag:")
    found = (
        "list_filter(map_entries(c.Tags), e -> "
        f"replace(replace(lower(e.key), '-', ''), '_', '') = '{key}')"
    )
    return f"lower(trim(({found})[1].value))"


def _listed(files: Sequence[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"
