"""Pooled ledger views: reused within a version, retired when the ledger changes."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from costprism.engine.backends import LedgerView
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.server import services as services_module
from costprism.server.config import ServerConfig
from costprism.server.services import Services
from tests.conftest import SAMPLE_1000, SYNTHETIC_10K


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    found = Services(ServerConfig.load(tmp_path))
    yield found
    found.close()


def test_an_empty_ledger_gives_an_empty_view(services: Services) -> None:
    with services.view() as view:
        assert view.version is None
        assert view.costs.count().execute() == 0


def test_views_are_reused_within_a_version(services: Services) -> None:
    ingest([SAMPLE_1000], services.ledger, IngestOptions(source="sample"))
    with services.view() as first:
        pass
    with services.view() as second:
        assert second is first
        assert second.version == services.ledger.costs.delta().version()


def test_a_new_version_retires_the_pool(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(services_module, "VERSION_CHECK_SECONDS", 0.0)
    ingest([SAMPLE_1000], services.ledger, IngestOptions(source="sample"))
    with services.view() as old:
        pass
    ingest([SYNTHETIC_10K], services.ledger, IngestOptions(source="synthetic"))
    time.sleep(0.01)
    with services.view() as new:
        assert new is not old
        assert new.version == old.version + 1  # type: ignore[operator]


def test_answers_are_remembered_within_a_version_and_computed_once(
    services: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    monkeypatch.setattr(services_module, "VERSION_CHECK_SECONDS", 0.0)
    ingest([SAMPLE_1000], services.ledger, IngestOptions(source="sample"))
    calls: list[int | None] = []
    started = threading.Event()

    def count(view: LedgerView) -> int:
        calls.append(view.version)
        started.wait(1)
        return int(view.costs.count().execute())

    threads = [threading.Thread(target=services.remembered, args=("rows", count)) for _ in range(5)]
    for thread in threads:
        thread.start()
    started.set()
    for thread in threads:
        thread.join()
    assert len(calls) == 1
    first = services.remembered("rows", count)
    assert len(calls) == 1
    ingest([SYNTHETIC_10K], services.ledger, IngestOptions(source="synthetic"))
    assert services.remembered("rows", count) > first
    assert len(calls) == 2
