"""HTML to PDF with Chromium, driven by Playwright: the chargeback statement's download.

Each call starts a headless Chromium (``COSTPRISM_CHROMIUM``, default ``/usr/bin/chromium``,
with the flags the browser tests use), loads the HTML with scripts off and every network
request refused (the document carries its CSS inline), prints it to A4 and closes the
browser: about a second and 150 MB per PDF, so at most :data:`CONCURRENT` run at once and
further requests wait. Playwright comes with ``pip install 'costprism[pdf]'``; Chromium
from the system (``apt-get install chromium``). Without either, the download answers 503
with code ``chargeback.no_pdf`` and the statement page itself still works (and prints).

Playwright's sync API needs a thread without a running event loop: FastAPI runs the
(synchronous) PDF route in its thread pool, which has none.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path
from typing import Any

from costprism.errors import CostPrismError

CHROMIUM_ENV = "COSTPRISM_CHROMIUM"
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)
CONCURRENT = 2
TIMEOUT_MS = 30_000
_slots = threading.BoundedSemaphore(CONCURRENT)


class PdfUnavailable(CostPrismError):  # noqa: N818 (reads as what the server is)
    """This server can't render PDFs (no Playwright, no Chromium, Chromium failed)."""

    code = "chargeback.no_pdf"
    exit_code = 1
    status = 503


def chromium_path() -> Path:
    """The Chromium executable: ``COSTPRISM_CHROMIUM``, else ``/usr/bin/chromium``."""
    given = os.environ.get(CHROMIUM_ENV, "").strip()
    return Path(given) if given else DEFAULT_CHROMIUM


def html_to_pdf(html: str) -> bytes:
    """``html`` (self-contained) printed to an A4 PDF by headless Chromium."""
    try:
        from playwright.sync_api import Error, sync_playwright
    except ImportError as error:
        raise PdfUnavailable(
            "PDF needs Playwright on the server: pip install 'costprism[pdf]'; print the "
            "page from the browser meanwhile",
            code="chargeback.no_pdf",
        ) from error
    executable = chromium_path()
    if not executable.exists():
        raise PdfUnavailable(
            f"PDF needs Chromium at {executable}: install it (apt-get install chromium) or "
            f"set {CHROMIUM_ENV} to its path",
            code="chargeback.no_pdf",
        )
    with _slots:
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(
                    executable_path=executable, args=list(CHROMIUM_ARGS), headless=True
                )
                try:
                    return _print(browser, html)
                finally:
                    browser.close()
        except Error as error:
            raise PdfUnavailable(
                f"Chromium could not print the statement ({error.message.splitlines()[0]}); "
                "print the page from the browser meanwhile",
                code="chargeback.no_pdf",
            ) from error


def _print(browser: Any, html: str) -> bytes:
    context = browser.new_context(java_script_enabled=False)
    try:
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.route("**/*", lambda route: route.abort())  # nothing is fetched
        page.set_content(html, wait_until="load")
        pdf: bytes = page.pdf(
            format="A4",
            print_background=True,
            prefer_css_page_size=True,
            margin={"top": "16mm", "bottom": "16mm", "left": "14mm", "right": "14mm"},
        )
        return pdf
    finally:
        context.close()
