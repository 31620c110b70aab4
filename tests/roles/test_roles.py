"""The roles, the registered actions and the one resolver."""

from __future__ import annotations

from pathlib import Path

import pytest

from costprism.roles import ACTIONS, ROLES, Principal, authorize

DOC = Path(__file__).parents[2] / "docs" / "concepts" / "access.md"
CORE_AND_ASSOCIATED = (
    "practitioner",
    "management",
    "product",
    "engineering",
    "finance",
    "procurement",
    "itsm",
    "itam",
    "sustainability",
    "security",
    "itfm",
)


def principal(*roles: str) -> Principal:
    return Principal(user_id=1, username="pat", roles=roles)


def test_the_eleven_roles_and_admin_exist() -> None:
    assert set(ROLES) == {*CORE_AND_ASSOCIATED, "admin"}


def test_roles_grant_only_registered_actions() -> None:
    for role in ROLES.values():
        assert role.actions <= set(ACTIONS), role.name


@pytest.mark.parametrize("role", CORE_AND_ASSOCIATED)
def test_every_role_can_read_costs_but_not_manage_users(role: str) -> None:
    assert authorize(principal(role), "view-costs").allowed
    refused = authorize(principal(role), "manage-users")
    assert not refused.allowed
    assert "manage-users" in refused.reason
    assert "admin" in refused.reason
    assert role in refused.reason


def test_admin_may_do_everything() -> None:
    assert all(authorize(principal("admin"), a).allowed for a in ACTIONS)


def test_any_granting_role_suffices_and_is_named() -> None:
    decision = authorize(principal("finance", "security"), "view-audit")
    assert decision.allowed
    assert "security" in decision.reason


def test_unregistered_action_is_refused_with_its_name() -> None:
    decision = authorize(principal("admin"), "launch-rockets")
    assert not decision.allowed
    assert "launch-rockets" in decision.reason


def test_no_role_means_nothing() -> None:
    decision = authorize(principal(), "view-costs")
    assert not decision.allowed
    assert "no role" in decision.reason


def test_every_action_and_role_is_documented() -> None:
    text = DOC.read_text()
    missing = [f"`{name}`" for name in (*ACTIONS, *ROLES) if f"`{name}`" not in text]
    assert not missing, f"document in docs/concepts/access.md: {missing}"
