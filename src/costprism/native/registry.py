"""Every native format CostPrism reads, and how a file's header picks one."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from costprism.errors import InputError
from costprism.native import alibaba, aws, azure, gcp, oracle
from costprism.native.mapping import NativeFormat

FORMATS: tuple[NativeFormat, ...] = (
    *aws.FORMATS,
    *azure.FORMATS,
    *alibaba.FORMATS,
    *gcp.FORMATS,
    *oracle.FORMATS,
)
FOCUS_FORMAT = "focus"


@dataclass(frozen=True, kw_only=True)
class Attempt:
    """One format tried on a header: the required columns it lacks."""

    name: str
    required: int
    missing: tuple[str, ...]

    @property
    def share(self) -> float:
        return 1 - len(self.missing) / self.required if self.required else 0.0


def format_names() -> tuple[str, ...]:
    return (FOCUS_FORMAT, *(f.name for f in FORMATS))


def format_named(name: str) -> NativeFormat | None:
    """The native format called ``name`` (None for ``focus``); a clear error otherwise."""
    if name == FOCUS_FORMAT:
        return None
    for native in FORMATS:
        if native.name == name:
            return native
    raise InputError(
        f"--format {name!r} is not a known format; use one of: {', '.join(format_names())}",
        code="input.bad_option",
    )


def match_format(header: Sequence[str]) -> NativeFormat | None:
    """The native format whose required columns the header has (the most specific one)."""
    found = [native for native in FORMATS if not native.missing(header)]
    return max(found, key=lambda native: len(native.required), default=None)


def attempts(header: Sequence[str]) -> list[Attempt]:
    """Every native format tried on the header, closest first."""
    tried = [
        Attempt(name=n.name, required=len(n.required), missing=n.missing(header)) for n in FORMATS
    ]
    return sorted(tried, key=lambda a: -a.share)
