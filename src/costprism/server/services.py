"""What every request shares: the ledger, the metadata database and open ledger views.

Opening a ledger version costs a Delta log read and a DuckDB connection, so views are
pooled per version: a request borrows one, and a new ledger version retires the pool.
A DuckDB connection serves one query at a time, hence one view per concurrent request.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from costprism.db import Database
from costprism.engine.backends import LedgerView, open_ledger
from costprism.ledger import Ledger
from costprism.server.config import ServerConfig

POOL_SIZE = 4
VERSION_CHECK_SECONDS = 1.0  # how stale a request's idea of the newest version may be


class Services:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.ledger = Ledger.at_home(config.home)
        self.db = Database.open(config.database_url)
        self._lock = threading.Lock()
        self._version: int | None = None
        self._idle: list[LedgerView] = []
        self._slots = threading.BoundedSemaphore(POOL_SIZE)
        self._checked_at = 0.0
        self._version_seen: int | None = None

    @contextmanager
    def view(self) -> Iterator[LedgerView]:
        """A view of the newest ledger version, for the length of one request."""
        with self._slots:
            view = self._borrow()
            try:
                yield view
            finally:
                self._give_back(view)

    def newest_version(self) -> int | None:
        """The ledger's newest version, read from the Delta log at most once a second."""
        now = time.monotonic()
        if now - self._checked_at > VERSION_CHECK_SECONDS:
            costs = self.ledger.costs
            self._version_seen = costs.delta().version() if costs.exists() else None
            self._checked_at = now
        return self._version_seen

    def _borrow(self) -> LedgerView:
        version = self.newest_version()
        with self._lock:
            if version != self._version:
                self._idle.clear()
                self._version = version
            if self._idle:
                return self._idle.pop()
        return open_ledger(self.ledger)

    def _give_back(self, view: LedgerView) -> None:
        with self._lock:
            if view.version == self._version and len(self._idle) < POOL_SIZE:
                self._idle.append(view)

    def close(self) -> None:
        self.db.dispose()
