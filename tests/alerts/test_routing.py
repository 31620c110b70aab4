"""Routing: owners-file entries, budget owners and roles to recipients, each with its scope."""

from __future__ import annotations

from costprism.alerts.config import parse_config
from costprism.alerts.routing import (
    Person,
    Routes,
    by_budget_owners,
    by_owner,
    by_role,
    owner_of_budget,
    resolve_channel,
)
from costprism.anomalies.owners import parse_owners
from costprism.engine.filters import parse_filters

CONFIG = parse_config(
    """\
channels:
  - {name: payments-slack, type: slack, url: "https://hooks.slack.com/x"}
  - {name: file, type: log, path: a.jsonl}
recipients:
  ada: {email: ada@example.com}
  sam: {channels: [file]}
roles:
  security: {immediate: [security]}
  finance: {immediate: [budget]}
""",
    "alerts.yaml",
    environ={},
)
OWNERS = parse_owners(
    """\
owners:
  - match: team=payments
    users: [ada, sam]
    emails: [oncall@example.com]
    channels: ["slack:payments-slack", "teams:payments-slack", "file"]
  - match: "*"
    emails: [finops@example.com]
""",
    "owners.yaml",
)
PEOPLE = {
    "ada": Person(username="ada", roles=("engineering",), scope=parse_filters(["team=payments"])),
    "sam": Person(username="sam", roles=("security",), scope=()),
    "lee": Person(username="lee", roles=("finance",), scope=parse_filters(["team=data"])),
    "kim": Person(username="kim", roles=("security",), scope=()),  # no address configured
}


def _routes() -> Routes:
    return Routes()


def test_an_owners_entry_gives_its_users_addresses_and_channels_with_their_scopes() -> None:
    routes = _routes()
    by_owner(OWNERS.owner_of({"team": "payments"}), PEOPLE, CONFIG, routes, "owners.yaml")

    found = {k: ([str(f) for f in r.scope], r.destinations) for k, r in routes.recipients.items()}
    assert found == {
        # a user: the user's own scope and address
        "user:ada": (["team=payments"], (("email", "ada@example.com"),)),
        # an address that is not a user, a channel: the entry's own scope
        "email:oncall@example.com": (["team=payments"], (("email", "oncall@example.com"),)),
        # a user with a channel only: the user's (whole-ledger) scope
        "user:sam": ([], (("file", ""),)),
        "channel:payments-slack": (["team=payments"], (("payments-slack", ""),)),
        "channel:file": (["team=payments"], (("file", ""),)),
    }
    # teams:payments-slack names a channel of another type
    assert routes.problems == [
        "owners.yaml line 2: channel 'teams:payments-slack' is not configured in alerts.yaml "
        "(channels:)"
    ]


def test_the_catch_all_entry_sees_everything() -> None:
    routes = _routes()
    by_owner(OWNERS.owner_of({"team": "data"}), PEOPLE, CONFIG, routes, "owners.yaml")

    (recipient,) = routes.recipients.values()
    assert (recipient.key, recipient.scope) == ("email:finops@example.com", ())


def test_roles_take_the_kinds_their_routing_names() -> None:
    security, budget, anomaly = _routes(), _routes(), _routes()
    by_role("security", PEOPLE, CONFIG, security)
    by_role("budget", PEOPLE, CONFIG, budget)
    by_role("anomaly", PEOPLE, CONFIG, anomaly)

    assert set(security.recipients) == {"user:sam"}
    assert security.problems == [
        "user kim has no e-mail address or channel; add it under recipients: in alerts.yaml"
    ]
    assert budget.recipients == {}  # lee (finance) has no address configured
    assert budget.problems == [
        "user lee has no e-mail address or channel; add it under recipients: in alerts.yaml"
    ]
    assert anomaly.recipients == {}


def test_budget_owners_are_users_or_outside_addresses_with_the_budgets_scope() -> None:
    routes = _routes()
    scope = parse_filters(["team=payments", "ServiceName=Compute"])
    by_budget_owners(["ada", "cfo@example.com", "nobody"], scope, PEOPLE, CONFIG, routes)

    assert routes.recipients["user:ada"].scope == PEOPLE["ada"].scope
    assert routes.recipients["email:cfo@example.com"].scope == scope
    assert routes.problems == ["budget owner 'nobody' is neither a user nor an e-mail"]


def test_a_budget_is_matched_to_the_owners_file_by_its_equal_conditions() -> None:
    payments = owner_of_budget(OWNERS, parse_filters(["team=payments", "ServiceName like 'A%'"]))
    assert payments is not None
    assert payments.users == ("ada", "sam")
    everything = owner_of_budget(OWNERS, parse_filters(["team in (payments, data)"]))
    assert everything is not None
    assert everything.emails == ("finops@example.com",)
    assert owner_of_budget(None, ()) is None


def test_channels_are_named_alone_or_with_their_kind() -> None:
    assert resolve_channel("payments-slack", CONFIG) == "payments-slack"
    assert resolve_channel("slack:payments-slack", CONFIG) == "payments-slack"
    assert resolve_channel("log:file", CONFIG) == "file"
    assert resolve_channel("teams:payments-slack", CONFIG) is None
    assert resolve_channel("slack:#elsewhere", CONFIG) is None
