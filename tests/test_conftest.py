"""The shared fixtures: a fresh database per test on SQLite and PostgreSQL, one Chromium."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from playwright.sync_api import Browser, Page

from tests.conftest import POSTGRES_URL_VARIABLE, postgres_database

STATIC = Path(__file__).resolve().parents[1] / "src" / "costprism" / "web" / "static"
seen_database_urls: set[str] = set()


def libpq_url(url: str) -> str:
    return sa.make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def table_names(url: str) -> list[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as connection:
            return sa.inspect(connection).get_table_names()
    finally:
        engine.dispose()


def test_database_url_names_a_new_empty_database(database_url: str) -> None:
    database = sa.make_url(database_url).database
    if database_url.startswith("postgresql"):
        assert database.startswith("costprism_test_")
    else:
        assert not Path(database).exists()
    assert table_names(database_url) == []


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_test_gets_its_own_database(database_url: str, attempt: int) -> None:
    """Each attempt finds no table and leaves one behind: a shared database would show it."""
    assert database_url not in seen_database_urls
    seen_database_urls.add(database_url)
    engine = sa.create_engine(database_url)
    try:
        with engine.begin() as connection:
            assert not sa.inspect(connection).has_table("leftover")
            connection.execute(sa.text("CREATE TABLE leftover (attempt INTEGER)"))
            connection.execute(sa.text("INSERT INTO leftover VALUES (:a)"), {"a": attempt})
        with engine.connect() as connection:
            assert connection.execute(sa.text("SELECT attempt FROM leftover")).all() == [(attempt,)]
    finally:
        engine.dispose()


def test_postgres_database_is_dropped_with_connections_still_open(
    postgres_server_url: str,
) -> None:
    with postgres_database(postgres_server_url) as url:
        name = sa.make_url(url).database
        left_open = psycopg.connect(libpq_url(url))
    with psycopg.connect(libpq_url(postgres_server_url)) as admin:
        query = "SELECT 1 FROM pg_database WHERE datname = %s"
        assert admin.execute(query, (name,)).fetchall() == []
    with left_open, pytest.raises(psycopg.OperationalError):
        left_open.execute("SELECT 1")


def test_make_sets_the_postgres_url() -> None:
    """Under make the PostgreSQL tests must run, never skip for want of a cluster."""
    if "MAKELEVEL" not in os.environ:
        pytest.skip("checks the Makefile: runs under make only")
    assert os.environ.get(POSTGRES_URL_VARIABLE, "").startswith("postgresql+psycopg://")


def test_page_renders_html_and_evaluates_javascript(page: Page) -> None:
    page.goto("data:text/html,<title>CostPrism</title><p id=total>1,234.50 USD</p>")
    assert page.title() == "CostPrism"
    assert page.text_content("#total") == "1,234.50 USD"
    assert page.evaluate("() => [1, 2, 3].reduce((a, b) => a + b)") == 6


@pytest.mark.parametrize("attempt", [1, 2])
def test_each_page_has_a_fresh_context(page: Page, attempt: int) -> None:
    """Each attempt finds no cookie and leaves one behind: a shared context would show it."""
    assert page.context.cookies() == []
    page.context.add_cookies(
        [{"name": "attempt", "value": str(attempt), "url": "http://127.0.0.1/"}]
    )
    assert [c["value"] for c in page.context.cookies()] == [str(attempt)]


def test_browser_tests_are_marked_and_use_debians_chromium(
    request: pytest.FixtureRequest, browser: Browser
) -> None:
    assert request.node.get_closest_marker("browser") is not None
    assert browser.browser_type.name == "chromium"
    assert browser.is_connected()


def test_vendored_htmx_2_runs_in_the_browser(page: Page) -> None:
    page.goto("data:text/html,<button hx-get=/total>total</button>")
    page.add_script_tag(path=STATIC / "htmx.min.js")
    assert page.evaluate("() => htmx.version").startswith("2.")
    assert "Zero-Clause BSD" in (STATIC / "htmx.LICENSE").read_text()


def test_asyncio_runs_in_tests_that_follow_browser_tests_in_the_file() -> None:
    """The browser tests above run last (conftest), so Playwright's loop is not running yet."""
    assert asyncio.run(asyncio.sleep(0, result="ran")) == "ran"
