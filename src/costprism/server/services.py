"""What every request shares: the ledger, the metadata database and open ledger views.

Opening a ledger version costs a Delta log read and a DuckDB connection, so views are
pooled per version: a request borrows one, and a new ledger version retires the pool.
A DuckDB connection serves one query at a time, hence one view per concurrent request.

Dashboards ask the same questions of the same version again and again (a role's home page
for one scope), so :meth:`Services.remembered` keeps such answers until the ledger gets a
new version. Concurrent requests for one answer compute it once.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from costprism.db import Database
from costprism.engine.backends import LedgerView, open_ledger
from costprism.ledger import Ledger
from costprism.ledger.allocations import AllocationStore
from costprism.server.config import ServerConfig

POOL_SIZE = 4
REMEMBERED = 512  # answers kept per ledger version
T = TypeVar("T")
State = tuple[int | None, int | None]  # (ledger version, rule-set version)
VERSION_CHECK_SECONDS = 1.0  # how stale a request's idea of the newest version may be


class Services:
    def __init__(self, config: ServerConfig) -> None:
        self.config = config
        self.ledger = Ledger.at_home(config.home)
        self.db = Database.open(config.database_url)
        self._lock = threading.Lock()
        self._version: State = (None, None)
        self._idle: list[LedgerView] = []
        self._slots = threading.BoundedSemaphore(POOL_SIZE)
        self._checked_at = 0.0
        self._version_seen: State = (None, None)
        self._answers: OrderedDict[Hashable, Any] = OrderedDict()
        self._computing: dict[Hashable, threading.Lock] = {}

    @contextmanager
    def view(self) -> Iterator[LedgerView]:
        """A view of the newest ledger version, for the length of one request."""
        with self._slots:
            view = self._borrow()
            try:
                yield view
            finally:
                self._give_back(view)

    def remembered(self, key: Hashable, compute: Callable[[LedgerView], T]) -> T:
        """``compute`` over a view of the newest version, kept until the version changes."""
        version = self.newest_state()
        full = (version, key)
        with self._lock:
            if full in self._answers:
                self._answers.move_to_end(full)
                found: T = self._answers[full]
                return found
            gate = self._computing.setdefault(full, threading.Lock())
        with gate:
            with self._lock:
                if full in self._answers:
                    again: T = self._answers[full]
                    return again
            with self.view() as view:
                answer = compute(view)
            self._keep(full, _state(view), answer)
        return answer

    def _keep(self, full: tuple[State, Hashable], read: State, answer: Any) -> None:
        with self._lock:
            self._computing.pop(full, None)
            if read != full[0]:
                return  # the ledger moved on while computing: answer this request only
            self._answers[full] = answer
            while len(self._answers) > REMEMBERED:
                self._answers.popitem(last=False)

    def newest_version(self) -> int | None:
        """The ledger's newest version, read from the Delta log at most once a second."""
        return self.newest_state()[0]

    def newest_state(self) -> State:
        """The ledger's newest version and newest rule-set version (a view of an older
        either is retired), read at most once a second."""
        now = time.monotonic()
        if now - self._checked_at > VERSION_CHECK_SECONDS:
            costs = self.ledger.costs
            latest = AllocationStore(self.ledger.root).latest()
            self._version_seen = (
                costs.delta().version() if costs.exists() else None,
                latest.version if latest else None,
            )
            self._checked_at = now
        return self._version_seen

    def forget(self) -> None:
        """Look at the ledger again on the next request (after a change made here)."""
        with self._lock:
            self._checked_at = 0.0

    def _borrow(self) -> LedgerView:
        version = self.newest_state()
        with self._lock:
            if version != self._version:
                self._idle.clear()
                self._answers.clear()
                self._version = version
            if self._idle:
                return self._idle.pop()
        return open_ledger(self.ledger)

    def _give_back(self, view: LedgerView) -> None:
        with self._lock:
            if _state(view) == self._version and len(self._idle) < POOL_SIZE:
                self._idle.append(view)

    def close(self) -> None:
        self.db.dispose()


def _state(view: LedgerView) -> State:
    return (view.version, view.allocation.version if view.allocation else None)
