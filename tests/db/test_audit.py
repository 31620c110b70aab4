"""The audit log is written in the same transaction as the change it records."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from costprism.db import AuditEvent, Database, User, record_event


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url)
    yield database
    database.dispose()


def events(db: Database) -> list[tuple[str | None, str, str]]:
    with db.session() as session:
        found = session.scalars(sa.select(AuditEvent).order_by(AuditEvent.id))
        return [(e.actor, e.action, e.target) for e in found]


def test_an_event_commits_with_its_change(db: Database) -> None:
    with db.session() as session:
        session.add(User(username="ada"))
        record_event(
            session,
            actor="cli:root",
            action="user.create",
            target="ada",
            after={"roles": ["finance"], "scope": ["tag:team=payments"]},
            address="127.0.0.1",
        )
    with db.session() as session:
        event = session.scalars(sa.select(AuditEvent)).one()
    assert (event.actor, event.action, event.target, event.address) == (
        "cli:root",
        "user.create",
        "ada",
        "127.0.0.1",
    )
    assert event.before is None
    assert event.after == {"roles": ["finance"], "scope": ["tag:team=payments"]}


def create_then_fail(db: Database) -> None:
    with db.session() as session:
        session.add(User(username="ada"))
        record_event(session, actor="cli:root", action="user.create", target="ada")
        session.flush()
        raise RuntimeError("the change failed")


def test_an_event_rolls_back_with_its_change(db: Database) -> None:
    with pytest.raises(RuntimeError, match="the change failed"):
        create_then_fail(db)
    assert events(db) == []
    with db.session() as session:
        assert session.scalars(sa.select(User)).all() == []


def test_events_keep_nested_values_and_no_actor(db: Database) -> None:
    before = {"roles": ["itam"], "disabled": False, "nested": {"a": [1, 2]}}
    with db.session() as session:
        record_event(session, actor=None, action="login.failed", before=before, after=None)
    with db.session() as session:
        event = session.scalars(sa.select(AuditEvent)).one()
    assert (event.actor, event.before, event.after, event.target) == (None, before, None, "")
