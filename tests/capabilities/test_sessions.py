"""Password sign-in (throttled), web sessions and API tokens, on SQLite and on PostgreSQL.

Every test runs twice through ``database_url`` (tests/conftest.py). Expiry is tested by
writing a past time into the row, and throttling by real failed attempts.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from costprism.capabilities import access, sessions
from costprism.capabilities.sessions import (
    MAX_FAILURES_PER_ADDRESS,
    MAX_FAILURES_PER_USER,
    THROTTLE_WINDOW,
    principal_for_session,
    sign_in,
    sign_out,
)
from costprism.db import Database, LoginAttempt, WebSession, utcnow
from costprism.engine.filters import Filter
from costprism.errors import AccessError

PASSWORD = "correct horse battery"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url)
    yield database
    database.dispose()


@pytest.fixture
def ada(db: Database) -> access.UserPublic:
    """A finance user scoped to the Payments team, with a password."""
    return access.add_user(
        db,
        actor="cli:root",
        username="ada",
        roles=["finance"],
        scope=["tag:team=payments"],
        password=PASSWORD,
    )


def refused(db: Database, username: str, password: str, address: str = "") -> AccessError:
    with pytest.raises(AccessError) as error:
        sign_in(db, username, password, address=address)
    return error.value


def actions(db: Database) -> list[tuple[str | None, str, str]]:
    log = reversed(access.audit_log(db, limit=1000).items)
    return [(e.actor, e.action, e.address) for e in log]


def move_session_expiry(db: Database, session_id: str, delta: timedelta) -> None:
    with db.session() as session:
        found = session.get(WebSession, session_id)
        assert found is not None
        found.expires_at = utcnow() + delta


def age_attempts(db: Database, by: timedelta) -> None:
    with db.session() as session:
        for attempt in session.scalars(sa.select(LoginAttempt)):
            attempt.at -= by


def test_sign_in_opens_a_session_for_the_user(db: Database, ada: access.UserPublic) -> None:
    session_id = sign_in(db, "ada", PASSWORD, address="10.0.0.7")
    principal = principal_for_session(db, session_id)
    assert principal is not None
    assert (principal.user_id, principal.username, principal.roles) == (ada.id, "ada", ("finance",))
    assert principal.scope == (Filter(column="tag:team", op="=", values=("payments",)),)
    assert access.get_user(db, "ada").last_login_at is not None
    assert actions(db)[-1] == ("ada", "login", "10.0.0.7")


def test_each_sign_in_is_a_new_session(db: Database, ada: access.UserPublic) -> None:
    first, second = sign_in(db, "ada", PASSWORD), sign_in(db, "ada", PASSWORD)
    assert first != second
    assert len(first) >= 40
    assert principal_for_session(db, first) is not None
    assert principal_for_session(db, second) is not None


@pytest.mark.parametrize(
    ("username", "password"),
    [("ada", "wrong password here"), ("nobody", PASSWORD), ("ADA", PASSWORD), ("ada", "")],
)
def test_bad_credentials_are_refused_alike(
    db: Database, ada: access.UserPublic, username: str, password: str
) -> None:
    error = refused(db, username, password, address="10.0.0.7")
    assert (error.code, error.status) == ("access.bad_credentials", 401)
    assert "disabled" in error.message
    assert actions(db)[-1] == (username, "login.failed", "10.0.0.7")
    assert access.get_user(db, "ada").last_login_at is None


def test_a_disabled_user_cannot_sign_in(db: Database, ada: access.UserPublic) -> None:
    access.update_user(db, "ada", actor="cli:root", disabled=True)
    error = refused(db, "ada", PASSWORD)
    assert error.code == "access.bad_credentials"


def test_disabling_a_user_ends_their_sessions(db: Database, ada: access.UserPublic) -> None:
    session_id = sign_in(db, "ada", PASSWORD)
    access.update_user(db, "ada", actor="cli:root", disabled=True)
    assert principal_for_session(db, session_id) is None
    access.update_user(db, "ada", actor="cli:root", disabled=False)
    assert principal_for_session(db, session_id) is not None


def test_a_user_without_a_password_cannot_sign_in(db: Database) -> None:
    access.add_user(db, actor="cli:root", username="sso", roles=["itam"])
    assert refused(db, "sso", "").code == "access.bad_credentials"
    assert refused(db, "sso", PASSWORD).code == "access.bad_credentials"


def test_a_changed_password_replaces_the_old_one(db: Database, ada: access.UserPublic) -> None:
    access.update_user(db, "ada", actor="cli:root", password="another long password")
    assert refused(db, "ada", PASSWORD).code == "access.bad_credentials"
    assert principal_for_session(db, sign_in(db, "ada", "another long password")) is not None


def test_five_failures_throttle_the_user_name(db: Database, ada: access.UserPublic) -> None:
    for _ in range(MAX_FAILURES_PER_USER):
        assert refused(db, "ada", "wrong password here").code == "access.bad_credentials"
    error = refused(db, "ada", PASSWORD)
    assert (error.code, error.status) == ("access.throttled", 429)
    assert "15 minutes" in error.message
    assert MAX_FAILURES_PER_USER == 5


def test_throttling_counts_failures_only(db: Database, ada: access.UserPublic) -> None:
    for _ in range(MAX_FAILURES_PER_USER - 1):
        refused(db, "ada", "wrong password here")
    sign_in(db, "ada", PASSWORD)
    sign_in(db, "ada", PASSWORD)
    assert refused(db, "ada", "wrong password here").code == "access.bad_credentials"
    assert refused(db, "ada", PASSWORD).code == "access.throttled"


def test_throttling_ends_after_the_window(db: Database, ada: access.UserPublic) -> None:
    for _ in range(MAX_FAILURES_PER_USER):
        refused(db, "ada", "wrong password here")
    assert refused(db, "ada", PASSWORD).code == "access.throttled"
    age_attempts(db, THROTTLE_WINDOW + timedelta(seconds=1))
    assert principal_for_session(db, sign_in(db, "ada", PASSWORD)) is not None


def test_throttling_by_user_spares_other_users(db: Database, ada: access.UserPublic) -> None:
    access.add_user(db, actor="cli:root", username="bob", roles=["itam"], password=PASSWORD)
    for _ in range(MAX_FAILURES_PER_USER):
        refused(db, "ada", "wrong password here")
    assert refused(db, "ada", PASSWORD).code == "access.throttled"
    assert principal_for_session(db, sign_in(db, "bob", PASSWORD)) is not None


def test_many_failures_from_one_address_throttle_it(db: Database, ada: access.UserPublic) -> None:
    for number in range(MAX_FAILURES_PER_ADDRESS):
        refused(db, f"guess{number}", "wrong password here", address="203.0.113.9")
    assert refused(db, "ada", PASSWORD, address="203.0.113.9").code == "access.throttled"
    assert principal_for_session(db, sign_in(db, "ada", PASSWORD, address="10.0.0.7"))


def test_a_session_expires(db: Database, ada: access.UserPublic) -> None:
    session_id = sign_in(db, "ada", PASSWORD)
    with db.session() as session:
        found = session.get(WebSession, session_id)
        assert found is not None
        lifetime = found.expires_at - found.created_at
    assert abs(lifetime - sessions.SESSION_LIFETIME) < timedelta(seconds=5)
    move_session_expiry(db, session_id, -timedelta(seconds=1))
    assert principal_for_session(db, session_id) is None


def test_sign_out_ends_the_session(db: Database, ada: access.UserPublic) -> None:
    session_id = sign_in(db, "ada", PASSWORD)
    sign_out(db, session_id, address="10.0.0.7")
    assert principal_for_session(db, session_id) is None
    assert actions(db)[-1] == ("ada", "logout", "10.0.0.7")
    sign_out(db, session_id)
    assert actions(db)[-1][1] == "logout"
    assert [a for _, a, _ in actions(db)].count("logout") == 1


def test_unknown_sessions_have_no_principal(db: Database, ada: access.UserPublic) -> None:
    assert principal_for_session(db, "no-such-session") is None


def test_forget_expired_drops_old_sessions_and_attempts(
    db: Database, ada: access.UserPublic
) -> None:
    live, old = sign_in(db, "ada", PASSWORD), sign_in(db, "ada", PASSWORD)
    refused(db, "ada", "wrong password here")
    move_session_expiry(db, old, -timedelta(minutes=1))
    assert sessions.forget_expired(db) == 1
    assert principal_for_session(db, live) is not None
    with db.session() as session:
        assert session.get(WebSession, old) is None
        assert len(session.scalars(sa.select(LoginAttempt)).all()) == 3
    age_attempts(db, THROTTLE_WINDOW * 4 + timedelta(minutes=1))
    assert sessions.forget_expired(db) == 0
    with db.session() as session:
        assert session.scalars(sa.select(LoginAttempt)).all() == []


def test_start_session_serves_single_sign_on(db: Database) -> None:
    user = access.add_user(db, actor="oidc", username="sso", roles=["itam"])
    session_id = sessions.start_session(db, user.id, address="10.0.0.8")
    principal = principal_for_session(db, session_id)
    assert principal is not None
    assert (principal.username, principal.roles, principal.scope) == ("sso", ("itam",), ())
    assert actions(db)[-1] == ("sso", "login", "10.0.0.8")


def test_a_name_longer_than_any_user_is_refused_and_recorded_cut(
    db: Database, ada: access.UserPublic
) -> None:
    """PostgreSQL enforces the columns' 150 characters: the attempt must still be recorded."""
    long_name = "x" * 400
    assert refused(db, long_name, PASSWORD).code == "access.bad_credentials"
    with db.session() as session:
        assert session.scalars(sa.select(LoginAttempt.username)).all() == ["x" * 150]
    assert actions(db)[-1] == ("x" * 150, "login.failed", "")
    for _ in range(MAX_FAILURES_PER_USER - 1):
        refused(db, long_name, PASSWORD)
    assert refused(db, long_name, PASSWORD).code == "access.throttled"


def check_seconds(db: Database, username: str) -> float:
    """The fastest of three refused sign-ins (the least disturbed by other processes)."""
    times = []
    for _ in range(3):
        started = time.perf_counter()
        refused(db, username, "wrong password here")
        times.append(time.perf_counter() - started)
    return min(times)


def test_an_unknown_or_disabled_user_costs_a_password_check_too(db: Database) -> None:
    """Timing must not tell which names exist: each refusal runs one argon2 check (tens of
    milliseconds); without it an unknown name is refused in about a millisecond."""
    for name in ("known", "off"):
        access.add_user(db, actor="cli:root", username=name, roles=["itam"], password=PASSWORD)
    access.update_user(db, "off", actor="cli:root", disabled=True)
    refused(db, "warm-up", "wrong password here")  # the decoy hash is made once
    known = check_seconds(db, "known")
    assert check_seconds(db, "nobody") > known / 3
    assert check_seconds(db, "off") > known / 3
