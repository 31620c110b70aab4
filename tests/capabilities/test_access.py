"""Users, roles, scopes, API tokens and the audit log, on SQLite and on PostgreSQL.

Every test runs twice through ``database_url`` (tests/conftest.py): a new SQLite file and a
new PostgreSQL database. Times are moved by writing the rows (an expiry in the past), never
by patching the clock.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from costprism.capabilities import access
from costprism.capabilities.access import TOKEN_PREFIX, token_hash
from costprism.capabilities.sessions import principal_for_token
from costprism.db import ApiToken, Database, User, utcnow
from costprism.engine.filters import Filter
from costprism.errors import Conflict, NotFound, QueryError, UserError
from costprism.roles import ROLES

PASSWORD = "correct horse battery"
ADMIN = "cli:root"


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url)
    yield database
    database.dispose()


def add(db: Database, username: str = "ada", **options: Any) -> access.UserPublic:
    """Add a user (without a password unless given: hashing one takes a good part of a second)."""
    values: dict[str, Any] = {"roles": ["finance"]} | options
    return access.add_user(db, actor=ADMIN, username=username, **values)


def events(db: Database) -> list[access.AuditRecord]:
    """The whole audit log, oldest first."""
    return list(reversed(access.audit_log(db, limit=1000).items))


def stored_token(db: Database, name: str) -> ApiToken:
    with db.session() as session:
        return session.scalars(sa.select(ApiToken).where(ApiToken.name == name)).one()


def set_token_expiry(db: Database, name: str, delta: timedelta) -> None:
    with db.session() as session:
        token = session.scalars(sa.select(ApiToken).where(ApiToken.name == name)).one()
        token.expires_at = utcnow() + delta


def test_add_user_stores_roles_scope_and_a_password_hash(db: Database) -> None:
    user = add(
        db, roles=["finance", "itfm", "finance"], scope=["tag:team = payments"], password=PASSWORD
    )
    assert (user.username, user.display_name, user.roles) == ("ada", "ada", ("finance", "itfm"))
    assert (user.scope, user.disabled, user.last_login_at) == (("tag:team=payments",), False, None)
    assert access.get_user(db, "ada") == user
    with db.session() as session:
        stored = session.scalars(sa.select(User)).one()
    assert stored.password_hash is not None
    assert stored.password_hash.startswith("$argon2id$")
    assert PASSWORD not in stored.password_hash


def test_add_user_keeps_a_display_name_and_may_have_no_password(db: Database) -> None:
    user = add(db, "sso-ada", display_name="Ada Lovelace")
    assert user.display_name == "Ada Lovelace"
    with db.session() as session:
        assert session.scalars(sa.select(User.password_hash)).one() is None


def test_a_taken_name_is_a_conflict(db: Database) -> None:
    add(db)
    with pytest.raises(Conflict) as taken:
        add(db, roles=["admin"])
    assert (taken.value.code, taken.value.status) == ("user.exists", 409)
    assert access.get_user(db, "ada").roles == ("finance",)


@pytest.mark.parametrize("name", ["", "ada lovelace", "ada;drop", "a" * 151, "ada/x"])
def test_odd_user_names_are_refused(db: Database, name: str) -> None:
    with pytest.raises(UserError) as refused:
        add(db, name)
    assert refused.value.code == "user.bad_name"


def test_a_display_name_over_200_characters_is_refused(db: Database) -> None:
    """PostgreSQL enforces the column's length: refused with a code, not a database error."""
    assert add(db, display_name="D" * 200).display_name == "D" * 200
    with pytest.raises(UserError) as refused:
        add(db, "bob", display_name="D" * 201)
    assert refused.value.code == "user.bad_display_name"
    assert [u.username for u in access.list_users(db).items] == ["ada"]


def test_user_names_may_hold_dots_dashes_and_at(db: Database) -> None:
    assert add(db, "ada.lovelace-1_x@example.com").username == "ada.lovelace-1_x@example.com"


@pytest.mark.parametrize("roles", [[], ["finance", "accountant"], ["Finance"]])
def test_roles_must_be_known(db: Database, roles: list[str]) -> None:
    with pytest.raises(UserError) as refused:
        add(db, roles=roles)
    assert refused.value.code == "user.bad_role"
    assert "practitioner" in refused.value.message
    assert access.list_users(db).items == ()


def test_every_role_can_be_given(db: Database) -> None:
    assert add(db, roles=list(ROLES)).roles == tuple(sorted(ROLES))


@pytest.mark.parametrize("scope", [["tag:team payments"], ["=x"], ["RegionId in ("]])
def test_a_scope_must_parse(db: Database, scope: list[str]) -> None:
    with pytest.raises(QueryError) as refused:
        add(db, scope=scope)
    assert refused.value.code == "query.bad_filter"
    assert access.list_users(db).items == ()


