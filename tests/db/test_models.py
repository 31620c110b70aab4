"""The metadata schema: the migrations build exactly the models, on SQLite and PostgreSQL.

``database_url`` (tests/conftest.py) runs each test on a new SQLite file and on a new
PostgreSQL database; Alembic's ``compare_metadata`` diffs the migrated database against
``Base.metadata`` (tables, columns, types, nullability, indexes, unique constraints,
foreign keys).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.exc import IntegrityError

from costprism.db import MIGRATIONS, Base, Database, User, UserRole, default_url, utcnow
from costprism.errors import UserError

TABLES = {"users", "user_roles", "api_tokens", "web_sessions", "login_attempts", "audit_events"}
TABLES |= {"anomalies", "anomaly_events", "anomaly_suppressions"}  # 0002_anomalies
TABLES |= {"budgets"}  # 0003_budgets
TABLES |= {"alert_channels", "alert_deliveries", "alert_digest_runs"}  # 0004_alerts


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url)
    yield database
    database.dispose()


def schema_diff(database: Database, metadata: sa.MetaData = Base.metadata) -> list[Any]:
    with database.engine.connect() as connection:
        context = MigrationContext.configure(
            connection, opts={"compare_type": True, "compare_server_default": True}
        )
        return list(compare_metadata(context, metadata))


def head_revision() -> str | None:
    config_dir = ScriptDirectory(str(MIGRATIONS))
    return config_dir.get_current_head()


def stamped_revision(database: Database) -> str | None:
    with database.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def test_migrations_build_exactly_the_models(db: Database) -> None:
    assert set(sa.inspect(db.engine).get_table_names()) == TABLES | {"alembic_version"}
    assert schema_diff(db) == []


def test_compare_finds_a_column_the_migrations_lack(db: Database) -> None:
    """The comparison above can fail: a model column with no migration shows up."""
    metadata = sa.MetaData()
    for table in Base.metadata.sorted_tables:
        table.to_metadata(metadata)
    metadata.tables["users"].append_column(sa.Column("nickname", sa.String(50)))
    diff = schema_diff(db, metadata)
    assert [(d[0], d[3].name) for d in diff] == [("add_column", "nickname")]


def test_upgrade_is_idempotent_and_keeps_data(database_url: str) -> None:
    first = Database.open(database_url)
    with first.session() as session:
        session.add(User(username="ada", roles=[UserRole(role="finance")]))
    first.dispose()
    again = Database.open(database_url)
    again.migrate()
    try:
        assert stamped_revision(again) == head_revision() is not None
        assert schema_diff(again) == []
        with again.session() as session:
            ada = session.scalars(sa.select(User)).one()
            assert (ada.username, ada.role_names) == ("ada", ("finance",))
    finally:
        again.dispose()


def test_a_new_database_starts_empty_at_the_head_revision(db: Database) -> None:
    assert stamped_revision(db) == head_revision() == "0004_alerts"
    with db.session() as session:
        assert session.scalars(sa.select(User)).all() == []


def add_then_fail(db: Database, username: str) -> None:
    with db.session() as session:
        session.add(User(username=username))
        session.flush()
        raise RuntimeError("abandon the unit of work")


def test_session_commits_or_rolls_back_as_a_whole(db: Database) -> None:
    with pytest.raises(RuntimeError, match="abandon"):
        add_then_fail(db, "gone")
    with db.session() as session:
        session.add(User(username="kept"))
    with db.session() as session:
        assert session.scalars(sa.select(User.username)).all() == ["kept"]


def test_unique_user_names_and_roles_are_enforced(db: Database) -> None:
    with db.session() as session:
        session.add(User(username="ada"))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(User(username="ada"))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(User(username="bo", roles=[UserRole(role="itam"), UserRole(role="itam")]))


def test_deleting_a_user_deletes_their_roles(db: Database) -> None:
    with db.session() as session:
        session.add(User(username="ada", roles=[UserRole(role="itam"), UserRole(role="itsm")]))
    with db.session() as session:
        session.delete(session.scalars(sa.select(User)).one())
    with db.session() as session:
        assert session.scalars(sa.select(UserRole)).all() == []


def test_columns_default_as_the_models_say(db: Database) -> None:
    before = utcnow()
    with db.session() as session:
        session.add(User(username="ada"))
    with db.session() as session:
        ada = session.scalars(sa.select(User)).one()
    assert (ada.display_name, ada.identity_provider, ada.scope, ada.disabled) == (
        "",
        "local",
        "",
        False,
    )
    assert before <= ada.created_at <= utcnow()
    assert ada.created_at.tzinfo is None


@pytest.mark.parametrize(
    "url",
    [
        "not a url",
        "nosuchdialect://host/db",
        "postgresql+nosuchdriver://user:hunter2secret@localhost/costprism",
    ],
)
def test_a_bad_url_is_refused_with_a_code(url: str) -> None:
    with pytest.raises(UserError) as refused:
        Database(url)
    assert refused.value.code == "database.bad_url"
    assert "sqlite:///PATH" in refused.value.message
    assert "hunter2secret" not in refused.value.message


def test_postgres_urls_use_the_psycopg_driver() -> None:
    for url in ("postgresql://u:p@127.0.0.1:1/x", "postgres://u:p@127.0.0.1:1/x"):
        database = Database(url)
        assert database.engine.url.drivername == "postgresql+psycopg"
        database.dispose()


def test_default_url_is_a_sqlite_file_in_the_data_folder(tmp_path: Path) -> None:
    url = default_url(tmp_path)
    assert url == f"sqlite:///{tmp_path / 'metadata.db'}"
    database = Database.open(url)
    database.dispose()
    assert (tmp_path / "metadata.db").is_file()
