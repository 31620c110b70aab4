"""The API tests' server: the shared demo ledger and its users (see ``demo_server``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.api.demo_server import DemoServer, close_demo_server, demo_server


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoServer]:
    yield demo_server(tmp_path_factory)
    close_demo_server()
