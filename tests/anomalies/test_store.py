"""Recording and triage in the metadata database: stable identity, the state machine with
history and audit, suppression of similar anomalies, comments and owners."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta

import pytest
from sqlalchemy import select

from costprism.anomalies.detection import Finding
from costprism.anomalies.owners import parse_owners
from costprism.anomalies.scan import COST, SECURITY, Detected
from costprism.anomalies.store import (
    SECURITY_ROUTE,
    add_comment,
    get_anomaly,
    record_detected,
    set_owner,
    transition,
)
from costprism.db import AuditEvent, Database
from costprism.db.models import Anomaly
from costprism.errors import InputError, NotFound


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url)
    yield database
    database.dispose()


def detected(
    start: date = date(2026, 3, 10), impact: float = 800.0, account: str = "111"
) -> Detected:
    finding = Finding(
        scope={"SubAccountId": account, "ServiceName": "Compute Service"}, currency="USD",
        start=start, end=start + timedelta(days=2), actual=impact + 300, expected=300.0,
        severity="medium", daily=({"day": start.isoformat(), "actual": 1.0, "expected": 0.5,
                                   "anomalous": True},),
    )  # fmt: skip
    return Detected(kind=COST, rule="cost", dimensions=("SubAccountId", "ServiceName"),
                    finding=finding)  # fmt: skip


def test_detecting_again_updates_instead_of_duplicating(db: Database) -> None:
    with db.session() as session:
        first = record_detected(session, [detected()], actor="cli:test")
    longer = detected()
    longer = replace(longer, finding=replace(longer.finding, end=date(2026, 3, 14), actual=2_000))
    with db.session() as session:
        again = record_detected(session, [longer])
        (stored,) = session.scalars(select(Anomaly)).all()
        assert again.new == ()
        assert again.updated == first.new == (stored.id,)
        assert (stored.end, stored.impact, stored.state) == (date(2026, 3, 14), 1_700.0, "open")
        assert [e.kind for e in stored.events] == ["detected"]


def test_the_triage_state_machine_keeps_history_and_audits(db: Database) -> None:
    with db.session() as session:
        (anomaly_id,) = record_detected(session, [detected()]).new
    with db.session() as session:
        anomaly = get_anomaly(session, anomaly_id)
        transition(session, anomaly, "acknowledged", actor="ada", comment="looking")
        transition(session, anomaly, "resolved", actor="ada", comment="retries fixed")
        assert anomaly.acknowledged_at is not None
        assert anomaly.resolved_at is not None
        with pytest.raises(InputError, match="resolved; it can move to open, not acknowledged"):
            transition(session, anomaly, "acknowledged", actor="ada")
        transition(session, anomaly, "open", actor="bob")
        assert anomaly.resolved_at is None
        moves = [(e.actor, e.from_state, e.to_state, e.text) for e in anomaly.events[1:]]
        assert moves == [
            ("ada", "open", "acknowledged", "looking"),
            ("ada", "acknowledged", "resolved", "retries fixed"),
            ("bob", "resolved", "open", ""),
        ]
        audit = session.scalars(select(AuditEvent).order_by(AuditEvent.id)).all()
        assert [(a.action, a.target, a.before) for a in audit] == [
            ("anomalies.acknowledged", f"anomaly:{anomaly_id}", {"state": "open"}),
            ("anomalies.resolved", f"anomaly:{anomaly_id}", {"state": "acknowledged"}),
            ("anomalies.open", f"anomaly:{anomaly_id}", {"state": "resolved"}),
        ]
        with pytest.raises(InputError, match="state 'done' is not known"):
            transition(session, anomaly, "done", actor="ada")


def test_expected_feedback_suppresses_similar_anomalies_only(db: Database) -> None:
    with db.session() as session:
        (first_id,) = record_detected(session, [detected()]).new
        transition(session, get_anomaly(session, first_id), "expected", actor="ada",
                   comment="quarter-end batch")  # fmt: skip
    similar = detected(start=date(2026, 4, 10), impact=1_500.0)  # ≤ 2 × 800
    larger = detected(start=date(2026, 5, 10), impact=5_000.0)
    elsewhere = detected(start=date(2026, 4, 10), impact=500.0, account="222")
    with db.session() as session:
        recorded = record_detected(session, [similar, larger, elsewhere])
        states = {a.id: a.state for a in session.scalars(select(Anomaly))}
        (suppressed,) = recorded.suppressed
        assert states[suppressed] == "expected"
        assert sorted(states.values()) == ["expected", "expected", "open", "open"]
        note = get_anomaly(session, suppressed).events[0].text
        assert f"similar to anomaly {first_id} marked expected" in note


def test_comments_and_owners_are_kept(db: Database) -> None:
    owners = parse_owners("owners:\n  - match: SubAccountId=111\n    users: [ada]\n"
                          "    channels: ['slack:#payments']\n")  # fmt: skip
    security = replace(detected(), kind=SECURITY, rule="new_region")
    with db.session() as session:
        cost_id, security_id = record_detected(session, [detected(), security], owners=owners).new
        anomaly = get_anomaly(session, cost_id)
        assert (anomaly.owner, anomaly.route) == ("ada", "ada, slack:#payments")
        assert get_anomaly(session, security_id).route == SECURITY_ROUTE
        add_comment(session, anomaly, "  checking the deploy  ", actor="ada")
        set_owner(session, anomaly, "grace", actor="ada")
        assert [(e.kind, e.text) for e in anomaly.events[1:]] == [
            ("comment", "checking the deploy"),
            ("owner", "owner ada → grace"),
        ]
        with pytest.raises(InputError, match="needs some text"):
            add_comment(session, anomaly, " ", actor="ada")
        with pytest.raises(InputError, match="too long"):
            set_owner(session, anomaly, "x" * 301, actor="ada")
        with pytest.raises(NotFound):
            get_anomaly(session, 999)
