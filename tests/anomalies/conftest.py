"""The shop ledger (tests/anomaly_ledger.py), shared read-only by the anomaly tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from costprism.engine.backends import LedgerView, open_ledger
from costprism.ledger import Ledger
from tests.anomaly_ledger import shop_home


@pytest.fixture(scope="session")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return shop_home(tmp_path_factory)


@pytest.fixture(scope="module")
def shop_view(shop: Path) -> LedgerView:
    return open_ledger(Ledger.at_home(shop))
