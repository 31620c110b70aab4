"""``costprism serve``, ``users``, ``tokens`` and ``demo users``, run as real subprocesses.

The database is passed with ``--database-url`` (``database_url``, tests/conftest.py), and
what the commands did is read back through the capabilities. The tests of the database
path (add, token, demo users, serve) run on SQLite and PostgreSQL; those of the command
logic alone on SQLite (each run starts Python and migrates: seconds on a busy machine).
"""

from __future__ import annotations

import getpass
import json
import os
import pty
import select
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from costprism.capabilities import access
from costprism.capabilities.sessions import principal_for_session, principal_for_token, sign_in
from costprism.cli_access import server_url
from costprism.db import Database
from costprism.errors import AccessError
from costprism.roles import ROLES
from tests.test_cli import COMMAND

PASSWORD = "correct horse battery"
sqlite_only = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url)
    yield database
    database.dispose()


@pytest.fixture
def cli(database_url: str, tmp_path: Path) -> Cli:
    return Cli(database_url, tmp_path / "home")


class Cli:
    """``costprism ARGS --database-url URL --home HOME`` in a clean environment."""

    def __init__(self, database_url: str, home: Path) -> None:
        self.options = ["--database-url", database_url, "--home", str(home)]
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("COSTPRISM_")}

    def run(self, *args: str, stdin: str | None = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*COMMAND, *args, *self.options],
            input=stdin,
            stdin=subprocess.DEVNULL if stdin is None else None,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
            check=False,
        )

    def ok(self, *args: str, stdin: str | None = "") -> str:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 0, result.stderr
        return result.stdout

    def fails(self, *args: str, code: str, stdin: str | None = "") -> str:
        result = self.run(*args, stdin=stdin)
        assert result.returncode == 1, result.stdout
        assert f"error [{code}]" in result.stderr
        assert "Traceback" not in result.stderr
        return result.stderr

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--format", "json"))

    def add_ada(self, *options: str) -> str:
        return self.ok("users", "add", "ada", *options, "--password-stdin", stdin=PASSWORD + "\n")


def signs_in(db: Database, username: str, password: str) -> bool:
    try:
        return principal_for_session(db, sign_in(db, username, password)) is not None
    except AccessError:
        return False


def test_users_add_reads_the_password_from_stdin(cli: Cli, db: Database) -> None:
    output = cli.add_ada("--role", "finance", "--role", "itfm", "--scope", "tag:team=payments")
    assert output == "added ada: roles finance, itfm; sees tag:team=payments\n"
    user = access.get_user(db, "ada")
    assert (user.roles, user.scope, user.display_name) == (
        ("finance", "itfm"),
        ("tag:team=payments",),
        "ada",
    )
    assert signs_in(db, "ada", PASSWORD)


@sqlite_only
def test_users_add_is_audited_as_the_os_user(cli: Cli, db: Database) -> None:
    cli.add_ada("--role", "itam", "--display-name", "Ada Lovelace")
    (event,) = access.audit_log(db).items
    assert (event.actor, event.action, event.target) == (
        f"cli:{getpass.getuser()}",
        "user.create",
        "ada",
    )
    assert access.get_user(db, "ada").display_name == "Ada Lovelace"


@sqlite_only
def test_users_add_without_a_password_source_refuses(cli: Cli, db: Database) -> None:
    message = cli.fails("users", "add", "ada", "--role", "itam", code="user.no_password")
    assert "--password-stdin" in message
    cli.fails("users", "add", "ada", "--role", "itam", stdin=None, code="user.no_password")
    cli.fails(
        "users", "add", "ada", "--role", "itam", "--password-stdin", stdin="\n",
        code="user.no_password",
    )  # fmt: skip
    assert access.list_users(db).items == ()


@sqlite_only
def test_users_add_refuses_bad_input(cli: Cli, db: Database) -> None:
    cli.fails("users", "add", "ada", "--password-stdin", stdin=PASSWORD, code="input.bad_option")
    stdin = PASSWORD
    cli.fails("users", "add", "ada", "--role", "cfo", "--password-stdin", stdin=stdin,
              code="user.bad_role")  # fmt: skip
    cli.fails("users", "add", "ada", "--role", "itam", "--password-stdin", stdin="short",
              code="user.weak_password")  # fmt: skip
    cli.fails("users", "add", "ada", "--role", "itam", "--scope", "team payments",
              "--password-stdin", stdin=stdin, code="query.bad_filter")  # fmt: skip
    cli.add_ada("--role", "itam")
    cli.fails("users", "add", "ada", "--role", "itam", "--password-stdin", stdin=stdin,
              code="user.exists")  # fmt: skip
    assert [u.username for u in access.list_users(db).items] == ["ada"]


