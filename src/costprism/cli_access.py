"""The server and access commands: ``serve``, ``users …``, ``tokens …`` and ``demo users``.

They live apart from :mod:`costprism.cli` (which imports this module, at its end, to add
them to its app) and keep its conventions: heavy imports inside the commands, errors
turned into exit codes by :func:`costprism.cli.main` only.

Every change is audited with the actor ``cli:<OS user>``. Each command opens the metadata
database at ``--database-url``, else ``COSTPRISM_DATABASE_URL``, else the SQLite file
``metadata.db`` in the data folder, and brings its schema up to date first.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, cast

import typer

from costprism.cli import HomeOption, OutputFormat, _render, app, demo_app
from costprism.cli_database import DatabaseOption, cli_actor, open_database
from costprism.errors import InputError, UserError
from costprism.roles import ROLES
from costprism.settings import resolve_home

if TYPE_CHECKING:
    from costprism.capabilities.access import UserPublic
    from costprism.db import Database

users_app = typer.Typer(help="Users, their roles and scopes.", no_args_is_help=True)
app.add_typer(users_app, name="users")
tokens_app = typer.Typer(help="API tokens (Authorization: Bearer TOKEN).", no_args_is_help=True)
app.add_typer(tokens_app, name="tokens")

RolesOption = Annotated[
    list[str] | None, typer.Option("--role", help=f"A role (repeatable): {', '.join(ROLES)}.")
]
ScopeOption = Annotated[
    list[str] | None,
    typer.Option("--scope", help="A filter condition the user sees (repeatable, ANDed)."),
]
PasswordStdinOption = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]
FormatOption = Annotated[str, typer.Option("--format", help="table, csv or json.")]


@app.command("serve")
def serve_command(
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    database_url: DatabaseOption = None,
    https: Annotated[
        bool, typer.Option("--https", help="Behind an HTTPS proxy: mark cookies Secure.")
    ] = False,
    alerts_every: Annotated[
        str | None,
        typer.Option(
            "--alerts-every",
            help="Detect anomalies and run 'alerts run' this often in the background "
            "(e.g. 15m, 1h; default: never).",
            show_default=False,
        ),
    ] = None,
    home: HomeOption = None,
) -> None:
    """Serve the web pages and the REST API (/api/v1, OpenAPI at /openapi.json)."""
    import uvicorn

    from costprism.alerts.schedule import parse_every
    from costprism.server import ServerConfig, create_app

    if not 0 < port < 65536:
        raise InputError(f"--port {port}: use 1 to 65535", code="input.bad_option")
    every = parse_every(alerts_every) if alerts_every is not None else None
    config = ServerConfig.load(
        resolve_home(home), database_url=database_url, https=https, alerts_every=every
    )
    application = create_app(config)
    _say(f"serving on {server_url(host, port)}")
    if every is not None:
        _say(f"alerts run every {every:g}s (alerts.yaml in the data folder)")
        _log_alerts()
    if https:
        _say("cookies are marked Secure: reach this server through an HTTPS proxy")
    uvicorn.run(application, host=host, port=port, log_level="info")


def _log_alerts() -> None:
    """Scheduled alert rounds log to standard error, as uvicorn does."""
    import logging

    logger = logging.getLogger("costprism.alerts")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(message)s"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def server_url(host: str, port: int) -> str:
    """The address to open in a browser (IPv6 hosts in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


@users_app.command("add")
def users_add(
    name: Annotated[str, typer.Argument(help="User name (letters, digits, - _ . @).")],
    role: RolesOption = None,
    scope: ScopeOption = None,
    display_name: Annotated[str, typer.Option(help="Name shown on pages.")] = "",
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Add a password user; without --scope the user sees the whole ledger."""
    from costprism.capabilities import access

    if not role:
        raise InputError("give at least one --role", code="input.bad_option")
    password = _password(password_stdin)
    user = access.add_user(
        _database(database_url, home),
        actor=cli_actor(),
        username=name,
        roles=role,
        scope=scope or (),
        password=password,
        display_name=display_name,
    )
    _say(f"added {_summary(user)}")


@users_app.command("list")
def users_list(
    output: FormatOption = "table", database_url: DatabaseOption = None, home: HomeOption = None
) -> None:
    """Every user with roles, scope and status (never a password)."""
    chosen = _output(output)
    users = _all_users(_database(database_url, home))
    records = [u.record() if chosen == "json" else _user_row(u) for u in users]
    _render(records, chosen, title="users")


@users_app.command("disable")
def users_disable(name: str, database_url: DatabaseOption = None, home: HomeOption = None) -> None:
    """Refuse the user's sign-ins, sessions and API tokens (reversible with enable)."""
    _set_disabled(name, True, database_url, home)


@users_app.command("enable")
def users_enable(name: str, database_url: DatabaseOption = None, home: HomeOption = None) -> None:
    """Let a disabled user sign in again (their tokens work again unless revoked)."""
    _set_disabled(name, False, database_url, home)


@users_app.command("set")
def users_set(
    name: str,
    role: RolesOption = None,
    scope: ScopeOption = None,
    clear_scope: Annotated[
        bool, typer.Option("--clear-scope", help="Let the user see the whole ledger.")
    ] = False,
    password_stdin: PasswordStdinOption = False,
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Replace a user's roles, scope or password (what is not given stays)."""
    from costprism.capabilities import access

    new_scope = _new_scope(scope, clear_scope)
    if not role and new_scope is None and not password_stdin:
        raise InputError(
            "nothing to change: give --role, --scope, --clear-scope or --password-stdin",
            code="input.bad_option",
        )
    user = access.update_user(
        _database(database_url, home),
        name,
        actor=cli_actor(),
        roles=role or None,
        scope=new_scope,
        password=_password(True) if password_stdin else None,
    )
    _say(f"changed {_summary(user)}")


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Argument(help="The user the token acts as.")],
    name: Annotated[str, typer.Option("--name", help="A name to tell tokens apart.")],
    expires_in_days: Annotated[int, typer.Option(help="Days until it stops working.")] = 90,
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Create an API token; it is printed once, alone on the last line."""
    from costprism.capabilities import access

    token, secret = access.create_token(
        _database(database_url, home),
        user,
        actor=cli_actor(),
        name=name,
        expires_in_days=expires_in_days,
    )
    _say(f"token {token.name!r} for {token.username}, expires {token.record()['expires_at']}")
    _say("shown once: store it now (CostPrism keeps only its hash); the token:")
    _say(secret)


@tokens_app.command("list")
def tokens_list(
    user: Annotated[str | None, typer.Argument(help="Only this user's tokens.")] = None,
    output: FormatOption = "table",
    database_url: DatabaseOption = None,
    home: HomeOption = None,
) -> None:
    """Tokens, newest first: name, prefix, expiry, revocation, last use (never the secret)."""
    from costprism.capabilities import access

    tokens = access.list_tokens(_database(database_url, home), user)
    _render([t.record() for t in tokens], _output(output), title="API tokens")


@tokens_app.command("revoke")
def tokens_revoke(
    user: str, name: str, database_url: DatabaseOption = None, home: HomeOption = None
) -> None:
    """Stop a token working at once (revoking twice changes nothing)."""
    from costprism.capabilities import access

    token = access.revoke_token(_database(database_url, home), user, name, actor=cli_actor())
    _say(f"revoked token {token.name!r} of {token.username} at {token.record()['revoked_at']}")


@demo_app.command("users")
def demo_users_command(
    output: FormatOption = "table", database_url: DatabaseOption = None, home: HomeOption = None
) -> None:
    """Create (or reset) one demo user per role, print their new passwords once."""
    from costprism.demo.users import create_demo_users

    chosen = _output(output)
    logins = create_demo_users(_database(database_url, home), actor=cli_actor())
    title = "demo logins (passwords shown once; run again for new ones)"
    _render([login.record() for login in logins], chosen, title=title)


def _output(value: str) -> OutputFormat:
    """``--format``, checked here: the cost commands' check imports the query engine."""
    if value not in ("table", "csv", "json"):
        raise UserError(f"--format {value!r} is not one of: table, csv, json", code="usage")
    return cast(OutputFormat, value)


_database = open_database


def _password(from_stdin: bool) -> str:
    """The new password: from standard input, else asked twice on a terminal."""
    if from_stdin:
        password = sys.stdin.read().removesuffix("\n").removesuffix("\r")
        if not password:
            raise UserError("standard input held no password", code="user.no_password")
        return password
    if not sys.stdin.isatty():
        raise UserError(
            "no password given and standard input is not a terminal to ask on; "
            "pipe it in with --password-stdin",
            code="user.no_password",
        )
    entered: str = typer.prompt("password", hide_input=True, confirmation_prompt=True)
    return entered


def _new_scope(scope: list[str] | None, clear: bool) -> list[str] | None:
    if scope and clear:
        raise InputError("give --scope or --clear-scope, not both", code="input.bad_option")
    return [] if clear else scope or None


def _set_disabled(name: str, disabled: bool, url: str | None, home: Path | None) -> None:
    from costprism.capabilities import access

    db = _database(url, home)
    user = access.update_user(db, name, actor=cli_actor(), disabled=disabled)
    _say(f"{'disabled' if disabled else 'enabled'} {_summary(user)}")


def _all_users(db: Database) -> Iterator[UserPublic]:
    from costprism.capabilities import access
    from costprism.capabilities.paging import MAX_LIMIT

    cursor: str | None = None
    while True:
        page = access.list_users(db, limit=MAX_LIMIT, cursor=cursor)
        yield from page.items
        if page.next is None:
            return
        cursor = page.next


def _summary(user: UserPublic) -> str:
    scope = " and ".join(user.scope) or "the whole ledger"
    state = " (disabled)" if user.disabled else ""
    return f"{user.username}{state}: roles {', '.join(user.roles)}; sees {scope}"


def _user_row(user: UserPublic) -> dict[str, Any]:
    record = user.record()
    record["roles"] = ", ".join(user.roles)
    record["scope"] = " and ".join(user.scope)
    return record


def _say(line: str) -> None:
    """One plain line on standard output (no markup, no wrapping), flushed."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()
