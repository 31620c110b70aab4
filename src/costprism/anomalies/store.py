"""Anomalies in the metadata database: recording detections, triage, feedback.

**Identity.** An anomaly is identified by its fingerprint (kind, rule, scope, currency,
first day; :attr:`~costprism.anomalies.scan.Detected.fingerprint`). Detecting again
updates the stored anomaly (its end, amounts, drivers, chart) and keeps its state, owner,
comments and history, so re-running ``detect`` never duplicates one.

**Triage.** States and the moves between them (:data:`TRANSITIONS`); each move adds a
history entry (who, when, from → to, an optional comment) and an audit event
(``anomalies.<state>``). Acknowledging sets ``acknowledged_at``; ``resolved``,
``expected`` and ``false_positive`` close it (``resolved_at``); re-opening clears that.

**Similar anomalies.** Marking an anomaly ``expected`` stores a suppression: a later
anomaly is *similar* when it has the same kind, rule, watched dimensions, scope (every
dimension with the same value) and currency, starts within ``SUPPRESSION_DAYS`` days of
the feedback, and its impact is at most ``SIMILAR_IMPACT`` times the impact of the one
marked expected. A similar anomaly is recorded in state ``expected`` (its history names
the suppression), so it is not alerted; a larger one opens as usual.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from costprism.anomalies.owners import OwnersFile
from costprism.anomalies.scan import SECURITY, Detected
from costprism.db import record_event, utcnow
from costprism.db.models import Anomaly, AnomalyEvent, AnomalySuppression
from costprism.errors import InputError, NotFound

STATES = ("open", "acknowledged", "resolved", "expected", "false_positive")
CLOSED = frozenset({"resolved", "expected", "false_positive"})
TRANSITIONS: dict[str, frozenset[str]] = {
    "open": frozenset({"acknowledged", "resolved", "expected", "false_positive"}),
    "acknowledged": frozenset({"open", "resolved", "expected", "false_positive"}),
    "resolved": frozenset({"open"}),
    "expected": frozenset({"open"}),
    "false_positive": frozenset({"open"}),
}
SECURITY_ROUTE = "role:security"
SIMILAR_IMPACT = 2.0
OWNER_LENGTH = ROUTE_LENGTH = 300  # the columns' lengths
SUPPRESSION_DAYS = 90


@dataclass(frozen=True, kw_only=True)
class Recorded:
    """What one detection run changed: ids of new, updated and suppressed anomalies."""

    new: tuple[int, ...]
    updated: tuple[int, ...]
    suppressed: tuple[int, ...]


def record_detected(
    session: Session,
    found: Sequence[Detected],
    *,
    owners: OwnersFile | None = None,
    actor: str | None = None,
    now: datetime | None = None,
) -> Recorded:
    """Add new anomalies and update known ones (by fingerprint)."""
    now = now or utcnow()
    new, updated, suppressed = [], [], []
    for detected in found:
        stored = session.scalars(
            select(Anomaly).where(Anomaly.fingerprint == detected.fingerprint)
        ).one_or_none()
        if stored is not None:
            _refresh(stored, detected, now)
            updated.append(stored)
            continue
        anomaly = _new(detected, owners, now)
        session.add(anomaly)
        session.flush()
        new.append(anomaly)
        suppression = similar_suppression(session, anomaly, now)
        text = "detected" if suppression is None else (
            f"detected; similar to anomaly {suppression.anomaly_id} marked expected "
            f"(suppression {suppression.id}), so recorded as expected"
        )  # fmt: skip
        if suppression is not None:
            anomaly.state = "expected"
            anomaly.resolved_at = now
            suppressed.append(anomaly)
        anomaly.events.append(
            AnomalyEvent(at=now, actor=actor, kind="detected", to_state=anomaly.state, text=text)
        )
    session.flush()
    return Recorded(
        new=tuple(a.id for a in new), updated=tuple(a.id for a in updated),
        suppressed=tuple(a.id for a in suppressed),
    )  # fmt: skip


def _new(detected: Detected, owners: OwnersFile | None, now: datetime) -> Anomaly:
    f = detected.finding
    owner = owners.owner_of(f.scope) if owners else None
    route = SECURITY_ROUTE if detected.kind == SECURITY else ""
    if owner is not None and not route:
        route = ", ".join((*owner.users, *owner.emails, *owner.channels))[:ROUTE_LENGTH]
    anomaly = Anomaly(
        fingerprint=detected.fingerprint, kind=detected.kind, rule=detected.rule,
        dimensions=",".join(detected.dimensions), scope=dict(f.scope),
        scope_key=detected.scope_key, start=f.start, end=f.end, currency=f.currency,
        actual=0.0, expected=0.0, impact=0.0, severity=f.severity, state="open",
        owner=owner.label[:OWNER_LENGTH] if owner else None, route=route, drivers=[], series=[],
        detected_at=now, updated_at=now,
    )  # fmt: skip
    _refresh(anomaly, detected, now)
    return anomaly


def _refresh(anomaly: Anomaly, detected: Detected, now: datetime) -> None:
    f = detected.finding
    anomaly.end, anomaly.actual, anomaly.expected = f.end, f.actual, f.expected
    anomaly.impact, anomaly.severity = f.impact, f.severity
    if detected.explained:  # else the drivers of an earlier run stand
        anomaly.drivers = [d.record() for d in detected.drivers]
    anomaly.series = [dict(day) for day in f.daily]
    anomaly.updated_at = now


def similar_suppression(
    session: Session, anomaly: Anomaly, now: datetime
) -> AnomalySuppression | None:
    """The suppression an anomaly is similar to (see the module's docstring), if any."""
    candidates = session.scalars(
        select(AnomalySuppression)
        .where(AnomalySuppression.scope_key == anomaly.scope_key)
        .order_by(AnomalySuppression.id)
    ).all()
    return next(
        (
            s
            for s in candidates
            if (s.kind, s.rule, s.dimensions, s.currency)
            == (anomaly.kind, anomaly.rule, anomaly.dimensions, anomaly.currency)
            and anomaly.impact <= s.max_impact
            and (s.expires_at is None or s.expires_at >= now)
        ),
        None,
    )


def get_anomaly(session: Session, anomaly_id: int) -> Anomaly:
    anomaly = session.get(Anomaly, anomaly_id)
    if anomaly is None:
        raise NotFound(
            f"anomaly {anomaly_id} does not exist; see costprism anomalies list",
            code="anomalies.unknown",
        )
    return anomaly


def transition(
    session: Session,
    anomaly: Anomaly,
    to_state: str,
    *,
    actor: str | None,
    comment: str = "",
    address: str = "",
    now: datetime | None = None,
) -> AnomalyEvent:
    """Move ``anomaly`` to ``to_state`` (history, audit; ``expected`` adds a suppression)."""
    now = now or utcnow()
    allowed = TRANSITIONS.get(anomaly.state, frozenset())
    if to_state not in STATES:
        raise InputError(
            f"state {to_state!r} is not known; use one of {', '.join(STATES)}",
            code="anomalies.bad_state",
        )
    if to_state not in allowed:
        raise InputError(
            f"anomaly {anomaly.id} is {anomaly.state}; it can move to "
            f"{', '.join(sorted(allowed))}, not {to_state}",
            code="anomalies.bad_transition",
        )
    before = anomaly.state
    anomaly.state, anomaly.updated_at = to_state, now
    if to_state == "acknowledged" and anomaly.acknowledged_at is None:
        anomaly.acknowledged_at = now
    anomaly.resolved_at = now if to_state in CLOSED else None
    event = AnomalyEvent(
        at=now, actor=actor, kind="state", from_state=before, to_state=to_state, text=comment
    )
    anomaly.events.append(event)
    if to_state == "expected":
        _suppress(session, anomaly, actor, comment, now)
    record_event(
        session, actor=actor, action=f"anomalies.{to_state}", target=f"anomaly:{anomaly.id}",
        before={"state": before}, after={"state": to_state, "comment": comment},
        address=address,
    )  # fmt: skip
    return event


def _suppress(
    session: Session, anomaly: Anomaly, actor: str | None, reason: str, now: datetime
) -> None:
    suppression = AnomalySuppression(
        anomaly_id=anomaly.id, kind=anomaly.kind, rule=anomaly.rule,
        dimensions=anomaly.dimensions, scope_key=anomaly.scope_key,
        max_impact=SIMILAR_IMPACT * max(anomaly.impact, 0.0), currency=anomaly.currency,
        reason=reason, created_by=actor, created_at=now,
        expires_at=now + timedelta(days=SUPPRESSION_DAYS),
    )  # fmt: skip
    session.add(suppression)


def add_comment(
    session: Session, anomaly: Anomaly, text: str, *, actor: str | None, address: str = ""
) -> AnomalyEvent:
    if not text.strip():
        raise InputError("a comment needs some text", code="anomalies.empty_comment")
    event = AnomalyEvent(actor=actor, kind="comment", text=text.strip())
    anomaly.events.append(event)
    record_event(
        session, actor=actor, action="anomalies.comment", target=f"anomaly:{anomaly.id}",
        after={"comment": text.strip()}, address=address,
    )  # fmt: skip
    return event


def set_owner(
    session: Session, anomaly: Anomaly, owner: str, *, actor: str | None, address: str = ""
) -> AnomalyEvent:
    if len(owner.strip()) > OWNER_LENGTH:
        raise InputError(
            f"an owner of {len(owner.strip())} characters is too long; use at most "
            f"{OWNER_LENGTH} (a user name or an address)",
            code="anomalies.bad_owner",
        )
    before = anomaly.owner
    anomaly.owner = owner.strip() or None
    event = AnomalyEvent(actor=actor, kind="owner", text=f"owner {before or '-'} → {owner}")
    anomaly.events.append(event)
    record_event(
        session, actor=actor, action="anomalies.owner", target=f"anomaly:{anomaly.id}",
        before={"owner": before}, after={"owner": anomaly.owner}, address=address,
    )  # fmt: skip
    return event


def all_anomalies(session: Session) -> list[Anomaly]:
    return list(session.scalars(select(Anomaly).order_by(Anomaly.start.desc(), Anomaly.id)))
