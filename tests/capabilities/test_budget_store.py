"""Budgets in the metadata database (SQLite and PostgreSQL): applying a file, saving,
deleting, releasing holdback, each audited; who sees which budget (:func:`covers`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from decimal import Decimal

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from costprism.budgets.periods import period_containing
from costprism.budgets.spec import parse_budgets
from costprism.capabilities.access import audit_log
from costprism.capabilities.budget_store import (
    apply_budgets,
    covers,
    delete_budget,
    get_budget,
    list_budgets,
    release_amount,
    release_holdback,
    save_budget,
)
from costprism.db import Database
from costprism.engine.filters import parse_filters
from costprism.engine.query import restrict
from costprism.errors import AccessError, InputError, NotFound

FILE = """\
currency: USD
budgets:
  - name: payments
    scope: team=payments
    period: month
    amount: 1000
    holdback: 300
    owners: [pat]
  - name: company
    period: quarter
    amount: 50000
"""
MAY = period_containing("month", date(2026, 5, 1))


@pytest.fixture
def db(database_url: str) -> Iterator[Database]:
    database = Database.open(database_url)
    yield database
    database.dispose()


def _events(db: Database) -> list[tuple[str, str]]:
    return [(e.action, e.target) for e in reversed(audit_log(db, limit=100).items)]


def test_apply_creates_updates_and_prunes_each_audited(db: Database) -> None:
    first = apply_budgets(db, parse_budgets(FILE, "b.yaml"), actor="cli:ann")
    assert (first.created, first.updated, first.unchanged) == (("payments", "company"), (), ())
    again = apply_budgets(db, parse_budgets(FILE, "b.yaml"), actor="cli:ann")
    assert (again.created, again.updated, again.unchanged) == ((), (), ("payments", "company"))
    changed = FILE.replace("amount: 1000", "amount: 1200").replace("  - name: company\n", "")
    changed = changed.replace("    period: quarter\n    amount: 50000\n", "")
    result = apply_budgets(db, parse_budgets(changed, "b.yaml"), actor="cli:bob", prune=True)
    assert (result.updated, result.deleted) == (("payments",), ("company",))
    assert [b.name for b in list_budgets(db)] == ["payments"]
    assert get_budget(db, "payments").spec.amount == Decimal(1200)
    assert _events(db) == [
        ("budgets.create", "payments"), ("budgets.create", "company"),
        ("budgets.update", "payments"), ("budgets.delete", "company"),
    ]  # fmt: skip
    update = audit_log(db, limit=10).items[1]
    assert (update.actor, update.before, update.after) == (
        "cli:bob",
        {**(update.before or {}), "amount": "1000"},
        {**(update.before or {}), "amount": "1200"},
    )


def test_releasing_holdback_is_audited_and_raises_what_is_available(db: Database) -> None:
    apply_budgets(db, parse_budgets(FILE, "b.yaml"), actor="cli:ann")
    assert get_budget(db, "payments").available(MAY) == Decimal(700)
    released = release_holdback(db, "payments", MAY, actor="fin", amount=Decimal(100))
    assert released.available(MAY) == Decimal(800)
    assert released.available(period_containing("month", date(2026, 6, 1))) == Decimal(700)
    event = audit_log(db, limit=1).items[0]
    assert (event.action, event.target, event.actor) == (
        "budgets.release-holdback", "payments", "fin",
    )  # fmt: skip
    assert event.before == {"period": "2026-05", "released": "0", "held": "300"}
    assert event.after == {"period": "2026-05", "released": "100", "held": "200"}
    with pytest.raises(InputError) as error:
        release_holdback(db, "payments", MAY, actor="fin", amount=Decimal(250))
    assert error.value.code == "budgets.bad_amount"
    assert release_holdback(db, "payments", MAY, actor="fin").available(MAY) == Decimal(1000)
    with pytest.raises(InputError) as error:
        release_holdback(db, "payments", MAY, actor="fin")
    assert error.value.code == "budgets.nothing_held"
    quarter = period_containing("quarter", date(2026, 5, 1))
    with pytest.raises(InputError, match="per month, not per quarter"):
        release_holdback(db, "payments", quarter, actor="fin")
    reapplied = apply_budgets(db, parse_budgets(FILE, "b.yaml"), actor="cli:ann")
    assert reapplied.unchanged == ("payments", "company")  # the file does not undo a release
    assert get_budget(db, "payments").available(MAY) == Decimal(1000)


def test_release_amounts_are_numbers() -> None:
    assert release_amount(None) is None
    assert release_amount(" 12.5 ") == Decimal("12.5")
    with pytest.raises(InputError, match="--amount 'half'"):
        release_amount("half")


def test_save_renames_and_keeps_the_released_holdback(db: Database) -> None:
    apply_budgets(db, parse_budgets(FILE, "b.yaml"), actor="a")
    release_holdback(db, "payments", MAY, actor="a", amount=Decimal(50))
    spec = get_budget(db, "payments").spec
    renamed = save_budget(db, type(spec)(**{**vars(spec), "name": "pay"}), actor="a",
                          replace="payments")  # fmt: skip
    assert renamed.available(MAY) == Decimal(750)
    assert [b.name for b in list_budgets(db)] == ["company", "pay"]
    with pytest.raises(InputError) as error:
        save_budget(db, type(spec)(**{**vars(spec), "name": "company"}), actor="a",
                    replace="pay")  # fmt: skip
    assert error.value.code == "budgets.exists"
    delete_budget(db, "pay", actor="a")
    with pytest.raises(NotFound):
        get_budget(db, "pay")
    assert _events(db)[-2:] == [("budgets.update", "pay"), ("budgets.delete", "pay")]


def test_a_scoped_caller_sees_and_changes_only_budgets_inside_their_scope(db: Database) -> None:
    apply_budgets(db, parse_budgets(FILE, "b.yaml"), actor="a")
    payments = parse_filters(["team=payments"])
    assert [b.name for b in list_budgets(db, payments)] == ["payments"]
    assert list_budgets(db, parse_filters(["team=data"])) == ()
    with pytest.raises(NotFound):
        get_budget(db, "company", payments)
    with pytest.raises(AccessError) as error:
        apply_budgets(db, parse_budgets(FILE, "b.yaml"), actor="p", scope=payments)
    assert (error.value.code, error.value.status) == ("access.denied", 403)
    assert "'company' reaches beyond your scope" in error.value.message
    with pytest.raises(AccessError):
        delete_budget(db, "company", actor="p", scope=payments)
    release_holdback(db, "payments", MAY, actor="p", scope=payments)  # inside: allowed
    assert [b.name for b in list_budgets(db)] == ["company", "payments"]


@pytest.mark.parametrize(
    ("budget", "caller", "expected"),
    [
        ([], [], True),
        (["team=payments"], [], True),
        ([], ["team=payments"], False),
        (["team=payments"], ["team=payments"], True),
        (["team=payments", "ServiceName=EC2"], ["team=payments"], True),
        (["x_team=payments"], ["team=payments"], True),
        (["team in (payments, data)"], ["team=payments"], False),
        (["team=payments"], ["team in (payments, data)"], True),
        (["team in (payments)"], ["team=payments"], True),
        (["team=payments"], ["team=data"], False),
        (["tag:Cost-Center=CC-1"], ["tag:costcenter=CC-1"], True),
        (["team=payments"], ["team!=data"], True),
        (["team=payments"], ["team not in (data, ml)"], True),
        (["team=data"], ["team not in (data, ml)"], False),
        (["team not in (data, ml)"], ["team!=data"], True),
        (["team!=data"], ["team!=data"], True),
        (["team!=data"], ["team not in (data, ml)"], False),
        (["team=payments"], ["team is not null"], True),
        (["team like pay%"], ["team is not null"], True),
        (["team=payments"], ["team like pay%"], True),
        (["team=data"], ["team like pay%"], False),
        (["team like pay%"], ["team=payments"], False),
        (["ServiceName=EC2"], ["team=payments"], False),
        (["team=payments"], ["team=payments", "RegionId=eu-west-1"], False),
    ],
)
def test_covers(budget: list[str], caller: list[str], expected: bool) -> None:
    assert covers(parse_filters(budget), parse_filters(caller)) is expected


# --- covers() is sound: what it lets a caller see lies inside the caller's scope ---------

_VALUES = ("a", "b", "c")
_ROWS = ibis.memtable(
    {
        "team": [t for t in (*_VALUES, None) for _ in range(4)],
        "env": [e for _ in range(4) for e in (*_VALUES, None)],
        "x_RowId": list(range(16)),
    },
    schema={"team": "string", "env": "string", "x_RowId": "int64"},
)


@st.composite
def _conditions(draw: st.DrawFn) -> str:
    column = draw(st.sampled_from(("team", "env")))
    values = draw(st.lists(st.sampled_from(_VALUES), min_size=1, max_size=2, unique=True))
    form = draw(st.sampled_from(("=", "!=", "in", "not in", "like", "is null", "is not null")))
    if form in ("=", "!="):
        return f"{column}{form}{values[0]}"
    if form in ("in", "not in"):
        return f"{column} {form} ({', '.join(values)})"
    if form == "like":
        return f"{column} like {values[0]}%"
    return f"{column} {form}"


def _rows(conditions: list[str]) -> set[int]:
    chosen = restrict(_ROWS, parse_filters(conditions))
    return set(chosen.x_RowId.to_pyarrow().to_pylist())


@settings(max_examples=150, deadline=None)
@given(
    budget=st.lists(_conditions(), max_size=3),
    caller=st.lists(_conditions(), min_size=1, max_size=2),
)
def test_covers_never_shows_a_budget_reaching_outside_the_scope(
    budget: list[str], caller: list[str]
) -> None:
    if covers(parse_filters(budget), parse_filters(caller)):
        assert _rows(budget) <= _rows(caller)
