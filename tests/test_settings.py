from pathlib import Path

import pytest

from costprism.settings import ENV_HOME, resolve_home


def test_option_wins_over_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "env"))
    assert resolve_home(tmp_path / "opt") == (tmp_path / "opt").resolve()
    assert (tmp_path / "opt").is_dir()


def test_environment_then_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_HOME, str(tmp_path / "env"))
    assert resolve_home() == (tmp_path / "env").resolve()
    monkeypatch.delenv(ENV_HOME)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    assert resolve_home() == (tmp_path / "user" / ".costprism").resolve()
