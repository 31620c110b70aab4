"""HTML to PDF with Chromium (``costprism.web.pdf``): a real PDF whose text and first page
poppler reads back; nothing is fetched while printing; a clear 503 without Chromium."""

from __future__ import annotations

import shutil
import subprocess
import time
from pathlib import Path

import pytest

from costprism.web.pdf import DEFAULT_CHROMIUM, PdfUnavailable, chromium_path, html_to_pdf

DOCUMENT = """<!doctype html><html><head><meta charset="utf-8"><style>
h1 { color: #2f5bd3; } @page { size: A4; }</style></head>
<body><h1>Statement für CC-100</h1><p>Total 1,234.56 USD</p>{extra}</body></html>"""


def test_html_becomes_a_pdf_that_poppler_reads(tmp_path: Path) -> None:
    pdf = html_to_pdf(DOCUMENT.replace("{extra}", ""))
    assert pdf.startswith(b"%PDF-")
    path = tmp_path / "doc.pdf"
    path.write_bytes(pdf)
    text = subprocess.run(
        [_tool("pdftotext"), str(path), "-"], capture_output=True, text=True, check=True
    ).stdout
    assert "Statement für CC-100" in text
    assert "Total 1,234.56 USD" in text
    subprocess.run(
        [_tool("pdftoppm"), "-png", "-r", "50", "-singlefile", str(path), str(tmp_path / "p")],
        check=True,
    )
    assert (tmp_path / "p.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_nothing_is_fetched_while_printing() -> None:
    # an address nobody answers: were it fetched, printing would wait for the timeout
    extra = '<img src="http://10.255.255.1/x.png"><link rel="stylesheet" href="http://10.255.255.1/a.css">'
    started = time.monotonic()
    assert html_to_pdf(DOCUMENT.replace("{extra}", extra)).startswith(b"%PDF-")
    assert time.monotonic() - started < 25


def test_without_chromium_the_error_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("COSTPRISM_CHROMIUM", raising=False)
    assert chromium_path() == DEFAULT_CHROMIUM
    monkeypatch.setenv("COSTPRISM_CHROMIUM", str(tmp_path / "nowhere"))
    assert chromium_path() == tmp_path / "nowhere"
    with pytest.raises(PdfUnavailable, match="apt-get install chromium") as caught:
        html_to_pdf("<p>x</p>")
    assert (caught.value.code, caught.value.status, caught.value.exit_code) == (
        "chargeback.no_pdf", 503, 1,
    )  # fmt: skip


def _tool(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"{name} is missing: `make system-deps` installs poppler-utils")
    return found
