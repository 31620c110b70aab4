"""The versioned store: the ``costs`` ledger and its side tables, under one home folder."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from costprism.focus import CONTRACT_COMMITMENT_SCHEMA, LEDGER_SCHEMA
from costprism.ledger.quarantine import QUARANTINE_SCHEMA
from costprism.ledger.store import EPOCH, CommitInfo, IngestLock, LedgerTable, SliceId

__all__ = ["EPOCH", "CommitInfo", "Ledger", "LedgerTable", "SliceId"]


@dataclass(frozen=True)
class Ledger:
    """The tables under ``<home>/ledger``."""

    root: Path

    @classmethod
    def at_home(cls, home: Path) -> Ledger:
        return cls(home / "ledger")

    @property
    def costs(self) -> LedgerTable:
        return LedgerTable(self.root / "costs", LEDGER_SCHEMA)

    @property
    def contract_commitments(self) -> LedgerTable:
        return LedgerTable(self.root / "contract_commitments", CONTRACT_COMMITMENT_SCHEMA)

    @property
    def quarantine(self) -> LedgerTable:
        return LedgerTable(self.root / "quarantine", QUARANTINE_SCHEMA)

    @property
    def lock(self) -> IngestLock:
        return IngestLock(self.root)

    def table(self, dataset: str) -> LedgerTable:
        return self.contract_commitments if dataset == "contract_commitment" else self.costs
