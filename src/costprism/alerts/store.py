"""Alerts in the metadata database: the configured channels, the deliveries (what was sent
to whom on which channel, with failures and attempts) and the digest runs."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from costprism.alerts.config import AlertsConfig
from costprism.db import utcnow
from costprism.db.models import AlertChannel, AlertDelivery, AlertDigestRun

SENT, FAILED, SENDING = "sent", "failed", "sending"
CLAIM_SECONDS = 600  # a "sending" claim older than this is taken to have died with its run


def delivery_key(alert: str, recipient: str, channel: str, target: str) -> str:
    """The identity of one alert for one recipient on one channel (and address)."""
    text = "\n".join((alert, recipient, channel, target))
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True, kw_only=True)
class Delivery:
    """What identifies and describes one delivery (its row's key and texts)."""

    key: str  # delivery_key(...)
    alert: str
    kind: str
    recipient: str
    channel: str
    subject: str

    def new_row(self, *, status: str, now: datetime) -> AlertDelivery:
        """A delivery not attempted yet, its texts cut to their columns' lengths."""
        return AlertDelivery(
            key=self.key, alert=self.alert[:500], kind=self.kind,
            recipient=self.recipient[:300], channel=self.channel[:100],
            subject=self.subject[:500], status=status, attempts=0, error="", first_at=now,
            last_at=now,
        )  # fmt: skip


def sync_channels(session: Session, config: AlertsConfig, now: datetime | None = None) -> None:
    """Make the channels table what the configuration names (shown on /alerts)."""
    now = now or utcnow()
    wanted = {str(r["name"]): r for r in config.channel_records()}
    stored = {c.name: c for c in session.scalars(select(AlertChannel)).all()}
    for name, row in stored.items():
        if name not in wanted:
            session.delete(row)
    for name, record in wanted.items():
        settings = {k: v for k, v in record.items() if k not in ("name", "type")}
        existing = stored.get(name)
        if existing is None:
            session.add(
                AlertChannel(name=name, type=str(record["type"]), settings=settings, updated_at=now)
            )
        elif existing.settings != settings or existing.type != record["type"]:
            existing.type, existing.settings = str(record["type"]), settings
            existing.updated_at = now


def find_delivery(session: Session, key: str) -> AlertDelivery | None:
    return session.scalars(select(AlertDelivery).where(AlertDelivery.key == key)).one_or_none()


def claim(session: Session, delivery: Delivery, *, now: datetime) -> bool:
    """Mark the delivery ``sending`` for this run, before sending; False when it was sent
    or another run (the server's schedule, a cron job) is sending it right now. The unique
    key makes two runs that race for a new delivery insert it once."""
    row = find_delivery(session, delivery.key)
    if row is None:
        try:
            with session.begin_nested():
                session.add(delivery.new_row(status=SENDING, now=now))
        except IntegrityError:
            return False
        return True
    if row.status == SENT:
        return False
    if row.status == SENDING and row.last_at > now - timedelta(seconds=CLAIM_SECONDS):
        return False
    taken = session.execute(
        update(AlertDelivery)
        .where(
            AlertDelivery.id == row.id,
            AlertDelivery.status == row.status,
            AlertDelivery.last_at == row.last_at,
        )
        .values(status=SENDING, last_at=now)
        .execution_options(synchronize_session=False)
    )
    return bool(getattr(taken, "rowcount", 0) == 1)


def record_attempt(
    session: Session, delivery: Delivery, *, error: str | None, now: datetime | None = None
) -> AlertDelivery:
    """Add or update the delivery: ``sent`` when ``error`` is None, else ``failed``."""
    now = now or utcnow()
    row = find_delivery(session, delivery.key)
    if row is None:
        row = delivery.new_row(status=FAILED, now=now)
        session.add(row)
    row.attempts += 1
    row.last_at = now
    row.subject = delivery.subject[:500]
    if error is None:
        row.status, row.error, row.sent_at = SENT, "", now
    else:
        row.status, row.error = FAILED, error[:2000]
    session.flush()
    return row


def last_digest(session: Session, role: str, cadence: str) -> AlertDigestRun | None:
    return session.scalars(
        select(AlertDigestRun)
        .where(AlertDigestRun.role == role, AlertDigestRun.cadence == cadence)
        .order_by(AlertDigestRun.at.desc())
        .limit(1)
    ).first()


def record_digest(
    session: Session, role: str, cadence: str, period: str, recipients: int, now: datetime
) -> None:
    found = session.scalars(
        select(AlertDigestRun).where(
            AlertDigestRun.role == role,
            AlertDigestRun.cadence == cadence,
            AlertDigestRun.period == period,
        )
    ).one_or_none()
    if found is None:
        session.add(
            AlertDigestRun(role=role, cadence=cadence, period=period, at=now, recipients=recipients)
        )
    else:
        found.recipients = max(found.recipients, recipients)


def delivery_record(row: AlertDelivery) -> dict[str, Any]:
    return {
        "id": row.id,
        "alert": row.alert,
        "kind": row.kind,
        "recipient": row.recipient,
        "channel": row.channel,
        "subject": row.subject,
        "status": row.status,
        "attempts": row.attempts,
        "error": row.error or None,
        "first_at": _iso(row.first_at),
        "last_at": _iso(row.last_at),
        "sent_at": _iso(row.sent_at),
    }


def channel_record(row: AlertChannel) -> dict[str, Any]:
    return {"name": row.name, "type": row.type, **row.settings, "updated_at": _iso(row.updated_at)}


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat() + "Z"
