"""The schedule: durations, a thread that runs rounds until stopped, and the server's
lifespan starting and stopping it."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from costprism.alerts.schedule import AlertScheduler, parse_every
from costprism.capabilities.alerts import list_deliveries
from costprism.errors import InputError
from costprism.server import ServerConfig, create_app


@pytest.mark.parametrize(
    ("text", "seconds"), [("15m", 900.0), ("15", 900.0), ("30s", 30.0), ("2h", 7200.0),
                          ("1d", 86400.0), ("1.5h", 5400.0)],
)  # fmt: skip
def test_durations(text: str, seconds: float) -> None:
    assert parse_every(text) == seconds


@pytest.mark.parametrize("text", ["5s", "0m", "soon", "-1h", "15 minutes"])
def test_bad_or_too_short_durations_are_refused(text: str) -> None:
    with pytest.raises(InputError, match=f"--alerts-every {text!r}: use a duration"):
        parse_every(text)


def test_rounds_run_until_stopped_and_a_failing_round_does_not_end_them() -> None:
    calls: list[float] = []
    third = threading.Event()

    def round_() -> None:
        calls.append(time.monotonic())
        if len(calls) == 3:
            third.set()
        if len(calls) == 1:
            raise RuntimeError("the first round fails")

    scheduler = AlertScheduler(0.01, round_).start()
    assert third.wait(10)
    scheduler.stop()

    assert not scheduler.running
    done = len(calls)
    time.sleep(0.05)
    assert len(calls) == done >= 3  # nothing runs after stop


def test_the_server_runs_alerts_on_a_schedule_and_stops_it(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    config = ServerConfig.load(
        home, database_url=f"sqlite:///{home / 'metadata.db'}", alerts_every=3600
    )
    app = create_app(config)

    with TestClient(app) as client:
        assert client.get("/healthz").status_code == 200
        scheduler = app.state.alerts_scheduler
        for _ in range(200):  # the first round runs at start-up
            if scheduler.rounds:
                break
            time.sleep(0.05)
        assert scheduler.rounds == 1
        assert scheduler.running
    assert not scheduler.running
    assert list_deliveries(app.state.services.db) == []  # an empty ledger: nothing due


def test_without_the_option_no_scheduler_starts(tmp_path: Path) -> None:
    app = create_app(ServerConfig.load(tmp_path, database_url=f"sqlite:///{tmp_path / 'm.db'}"))

    with TestClient(app):
        assert not hasattr(app.state, "alerts_scheduler")
