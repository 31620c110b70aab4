"""In Chromium, against the app served by uvicorn: every role's home with its chart drawn,
and the cost explorer (group by, chart and table, drill-down to rows, the CSV download)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from costprism.roles import ROLES
from costprism.roles.workspaces import WORKSPACES
from tests.web.conftest import PASSWORD, user_of

if TYPE_CHECKING:
    from playwright.sync_api import Page

pytestmark = pytest.mark.browser
ELEVEN_ROLES = [name for name in ROLES if name != "admin"]
DRAWN = ".chart.js-plotly-plot svg.main-svg"


@pytest.fixture
def watched(page: Page) -> Iterator[Page]:
    """The page, failing the test if a script on it throws."""
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(60_000)
    yield page
    assert errors == []


def sign_in(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{base}/home")


def sign_out(page: Page, base: str) -> None:
    page.click("form[action='/logout'] button")
    page.wait_for_url(f"{base}/login")


def test_each_role_signs_in_to_its_home_with_the_trend_drawn(
    watched: Page, live_server: str
) -> None:
    assert len(ELEVEN_ROLES) == 11
    for role in ELEVEN_ROLES:
        sign_in(watched, live_server, user_of(role))
        assert watched.inner_text("main h1") == WORKSPACES[role].title
        watched.wait_for_selector(f"[data-panel^='trend:'] {DRAWN}")
        assert watched.locator(".kpi .value").count() >= 1
        assert watched.locator("[data-panel='freshness'] table").count() == 1
        sign_out(watched, live_server)
        assert watched.locator("input[name=username]").count() == 1


def test_the_explorer_groups_draws_drills_down_and_downloads(
    watched: Page, live_server: str
) -> None:
    page = watched
    sign_in(page, live_server, user_of("practitioner"))
    page.click("header nav a[href='/explorer']")
    page.wait_for_selector(DRAWN)
    assert "ProviderName" in page.locator("table.result th").all_inner_texts()
    assert "AWS" in page.locator(".chart .legendtext").all_text_contents()

    page.fill("input[name=by] >> nth=0", "ServiceName")
    page.click("#explorer-form button[type=submit]")
    page.wait_for_url("**/explorer?by=ServiceName*")
    page.wait_for_selector(DRAWN)
    headers = page.locator("table.result th").all_inner_texts()
    assert "ServiceName" in headers
    assert "ProviderName" not in headers
    assert "Amazon Elastic Compute Cloud" in page.locator(".chart .legendtext").all_text_contents()

    first = page.locator("table.result tbody tr:has(a.drill)").first
    service = first.locator("td").first.inner_text()
    first.locator("a.drill").click()
    page.wait_for_selector("#rows table.ledger-rows tbody tr")
    column = page.locator("#rows table.ledger-rows th").all_inner_texts().index("ServiceName")
    cells = page.locator(f"#rows table.ledger-rows tbody tr td:nth-child({column + 1})")
    assert set(cells.all_inner_texts()) == {service}
    first_row_id = page.inner_text("#rows table.ledger-rows tbody tr td code")
    page.click("#rows button.next-page")
    page.wait_for_function(
        "id => document.querySelector('#rows tbody tr td code').textContent !== id",
        arg=first_row_id,
    )
    assert int(page.inner_text("#rows tbody tr td code")) > int(first_row_id)

    with page.expect_download() as download_info:
        page.click("a.download")
    download = download_info.value
    assert download.suggested_filename == "costprism-costs.csv"
    path = download.path()
    rows = list(csv.DictReader(io.StringIO(path.read_text())))
    assert rows
    assert list(rows[0]) == ["ServiceName", "BillingCurrency", "period", "EffectiveCost"]
    assert service in {r["ServiceName"] for r in rows}

    sign_out(page, live_server)