@sqlite_only
def test_users_list_as_json_table_and_csv(cli: Cli) -> None:
    cli.add_ada("--role", "finance", "--scope", "tag:team=payments")
    cli.ok("users", "add", "bob", "--role", "admin", "--password-stdin", stdin=PASSWORD)
    listed = cli.json("users", "list")
    assert [(u["username"], u["roles"], u["scope"], u["disabled"]) for u in listed] == [
        ("ada", ["finance"], ["tag:team=payments"], False),
        ("bob", ["admin"], [], False),
    ]
    assert all("password" not in key for u in listed for key in u)
    lines = cli.ok("users", "list", "--format", "csv").splitlines()
    assert lines[0].startswith("id,username,display_name,roles,scope,disabled")
    assert ",ada,ada,finance,tag:team=payments,False," in lines[1]
    assert "bob" in cli.ok("users", "list")


@sqlite_only
def test_users_disable_and_enable(cli: Cli, db: Database) -> None:
    cli.add_ada("--role", "itam")
    assert cli.ok("users", "disable", "ada").startswith("disabled ada (disabled)")
    assert cli.json("users", "list")[0]["disabled"] is True
    assert not signs_in(db, "ada", PASSWORD)
    assert cli.ok("users", "enable", "ada").startswith("enabled ada:")
    assert signs_in(db, "ada", PASSWORD)
    cli.fails("users", "disable", "nobody", code="user.unknown")


@sqlite_only
def test_users_set_replaces_roles_scope_and_password(cli: Cli, db: Database) -> None:
    cli.add_ada("--role", "finance", "--scope", "tag:team=payments")
    cli.ok("users", "set", "ada", "--role", "itfm", "--role", "security")
    assert access.get_user(db, "ada").roles == ("itfm", "security")
    cli.ok("users", "set", "ada", "--scope", "tag:product=checkout", "--scope", "RegionId=eu")
    assert access.get_user(db, "ada").scope == ("tag:product=checkout", "RegionId=eu")
    assert cli.ok("users", "set", "ada", "--clear-scope").endswith("sees the whole ledger\n")
    assert access.get_user(db, "ada").scope == ()
    cli.ok("users", "set", "ada", "--password-stdin", stdin="a new long password\n")
    assert signs_in(db, "ada", "a new long password")
    assert not signs_in(db, "ada", PASSWORD)


@sqlite_only
def test_users_set_refuses_nothing_or_contradictions(cli: Cli, db: Database) -> None:
    cli.add_ada("--role", "finance")
    cli.fails("users", "set", "ada", code="input.bad_option")
    cli.fails("users", "set", "ada", "--scope", "x=1", "--clear-scope", code="input.bad_option")
    cli.fails("users", "set", "ada", "--role", "nobody", code="user.bad_role")
    cli.fails("users", "set", "nobody", "--role", "itam", code="user.unknown")
    assert [e.action for e in access.audit_log(db).items] == ["user.create"]


def test_tokens_create_prints_the_token_alone_on_the_last_line(cli: Cli, db: Database) -> None:
    cli.add_ada("--role", "finance", "--scope", "tag:team=payments")
    output = cli.ok("tokens", "create", "ada", "--name", "ci", "--expires-in-days", "30")
    *notes, secret = output.rstrip("\n").split("\n")
    assert notes
    assert "shown once" in output
    assert secret.startswith("cpt_")
    assert secret == secret.strip()
    assert " " not in secret
    principal = principal_for_token(db, secret)
    assert principal is not None
    assert (principal.username, principal.roles) == ("ada", ("finance",))
    assert [str(f) for f in principal.scope] == ["tag:team=payments"]
    (token,) = access.list_tokens(db, "ada")
    assert token.expires_at is not None
    assert 29 < (token.expires_at - token.created_at).total_seconds() / 86400 <= 30


@sqlite_only
def test_tokens_list_and_revoke(cli: Cli, db: Database) -> None:
    cli.add_ada("--role", "finance")
    secret = cli.ok("tokens", "create", "ada", "--name", "ci").splitlines()[-1]
    listed = cli.json("tokens", "list", "ada")
    assert [(t["username"], t["name"], t["prefix"]) for t in listed] == [("ada", "ci", secret[:10])]
    assert secret not in cli.ok("tokens", "list", "--format", "json")
    assert "revoked token 'ci' of ada" in cli.ok("tokens", "revoke", "ada", "ci")
    assert principal_for_token(db, secret) is None
    assert cli.json("tokens", "list")[0]["revoked_at"] is not None
    cli.fails("tokens", "revoke", "ada", "other", code="token.unknown")
    cli.fails("tokens", "create", "ada", "--name", "ci", code="token.exists")
    cli.fails("tokens", "create", "ada", "--name", "x", "--expires-in-days", "0",
              code="token.bad_expiry")  # fmt: skip
    actor = f"cli:{getpass.getuser()}"
    assert [(e.actor, e.action) for e in access.audit_log(db).items][:2] == [
        (actor, "token.revoke"),
        (actor, "token.create"),
    ]


