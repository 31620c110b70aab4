"""The versioned store: the ``costs`` ledger, its daily rollup and side tables, under one home."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from costprism.focus import CONTRACT_COMMITMENT_SCHEMA, LEDGER_SCHEMA
from costprism.ledger.quarantine import QUARANTINE_SCHEMA
from costprism.ledger.rollups import DAILY_SCHEMA
from costprism.ledger.store import EPOCH, CommitInfo, IngestLock, LedgerTable, SliceId

SPILL = "_spill"

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
    def costs_daily(self) -> LedgerTable:
        """The daily rollup of ``costs`` (see :mod:`costprism.ledger.rollups`)."""
        return LedgerTable(self.root / "costs_daily", DAILY_SCHEMA)

    @property
    def contract_commitments(self) -> LedgerTable:
        return LedgerTable(self.root / "contract_commitments", CONTRACT_COMMITMENT_SCHEMA)

    @property
    def quarantine(self) -> LedgerTable:
        return LedgerTable(self.root / "quarantine", QUARANTINE_SCHEMA)

    @property
    def lock(self) -> IngestLock:
        return IngestLock(self.root)

    def spill(self, ingest_id: int) -> Path:
        """An empty scratch folder ``_spill/<ingest id>`` for a writer holding the lock
        (DuckDB's temporary files, an import's scanned groups). What writers killed before
        cleaning up left there is removed first: no other writer can be using it."""
        self.clear_spill()
        folder = self.root / SPILL / f"{ingest_id:08d}"
        folder.mkdir(parents=True)
        return folder

    def clear_spill(self) -> int:
        """Remove what killed writers left in ``_spill`` (call holding the write lock);
        returns the number of files removed."""
        spill = self.root / SPILL
        removed = 0
        for leftover in spill.iterdir() if spill.exists() else ():
            removed += sum(1 for p in leftover.rglob("*") if p.is_file())
            shutil.rmtree(leftover, ignore_errors=True)
        return removed

    @property
    def tables(self) -> tuple[LedgerTable, ...]:
        """Every table of the ledger (what ``vacuum`` cleans)."""
        return (self.costs, self.costs_daily, self.contract_commitments, self.quarantine)

    def table(self, dataset: str) -> LedgerTable:
        return self.contract_commitments if dataset == "contract_commitment" else self.costs
