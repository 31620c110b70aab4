"""What the commands that read or change the metadata database share: the
``--database-url`` option, opening the database, and the actor the audit log names.

Kept apart from ``cli_access`` so that command modules can import it whichever CLI module
is imported first (``cli`` imports them all at its end)."""

from __future__ import annotations

import getpass
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from costprism.settings import resolve_home

if TYPE_CHECKING:
    from costprism.db import Database

DatabaseOption = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Metadata database: sqlite:///PATH or postgresql://USER:PASSWORD@HOST/NAME "
        "(default: COSTPRISM_DATABASE_URL, else metadata.db in the data folder).",
        show_default=False,
    ),
]


def cli_actor() -> str:
    """Who the audit log names for a CLI change: the OS user, as ``cli:NAME``."""
    try:
        name = getpass.getuser()
    except (OSError, KeyError):  # no login name and no passwd entry (some containers)
        name = f"uid-{os.getuid()}" if hasattr(os, "getuid") else "unknown"
    return f"cli:{name}"


def open_database(url: str | None, home: Path | None) -> Database:
    """The metadata database: ``url``, else ``COSTPRISM_DATABASE_URL``, else the data
    folder's ``metadata.db``."""
    from costprism.db import ENV_DATABASE_URL, Database, default_url

    chosen = url or os.environ.get(ENV_DATABASE_URL) or default_url(resolve_home(home))
    return Database.open(chosen)
