"""Server settings: the signing key is generated once, kept private, and never weak."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest

from costprism.db import ENV_DATABASE_URL
from costprism.errors import UserError
from costprism.server.config import ENV_SECRET_KEY, ServerConfig


def test_a_key_is_generated_once_and_kept_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_SECRET_KEY, raising=False)
    first = ServerConfig.load(tmp_path)
    second = ServerConfig.load(tmp_path)
    assert first.secret_key == second.secret_key
    assert len(first.secret_key) >= 32
    mode = stat.S_IMODE((tmp_path / "secret.key").stat().st_mode)
    assert mode & 0o077 == 0


def test_a_short_key_from_the_environment_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ENV_SECRET_KEY, "changeme")
    with pytest.raises(UserError) as raised:
        ServerConfig.load(tmp_path)
    assert raised.value.code == "settings.weak_secret"
    assert not (tmp_path / "secret.key").exists()


def test_database_defaults_to_sqlite_in_home_and_follows_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(ENV_DATABASE_URL, raising=False)
    assert ServerConfig.load(tmp_path).database_url == f"sqlite:///{tmp_path / 'metadata.db'}"
    monkeypatch.setenv(ENV_DATABASE_URL, "postgresql://u:p@db/costprism")
    assert ServerConfig.load(tmp_path).database_url == "postgresql://u:p@db/costprism"
    given = ServerConfig.load(tmp_path, database_url="sqlite:///x.db")
    assert given.database_url == "sqlite:///x.db"
