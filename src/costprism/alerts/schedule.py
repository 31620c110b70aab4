"""``costprism serve --alerts-every 15m``: ``alerts run`` on a schedule, in a background
thread started with the app and stopped with it.

Each round detects anomalies (as ``anomalies detect`` with its defaults), then runs the
alerts with the configuration and owners file read afresh from the data folder (an edit
to alerts.yaml takes effect on the next round). A round that fails is logged and the
next one runs as usual; stopping waits for the round in progress to finish.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable

from costprism.errors import InputError

log = logging.getLogger("costprism.alerts")
_EVERY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")
_UNITS = {"": 60.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}
MIN_EVERY = 10.0


def parse_every(text: str, option: str = "--alerts-every") -> float:
    """Seconds from ``30s``, ``15m`` (a bare number is minutes), ``2h``, ``1d``."""
    found = _EVERY.match(text)
    seconds = float(found.group(1)) * _UNITS[found.group(2)] if found else -1.0
    if seconds < MIN_EVERY:
        raise InputError(
            f"{option} {text!r}: use a duration of at least 10s, e.g. 15m, 1h or 30s",
            code="input.bad_option",
        )
    return seconds


class AlertScheduler:
    """Calls ``round`` every ``every`` seconds (the first right away) until stopped."""

    def __init__(self, every: float, round: Callable[[], object]) -> None:
        self.every = every
        self.round = round
        self.rounds = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="costprism-alerts", daemon=True)

    def start(self) -> AlertScheduler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 60.0) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    @property
    def running(self) -> bool:
        return self._thread.is_alive()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.round()
            except Exception:  # a failed round must not end the schedule
                log.exception("scheduled alerts run failed; the next runs in %ss", self.every)
            self.rounds += 1
            self._stop.wait(self.every)


def server_round(services: object) -> Callable[[], object]:
    """One scheduled round over the server's ledger and metadata database."""
    from costprism.capabilities.alerts import config_for, run_alerts
    from costprism.capabilities.anomalies import owners_for
    from costprism.server.services import Services

    assert isinstance(services, Services)

    def round_() -> object:
        home = services.config.home
        if not services.ledger.costs.exists():
            return None
        with services.view() as view:
            run = run_alerts(
                view, services.db, config_for(home), owners=owners_for(home), detect=True,
                actor="schedule",
            )  # fmt: skip
        log.info(
            "scheduled alerts: %s sent, %s failed, %s already sent",
            run.count("sent"), run.count("failed"), run.count("already-sent"),
        )  # fmt: skip
        return run

    return round_
