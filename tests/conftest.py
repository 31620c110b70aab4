"""Fixtures shared by the whole suite: the sample ledger, SQL over its files, one Spark session,
a fresh metadata database per test, one Chromium.

``sample_home`` is built once per test session from the two complete FOCUS exports in
``shared/data/focus``: the synthetic FOCUS 1.2 file (AWS, Azure, GCP; billing period
2026-05) as source ``synthetic`` (ledger version 1), then the FOCUS 1.0 sample (AWS,
Microsoft, Oracle; billing periods 2024-09 and 2024-10) as source ``sample`` (version 2).
Tests must not write to it; a test that needs to change a ledger builds its own.

``database_url`` runs a test twice: on a new SQLite file and on a new PostgreSQL database
in the cluster that ``make test`` starts for the run (``.ci/postgres``; its URL is in
``COSTPRISM_TEST_POSTGRES_URL``). ``browser`` and ``page`` drive Debian's Chromium
(``/usr/bin/chromium``, installed by ``make system-deps``) through Playwright's sync API;
the tests that use them are marked ``browser`` and run after all the others (see
``pytest_collection_modifyitems``).
"""

from __future__ import annotations

import csv
import os
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb
import pytest
from sqlalchemy.engine import make_url

from costprism.engine.backends import LedgerView, open_ledger, spark_session
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

FOCUS_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data" / "focus"
SYNTHETIC_10K = FOCUS_DATA / "focus-1.2_synthetic_aws-azure-gcp_10k.csv"
SAMPLE_1000 = FOCUS_DATA / "focus-1.0_sample_1000.csv"
JVM_OPTIONS = "-XX:+UseSerialGC -XX:TieredStopAtLevel=1"
COST_COLUMNS = ("BilledCost", "EffectiveCost", "ListCost", "ContractedCost")
POSTGRES_URL_VARIABLE = "COSTPRISM_TEST_POSTGRES_URL"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)

SqlRunner = Callable[[str], list[tuple[Any, ...]]]


@pytest.fixture(scope="session")
def focus_data() -> Path:
    """The shared FOCUS sample files (see README.md there for exact totals)."""
    return FOCUS_DATA


@pytest.fixture(scope="session")
def sample_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CostPrism home holding both sample exports, as two sources (read only)."""
    home = tmp_path_factory.mktemp("sample-home")
    ledger = Ledger.at_home(home)
    ingest([SYNTHETIC_10K], ledger, IngestOptions(source="synthetic"))
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))
    return home


@pytest.fixture(scope="session")
def sample_ledger(sample_home: Path) -> Ledger:
    return Ledger.at_home(sample_home)


@pytest.fixture(scope="session")
def sample_view(sample_ledger: Ledger) -> LedgerView:
    """The newest version of the sample ledger, open on DuckDB."""
    return open_ledger(sample_ledger)


@pytest.fixture(scope="session")
def sample_sql(sample_ledger: Ledger) -> Iterator[SqlRunner]:
    """Run hand-written DuckDB SQL over the ledger's Parquet files as the view ``costs``."""
    files, _ = sample_ledger.costs.files()
    connection = duckdb.connect()
    connection.execute("SET TimeZone = 'UTC'")
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    connection.execute(
        f"CREATE VIEW costs AS SELECT * FROM read_parquet([{listed}], union_by_name = true)"
    )
    yield lambda sql: connection.execute(sql).fetchall()
    connection.close()


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """The one local Spark session of the test run, made by the engine's own ``spark_session``.

    Tests run short jobs, so the JVM skips its slow optimizing compiler (about halves the
    suite's Spark time); a ``PYSPARK_SUBMIT_ARGS`` already set is left alone.
    """
    with pytest.MonkeyPatch.context() as patch:
        if "PYSPARK_SUBMIT_ARGS" not in os.environ:
            patch.setenv(
                "PYSPARK_SUBMIT_ARGS", f"--driver-java-options '{JVM_OPTIONS}' pyspark-shell"
            )
        session = spark_session("local[2]")
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="session")
def doubled_sample_csv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The FOCUS 1.0 sample restated: same rows, every cost column doubled."""
    target = tmp_path_factory.mktemp("restated") / "focus-1.0_sample_1000_doubled.csv"
    with SAMPLE_1000.open(newline="") as source:
        rows = list(csv.reader(source))
    header = rows[0]
    positions = [header.index(c) for c in COST_COLUMNS]
    for row in rows[1:]:
        for position in positions:
            if row[position] not in ("", "NULL"):
                row[position] = str(Decimal(row[position]) * 2)
    with target.open("w", newline="") as out:
        csv.writer(out, lineterminator="\n").writerows(rows)
    return target


@pytest.fixture(scope="session")
def restated_ledger(tmp_path_factory: pytest.TempPathFactory, doubled_sample_csv: Path) -> Ledger:
    """The FOCUS 1.0 sample as source ``sample`` (version 1), then restated ×2 (version 2)."""
    ledger = Ledger.at_home(tmp_path_factory.mktemp("restated-home"))
    ingest([SAMPLE_1000], ledger, IngestOptions(source="sample"))
    ingest([doubled_sample_csv], ledger, IngestOptions(source="sample"))
    return ledger


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark the tests that use the browser ``browser``, and run them after all the others.

    Playwright's sync API marks its event loop as running on the main thread from the first
    browser test to the end of the session, and ``asyncio.run()`` refuses to start there;
    with the browser tests last, no other test runs inside that window.
    """
    for item in items:
        if "browser" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.browser)
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)


@pytest.fixture(scope="session")
def postgres_server_url() -> str:
    """The URL of the run's PostgreSQL cluster, as a superuser on its ``postgres`` database."""
    url = os.environ.get(POSTGRES_URL_VARIABLE)
    if not url:
        pytest.skip(
            f"{POSTGRES_URL_VARIABLE} is not set: run `make test` (or `make unit`), "
            "which starts a throwaway PostgreSQL cluster for the run"
        )
    return url


@contextmanager
def postgres_database(server_url: str) -> Iterator[str]:
    """A new, empty, uniquely named database on that server, dropped on exit.

    Yields its SQLAlchemy URL. The drop terminates the connections still open to it first
    (``WITH (FORCE)``), so an engine a test did not dispose of cannot keep it alive.
    """
    import psycopg
    from psycopg import sql

    server = make_url(server_url)
    admin = server.set(drivername="postgresql").render_as_string(hide_password=False)
    database = f"costprism_test_{uuid.uuid4().hex}"
    name = sql.Identifier(database)
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(sql.SQL("CREATE DATABASE {}").format(name))
    try:
        yield server.set(database=database).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(admin, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The SQLAlchemy URL of a fresh, empty metadata database: a SQLite file, or PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'metadata.db'}"
        return
    with postgres_database(request.getfixturevalue("postgres_server_url")) as url:
        yield url


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless, driven by Playwright (which cannot download browsers here)."""
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make system-deps` installs Debian's chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM, args=list(CHROMIUM_ARGS), headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a new browser context: no cookies or storage left by another test."""
    context = browser.new_context()
    yield context.new_page()
    context.close()
