"""``/chargeback`` and ``/chargeback/statement.pdf`` on the chargeback ledger
(tests/chargeback_ledger.py): the statement as a page, its JSON twin and its PDF (printed by
Chromium, read back with poppler's pdftotext and pdftoppm); a caller scoped to
``product=checkout`` sees exactly that product's allocated rows; showback is the explorer
grouped by a dimension. The last test drives the page in Chromium."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
import uvicorn

from costprism.capabilities.chargeback import statement, stored_gl_mapping
from costprism.engine.backends import open_ledger
from costprism.ledger import Ledger
from tests.chargeback_ledger import (
    MONTH,
    PASSWORD,
    ChargebackSite,
    HandSql,
    chargeback_site,
)
from tests.web.conftest import _free_port

if TYPE_CHECKING:
    from playwright.sync_api import Page

PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> ChargebackSite:
    return chargeback_site(tmp_path_factory)


@pytest.fixture(scope="module")
def hand(site: ChargebackSite) -> Iterator[HandSql]:
    sql = HandSql(site.home)
    yield sql
    sql.close()


def _twin(site: ChargebackSite, user: str, **params: str) -> dict[str, Any]:
    response = site.signed_in(user).get("/chargeback", params={**params, "format": "json"})
    assert response.status_code == 200, response.text
    found: dict[str, Any] = response.json()
    return found


def _hand_total(hand: HandSql, center: str, where: str = "TRUE") -> dict[str, float]:
    rows = hand.rows(
        "SELECT BillingCurrency, sum(effective) FROM booked WHERE x_cost_center = ? "
        f"AND {where} GROUP BY 1",
        [center],
    )
    return {currency: float(total) for currency, total in rows}


def test_the_page_shows_the_newest_month_and_first_cost_center_as_a_document(
    site: ChargebackSite,
) -> None:
    response = site.signed_in("cb-finance").get("/chargeback")
    assert response.status_code == 200
    page = response.text
    assert '<article class="statement" id="statement">' in page
    assert "cost_center CC-100" in page
    assert "Billing period 2026-05" in page
    assert "Direct charges" in page
    assert "Shared costs" in page
    assert "platform overhead" in page
    assert "split over cost_center by fixed weights CC-100 50%, CC-200 30%, CC-900 20%" in page
    assert 'href="/chargeback/statement.pdf?cost_center=CC-100&amp;month=2026-05' in page
    assert 'href="/api/v1/chargeback/gl-export?month=2026-05' in page
    assert '<link rel="stylesheet" href="/static/statement.css">' in page
    for center in ("CC-100", "CC-200", "CC-900", "(unallocated)"):
        assert f'<option value="{center}"' in page
    assert '<a href="/chargeback">Chargeback</a>' in page  # in the menu
    css = site.signed_in("cb-finance").get("/static/statement.css").text
    assert "@media print" in css


def test_the_json_twin_is_the_capabilitys_statement(site: ChargebackSite, hand: HandSql) -> None:
    found = _twin(site, "cb-finance", cost_center="CC-200", month=MONTH, basis="billed")
    assert found["query"] == {
        "cost_center": "CC-200", "month": MONTH, "basis": "billed", "dimension": "cost_center",
    }  # fmt: skip
    assert found["choices"]["months"] == [MONTH]
    assert found["choices"]["dimensions"] == ["team", "cost_center", "product"]
    ledger = Ledger.at_home(site.home)
    expected = statement(
        open_ledger(ledger), "CC-200", MONTH, basis="billed", gl_mapping=stored_gl_mapping(ledger)
    )
    assert found["statement"] == expected.record()
    api = site.api("cb-finance").get(
        "/api/v1/chargeback/statement",
        params={"cost_center": "CC-200", "month": MONTH, "basis": "billed"},
    )
    assert api.json() == found["statement"]  # one capability behind the page and the API


def test_a_scoped_caller_sees_only_its_rows_on_the_page(
    site: ChargebackSite, hand: HandSql
) -> None:
    found = _twin(site, "cb-checkout")
    assert found["choices"]["cost_centers"] == ["CC-100", "CC-200", "CC-900"]
    for center in found["choices"]["cost_centers"]:
        scoped = _twin(site, "cb-checkout", cost_center=center, month=MONTH)["statement"]
        totals = {t["currency"]: t["total"] for t in scoped["totals"]}
        assert totals == pytest.approx(_hand_total(hand, center, "x_product = 'checkout'"))
        assert {line["product"] for line in scoped["lines"] if line["kind"] == "direct"} <= {
            "checkout"
        }
    other = _twin(site, "cb-checkout", cost_center="CC-300", month=MONTH)
    assert other["statement"]["lines"] == []  # the platform's own cost is not checkout's
    page = site.signed_in("cb-checkout").get("/chargeback", params={"cost_center": "CC-300"})
    assert "Nothing was charged to CC-300 in 2026-05 (in your scope)." in page.text


def test_the_pdf_is_the_statement_printed_by_chromium(site: ChargebackSite, tmp_path: Path) -> None:
    response = site.signed_in("cb-finance").get(
        "/chargeback/statement.pdf", params={"cost_center": "CC-100", "month": MONTH}
    )
    assert response.status_code == 200, response.text[:500]
    assert response.headers["content-type"] == "application/pdf"
    assert 'filename="chargeback-CC-100-2026-05.pdf"' in response.headers["content-disposition"]
    assert response.content.startswith(b"%PDF-")
    pdf = tmp_path / "statement.pdf"
    pdf.write_bytes(response.content)
    text = _pdf_text(pdf)
    for words in ("CHARGEBACK STATEMENT", "cost_center CC-100", "Billing period 2026-05",
                  "Shared costs", "tax by cost", "fixed weights", "Totals"):  # fmt: skip
        assert words in text
    total = _twin(site, "cb-finance", cost_center="CC-100", month=MONTH)["statement"]["totals"]
    usd = next(t for t in total if t["currency"] == "USD")
    assert f"{usd['total']:,.2f} USD" in text  # the page's figures, to the cent
    image = _pdf_page_png(pdf, tmp_path)
    assert image.startswith(PNG)
    assert len(image) > 10_000  # a page with text on it, not a blank one


def test_a_server_without_chromium_says_so(
    site: ChargebackSite, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("COSTPRISM_CHROMIUM", str(tmp_path / "no-chromium"))
    client = site.signed_in("cb-finance")
    response = client.get("/chargeback/statement.pdf", params={"format": "json"})
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "chargeback.no_pdf"
    assert "COSTPRISM_CHROMIUM" in response.json()["error"]["message"]
    page = client.get("/chargeback/statement.pdf")
    assert page.status_code == 503
    assert "install it (apt-get install chromium)" in page.text


def test_bad_choices_are_shown_on_the_page(site: ChargebackSite) -> None:
    client = site.signed_in("cb-finance")
    page = client.get("/chargeback", params={"month": "May"})
    assert page.status_code == 400
    assert 'id="chargeback-error"' in page.text
    assert "write YYYY-MM" in page.text
    twin = client.get("/chargeback", params={"dimension": "dept", "format": "json"})
    assert twin.status_code == 400
    assert twin.json()["error"]["code"] == "chargeback.unknown_dimension"
    empty = client.get("/chargeback/statement.pdf", params={"month": "2031-01", "format": "json"})
    assert empty.status_code == 400
    assert empty.json()["error"]["code"] == "chargeback.empty"
    assert site.api().get("/chargeback").status_code == 303  # to the sign-in page


def test_showback_is_the_explorer_grouped_by_a_dimension(
    site: ChargebackSite, hand: HandSql
) -> None:
    client = site.signed_in("cb-finance")
    page = client.get("/explorer").text
    assert 'href="/explorer?by=team&amp;granularity=billing-period">by team</a>' in page
    assert "by cost_center</a>" in page
    for user, where in (("cb-finance", "TRUE"), ("cb-checkout", "x_product = 'checkout'")):
        twin = site.signed_in(user).get(
            "/explorer", params={"by": "team", "granularity": "billing-period", "format": "json"}
        )
        assert twin.status_code == 200
        got = {(r["team"], r["BillingCurrency"]): r["EffectiveCost"] for r in twin.json()["rows"]}
        expected = hand.rows(
            f"SELECT x_team, BillingCurrency, sum(effective) FROM booked WHERE {where} GROUP BY ALL"
        )
        assert got == pytest.approx({(t, c): float(v) for t, c, v in expected})


# --- in Chromium ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_chargeback(site: ChargebackSite) -> Iterator[str]:
    """The chargeback site served by uvicorn in a thread; yields its base URL."""
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(site.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, name="uvicorn-chargeback", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("uvicorn did not start within 20 seconds")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


def test_the_statement_page_in_chromium(page: Page, live_chargeback: str) -> None:
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.set_default_timeout(60_000)
    page.goto(f"{live_chargeback}/login")
    page.fill("input[name=username]", "cb-checkout")
    page.fill("input[name=password]", PASSWORD)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url(f"{live_chargeback}/home")

    page.click("header nav a[href='/chargeback']")
    page.wait_for_selector("#statement")
    assert page.inner_text("#statement .statement-title") == "cost_center CC-100"
    options = page.locator("select[name=cost_center] option").all_inner_texts()
    assert options == ["CC-100", "CC-200", "CC-900"]  # the scope's cost centers only

    page.select_option("select[name=cost_center]", "CC-200")
    page.click("#chargeback-form button[type=submit]")
    page.wait_for_url("**/chargeback?*cost_center=CC-200*")
    assert page.inner_text("#statement .statement-title") == "cost_center CC-200"
    assert "tax by cost" in page.inner_text("#statement table.shared")
    pdf_link = page.get_attribute("#statement-pdf", "href")
    assert pdf_link is not None
    assert pdf_link.startswith("/chargeback/statement.pdf?cost_center=CC-200")

    image = page.locator("#statement").screenshot()
    assert image.startswith(PNG)
    page.emulate_media(media="print")  # printing leaves the menu and the form out
    assert page.locator("header.top").is_hidden()
    assert page.locator("#chargeback-form").is_hidden()
    assert page.locator("#statement").is_visible()
    assert errors == []


# --- reading PDFs back ---------------------------------------------------------------------


def _poppler(tool: str) -> str:
    found = shutil.which(tool)
    if found is None:
        pytest.fail(f"{tool} is missing: `make system-deps` installs poppler-utils")
    return found


def _pdf_text(pdf: Path) -> str:
    done = subprocess.run(
        [_poppler("pdftotext"), "-layout", str(pdf), "-"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    return done.stdout


def _pdf_page_png(pdf: Path, folder: Path) -> bytes:
    """Page 1 of ``pdf`` rasterized to PNG at 72 dpi."""
    subprocess.run(
        [_poppler("pdftoppm"), "-png", "-r", "72", "-f", "1", "-l", "1", "-singlefile",
         str(pdf), str(folder / "page")],
        capture_output=True, check=True, timeout=60,
    )  # fmt: skip
    return (folder / "page.png").read_bytes()
