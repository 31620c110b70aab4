"""Allocation results: one immutable folder per rule-set version, beside the ledger.

``<ledger>/allocations/v000001/`` holds the allocation map of that version as Parquet files
(its key columns — ``BillingPeriodStart``, ``BillingCurrency``, the ledger columns the rules
read and an ``x_tag:<key>`` column per tag they read — then one ``x_<dimension>`` column
each, ``x_Rule``, ``x_Shared``, ``x_Share``: a ledger row's parts are the rows of its key),
the allocated daily rollup (``daily/``), the rules text it was computed from
(``rules.yaml``, with the usage files it reads beside it) and ``version.json``
(dimensions, keys, digest, the ``costs`` version it allocated, the first billing period it
recomputed, when). A version is written to a
scratch folder and renamed into place, so readers see a whole version or none; earlier
versions stay readable until removed.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa

from costprism.errors import InputError

FOLDER = "allocations"
DAILY = "daily"
_PREFIX = "v"
SHARE_TYPE = pa.decimal128(38, 12)


def allocation_schema(
    dimensions: Sequence[str], keys: Sequence[str], costs_schema: pa.Schema
) -> pa.Schema:
    """The allocation map's schema for these dimensions and keys (ledger columns keep the
    type ``costs_schema`` gives them; ``x_tag:`` keys are strings)."""
    return pa.schema(
        [
            *(
                costs_schema.field(k) if k in costs_schema.names else pa.field(k, pa.string())
                for k in keys
            ),
            *(pa.field(f"x_{d}", pa.string()) for d in dimensions),
            pa.field("x_Rule", pa.string()),
            pa.field("x_Shared", pa.string()),
            pa.field("x_Share", SHARE_TYPE),
        ]
    )


@dataclass(frozen=True, kw_only=True)
class AllocationVersion:
    """One stored rule-set version."""

    version: int
    path: Path
    dimensions: tuple[str, ...]
    keys: tuple[str, ...]  # the columns a ledger row is matched to the map by
    digest: str
    costs_version: int | None
    recomputed_from: str | None
    created: str
    rows: int

    @property
    def files(self) -> list[str]:
        """The allocation map's Parquet files."""
        return sorted(str(p) for p in self.path.glob("*.parquet"))

    @property
    def daily_files(self) -> list[str]:
        """The allocated daily rollup's Parquet files (of ``costs_version``)."""
        return sorted(str(p) for p in (self.path / DAILY).glob("*.parquet"))

    @property
    def rules_text(self) -> str:
        return (self.path / "rules.yaml").read_text(encoding="utf-8")

    def record(self) -> dict[str, Any]:
        return {
            "rules_version": self.version,
            "dimensions": list(self.dimensions),
            "keys": list(self.keys),
            "digest": self.digest,
            "costs_version": self.costs_version,
            "recomputed_from": self.recomputed_from,
            "created": self.created,
            "rows": self.rows,
        }


class AllocationStore:
    """The rule-set versions under ``<ledger>/allocations``."""

    def __init__(self, ledger_root: Path) -> None:
        self.root = ledger_root / FOLDER

    def versions(self) -> list[AllocationVersion]:
        if not self.root.is_dir():
            return []
        found = [self._read(p) for p in self.root.iterdir() if _is_version(p)]
        return sorted(found, key=lambda v: v.version)

    def latest(self) -> AllocationVersion | None:
        versions = self.versions()
        return versions[-1] if versions else None

    def get(self, version: int | None) -> AllocationVersion | None:
        """A stored version (the newest for None); a clear error for one that isn't there."""
        if version is None:
            return self.latest()
        for stored in self.versions():
            if stored.version == version:
                return stored
        known = ", ".join(str(v.version) for v in self.versions()) or "none yet"
        raise InputError(
            f"rules version {version} does not exist (versions: {known}); "
            "see costprism rules versions",
            code="rules.unknown_version",
        )

    def spill(self) -> Path:
        """An empty folder for DuckDB's temporary files while a version is computed."""
        folder = self.root / "_spill"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def scratch(self) -> Path:
        """An empty folder to write the next version into (under the write lock)."""
        folder = self.root / "_next"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        return folder

    def publish(
        self,
        scratch: Path,
        *,
        rules_text: str,
        dimensions: Sequence[str],
        keys: Sequence[str],
        digest: str,
        costs_version: int | None,
        recomputed_from: str | None,
        rows: int,
        files: Mapping[str, str] | None = None,
    ) -> AllocationVersion:
        """Make the scratch folder the next version, atomically; ``files`` are the side
        files the rules read (usage metrics), kept beside its ``rules.yaml``."""
        latest = self.latest()
        version = (latest.version if latest else 0) + 1
        (scratch / "rules.yaml").write_text(rules_text, encoding="utf-8")
        for name, text in (files or {}).items():
            (scratch / name).parent.mkdir(parents=True, exist_ok=True)
            (scratch / name).write_text(text, encoding="utf-8")
        meta = {
            "version": version,
            "dimensions": list(dimensions),
            "keys": list(keys),
            "digest": digest,
            "costs_version": costs_version,
            "recomputed_from": recomputed_from,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
            "rows": rows,
        }
        (scratch / "version.json").write_text(json.dumps(meta, indent=2), encoding="utf-8")
        target = self.root / f"{_PREFIX}{version:06d}"
        os.replace(scratch, target)
        return self._read(target)

    def _read(self, path: Path) -> AllocationVersion:
        meta = json.loads((path / "version.json").read_text(encoding="utf-8"))
        return AllocationVersion(
            version=int(meta["version"]),
            path=path,
            dimensions=tuple(meta["dimensions"]),
            keys=tuple(meta["keys"]),
            digest=str(meta["digest"]),
            costs_version=meta["costs_version"],
            recomputed_from=meta["recomputed_from"],
            created=str(meta["created"]),
            rows=int(meta["rows"]),
        )


def _is_version(path: Path) -> bool:
    return (
        path.is_dir()
        and path.name.startswith(_PREFIX)
        and path.name[1:].isdigit()
        and (path / "version.json").is_file()
    )
