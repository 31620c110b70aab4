"""The alerts tables: delivery keys, attempts, channels synced without secrets, digests."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from costprism.alerts.config import parse_config
from costprism.alerts.store import (
    CLAIM_SECONDS,
    Delivery,
    channel_record,
    claim,
    delivery_key,
    find_delivery,
    last_digest,
    record_attempt,
    record_digest,
    sync_channels,
)
from costprism.db import Database
from costprism.db.models import AlertChannel

T0, T1 = datetime(2026, 12, 7, 9), datetime(2026, 12, 7, 10)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url)
    yield database
    database.dispose()


def test_the_key_tells_alert_recipient_channel_and_address_apart() -> None:
    keys = {
        delivery_key("anomaly:f", "user:ada", "email", "ada@example.com"),
        delivery_key("anomaly:f", "user:ada", "slack", ""),
        delivery_key("anomaly:f", "user:bob", "email", "ada@example.com"),
        delivery_key("anomaly:g", "user:ada", "email", "ada@example.com"),
    }
    assert len(keys) == 4
    assert all(len(k) == 64 for k in keys)


def test_a_failure_then_a_success_is_one_delivery_with_two_attempts(db: Database) -> None:
    key = delivery_key("budget:b:2026-05-01:actual:80", "user:ada", "email", "a@example.com")
    delivery = Delivery(
        key=key,
        alert="budget:b:2026-05-01:actual:80",
        kind="budget",
        recipient="user:ada",
        channel="email",
        subject="s",
    )
    with db.session() as session:
        failed = record_attempt(session, delivery, error="HTTP 500", now=T0)
        assert (failed.status, failed.attempts, failed.sent_at) == ("failed", 1, None)
    with db.session() as session:
        sent = record_attempt(session, delivery, error=None, now=T1)
        assert (sent.status, sent.attempts, sent.error, sent.sent_at) == ("sent", 2, "", T1)
        assert (sent.first_at, sent.last_at) == (T0, T1)
    with db.session() as session:
        found = find_delivery(session, key)
        assert found is not None
        assert found.id == sent.id


def test_channels_are_synced_to_the_configuration(db: Database) -> None:
    first = parse_config(
        "channels:\n  - {name: a, type: log, path: /tmp/a.jsonl}\n"
        "  - {name: b, type: webhook, url: 'https://h.example/p?token=x', secret_env: K}\n",
        environ={"K": "the secret"},
    )
    with db.session() as session:
        sync_channels(session, first, T0)
    second = parse_config("channels:\n  - {name: a, type: log, path: /tmp/b.jsonl}\n", environ={})
    with db.session() as session:
        sync_channels(session, second, T1)
        rows = session.scalars(select(AlertChannel)).all()
        records = [channel_record(r) for r in rows]
    assert records == [
        {"name": "a", "type": "log", "target": "/tmp/b.jsonl", "updated_at": T1.isoformat() + "Z"}
    ]


def test_the_last_digest_of_a_role_is_the_newest(db: Database) -> None:
    with db.session() as session:
        record_digest(session, "finance", "weekly", "2026-W49", 2, T0)
        record_digest(session, "finance", "weekly", "2026-W50", 1, T1)
        record_digest(session, "finance", "weekly", "2026-W50", 3, T1)  # the same period again
        record_digest(session, "security", "daily", "2026-12-07", 1, T1)
    with db.session() as session:
        found = last_digest(session, "finance", "weekly")
        assert found is not None
        assert (found.period, found.recipients) == ("2026-W50", 3)
        assert last_digest(session, "finance", "daily") is None


def test_only_one_run_claims_a_delivery_and_a_stale_claim_is_taken_over(db: Database) -> None:
    key = delivery_key("anomaly:f", "user:ada", "email", "ada@example.com")
    delivery = Delivery(
        key=key, alert="anomaly:f", kind="cost", recipient="user:ada", channel="email", subject="s"
    )
    with db.session() as session:
        assert claim(session, delivery, now=T0)
    with db.session() as session:  # another run while the first is sending
        assert not claim(session, delivery, now=T0 + timedelta(seconds=5))
    stale = T0 + timedelta(seconds=CLAIM_SECONDS + 1)
    with db.session() as session:  # the first run died: its claim is taken over
        assert claim(session, delivery, now=stale)
    with db.session() as session:
        record_attempt(session, delivery, error=None, now=stale)
    with db.session() as session:  # sent: nobody claims it again
        assert not claim(session, delivery, now=stale + timedelta(days=1))
        found = find_delivery(session, key)
        assert found is not None
        assert (found.status, found.attempts) == ("sent", 1)


def test_two_runs_racing_for_a_new_delivery_insert_it_once(db: Database) -> None:
    key = delivery_key("anomaly:g", "user:ada", "email", "ada@example.com")
    delivery = Delivery(
        key=key, alert="anomaly:g", kind="cost", recipient="user:ada", channel="email", subject="s"
    )
    with db.session() as first, db.session() as second:
        assert claim(first, delivery, now=T0)
        first.commit()
        assert not claim(second, delivery, now=T0)
