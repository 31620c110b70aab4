"""Anomalies: detect, list, show and triage — what ``costprism anomalies``, the API's
``/anomalies`` and the ``/anomalies`` page all call.

Detection (:func:`detect_anomalies`) scans the ledger through the engine (see
:mod:`costprism.anomalies`) and records the findings in the metadata database
(:mod:`costprism.anomalies.store`). Reads are scoped: a caller sees an anomaly only when
the engine, queried within the caller's scope, finds the very cost of the anomaly's scope
on each of its days that it finds without a scope, i.e. when none of that cost lies outside
what the caller may see (:func:`visible`). KPIs (:func:`anomaly_kpis`): mean time to
detect (first day of the anomaly to detection), to acknowledge and to resolve (from
detection), and anomaly cost % (impact of the anomalies not marked false positive over
the total cost of their days, per currency, within the caller's scope).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from costprism.anomalies.detection import DetectionSettings
from costprism.anomalies.owners import OwnersFile, load_owners
from costprism.anomalies.scan import scan
from costprism.anomalies.store import (
    CLOSED,
    STATES,
    Recorded,
    add_comment,
    all_anomalies,
    get_anomaly,
    record_detected,
    set_owner,
    transition,
)
from costprism.capabilities.reporting import cost_report
from costprism.db import Database
from costprism.db.models import Anomaly
from costprism.engine.backends import LedgerView
from costprism.engine.filters import Filter
from costprism.engine.query import CostQuery
from costprism.errors import InputError, NotFound

OWNERS_FILE = "owners.yaml"
SEVERITIES = ("low", "medium", "high", "critical")
KINDS = ("cost", "security")
DEFAULT_BY = ("SubAccountId", "ServiceName")
DIMENSIONS_LENGTH = 500  # the anomalies.dimensions column


@dataclass(frozen=True, kw_only=True)
class DetectionRun:
    dimensions: tuple[str, ...]
    found: int
    recorded: Recorded

    def record(self) -> dict[str, Any]:
        return {
            "dimensions": list(self.dimensions),
            "found": self.found,
            "new": list(self.recorded.new),
            "updated": list(self.recorded.updated),
            "suppressed": list(self.recorded.suppressed),
        }


def owners_for(home: Path, path: Path | None = None) -> OwnersFile | None:
    """The owners file given, else ``owners.yaml`` in the data folder if there is one."""
    chosen = path or home / OWNERS_FILE
    if path is None and not chosen.exists():
        return None
    return load_owners(chosen)


def detect_anomalies(
    view: LedgerView,
    db: Database,
    *,
    by: Sequence[str] = DEFAULT_BY,
    settings: DetectionSettings | None = None,
    scope: Sequence[Filter] = (),
    filters: Sequence[Filter] = (),
    owners: OwnersFile | None = None,
    start: date | None = None,
    end: date | None = None,
    security: bool = True,
    actor: str | None = None,
) -> DetectionRun:
    """Scan, explain and record; known anomalies are updated, never duplicated."""
    check_settings(settings := settings or DetectionSettings())
    if not by:
        raise InputError("give at least one --by dimension to watch", code="anomalies.no_by")
    if len(",".join(by)) > DIMENSIONS_LENGTH:
        raise InputError(
            f"--by {' '.join(by)}: the dimensions' names are longer than "
            f"{DIMENSIONS_LENGTH} characters together; watch fewer",
            code="anomalies.no_by",
        )
    found = scan(
        view, tuple(by), settings, scope=scope, filters=filters, start=start, end=end,
        security=security,
    )  # fmt: skip
    with db.session() as session:
        recorded = record_detected(session, found, owners=owners, actor=actor)
    return DetectionRun(dimensions=tuple(by), found=len(found), recorded=recorded)


def check_settings(settings: DetectionSettings) -> None:
    if not (settings.sensitivity > 0 and math.isfinite(settings.sensitivity)):
        raise InputError(
            f"--sensitivity {settings.sensitivity}: use a positive number (1 is the default; "
            "2 finds smaller changes, 0.5 only larger ones)",
            code="input.bad_option",
        )
    if settings.unfinished_days < 0:
        raise InputError(
            f"--unfinished-days {settings.unfinished_days}: use 0 or more",
            code="input.bad_option",
        )


def list_anomalies(
    view: LedgerView,
    db: Database,
    *,
    scope: Sequence[Filter] = (),
    state: str | None = None,
    severity: str | None = None,
    kind: str | None = None,
) -> list[dict[str, Any]]:
    """The anomalies the caller may see, newest first, as JSON-ready records."""
    _check_choice("state", state, STATES)
    _check_choice("severity", severity, SEVERITIES)
    _check_choice("kind", kind, KINDS)
    with db.session() as session:
        found = [
            a
            for a in all_anomalies(session)
            if (state is None or a.state == state)
            and (severity is None or a.severity == severity)
            and (kind is None or a.kind == kind)
        ]
        shown = visible(view, found, scope)
        return [anomaly_record(a) for a in found if a.id in shown]


def anomaly_detail(
    view: LedgerView, db: Database, anomaly_id: int, *, scope: Sequence[Filter] = ()
) -> dict[str, Any]:
    """One anomaly with its chart series and history (404 outside the caller's scope)."""
    with db.session() as session:
        anomaly = _visible_anomaly(view, get_anomaly(session, anomaly_id), scope)
        return anomaly_record(anomaly) | {
            "series": anomaly.series,
            "history": [_event(e) for e in anomaly.events],
        }


def triage_anomaly(
    view: LedgerView,
    db: Database,
    anomaly_id: int,
    to_state: str,
    *,
    scope: Sequence[Filter] = (),
    actor: str | None = None,
    comment: str = "",
    address: str = "",
) -> dict[str, Any]:
    """Move an anomaly to ``to_state`` (see :data:`costprism.anomalies.store.TRANSITIONS`)."""
    with db.session() as session:
        anomaly = _visible_anomaly(view, get_anomaly(session, anomaly_id), scope)
        transition(session, anomaly, to_state, actor=actor, comment=comment, address=address)
    return anomaly_detail(view, db, anomaly_id, scope=scope)


def comment_anomaly(
    view: LedgerView,
    db: Database,
    anomaly_id: int,
    text: str,
    *,
    scope: Sequence[Filter] = (),
    actor: str | None = None,
    address: str = "",
) -> dict[str, Any]:
    with db.session() as session:
        anomaly = _visible_anomaly(view, get_anomaly(session, anomaly_id), scope)
        add_comment(session, anomaly, text, actor=actor, address=address)
    return anomaly_detail(view, db, anomaly_id, scope=scope)


def assign_anomaly(
    view: LedgerView,
    db: Database,
    anomaly_id: int,
    owner: str,
    *,
    scope: Sequence[Filter] = (),
    actor: str | None = None,
    address: str = "",
) -> dict[str, Any]:
    with db.session() as session:
        anomaly = _visible_anomaly(view, get_anomaly(session, anomaly_id), scope)
        set_owner(session, anomaly, owner, actor=actor, address=address)
    return anomaly_detail(view, db, anomaly_id, scope=scope)


def anomaly_record(anomaly: Anomaly) -> dict[str, Any]:
    """The JSON shape of the CLI, the API and the page's twin."""
    return {
        "id": anomaly.id,
        "kind": anomaly.kind,
        "rule": anomaly.rule,
        "scope": dict(anomaly.scope),
        "dimensions": anomaly.dimensions.split(",") if anomaly.dimensions else [],
        "start": anomaly.start.isoformat(),
        "end": anomaly.end.isoformat(),
        "BillingCurrency": anomaly.currency,
        "impact": round(anomaly.impact, 4),
        "actual": round(anomaly.actual, 4),
        "expected": round(anomaly.expected, 4),
        "severity": anomaly.severity,
        "state": anomaly.state,
        "owner": anomaly.owner,
        "route": anomaly.route,
        "drivers": list(anomaly.drivers),
        "detected_at": _iso(anomaly.detected_at),
        "acknowledged_at": _iso(anomaly.acknowledged_at),
        "resolved_at": _iso(anomaly.resolved_at),
    }


def visible(view: LedgerView, anomalies: Sequence[Anomaly], scope: Sequence[Filter]) -> set[int]:
    """The ids of the anomalies whose whole cost lies inside ``scope`` (engine queries:
    the daily cost of each watched scope with and without the caller's scope)."""
    if not scope:
        return {a.id for a in anomalies}
    groups: dict[tuple[str, ...], list[Anomaly]] = defaultdict(list)
    for anomaly in anomalies:
        groups[tuple(sorted(anomaly.scope))].append(anomaly)
    shown: set[int] = set()
    for dims, members in groups.items():
        start = min(a.start for a in members)
        end = max(a.end for a in members) + timedelta(days=1)
        query = CostQuery(group_by=dims, start=start, end=end, granularity="day")
        everything, seen = _daily(view, query, ()), _daily(view, query, scope)
        for anomaly in members:
            keys = _days_of(anomaly, dims)
            if all(abs(everything.get(k, 0.0) - seen.get(k, 0.0)) <= 1e-6 for k in keys):
                shown.add(anomaly.id)
    return shown


def _daily(
    view: LedgerView, query: CostQuery, scope: Sequence[Filter]
) -> dict[tuple[str, ...], float]:
    report = cost_report(view, query, scope)
    return {
        (*(_text(r[d]) for d in query.group_by), str(r["BillingCurrency"]), str(r["period"])):
        float(r["EffectiveCost"] or 0)
        for r in report.rows
    }  # fmt: skip


def _text(value: object) -> str:
    """A group value as an anomaly's scope holds it ("" for none)."""
    return "" if value is None else str(value)


def _days_of(anomaly: Anomaly, dims: tuple[str, ...]) -> list[tuple[str, ...]]:
    values = tuple(anomaly.scope[d] for d in dims)
    days = (anomaly.end - anomaly.start).days + 1
    return [
        (*values, anomaly.currency, (anomaly.start + timedelta(days=i)).isoformat())
        for i in range(days)
    ]


def _visible_anomaly(view: LedgerView, anomaly: Anomaly, scope: Sequence[Filter]) -> Anomaly:
    if anomaly.id not in visible(view, [anomaly], scope):
        raise NotFound(
            f"anomaly {anomaly.id} does not exist; see costprism anomalies list",
            code="anomalies.unknown",
        )
    return anomaly


def anomaly_kpis(
    view: LedgerView, records: Sequence[dict[str, Any]], scope: Sequence[Filter] = ()
) -> dict[str, Any]:
    """Mean times to detect, acknowledge and resolve (hours) and anomaly cost % per currency."""
    detect = [_hours(_day_start(r["start"]), r["detected_at"]) for r in records]
    ack = [_hours(r["detected_at"], r["acknowledged_at"]) for r in records if r["acknowledged_at"]]
    closed = [r for r in records if r["state"] in CLOSED and r["resolved_at"]]
    resolve = [_hours(r["detected_at"], r["resolved_at"]) for r in closed]
    return {
        "anomalies": len(records),
        "open": sum(r["state"] == "open" for r in records),
        "mean_time_to_detect_hours": _mean(detect),
        "mean_time_to_acknowledge_hours": _mean(ack),
        "mean_time_to_resolve_hours": _mean(resolve),
        "anomaly_cost_percent": _cost_percent(view, records, scope),
    }


def _cost_percent(
    view: LedgerView, records: Sequence[dict[str, Any]], scope: Sequence[Filter]
) -> dict[str, float]:
    counted = [r for r in records if r["state"] != "false_positive" and r["kind"] == "cost"]
    if not counted:
        return {}
    start = min(date.fromisoformat(r["start"]) for r in counted)
    end = max(date.fromisoformat(r["end"]) for r in counted) + timedelta(days=1)
    totals = cost_report(view, CostQuery(start=start, end=end, granularity="total"), scope)
    impact: dict[str, float] = defaultdict(float)
    for r in counted:
        impact[r["BillingCurrency"]] += r["impact"]
    return {
        str(row["BillingCurrency"]): round(100 * impact[row["BillingCurrency"]] / float(total), 4)
        for row in totals.rows
        if (total := row["EffectiveCost"]) and row["BillingCurrency"] in impact
    }


def _check_choice(name: str, value: str | None, allowed: Sequence[str]) -> None:
    if value is not None and value not in allowed:
        raise InputError(
            f"--{name} {value!r}: use one of {', '.join(allowed)}", code="input.bad_option"
        )


def _event(event: Any) -> dict[str, Any]:
    return {
        "at": _iso(event.at),
        "actor": event.actor,
        "kind": event.kind,
        "from": event.from_state,
        "to": event.to_state,
        "text": event.text,
    }


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"


def _day_start(day: str) -> str:
    return f"{day}T00:00:00Z"


def _hours(start: str, end: str) -> float:
    begin = datetime.fromisoformat(start.removesuffix("Z"))
    return (datetime.fromisoformat(end.removesuffix("Z")) - begin).total_seconds() / 3600


def _mean(values: Sequence[float]) -> float | None:
    return round(sum(values) / len(values), 2) if values else None
