"""The demo's sign-ins: one user per role, and scopes that select what each role should see.

The scopes are checked on a real ledger of the small demo (``demo``, tests/demo/conftest.py):
the engine's answer under each scope equals a hand-written DuckDB query over the CSV files
(``focus_sql``), which spells out each tag key as the providers write it.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

import duckdb
import pytest

from costprism.capabilities import access
from costprism.capabilities.reporting import cost_report
from costprism.capabilities.sessions import principal_for_session, sign_in
from costprism.db import Database
from costprism.demo import DemoResult
from costprism.demo.company import NORTHWIND
from costprism.demo.users import (
    USERNAME_PREFIX,
    DemoLogin,
    DemoUser,
    create_demo_users,
    demo_scopes,
    demo_users,
)
from costprism.engine.backends import LedgerView, open_ledger
from costprism.engine.query import CostQuery
from costprism.errors import AccessError
from costprism.ingest.pipeline import IngestOptions, ingest
from costprism.ledger import Ledger
from costprism.roles import ROLES

CENT = Decimal("0.01")
# What each scoped role should see, written against the raw tags (JSON text in the CSVs).
EXPECTED_ROWS = {
    "engineering": "json_extract_string(Tags, '$.team') = 'payments'",
    "product": "json_extract_string(Tags, '$.product') = 'checkout'",
    "finance": "json_extract_string(Tags, '$.CostCenter') = 'CC-110' "
    "OR json_extract_string(Tags, '$.\"cost-center\"') = 'cc-110'",
    "itsm": "json_extract_string(Tags, '$.Environment') = 'prod' "
    "OR json_extract_string(Tags, '$.environment') = 'prod'",
    "sustainability": "ChargeCategory = 'Usage'",
}


@pytest.fixture(scope="module")
def demo_view(demo: DemoResult, tmp_path_factory: pytest.TempPathFactory) -> LedgerView:
    ledger = Ledger.at_home(tmp_path_factory.mktemp("demo-users-home"))
    ingest([demo.out / "focus"], ledger, IngestOptions(source="demo"))
    return open_ledger(ledger)


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url)
    yield database
    database.dispose()


def engine_totals(view: LedgerView, user: DemoUser) -> dict[str, Decimal]:
    query = CostQuery(granularity="total")
    report = cost_report(view, query, access.scope_filters(user.scope))
    return {c: t["EffectiveCost"].quantize(CENT) for c, t in report.totals().items()}


def sql_totals(focus_sql: duckdb.DuckDBPyConnection, where: str) -> dict[str, Decimal]:
    rows = focus_sql.execute(
        "SELECT BillingCurrency, sum(EffectiveCost::DECIMAL(38, 10)) FROM focus "
        f"WHERE {where} GROUP BY 1"
    ).fetchall()
    return {currency: Decimal(total).quantize(CENT) for currency, total in rows}


def test_one_user_per_role_in_role_order() -> None:
    users = demo_users()
    assert [u.role for u in users] == list(ROLES)
    assert len(users) == 12
    assert [u.username for u in users] == [USERNAME_PREFIX + r for r in ROLES]
    assert all(u.display_name.endswith("(demo)") for u in users)


def test_scopes_follow_the_payments_team_of_the_company() -> None:
    payments = next(t for t in NORTHWIND.teams if t.key == "payments")
    assert (payments.product, payments.cost_center) == ("checkout", "CC-110")
    assert demo_scopes() == {
        "engineering": ("tag:team=payments",),
        "product": ("tag:product=checkout",),
        "finance": ("tag:CostCenter in (CC-110, cc-110)",),
        "itsm": ("tag:environment=prod",),
        "sustainability": ("ChargeCategory=Usage",),
    }
    whole = {u.role for u in demo_users() if not u.scope}
    assert whole == set(ROLES) - set(EXPECTED_ROWS)


def test_every_scope_parses_as_stored() -> None:
    for user in demo_users():
        assert tuple(str(f) for f in access.scope_filters(user.scope)) == user.scope


@pytest.mark.parametrize("role", sorted(EXPECTED_ROWS))
def test_each_scope_selects_what_the_role_should_see(
    demo_view: LedgerView, focus_sql: duckdb.DuckDBPyConnection, role: str
) -> None:
    user = next(u for u in demo_users() if u.role == role)
    scoped = engine_totals(demo_view, user)
    assert scoped == sql_totals(focus_sql, EXPECTED_ROWS[role])
    everything = sql_totals(focus_sql, "true")
    assert scoped
    assert sum(scoped.values()) < sum(everything.values())


def by_provider_engine(view: LedgerView, scope: tuple[str, ...]) -> dict[tuple[str, str], Decimal]:
    query = CostQuery(granularity="total", group_by=("ProviderName",))
    report = cost_report(view, query, access.scope_filters(scope))
    return {
        (r["ProviderName"], r["BillingCurrency"]): r["EffectiveCost"].quantize(CENT)
        for r in report.rows
    }


def by_provider_sql(
    focus_sql: duckdb.DuckDBPyConnection, where: str
) -> dict[tuple[str, str], Decimal]:
    rows = focus_sql.execute(
        "SELECT ProviderName, BillingCurrency, sum(EffectiveCost::DECIMAL(38, 10)) FROM focus "
        f"WHERE {where} GROUP BY 1, 2"
    ).fetchall()
    return {(p, c): Decimal(total).quantize(CENT) for p, c, total in rows}


@pytest.mark.parametrize(
    ("team", "providers"),
    [
        ("payments", {"AWS", "Microsoft"}),  # no label-style rows in the small demo
        ("ml", {"AWS", "Microsoft", "Google Cloud", "Skyglass Observability"}),
    ],
)
def test_finance_sees_its_cost_center_in_both_spellings(
    demo_view: LedgerView, focus_sql: duckdb.DuckDBPyConnection, team: str, providers: set[str]
) -> None:
    """AWS and Azure write CostCenter=CC-110, Google Cloud and Skyglass cost-center=cc-110:
    one scope finds both (keys match ignoring case and -/_, the values are listed)."""
    center = next(t.cost_center for t in NORTHWIND.teams if t.key == team)
    scope = demo_scopes(team_key=team)["finance"]
    assert scope == (f"tag:CostCenter in ({center}, {center.lower()})",)
    seen = by_provider_engine(demo_view, scope)
    assert seen == by_provider_sql(
        focus_sql,
        f"json_extract_string(Tags, '$.CostCenter') = '{center}' "
        f"OR json_extract_string(Tags, '$.\"cost-center\"') = '{center.lower()}'",
    )
    assert {provider for provider, _ in seen} == providers


def test_whole_ledger_users_see_everything(
    demo_view: LedgerView, focus_sql: duckdb.DuckDBPyConnection
) -> None:
    admin = next(u for u in demo_users() if u.role == "admin")
    assert engine_totals(demo_view, admin) == sql_totals(focus_sql, "true")


def test_create_demo_users_signs_each_in_with_its_role_and_scope(db: Database) -> None:
    logins = create_demo_users(db, actor="cli:test")
    assert [login.user for login in logins] == list(demo_users())
    assert len({login.password for login in logins}) == 12
    assert all(len(login.password) >= access.MIN_PASSWORD for login in logins)
    for login in logins:
        principal = principal_for_session(db, sign_in(db, login.user.username, login.password))
        assert principal is not None
        assert principal.roles == (login.user.role,)
        assert tuple(str(f) for f in principal.scope) == login.user.scope
    assert {
        e.actor for e in access.audit_log(db, limit=100).items if e.action == "user.create"
    } == {"cli:test"}


def test_running_again_resets_roles_scope_state_and_passwords(db: Database) -> None:
    first = {login.user.username: login.password for login in create_demo_users(db, actor=None)}
    access.update_user(db, "demo-engineering", actor="x", roles=["admin"], scope=[], disabled=True)
    again = {login.user.username: login.password for login in create_demo_users(db, actor=None)}
    user = access.get_user(db, "demo-engineering")
    assert (user.roles, user.scope, user.disabled) == (
        ("engineering",),
        ("tag:team=payments",),
        False,
    )
    assert all(again[name] != first[name] for name in first)
    with pytest.raises(AccessError):
        sign_in(db, "demo-engineering", first["demo-engineering"])
    assert sign_in(db, "demo-engineering", again["demo-engineering"])
    assert len(access.list_users(db).items) == 12


def test_other_users_are_left_alone(db: Database) -> None:
    access.add_user(db, actor=None, username="ada", roles=["finance"], scope=["tag:team=ml"])
    create_demo_users(db, actor=None)
    assert access.get_user(db, "ada").scope == ("tag:team=ml",)
    assert len(access.list_users(db).items) == 13


def test_a_login_record_says_whole_ledger_for_no_scope() -> None:
    admin, engineer = (
        next(u for u in demo_users() if u.role == r) for r in ("admin", "engineering")
    )
    assert DemoLogin(user=admin, password="p" * 16).record() == {
        "user": "demo-admin",
        "role": "admin",
        "scope": "(whole ledger)",
        "password": "p" * 16,
    }
    assert DemoLogin(user=engineer, password="x").record()["scope"] == "tag:team=payments"
