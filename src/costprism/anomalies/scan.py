"""One detection pass over a ledger view: cost anomalies per scope, the security rules, and
the drivers of each, all within the caller's scope (the engine applies it).

Tax rows (``ChargeCategory = 'Tax'``) are left out of cost detection: tax follows the
usage it is charged on, so its jumps repeat the usage anomalies already reported.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

from costprism.anomalies.detection import DetectionSettings, Finding, detect
from costprism.anomalies.drivers import Driver, drivers
from costprism.anomalies.security import security_findings
from costprism.anomalies.series import read_series
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter

COST = "cost"
SCOPE_KEY_LENGTH = 1000  # the anomalies.scope_key column
NOT_TAX = Filter(column="ChargeCategory", op="!=", values=("Tax",))
SECURITY = "security"


@dataclass(frozen=True, kw_only=True)
class Detected:
    """A finding with its kind (``cost`` or ``security``), rule and drivers."""

    kind: str
    rule: str
    dimensions: tuple[str, ...]
    finding: Finding
    drivers: tuple[Driver, ...] = field(default=())
    explained: bool = False  # drivers computed in this run (else the stored ones stand)

    @property
    def scope_key(self) -> str:
        return scope_key(self.finding.scope)

    @property
    def fingerprint(self) -> str:
        """The stable identity: kind, rule, scope, currency and first day."""
        f = self.finding
        text = json.dumps([self.kind, self.rule, self.scope_key, f.currency, f.start.isoformat()])
        return hashlib.sha256(text.encode()).hexdigest()


def scope_key(scope: Mapping[str, str]) -> str:
    """A scope as canonical text: ``dimension=value`` lines, sorted by dimension (its
    SHA-256 when longer than the column holds)."""
    text = "\n".join(f"{k}={scope[k]}" for k in sorted(scope))
    return (
        text
        if len(text) <= SCOPE_KEY_LENGTH
        else "sha256:" + hashlib.sha256(text.encode()).hexdigest()
    )


def scan(
    view: LedgerView,
    dimensions: Sequence[str],
    settings: DetectionSettings,
    *,
    scope: Sequence[Filter] = (),
    filters: Sequence[Filter] = (),
    start: date | None = None,
    end: date | None = None,
    security: bool = True,
    explain: bool = True,
) -> list[Detected]:
    """Detect cost anomalies by ``dimensions`` (and, with ``security``, the security rules);
    with ``explain``, the ``settings.explain_limit`` largest by impact get their drivers."""
    series = read_series(
        view, dimensions, scope=scope, filters=(*filters, NOT_TAX), start=start, end=end
    )
    found = [
        Detected(kind=COST, rule="cost", dimensions=tuple(dimensions), finding=f)
        for f in detect(series, settings)
    ]
    if security:
        found += [
            Detected(kind=SECURITY, rule=rule, dimensions=tuple(f.scope), finding=f)
            for rule, f in security_findings(view, settings, scope=scope, start=start, end=end)
        ]
    if not explain:
        return found
    largest = sorted(range(len(found)), key=lambda i: -abs(found[i].finding.impact))
    chosen = set(largest[: settings.explain_limit])
    return [
        _explained(view, d, (*scope, *filters)) if i in chosen else d for i, d in enumerate(found)
    ]


def _explained(view: LedgerView, detected: Detected, caller: Sequence[Filter]) -> Detected:
    f = detected.finding
    found = drivers(view, f.scope, f.currency, f.start, f.end, caller=caller)
    return Detected(
        kind=detected.kind, rule=detected.rule, dimensions=detected.dimensions, finding=f,
        drivers=tuple(found), explained=True,
    )  # fmt: skip
