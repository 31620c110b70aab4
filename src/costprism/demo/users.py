"""The demo's sign-ins: one user per role, each scoped to what that role sees at Northwind.

``costprism demo users`` (and ``make demo``) call :func:`create_demo_users`, which creates
the twelve users, or resets them (roles, scope, enabled, a new password) when they exist,
through :mod:`costprism.capabilities.access` like any other change (audited). Passwords are
random, new on every run, and returned once; only their hashes are stored.

The scopes follow one team, Payments: its engineers see ``tag:team=payments``, its product
manager ``tag:product=checkout``, and finance its cost center, which AWS and Azure tag
``CostCenter=CC-110`` and Google Cloud and the SaaS vendor ``cost-center=cc-110`` (tag keys
match ignoring case and ``-``/``_``; values do not, hence both spellings). ITSM looks after
production services and sustainability after usage (what draws power); the other roles
see the whole ledger.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from costprism.capabilities.access import add_user, update_user
from costprism.db import Database
from costprism.demo.company import NORTHWIND, Company, Team
from costprism.errors import Conflict
from costprism.roles import ROLES

DEMO_TEAM = "payments"
USERNAME_PREFIX = "demo-"
PASSWORD_BYTES = 12  # 16 URL-safe characters


@dataclass(frozen=True, kw_only=True)
class DemoUser:
    """One demo sign-in: a user holding one role, with that role's scope."""

    username: str
    role: str
    display_name: str
    scope: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class DemoLogin:
    """A demo user as created, with the password to sign in (shown once)."""

    user: DemoUser
    password: str

    def record(self) -> dict[str, str]:
        return {
            "user": self.user.username,
            "role": self.user.role,
            "scope": " and ".join(self.user.scope) or "(whole ledger)",
            "password": self.password,
        }


def demo_scopes(
    company: Company = NORTHWIND, team_key: str = DEMO_TEAM
) -> dict[str, tuple[str, ...]]:
    """The scope of each role that does not see the whole ledger, following one team."""
    team = _team(company, team_key)
    centers = dict.fromkeys((team.cost_center, team.cost_center.lower()))
    return {
        "engineering": (f"tag:team={team.key}",),
        "product": (f"tag:product={team.product}",),
        "finance": (f"tag:CostCenter in ({', '.join(centers)})",),
        "itsm": ("tag:environment=prod",),
        "sustainability": ("ChargeCategory=Usage",),
    }


def demo_users(company: Company = NORTHWIND) -> tuple[DemoUser, ...]:
    """One user per role, in the order of :data:`costprism.roles.ROLES`."""
    scopes = demo_scopes(company)
    return tuple(
        DemoUser(
            username=USERNAME_PREFIX + role.name,
            role=role.name,
            display_name=f"{role.title} (demo)",
            scope=scopes.get(role.name, ()),
        )
        for role in ROLES.values()
    )


def create_demo_users(db: Database, *, actor: str | None) -> tuple[DemoLogin, ...]:
    """Create the demo users, or reset those that exist; each gets a new random password."""
    logins = []
    for user in demo_users():
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        _create_or_reset(db, user, password, actor=actor)
        logins.append(DemoLogin(user=user, password=password))
    return tuple(logins)


def _create_or_reset(db: Database, user: DemoUser, password: str, *, actor: str | None) -> None:
    try:
        add_user(
            db,
            actor=actor,
            username=user.username,
            roles=(user.role,),
            scope=user.scope,
            password=password,
            display_name=user.display_name,
        )
    except Conflict as taken:
        if taken.code != "user.exists":
            raise
        update_user(
            db,
            user.username,
            actor=actor,
            roles=(user.role,),
            scope=user.scope,
            disabled=False,
            password=password,
        )


def _team(company: Company, key: str) -> Team:
    return next(t for t in company.teams if t.key == key)