def test_scope_lines_are_normalized_and_blank_ones_dropped(db: Database) -> None:
    user = add(db, scope=["tag:CostCenter in (CC-110,cc-110)", "  ", "RegionId = us-east-1"])
    assert user.scope == ("tag:CostCenter in (CC-110, cc-110)", "RegionId=us-east-1")
    assert access.scope_filters("\n".join(user.scope)) == (
        Filter(column="tag:CostCenter", op="in", values=("CC-110", "cc-110")),
        Filter(column="RegionId", op="=", values=("us-east-1",)),
    )


def test_a_weak_password_is_refused(db: Database) -> None:
    with pytest.raises(UserError) as refused:
        add(db, password="short")
    assert refused.value.code == "user.weak_password"
    assert "12" in refused.value.message


def test_update_user_replaces_roles_and_scope_and_keeps_the_rest(db: Database) -> None:
    add(db, roles=["finance", "itfm"], scope=["tag:team=payments"])
    changed = access.update_user(db, "ada", actor=ADMIN, roles=["itfm", "security"])
    assert (changed.roles, changed.scope) == (("itfm", "security"), ("tag:team=payments",))
    cleared = access.update_user(db, "ada", actor=ADMIN, scope=[])
    assert (cleared.roles, cleared.scope) == (("itfm", "security"), ())
    assert access.get_user(db, "ada") == cleared


def test_update_user_validates_before_changing_anything(db: Database) -> None:
    add(db)
    with pytest.raises(UserError):
        access.update_user(db, "ada", actor=ADMIN, roles=["itfm"], scope=["not a filter"])
    with pytest.raises(UserError):
        access.update_user(db, "ada", actor=ADMIN, roles=["itfm"], password="short")
    assert access.get_user(db, "ada").roles == ("finance",)
    assert [e.action for e in events(db)] == ["user.create"]


def test_unknown_users_are_not_found(db: Database) -> None:
    with pytest.raises(NotFound) as missing:
        access.update_user(db, "nobody", actor=ADMIN, disabled=True)
    assert (missing.value.code, missing.value.status) == ("user.unknown", 404)
    with pytest.raises(NotFound):
        access.get_user(db, "nobody")
    with pytest.raises(NotFound):
        access.create_token(db, "nobody", actor=ADMIN, name="ci")


def test_disable_and_enable(db: Database) -> None:
    add(db)
    assert access.update_user(db, "ada", actor=ADMIN, disabled=True).disabled
    assert access.get_user(db, "ada").disabled
    assert not access.update_user(db, "ada", actor=ADMIN, disabled=False).disabled


def test_list_users_pages_by_name_with_cursors(db: Database) -> None:
    for name in ("eve", "bob", "dan", "ada", "cy"):
        add(db, name)
    first = access.list_users(db, limit=2)
    second = access.list_users(db, limit=2, cursor=first.next)
    third = access.list_users(db, limit=2, cursor=second.next)
    pages = [[u.username for u in p.items] for p in (first, second, third)]
    assert pages == [["ada", "bob"], ["cy", "dan"], ["eve"]]
    assert third.next is None
    assert [u.username for u in access.list_users(db).items] == ["ada", "bob", "cy", "dan", "eve"]


def test_a_full_last_page_has_no_next(db: Database) -> None:
    for name in ("ada", "bob"):
        add(db, name)
    assert access.list_users(db, limit=2).next is None


@pytest.mark.parametrize(("limit", "cursor"), [(0, None), (1001, None), (2, "not-a-cursor!")])
def test_bad_paging_is_refused(db: Database, limit: int, cursor: str | None) -> None:
    with pytest.raises(QueryError) as refused:
        access.list_users(db, limit=limit, cursor=cursor)
    assert refused.value.code in ("query.bad_limit", "query.bad_cursor")


def test_a_token_secret_is_returned_once_and_only_its_hash_stored(db: Database) -> None:
    add(db)
    token, secret = access.create_token(db, "ada", actor=ADMIN, name="ci")
    assert secret.startswith(TOKEN_PREFIX)
    assert len(secret) > 40
    assert token.prefix == secret[:10]
    stored = stored_token(db, "ci")
    assert stored.secret_hash == token_hash(secret)
    assert secret not in {stored.secret_hash, stored.prefix, stored.name}
    listed = access.list_tokens(db, "ada")
    assert listed == [token]
    assert secret not in repr(listed[0].record())
    assert secret not in repr([e.record() for e in events(db)])


def test_a_token_authenticates_as_its_user(db: Database) -> None:
    add(db, scope=["tag:team=payments"])
    _, secret = access.create_token(db, "ada", actor=ADMIN, name="ci")
    principal = principal_for_token(db, secret)
    assert principal is not None
    assert (principal.username, principal.roles) == ("ada", ("finance",))
    assert principal.scope == (Filter(column="tag:team", op="=", values=("payments",)),)
    assert principal_for_token(db, secret + "x") is None
    assert access.list_tokens(db)[0].last_used_at is not None


