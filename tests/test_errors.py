"""Every error code CostPrism can raise is documented in docs/errors.md."""

import re
from pathlib import Path

import pytest

from costprism.errors import (
    CostPrismError,
    InputError,
    InternalError,
    LedgerError,
    QueryError,
    UserError,
    ValidationFailed,
)

ROOT = Path(__file__).resolve().parents[1]


def raised_codes() -> set[str]:
    codes: set[str] = set()
    for path in (ROOT / "src" / "costprism").rglob("*.py"):
        codes.update(re.findall(r'code="([a-z_.]+)"', path.read_text()))
    return codes


def documented_codes() -> set[str]:
    text = (ROOT / "docs" / "errors.md").read_text()
    return set(re.findall(r"`([a-z_]+(?:\.[a-z_]+)?)`", text))


def test_every_raised_code_is_documented() -> None:
    codes = raised_codes()
    assert len(codes) > 20
    assert codes - documented_codes() == set()


@pytest.mark.parametrize(
    "kind", [UserError, InputError, QueryError, LedgerError, CostPrismError, InternalError]
)
def test_default_codes_are_documented(kind: type[CostPrismError]) -> None:
    assert kind.code in documented_codes() | {"error"}


def test_user_errors_exit_1_and_internal_errors_exit_2() -> None:
    assert InputError("x").exit_code == 1
    assert QueryError("x").exit_code == 1
    assert InternalError("x").exit_code == 2
    failed = ValidationFailed("bad", findings=[], counts={"bad-enum": 2})
    assert (failed.exit_code, failed.code, failed.counts) == (
        1,
        "validation.failed",
        {"bad-enum": 2},
    )


def test_a_code_given_at_raise_time_wins() -> None:
    error = InputError("gone", code="input.not_found")
    assert (error.code, error.message, str(error)) == ("input.not_found", "gone", "gone")
