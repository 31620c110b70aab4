"""The errors CostPrism raises, each with a stable code documented in ``docs/errors.md``.

The tree::

    CostPrismError             code               exit
    ├── UserError                                 1
    │   ├── InputError         input.*            1   a file can't be read as asked
    │   ├── ValidationFailed   validation.failed  1   rows with errors; nothing stored
    │   ├── QueryError         query.*            1   a query or filter that can't be run
    │   ├── LedgerError        ledger.*           1   a ledger operation refused
    │   ├── NotFound           *.unknown          1   no such user, token, page   (HTTP 404)
    │   ├── Conflict           *.exists           1   the name is taken           (HTTP 409)
    │   └── AccessError        access.*           1   who may do what            (HTTP 401/403/429)
    └── InternalError          internal           2   a bug or an environment fault

Messages name the thing, the bad value and the fix. Only the edges (CLI, API, web)
translate these into exit codes or HTTP errors.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from costprism.ingest.findings import Finding


class CostPrismError(Exception):
    """Root of every error CostPrism raises on purpose."""

    code = "error"
    exit_code = 2
    status = 500  # the HTTP status the API and pages answer with

    def __init__(self, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        if code is not None:
            self.code = code


class UserError(CostPrismError):
    """The user asked for something that can't be done; the message says how to fix it."""

    code = "user"
    exit_code = 1
    status = 400


class InputError(UserError):
    """An input file is missing, unreadable or in no known format."""

    code = "input.unreadable"


class ValidationFailed(UserError):  # noqa: N818 (reads as what happened to the import)
    """An import found errors; nothing was stored."""

    code = "validation.failed"

    def __init__(self, message: str, findings: Sequence[Finding], counts: dict[str, int]) -> None:
        super().__init__(message)
        self.findings = list(findings)
        self.counts = counts


class QueryError(UserError):
    """A cost query, filter or group-by that can't be run as written."""

    code = "query.invalid"


class LedgerError(UserError):
    """The ledger refused an operation (a suspicious shrink, an unknown version)."""

    code = "ledger.refused"


class NotFound(UserError):  # noqa: N818 (an HTTP 404 by another name)
    """The named user, token or record does not exist."""

    code = "not_found"
    status = 404


class Conflict(UserError):  # noqa: N818 (an HTTP 409 by another name)
    """The name is already taken."""

    code = "conflict"
    status = 409


class AccessError(UserError):
    """Not signed in (401), not allowed (403), or too many failed logins (429)."""

    code = "access.denied"

    def __init__(self, message: str, *, code: str | None = None, status: int = 403) -> None:
        super().__init__(message, code=code)
        self.status = status


class InternalError(CostPrismError):
    """Something CostPrism did not expect; a bug to report."""

    code = "internal"
    exit_code = 2
