"""Users, their roles and scopes, API tokens and the audit log — what ``costprism users``,
``costprism tokens``, the admin pages and ``/api/v1/users`` all call.

Every change records an audit event in the same transaction as the change itself.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from costprism.capabilities.paging import (
    Page,
    checked_limit,
    cursor_key,
    cursor_text,
    decode_cursor,
    encode_cursor,
)
from costprism.db import ApiToken, AuditEvent, Database, User, UserRole, record_event, utcnow
from costprism.engine.filters import Filter, parse_filters
from costprism.errors import Conflict, NotFound, UserError
from costprism.roles import ROLES, Principal

HASHER = PasswordHasher()
TOKEN_PREFIX = "cpt_"
MIN_PASSWORD = 12
DISPLAY_NAME_LENGTH = 200  # the column's length (PostgreSQL enforces it)


@dataclass(frozen=True, kw_only=True)
class UserPublic:
    """A user as lists and pages show it (never the password hash)."""

    id: int
    username: str
    display_name: str
    roles: tuple[str, ...]
    scope: tuple[str, ...]
    disabled: bool
    created_at: datetime
    last_login_at: datetime | None

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "display_name": self.display_name,
            "roles": list(self.roles),
            "scope": list(self.scope),
            "disabled": self.disabled,
            "created_at": self.created_at.isoformat() + "Z",
            "last_login_at": _iso(self.last_login_at),
        }


@dataclass(frozen=True, kw_only=True)
class TokenPublic:
    id: int
    username: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "username": self.username,
            "name": self.name,
            "prefix": self.prefix,
            "created_at": self.created_at.isoformat() + "Z",
            "expires_at": _iso(self.expires_at),
            "revoked_at": _iso(self.revoked_at),
            "last_used_at": _iso(self.last_used_at),
        }


@dataclass(frozen=True, kw_only=True)
class AuditRecord:
    id: int
    at: datetime
    actor: str | None
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    address: str

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "at": self.at.isoformat() + "Z",
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "before": self.before,
            "after": self.after,
            "address": self.address,
        }


def scope_filters(text: str | list[str] | tuple[str, ...]) -> tuple[Filter, ...]:
    """A scope (filter conditions, one per line or list item, ANDed) parsed and checked."""
    lines = text.splitlines() if isinstance(text, str) else list(text)
    return parse_filters(line for line in lines if line.strip())


def add_user(
    db: Database,
    *,
    actor: str | None,
    username: str,
    roles: list[str] | tuple[str, ...],
    scope: list[str] | tuple[str, ...] = (),
    password: str | None = None,
    display_name: str = "",
    address: str = "",
) -> UserPublic:
    """Create a local user; ``scope`` empty means the whole ledger."""
    _check_username(username)
    _check_display_name(display_name)
    checked_roles = _check_roles(roles)
    scope_lines = _scope_lines(scope)
    with db.session() as session:
        if _find(session, username) is not None:
            raise Conflict(f"user {username!r} already exists", code="user.exists")
        user = User(
            username=username,
            display_name=display_name or username,
            password_hash=_hash(password) if password is not None else None,
            scope="\n".join(scope_lines),
            roles=[UserRole(role=r) for r in checked_roles],
        )
        session.add(user)
        session.flush()
        record_event(
            session,
            actor=actor,
            action="user.create",
            target=username,
            after=_snapshot(user),
            address=address,
        )
        return _public(user)


def update_user(
    db: Database,
    username: str,
    *,
    actor: str | None,
    roles: list[str] | tuple[str, ...] | None = None,
    scope: list[str] | tuple[str, ...] | None = None,
    disabled: bool | None = None,
    password: str | None = None,
    address: str = "",
) -> UserPublic:
    """Change a user's roles, scope, password or disabled flag (what is ``None`` stays)."""
    checked_roles = _check_roles(roles) if roles is not None else None
    scope_lines = _scope_lines(scope) if scope is not None else None
    with db.session() as session:
        user = _get(session, username)
        before = _snapshot(user)
        if checked_roles is not None:
            _set_roles(session, user, checked_roles)
        if scope_lines is not None:
            user.scope = "\n".join(scope_lines)
        if disabled is not None:
            user.disabled = disabled
        if password is not None:
            user.password_hash = _hash(password)
        session.flush()
        after = _snapshot(user)
        if password is not None:
            after["password"] = "changed"
        record_event(
            session,
            actor=actor,
            action="user.update",
            target=username,
            before=before,
            after=after,
            address=address,
        )
        return _public(user)


def get_user(db: Database, username: str) -> UserPublic:
    with db.session() as session:
        return _public(_get(session, username))


def list_users(
    db: Database, *, limit: int | None = None, cursor: str | None = None
) -> Page[UserPublic]:
    """Users by name, a page at a time."""
    size = checked_limit(limit)
    after = cursor_text(decode_cursor(cursor), "after")
    with db.session() as session:
        found = session.scalars(
            select(User).where(User.username > after).order_by(User.username).limit(size + 1)
        ).all()
        items = tuple(_public(u) for u in found[:size])
    more = len(found) > size
    return Page(items=items, next=encode_cursor({"after": items[-1].username}) if more else None)


def principal_of(user: User) -> Principal:
    return Principal(
        user_id=user.id,
        username=user.username,
        roles=user.role_names,
        scope=scope_filters(user.scope),
    )


