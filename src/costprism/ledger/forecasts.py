"""Saved forecasts: one immutable folder per version, beside the ledger.

``<ledger>/forecasts/v000001/`` holds ``daily.parquet`` (one row per series and forecast
day: ``key0`` … ``keyN`` (the group-by values, as text), ``BillingCurrency``, ``day``,
``model``, ``point``, ``lo80``, ``hi80``, ``lo95``, ``hi95``, ``baseline``, ``sigma``) and
``version.json`` (when, the ledger and rule-set versions it was built from, group-by,
filters, scope, horizon, first and last day, models). A version is written to a scratch
folder and renamed into place, so readers see a whole version or none; a version is never
changed. The daily rows are kept (not the months) so that accuracy and drift can be
computed at any granularity later.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from costprism.errors import NotFound

FOLDER = "forecasts"
DAILY = "daily.parquet"
META = "version.json"
_PREFIX = "v"
VALUES = ("point", "lo80", "hi80", "lo95", "hi95", "baseline", "sigma")


@dataclass(frozen=True, kw_only=True)
class ForecastVersion:
    """One saved forecast."""

    version: int
    path: Path
    meta: dict[str, Any]

    @property
    def group_by(self) -> tuple[str, ...]:
        return tuple(self.meta["group_by"])

    @property
    def scope(self) -> tuple[str, ...]:
        return tuple(self.meta["scope"])

    @property
    def filters(self) -> tuple[str, ...]:
        return tuple(self.meta["filters"])

    @property
    def start(self) -> date:
        return date.fromisoformat(self.meta["start"])

    @property
    def end(self) -> date:
        return date.fromisoformat(self.meta["end"])

    def daily(self) -> pa.Table:
        """The saved daily rows."""
        return pq.read_table(self.path / DAILY)

    def record(self) -> dict[str, Any]:
        return {"version": self.version, **self.meta}


def daily_schema(keys: int) -> pa.Schema:
    return pa.schema(
        [
            *(pa.field(f"key{i}", pa.string()) for i in range(keys)),
            pa.field("BillingCurrency", pa.string()),
            pa.field("day", pa.date32()),
            pa.field("model", pa.string()),
            *(pa.field(name, pa.float64()) for name in VALUES),
        ]
    )


class ForecastStore:
    """The saved forecast versions under ``<ledger>/forecasts``."""

    def __init__(self, ledger_root: Path) -> None:
        self.root = ledger_root / FOLDER

    def versions(self) -> list[ForecastVersion]:
        if not self.root.is_dir():
            return []
        found = [self._read(p) for p in self.root.iterdir() if _is_version(p)]
        return sorted(found, key=lambda v: v.version)

    def get(self, version: int) -> ForecastVersion:
        for stored in self.versions():
            if stored.version == version:
                return stored
        known = ", ".join(str(v.version) for v in self.versions()) or "none yet"
        raise NotFound(
            f"forecast version {version} does not exist (versions: {known}); see "
            "costprism forecast-versions list",
            code="forecast.unknown",
        )

    def save(self, rows: pa.Table, meta: dict[str, Any]) -> ForecastVersion:
        """Store ``rows`` (:func:`daily_schema`) and ``meta`` as the next version."""
        self.root.mkdir(parents=True, exist_ok=True)
        scratch = self.root / f"_next-{uuid.uuid4().hex}"
        scratch.mkdir()
        try:
            pq.write_table(rows, scratch / DAILY)
            created = datetime.now(UTC).isoformat(timespec="seconds")
            while True:  # another writer may take a number first: rename refuses, try the next
                latest = self.versions()
                version = (latest[-1].version if latest else 0) + 1
                body = {"version": version, "created_at": created, **meta}
                (scratch / META).write_text(json.dumps(body, indent=2), encoding="utf-8")
                target = self.root / f"{_PREFIX}{version:06d}"
                try:
                    os.rename(scratch, target)
                except OSError:
                    if target.exists():
                        continue
                    raise
                return self._read(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _read(self, path: Path) -> ForecastVersion:
        meta = json.loads((path / META).read_text(encoding="utf-8"))
        version = int(meta.pop("version"))
        return ForecastVersion(version=version, path=path, meta=meta)


def visible(version: ForecastVersion, scope: Sequence[str]) -> bool:
    """Whether a caller with ``scope`` (filter texts) may read ``version``: an unscoped
    caller reads every version, a scoped one only versions saved with exactly its scope
    (a forecast over more than one's scope would tell about cost one can't see)."""
    return not scope or sorted(version.scope) == sorted(scope)


def _is_version(path: Path) -> bool:
    return (
        path.is_dir()
        and path.name.startswith(_PREFIX)
        and path.name[1:].isdigit()
        and (path / META).is_file()
    )