def test_demo_users_creates_one_signing_in_user_per_role(cli: Cli, db: Database) -> None:
    logins = cli.json("demo", "users")
    assert [login["role"] for login in logins] == list(ROLES)
    assert len(logins) == 12
    assert len({login["password"] for login in logins}) == 12
    for login in logins:
        session_id = sign_in(db, login["user"], login["password"])
        principal = principal_for_session(db, session_id)
        assert principal is not None
        assert principal.roles == (login["role"],)
    finance = next(login for login in logins if login["role"] == "finance")
    assert finance["scope"] == "tag:CostCenter in (CC-110, cc-110)"


@sqlite_only
def test_demo_users_again_resets_passwords(cli: Cli, db: Database) -> None:
    first = {login["user"]: login["password"] for login in cli.json("demo", "users")}
    cli.ok("users", "disable", "demo-finance")
    cli.ok("users", "set", "demo-finance", "--role", "admin", "--clear-scope")
    table = cli.ok("demo", "users")
    assert "passwords shown once" in table
    assert all(name in table for name in first)
    user = access.get_user(db, "demo-finance")
    assert (user.roles, user.scope, user.disabled) == (
        ("finance",),
        ("tag:CostCenter in (CC-110, cc-110)",),
        False,
    )
    assert not signs_in(db, "demo-finance", first["demo-finance"])
    assert len(access.list_users(db).items) == 12


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for_health(url: str, server: subprocess.Popen[str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert server.poll() is None, server.communicate()
        try:
            with urllib.request.urlopen(url + "/healthz", timeout=2) as answer:
                health: dict[str, Any] = json.load(answer)
                return health
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within 60 s")


def test_serve_answers_on_its_port_and_stops_on_sigterm(cli: Cli, db: Database) -> None:
    port = free_port()
    server = subprocess.Popen(
        [*COMMAND, "serve", "--port", str(port), *cli.options],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=cli.env,
    )
    try:
        assert wait_for_health(f"http://127.0.0.1:{port}", server) == {"status": "ok"}
    finally:
        server.terminate()
        stdout, stderr = server.communicate(timeout=30)
    assert server.returncode in (0, -signal.SIGTERM), (
        stderr
    )  # newer uvicorn re-raises it once shut down
    assert "Application shutdown complete" in stderr
    assert stdout.splitlines()[0] == f"serving on http://127.0.0.1:{port}"
    assert (Path(cli.options[3]) / "secret.key").stat().st_mode & 0o077 == 0


@sqlite_only
def test_serve_refuses_a_bad_database_url_and_port(cli: Cli) -> None:
    refused = subprocess.run(
        [*COMMAND, "serve", "--database-url", "nosuch://x", "--home", cli.options[3]],
        capture_output=True, text=True, env=cli.env, timeout=60, check=False,
    )  # fmt: skip
    assert refused.returncode == 1
    assert "error [database.bad_url]" in refused.stderr
    cli.fails("serve", "--port", "70000", code="input.bad_option")


def test_server_url_brackets_ipv6_hosts() -> None:
    assert server_url("127.0.0.1", 8000) == "http://127.0.0.1:8000"
    assert server_url("::1", 8080) == "http://[::1]:8080"


def read_until(fd: int, text: str, seen: bytearray) -> None:
    deadline = time.monotonic() + 60
    while text.encode() not in seen:
        assert time.monotonic() < deadline, f"no {text!r} in {bytes(seen)!r}"
        ready, _, _ = select.select([fd], [], [], 1)
        if ready:
            seen.extend(os.read(fd, 4096))


def run_on_a_terminal(cli: Cli, args: list[str], answers: list[tuple[str, str]]) -> bytes:
    """Run the command with a pseudo-terminal as its controlling terminal; answer prompts.

    Answer only once the whole prompt is out: click writes "password:" itself, then getpass
    turns echo off, discarding what was typed (TCSAFLUSH), and writes the final space."""
    pid, fd = pty.fork()
    if pid == 0:  # the child: become the command, or end (never go on running pytest)
        try:
            os.execve(COMMAND[0], [*COMMAND, *args, *cli.options], cli.env)
        finally:
            os._exit(127)
    seen = bytearray()
    try:
        for prompt, answer in answers:
            read_until(fd, prompt, seen)
            os.write(fd, answer.encode() + b"\n")
        read_until(fd, "added", seen)
    except BaseException:
        os.kill(pid, signal.SIGKILL)  # else the wait below waits for an answer never sent
        raise
    finally:
        _, status = os.waitpid(pid, 0)
        os.close(fd)
    assert os.waitstatus_to_exitcode(status) == 0, bytes(seen)
    return bytes(seen)


@sqlite_only
def test_users_add_on_a_terminal_asks_twice_without_echo(cli: Cli, db: Database) -> None:
    typed = "typed on a terminal"
    shown = run_on_a_terminal(
        cli,
        ["users", "add", "ada", "--role", "itam"],
        [("password: ", typed), ("Repeat for confirmation: ", typed)],
    )
    assert typed.encode() not in shown
    assert signs_in(db, "ada", typed)
