"""The audit log: every change with who, when, what, and the values before and after."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from costprism.db.models import AuditEvent


def record_event(
    session: Session,
    *,
    actor: str | None,
    action: str,
    target: str = "",
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    address: str = "",
) -> AuditEvent:
    """Add one event to the session's unit of work (it commits with the change it records)."""
    event = AuditEvent(
        actor=actor, action=action, target=target, before=before, after=after, address=address
    )
    session.add(event)
    return event
