"""The metadata database: SQLite in the data folder by default, PostgreSQL by URL.

:class:`Database` opens it and brings its schema up to date with the Alembic migrations
in ``costprism/db/migrations`` (the only way the schema changes).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, NoSuchModuleError
from sqlalchemy.orm import Session, sessionmaker

from costprism.db.audit import record_event
from costprism.db.models import (
    ApiToken,
    AuditEvent,
    Base,
    LoginAttempt,
    User,
    UserRole,
    WebSession,
    utcnow,
)
from costprism.errors import UserError

ENV_DATABASE_URL = "COSTPRISM_DATABASE_URL"
MIGRATIONS = Path(__file__).parent / "migrations"

__all__ = [
    "ENV_DATABASE_URL",
    "ApiToken",
    "AuditEvent",
    "Base",
    "Database",
    "LoginAttempt",
    "User",
    "UserRole",
    "WebSession",
    "default_url",
    "record_event",
    "utcnow",
]


def default_url(home: Path) -> str:
    """The SQLite file in the data folder."""
    return f"sqlite:///{home / 'metadata.db'}"


class Database:
    """One metadata database: an engine, a session factory and its migrations."""

    def __init__(self, url: str) -> None:
        self.url = _driver_url(url)
        try:
            self.engine = _engine(self.url)
        except (ArgumentError, NoSuchModuleError) as error:
            raise UserError(
                f"database URL {_redacted(url)!r} is not usable ({error}); write "
                "sqlite:///PATH or postgresql://USER:PASSWORD@HOST:PORT/NAME",
                code="database.bad_url",
            ) from error
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @classmethod
    def open(cls, url: str) -> Database:
        """Open ``url`` and migrate its schema to the newest version."""
        database = cls(url)
        database.migrate()
        return database

    def migrate(self) -> None:
        from alembic import command
        from alembic.config import Config

        config = Config()
        config.set_main_option("script_location", str(MIGRATIONS))
        with self.engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: committed when the block ends, rolled back if it raises."""
        with self._sessions() as session, session.begin():
            yield session

    def dispose(self) -> None:
        self.engine.dispose()


def _driver_url(url: str) -> str:
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def _engine(url: str) -> Engine:
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True)
    engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})
    event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    cursor = connection.cursor()
    cursor.execute("PRAGMA foreign_keys = ON")
    cursor.execute("PRAGMA journal_mode = WAL")
    cursor.close()


def _redacted(url: str) -> str:
    if "@" not in url or "://" not in url:
        return url
    scheme, rest = url.split("://", 1)
    credentials, host = rest.rsplit("@", 1)
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
