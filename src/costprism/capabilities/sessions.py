"""Who is calling: password sign-in (throttled), web sessions and API tokens → a Principal.

Single sign-on (a later issue) ends the same way password sign-in does: with
:func:`start_session` for a user found by ``identity_provider`` and ``subject``.
"""

from __future__ import annotations

import secrets
from datetime import timedelta
from functools import cache

from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from costprism.capabilities.access import HASHER, principal_of, token_hash
from costprism.db import ApiToken, Database, LoginAttempt, User, WebSession, record_event, utcnow
from costprism.errors import AccessError
from costprism.roles import Principal

SESSION_LIFETIME = timedelta(hours=12)
THROTTLE_WINDOW = timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_ADDRESS = 30
NAME_LENGTH = 150  # of LoginAttempt.username and AuditEvent.actor (PostgreSQL enforces it)


def sign_in(db: Database, username: str, password: str, *, address: str = "") -> str:
    """Check a password and open a web session; returns the session id.

    Refused alike for an unknown user, a wrong password and a disabled user (neither the
    message nor the time taken tells which), and refused outright after too many recent
    failures. A name longer than any user's is recorded cut to the column's length.
    """
    recorded = username[:NAME_LENGTH]
    with db.session() as session:
        _throttle(session, recorded, address)
        user = session.scalar(select(User).where(User.username == username))
        ok = _verify(user, password)
        session.add(LoginAttempt(username=recorded, address=address, succeeded=ok))
        if not ok or user is None:
            record_event(session, actor=recorded, action="login.failed", address=address)
    if not ok or user is None:
        raise AccessError(
            "user name or password is wrong, or the user is disabled",
            code="access.bad_credentials",
            status=401,
        )
    return start_session(db, user.id, address=address)


def start_session(db: Database, user_id: int, *, address: str = "") -> str:
    session_id = secrets.token_urlsafe(32)
    with db.session() as session:
        user = session.get(User, user_id)
        assert user is not None
        user.last_login_at = utcnow()
        session.add(
            WebSession(id=session_id, user_id=user_id, expires_at=utcnow() + SESSION_LIFETIME)
        )
        record_event(session, actor=user.username, action="login", address=address)
    return session_id


def sign_out(db: Database, session_id: str, *, address: str = "") -> None:
    with db.session() as session:
        found = session.get(WebSession, session_id)
        if found is not None:
            record_event(session, actor=found.user.username, action="logout", address=address)
            session.delete(found)


def principal_for_session(db: Database, session_id: str) -> Principal | None:
    """The signed-in user of a live session (``None`` when expired, ended or disabled)."""
    with db.session() as session:
        found = session.get(WebSession, session_id)
        if found is None or found.expires_at <= utcnow() or found.user.disabled:
            return None
        return principal_of(found.user)


def principal_for_token(db: Database, secret: str) -> Principal | None:
    """The owner of a live API token (``None`` when unknown, revoked, expired or disabled)."""
    with db.session() as session:
        token = session.scalar(select(ApiToken).where(ApiToken.secret_hash == token_hash(secret)))
        now = utcnow()
        if token is None or token.revoked_at is not None or token.user.disabled:
            return None
        if token.expires_at is not None and token.expires_at <= now:
            return None
        if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
            token.last_used_at = now
        return principal_of(token.user)


def forget_expired(db: Database) -> int:
    """Drop expired sessions and old login attempts; returns the sessions dropped."""
    with db.session() as session:
        now = utcnow()
        dropped = session.execute(delete(WebSession).where(WebSession.expires_at <= now))
        session.execute(delete(LoginAttempt).where(LoginAttempt.at < now - THROTTLE_WINDOW * 4))
        return int(getattr(dropped, "rowcount", 0) or 0)


def _throttle(session: Session, username: str, address: str) -> None:
    since = utcnow() - THROTTLE_WINDOW
    failed = (
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.at >= since, LoginAttempt.succeeded.is_(False))
    )
    by_user = session.scalar(failed.where(LoginAttempt.username == username)) or 0
    by_address = session.scalar(failed.where(LoginAttempt.address == address)) if address else 0
    if by_user >= MAX_FAILURES_PER_USER or (by_address or 0) >= MAX_FAILURES_PER_ADDRESS:
        minutes = int(THROTTLE_WINDOW.total_seconds() // 60)
        raise AccessError(
            f"too many failed sign-ins for {username!r} or from this address; "
            f"wait {minutes} minutes or ask an admin",
            code="access.throttled",
            status=429,
        )


def _verify(user: User | None, password: str) -> bool:
    """Whether ``user`` may sign in with ``password``. One argon2 check runs whatever the
    user (a decoy hash stands in for a missing one), so that timing reveals nothing."""
    stored = user.password_hash if user is not None and not user.disabled else None
    try:
        matched = HASHER.verify(stored or _decoy_hash(), password)
    except (VerificationError, InvalidHashError):
        return False
    return bool(stored) and matched


@cache
def _decoy_hash() -> str:
    return HASHER.hash(secrets.token_urlsafe(32))
