"""Where CostPrism keeps its data: ``--home``, else ``COSTPRISM_HOME``, else ``~/.costprism``."""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "COSTPRISM_HOME"


def resolve_home(option: Path | None = None) -> Path:
    """The data folder (created if missing): holds the ledger and the metadata database."""
    chosen = option or Path(os.environ.get(ENV_HOME) or Path.home() / ".costprism")
    home = chosen.expanduser().resolve()
    home.mkdir(parents=True, exist_ok=True)
    return home
