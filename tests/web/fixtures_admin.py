"""Fixtures for the data-sources, admin and token pages: a real app on a small demo ledger.

``admin_home`` is built once per test session (a marker file guards it, as each test
module that imports the fixture gets its own copy): two demo months as source ``demo``
(ledger version 1), the FOCUS 1.0 sample as source ``sample`` (version 2, with warnings),
and ten rows with one broken ``BilledCost`` as source ``uploads`` under ``--quarantine``
(version 3, one quarantined row). Tests must not write to it.

``site`` is a new app per test on that ledger with its own copy of a SQLite metadata
database holding four users (``seeded_database``, made once through the same capability
the pages call, as argon2 hashing is slow on purpose):

==========  ==============  ==================================  ======================
user        roles           scope                               may
==========  ==============  ==================================  ======================
``ada``     admin           whole ledger                        everything
``sec``     security        whole ledger                        view users and audit
``eng``     engineering     ``BillingAccountId=741852963094``   view sources only
``pat``     practitioner    whole ledger                        view sources, quarantine
==========  ==============  ==================================  ======================

``signed_in(site, name)`` is a TestClient signed in through the login form.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from costprism.capabilities.access import add_user
from costprism.db import Database, User
from costprism.demo import DemoSpec, generate
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.server import ServerConfig, create_app
from tests.ingest.conftest import focus_csv

SAMPLE_1000 = (
    Path(__file__).resolve().parents[2].parent / "shared/data/focus/focus-1.0_sample_1000.csv"
)
SECRET_KEY = "test-secret-key-" + "x" * 48
ENG_ACCOUNT = "741852963094"
USERS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "ada": (("admin",), ()),
    "sec": (("security",), ()),
    "eng": (("engineering",), (f"BillingAccountId={ENG_ACCOUNT}",)),
    "pat": (("practitioner",), ()),
}
CHEAP_HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')


def password_of(username: str) -> str:
    return f"{username}-password-1234"


@dataclass(frozen=True, kw_only=True)
class Site:
    app: FastAPI
    db: Database
    ledger: Ledger


def build_home(home: Path, work: Path) -> None:
    generate(work / "demo", DemoSpec(months=2, rows_per_month=20_000))
    ledger = Ledger.at_home(home)
    ingest([str(work / "demo" / "focus")], ledger, IngestOptions(source="demo"))
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))
    broken = focus_csv(10).set(4, "BilledCost", "12,5x").write(work / "uploads.csv")
    ingest([broken], ledger, IngestOptions(source="uploads", quarantine=True))


@pytest.fixture(scope="session")
def admin_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The ledger described above (read only), built once per session."""
    root = tmp_path_factory.getbasetemp() / "web-admin-demo"
    home = root / "home"
    if not (root / "built").exists():
        root.mkdir(exist_ok=True)
        build_home(home, root)
        (root / "built").touch()
    return home


@pytest.fixture(scope="session")
def seeded_database(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A metadata database file holding the four users, made once.

    Their password hashes are argon2 with the cheapest parameters (argon2 reads them from
    the hash when it verifies): every test signs in, and the production parameters are
    slow on purpose. Users the tests add through the pages get the real ones.
    """
    root = tmp_path_factory.getbasetemp() / "web-admin-users"
    path = root / "metadata.db"
    if not (root / "built").exists():
        root.mkdir(exist_ok=True)
        db = Database.open(f"sqlite:///{path}")
        for username, (roles, scope) in USERS.items():
            add_user(db, actor=None, username=username, roles=roles, scope=scope)
        with db.session() as session:
            for user in session.scalars(select(User)):
                user.password_hash = CHEAP_HASHER.hash(password_of(user.username))
        db.dispose()
        (root / "built").touch()
    return path


@pytest.fixture
def site(admin_home: Path, seeded_database: Path, tmp_path: Path) -> Iterator[Site]:
    """A new app on the shared ledger, with its own copy of the seeded database."""
    for file in seeded_database.parent.glob(seeded_database.name + "*"):
        shutil.copy(file, tmp_path / file.name)
    config = ServerConfig(
        home=admin_home,
        database_url=f"sqlite:///{tmp_path / seeded_database.name}",
        secret_key=SECRET_KEY,
    )
    app = create_app(config)
    yield Site(app=app, db=app.state.services.db, ledger=Ledger.at_home(admin_home))
    app.state.services.close()


def csrf_of(html: str) -> str:
    found = CSRF_INPUT.search(html)
    assert found, "the page has no CSRF field"
    return found.group(1)


@contextmanager
def signed_in(site: Site, username: str) -> Iterator[TestClient]:
    """A client signed in as ``username`` by the login form, as a browser would."""
    with TestClient(site.app, follow_redirects=False) as client:
        token = csrf_of(client.get("/login").text)
        form = {"username": username, "password": password_of(username), "csrf_token": token}
        response = client.post("/login", data=form)
        assert response.status_code == 303, response.text
        yield client