def create_token(
    db: Database,
    username: str,
    *,
    actor: str | None,
    name: str,
    expires_in_days: int | None = 90,
    address: str = "",
) -> tuple[TokenPublic, str]:
    """A new API token for ``username``: its record and the secret (shown once, never stored)."""
    if not name.strip() or len(name) > 100:
        raise UserError("a token needs a name of 1 to 100 characters", code="token.bad_name")
    if expires_in_days is not None and expires_in_days < 1:
        raise UserError(
            f"expiry of {expires_in_days} days: use a positive number of days",
            code="token.bad_expiry",
        )
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with db.session() as session:
        user = _get(session, username)
        if session.scalar(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.name == name)
        ):
            raise Conflict(f"{username} already has a token named {name!r}", code="token.exists")
        expires = utcnow() + timedelta(days=expires_in_days) if expires_in_days else None
        token = ApiToken(
            user=user,
            name=name,
            prefix=secret[:10],
            secret_hash=token_hash(secret),
            expires_at=expires,
        )
        session.add(token)
        session.flush()
        record_event(
            session,
            actor=actor,
            action="token.create",
            target=f"{username}/{name}",
            after={"name": name, "prefix": token.prefix, "expires_at": _iso(expires)},
            address=address,
        )
        return _token_public(token), secret


def revoke_token(
    db: Database, username: str, name: str, *, actor: str | None, address: str = ""
) -> TokenPublic:
    with db.session() as session:
        user = _get(session, username)
        token = session.scalar(
            select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.name == name)
        )
        if token is None:
            raise NotFound(f"{username} has no token named {name!r}", code="token.unknown")
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            record_event(
                session,
                actor=actor,
                action="token.revoke",
                target=f"{username}/{name}",
                before={"revoked_at": None},
                after={"revoked_at": _iso(token.revoked_at)},
                address=address,
            )
        return _token_public(token)


def list_tokens(db: Database, username: str | None = None) -> list[TokenPublic]:
    """Tokens (of one user, or all), newest first; secrets are never listed."""
    with db.session() as session:
        query = select(ApiToken).order_by(ApiToken.id.desc())
        if username is not None:
            query = query.where(ApiToken.user_id == _get(session, username).id)
        return [_token_public(t) for t in session.scalars(query)]


def token_hash(secret: str) -> str:
    """Tokens are long random strings: a plain SHA-256 is the right stored form."""
    return hashlib.sha256(secret.encode()).hexdigest()


def audit_log(
    db: Database, *, limit: int | None = None, cursor: str | None = None
) -> Page[AuditRecord]:
    """The audit log, newest first, a page at a time."""
    size = checked_limit(limit)
    before = cursor_key(decode_cursor(cursor), "before")
    with db.session() as session:
        query = select(AuditEvent).order_by(AuditEvent.id.desc()).limit(size + 1)
        if before is not None:
            query = query.where(AuditEvent.id < before)
        found = session.scalars(query).all()
        items = tuple(_audit_public(e) for e in found[:size])
    more = len(found) > size
    return Page(items=items, next=encode_cursor({"before": items[-1].id}) if more else None)


def _hash(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise UserError(
            f"the password has {len(password)} characters; use at least {MIN_PASSWORD}",
            code="user.weak_password",
        )
    return HASHER.hash(password)


def _check_username(username: str) -> None:
    allowed = username.replace("-", "").replace("_", "").replace(".", "").replace("@", "")
    if not username or len(username) > 150 or not allowed.isalnum():
        raise UserError(
            f"user name {username!r}: use 1 to 150 letters, digits, '-', '_', '.', '@'",
            code="user.bad_name",
        )


def _check_display_name(display_name: str) -> None:
    if len(display_name) > DISPLAY_NAME_LENGTH:
        raise UserError(
            f"display name of {len(display_name)} characters: use at most {DISPLAY_NAME_LENGTH}",
            code="user.bad_display_name",
        )


def _check_roles(roles: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    unknown = [r for r in roles if r not in ROLES]
    if unknown or not roles:
        raise UserError(
            f"role(s) {', '.join(unknown) or '(none)'} not known; "
            f"give one or more of {', '.join(ROLES)}",
            code="user.bad_role",
        )
    return tuple(sorted(set(roles)))


def _scope_lines(scope: list[str] | tuple[str, ...]) -> list[str]:
    return [str(f) for f in scope_filters(scope)]


def _set_roles(session: Session, user: User, roles: tuple[str, ...]) -> None:
    for held in list(user.roles):
        if held.role not in roles:
            user.roles.remove(held)
    session.flush()
    user.roles.extend(UserRole(role=r) for r in roles if r not in user.role_names)


def _find(session: Session, username: str) -> User | None:
    return session.scalar(select(User).where(User.username == username))


def _get(session: Session, username: str) -> User:
    user = _find(session, username)
    if user is None:
        raise NotFound(
            f"no user named {username!r}; see `costprism users list`", code="user.unknown"
        )
    return user


def _snapshot(user: User) -> dict[str, Any]:
    return {
        "roles": list(user.role_names),
        "scope": [line for line in user.scope.splitlines() if line],
        "disabled": user.disabled,
    }


def _public(user: User) -> UserPublic:
    return UserPublic(
        id=user.id,
        username=user.username,
        display_name=user.display_name,
        roles=user.role_names,
        scope=tuple(line for line in user.scope.splitlines() if line),
        disabled=user.disabled,
        created_at=user.created_at,
        last_login_at=user.last_login_at,
    )


def _token_public(token: ApiToken) -> TokenPublic:
    return TokenPublic(
        id=token.id,
        username=token.user.username,
        name=token.name,
        prefix=token.prefix,
        created_at=token.created_at,
        expires_at=token.expires_at,
        revoked_at=token.revoked_at,
        last_used_at=token.last_used_at,
    )


def _audit_public(event: AuditEvent) -> AuditRecord:
    return AuditRecord(
        id=event.id,
        at=event.at,
        actor=event.actor,
        action=event.action,
        target=event.target,
        before=event.before,
        after=event.after,
        address=event.address,
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value else None
