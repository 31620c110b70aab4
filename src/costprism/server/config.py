"""How the server is set up: data folder, metadata database, signing key, HTTPS.

Settings come from arguments or the environment, never from import time. The signing key
is ``COSTPRISM_SECRET_KEY`` or, failing that, a random key generated once into
``<home>/secret.key`` (mode 0600); a short key is refused.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from pathlib import Path

from costprism.db import ENV_DATABASE_URL, default_url
from costprism.errors import UserError

ENV_SECRET_KEY = "COSTPRISM_SECRET_KEY"
MIN_SECRET = 32


@dataclass(frozen=True, kw_only=True)
class ServerConfig:
    home: Path
    database_url: str
    secret_key: str
    https: bool = False  # cookies get the Secure flag
    alerts_every: float | None = None  # seconds between scheduled alert runs (None: off)

    @classmethod
    def load(
        cls,
        home: Path,
        *,
        database_url: str | None = None,
        https: bool = False,
        alerts_every: float | None = None,
    ) -> ServerConfig:
        return cls(
            home=home,
            database_url=database_url or os.environ.get(ENV_DATABASE_URL) or default_url(home),
            secret_key=_secret_key(home),
            https=https,
            alerts_every=alerts_every,
        )


def _secret_key(home: Path) -> str:
    given = os.environ.get(ENV_SECRET_KEY)
    if given is not None:
        if len(given) < MIN_SECRET:
            raise UserError(
                f"{ENV_SECRET_KEY} has {len(given)} characters; use at least {MIN_SECRET} "
                "random ones (e.g. `python -c 'import secrets; print(secrets.token_hex(32))'`)",
                code="settings.weak_secret",
            )
        return given
    path = home / "secret.key"
    if not path.exists():
        path.touch(mode=0o600)
        path.write_text(secrets.token_hex(32))
    return path.read_text().strip()
