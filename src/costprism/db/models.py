"""The metadata tables: users and their roles, API tokens, web sessions, the audit log.

Later issues add their tables here (budgets, rules, …) with an Alembic migration each.
Times are stored as naive UTC (SQLite keeps no zone); :func:`utcnow` is the one clock.
"""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import JSON, Float, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    """Now in UTC, without a zone (how every timestamp in the metadata database is kept)."""
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    """A person (or a service) who signs in. ``identity_provider`` is ``local`` for
    password users; single sign-on users will have the provider's name and ``subject``."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    display_name: Mapped[str] = mapped_column(String(200), default="")
    password_hash: Mapped[str | None] = mapped_column(String(200))
    identity_provider: Mapped[str] = mapped_column(String(100), default="local")
    subject: Mapped[str | None] = mapped_column(String(300))
    scope: Mapped[str] = mapped_column(Text, default="")  # filter conditions, one per line
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    roles: Mapped[list[UserRole]] = relationship(
        back_populates="user", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_names(self) -> tuple[str, ...]:
        return tuple(sorted(r.role for r in self.roles))


class UserRole(Base):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(50))
    user: Mapped[User] = relationship(back_populates="roles")


class ApiToken(Base):
    """A bearer token; only its SHA-256 is stored, the secret is shown once."""

    __tablename__ = "api_tokens"
    __table_args__ = (UniqueConstraint("user_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    user: Mapped[User] = relationship(lazy="joined")


class WebSession(Base):
    """A signed-in browser; the cookie holds a signed reference to ``id``."""

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    user: Mapped[User] = relationship(lazy="joined")


class LoginAttempt(Base):
    """One password check, kept to throttle guessing by user name and by address."""

    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(150))
    address: Mapped[str] = mapped_column(String(100), default="")
    succeeded: Mapped[bool]
    at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEvent(Base):
    """One change: who did what to what, when, and the values before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(150))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(300), default="")
    before: Mapped[dict[str, object] | None] = mapped_column(JSON)
    after: Mapped[dict[str, object] | None] = mapped_column(JSON)
    address: Mapped[str] = mapped_column(String(100), default="")


class Anomaly(Base):
    """One detected anomaly: a run of consecutive days in one scope whose cost departed
    from the expected value (``kind`` ``cost``), or a security rule's finding (``kind``
    ``security``). ``fingerprint`` is its stable identity (kind, rule, scope, first day), so
    detecting again updates it instead of adding a second one."""

    __tablename__ = "anomalies"
    __table_args__ = (
        Index("ix_anomalies_start", "start"),
        Index("ix_anomalies_scope_key", "scope_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(30))
    rule: Mapped[str] = mapped_column(String(50))
    dimensions: Mapped[str] = mapped_column(String(500))
    scope: Mapped[dict[str, str]] = mapped_column(JSON)
    scope_key: Mapped[str] = mapped_column(String(1000))
    start: Mapped[date]
    end: Mapped[date]
    currency: Mapped[str] = mapped_column(String(10))
    actual: Mapped[float] = mapped_column(Float)
    expected: Mapped[float] = mapped_column(Float)
    impact: Mapped[float] = mapped_column(Float)
    severity: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(30), default="open")
    owner: Mapped[str | None] = mapped_column(String(300))
    route: Mapped[str] = mapped_column(String(300), default="")
    drivers: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    series: Mapped[list[dict[str, object]]] = mapped_column(JSON)
    detected_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    events: Mapped[list[AnomalyEvent]] = relationship(
        back_populates="anomaly",
        cascade="all, delete-orphan",
        lazy="selectin",
        order_by="AnomalyEvent.id",
    )


class AnomalyEvent(Base):
    """One entry in an anomaly's history: a state change (from → to), an owner change or
    a comment, with who and when."""

    __tablename__ = "anomaly_events"
    __table_args__ = (Index("ix_anomaly_events_anomaly_id", "anomaly_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    anomaly_id: Mapped[int] = mapped_column(ForeignKey("anomalies.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str | None] = mapped_column(String(150))
    kind: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(30))
    to_state: Mapped[str | None] = mapped_column(String(30))
    text: Mapped[str] = mapped_column(Text, default="")
    anomaly: Mapped[Anomaly] = relationship(back_populates="events")


class AnomalySuppression(Base):
    """Feedback "expected" on an anomaly: later anomalies of the same kind and rule in the
    same scope whose impact is at most ``max_impact`` are recorded as ``expected`` instead
    of ``open`` (see docs/how-to/anomalies.md, "Similar anomalies")."""

    __tablename__ = "anomaly_suppressions"
    __table_args__ = (Index("ix_anomaly_suppressions_scope_key", "scope_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    anomaly_id: Mapped[int | None] = mapped_column(ForeignKey("anomalies.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(30))
    rule: Mapped[str] = mapped_column(String(50))
    dimensions: Mapped[str] = mapped_column(String(500))
    scope_key: Mapped[str] = mapped_column(String(1000))
    max_impact: Mapped[float] = mapped_column(Float)
    currency: Mapped[str] = mapped_column(String(10))
    reason: Mapped[str] = mapped_column(Text, default="")
    created_by: Mapped[str | None] = mapped_column(String(150))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]


class Budget(Base):
    """A budget (see :mod:`costprism.budgets.spec`): amounts are decimal text (exact on
    every database), ``scope`` one filter condition per line, ``released`` the holdback
    released per period (the period's first day, ISO → decimal text)."""

    __tablename__ = "budgets"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    scope: Mapped[str] = mapped_column(Text, default="")
    period: Mapped[str] = mapped_column(String(20))
    amount: Mapped[str] = mapped_column(String(40))
    currency: Mapped[str] = mapped_column(String(10))
    basis: Mapped[str] = mapped_column(String(20))
    actual_thresholds: Mapped[list[str]] = mapped_column(JSON)
    forecast_thresholds: Mapped[list[str]] = mapped_column(JSON)
    owners: Mapped[list[str]] = mapped_column(JSON)
    holdback: Mapped[str] = mapped_column(String(40), default="0")
    released: Mapped[dict[str, str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_by: Mapped[str | None] = mapped_column(String(150))


class AlertChannel(Base):
    """A configured alert destination as ``alerts.yaml`` last named it (synced by each
    ``alerts run``; ``settings`` holds what the /alerts page may show, never a secret)."""

    __tablename__ = "alert_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    type: Mapped[str] = mapped_column(String(20))
    settings: Mapped[dict[str, object]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AlertDelivery(Base):
    """One alert for one recipient on one channel. ``key`` (SHA-256 of alert identity,
    recipient and channel) is unique, so an alert is sent at most once per recipient and
    channel; a failed send keeps ``status`` ``failed`` and is tried again on the next run."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (Index("ix_alert_deliveries_last_at", "last_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    alert: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    recipient: Mapped[str] = mapped_column(String(300))
    channel: Mapped[str] = mapped_column(String(100))
    subject: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    first_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_at: Mapped[datetime] = mapped_column(default=utcnow)
    sent_at: Mapped[datetime | None]


class AlertDigestRun(Base):
    """One digest built for a role and a period (``daily``: the day, ``weekly``: the ISO
    week); the next digest of the role reports what changed since ``at``."""

    __tablename__ = "alert_digest_runs"
    __table_args__ = (UniqueConstraint("role", "cadence", "period"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    role: Mapped[str] = mapped_column(String(50))
    cadence: Mapped[str] = mapped_column(String(10))
    period: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    recipients: Mapped[int] = mapped_column(default=0)
