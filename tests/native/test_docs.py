"""The per-provider mapping pages in docs/reference are what the code generates."""

from __future__ import annotations

from pathlib import Path

from costprism.native.docs import pages

REFERENCE = Path(__file__).resolve().parents[2] / "docs" / "reference"


def test_reference_pages_are_generated_from_the_rules() -> None:
    for name, text in pages().items():
        path = REFERENCE / name
        assert path.is_file(), f"{path} is missing"
        assert path.read_text(encoding="utf-8") == text, (
            f"{path} is stale: run python -m costprism.native.docs docs/reference"
        )