def test_a_token_expires(db: Database) -> None:
    add(db)
    token, secret = access.create_token(db, "ada", actor=ADMIN, name="ci", expires_in_days=7)
    assert token.expires_at is not None
    assert timedelta(days=7) - (token.expires_at - token.created_at) < timedelta(seconds=5)
    set_token_expiry(db, "ci", -timedelta(seconds=1))
    assert principal_for_token(db, secret) is None
    set_token_expiry(db, "ci", timedelta(minutes=1))
    assert principal_for_token(db, secret) is not None


def test_a_token_may_never_expire(db: Database) -> None:
    add(db)
    token, secret = access.create_token(db, "ada", actor=ADMIN, name="ci", expires_in_days=None)
    assert token.expires_at is None
    assert principal_for_token(db, secret) is not None


def test_a_revoked_token_is_refused_and_revoking_twice_changes_nothing(db: Database) -> None:
    add(db)
    _, secret = access.create_token(db, "ada", actor=ADMIN, name="ci")
    revoked = access.revoke_token(db, "ada", "ci", actor=ADMIN)
    assert revoked.revoked_at is not None
    assert principal_for_token(db, secret) is None
    assert access.revoke_token(db, "ada", "ci", actor=ADMIN).revoked_at == revoked.revoked_at
    assert [e.action for e in events(db)].count("token.revoke") == 1
    with pytest.raises(NotFound) as missing:
        access.revoke_token(db, "ada", "other", actor=ADMIN)
    assert missing.value.code == "token.unknown"


def test_a_disabled_users_token_is_refused_until_enabled(db: Database) -> None:
    add(db)
    _, secret = access.create_token(db, "ada", actor=ADMIN, name="ci")
    access.update_user(db, "ada", actor=ADMIN, disabled=True)
    assert principal_for_token(db, secret) is None
    access.update_user(db, "ada", actor=ADMIN, disabled=False)
    assert principal_for_token(db, secret) is not None


def test_token_names_are_unique_per_user_only(db: Database) -> None:
    add(db)
    add(db, "bob")
    access.create_token(db, "ada", actor=ADMIN, name="ci")
    access.create_token(db, "bob", actor=ADMIN, name="ci")
    with pytest.raises(Conflict) as taken:
        access.create_token(db, "ada", actor=ADMIN, name="ci")
    assert taken.value.code == "token.exists"
    assert [t.username for t in access.list_tokens(db)] == ["bob", "ada"]
    assert [t.username for t in access.list_tokens(db, "ada")] == ["ada"]


@pytest.mark.parametrize(
    ("name", "days", "code"),
    [("", 90, "token.bad_name"), ("x" * 101, 90, "token.bad_name"), ("ci", 0, "token.bad_expiry")],
)
def test_bad_token_requests_are_refused(db: Database, name: str, days: int, code: str) -> None:
    add(db)
    with pytest.raises(UserError) as refused:
        access.create_token(db, "ada", actor=ADMIN, name=name, expires_in_days=days)
    assert refused.value.code == code
    assert access.list_tokens(db) == []


def test_every_change_is_audited_with_before_and_after(db: Database) -> None:
    add(db, scope=["tag:team=payments"], address="10.0.0.7")
    access.update_user(db, "ada", actor="root", roles=["itfm"], scope=[])
    access.update_user(db, "ada", actor="root", disabled=True)
    access.update_user(db, "ada", actor="root", password="another long password")
    access.create_token(db, "ada", actor="ada", name="ci", expires_in_days=None)
    access.revoke_token(db, "ada", "ci", actor="root")
    log = [(e.actor, e.action, e.target, e.before, e.after) for e in events(db)]
    token = access.list_tokens(db)[0].record()
    was = {"roles": ["finance"], "scope": ["tag:team=payments"], "disabled": False}
    now = {"roles": ["itfm"], "scope": [], "disabled": False}
    off = now | {"disabled": True}
    created = {"name": "ci", "prefix": token["prefix"], "expires_at": None}
    assert token["revoked_at"] is not None
    assert log == [
        (ADMIN, "user.create", "ada", None, was),
        ("root", "user.update", "ada", was, now),
        ("root", "user.update", "ada", now, off),
        ("root", "user.update", "ada", off, off | {"password": "changed"}),
        ("ada", "token.create", "ada/ci", None, created),
        (
            "root",
            "token.revoke",
            "ada/ci",
            {"revoked_at": None},
            {"revoked_at": token["revoked_at"]},
        ),
    ]
    assert events(db)[0].address == "10.0.0.7"
    assert PASSWORD not in repr(log)


def test_audit_log_pages_newest_first(db: Database) -> None:
    for name in ("ada", "bob", "cy"):
        add(db, name)
    first = access.audit_log(db, limit=2)
    second = access.audit_log(db, limit=2, cursor=first.next)
    assert [e.target for e in (*first.items, *second.items)] == ["cy", "bob", "ada"]
    assert second.next is None
    record = first.items[0].record()
    assert record["at"].endswith("Z")
    assert record["action"] == "user.create"
