"""Who is told about what: recipients by scope owner and by role, each with a scope.

**By owner.** The owners file (:mod:`costprism.anomalies.owners`) maps a scope to users,
e-mail addresses and channels: an anomaly's scope is matched as is; a budget's scope by
its ``=`` conditions (``team=payments`` → ``{"team": "payments"}``). A budget's own
``owners`` (user names or e-mail addresses) are told about that budget too.

**By role.** ``roles:`` in alerts.yaml (:mod:`costprism.alerts.config`) lists the immediate
alert kinds each role receives (``budget``, ``anomaly``, ``security``) and its digest.

**Scope.** Every recipient carries the scope it may see, and nothing outside it reaches
it (the caller checks through the engine):

* a CostPrism user: the user's own scope (as on every page);
* an e-mail address or channel of an owners entry that is not a user: the entry's own
  ``match`` conditions (a catch-all ``"*"`` entry: everything);
* an e-mail address among a budget's ``owners``: the budget's scope.

Channels in the owners file are written ``KIND:NAME`` (``slack:payments-costs``) or
``NAME``, naming a channel configured in alerts.yaml.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from sqlalchemy import select

from costprism.alerts.config import EMAIL, AlertsConfig, RoleRouting
from costprism.anomalies.owners import Owner, OwnersFile
from costprism.capabilities.access import scope_filters
from costprism.db import Database, User
from costprism.engine.filters import Filter


@dataclass(frozen=True, kw_only=True)
class Person:
    """A CostPrism user as routing sees it."""

    username: str
    roles: tuple[str, ...]
    scope: tuple[Filter, ...]


@dataclass(frozen=True, kw_only=True)
class Recipient:
    """Someone (or some channel) to tell, the scope they may see and where they are
    reached: ``(channel, target)`` pairs (``("email", address)``, ``(name, "")``)."""

    key: str  # user:NAME, email:ADDRESS or channel:NAME
    scope: tuple[Filter, ...]
    destinations: tuple[tuple[str, str], ...]
    why: str = ""

    @property
    def scope_key(self) -> tuple[str, ...]:
        return tuple(sorted(str(f) for f in self.scope))


@dataclass
class Routes:
    """Recipients found for one alert, and the routing problems met (unknown users or
    channels, users with no address), reported by the run."""

    recipients: dict[str, Recipient] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    def add(self, recipient: Recipient) -> None:
        if recipient.key not in self.recipients:
            self.recipients[recipient.key] = recipient


def load_people(db: Database) -> dict[str, Person]:
    """Every enabled user, by name."""
    with db.session() as session:
        users = session.scalars(select(User).where(User.disabled.is_(False))).all()
        return {
            u.username: Person(
                username=u.username, roles=u.role_names, scope=scope_filters(u.scope)
            )
            for u in users
        }


def user_recipient(person: Person, config: AlertsConfig, why: str) -> Recipient | None:
    reach = config.reach(person.username)
    destinations: tuple[tuple[str, str], ...] = ((EMAIL, reach.email),) if reach.email else ()
    destinations += tuple((c, "") for c in reach.channels)
    if not destinations:
        return None
    return Recipient(
        key=f"user:{person.username}", scope=person.scope, destinations=destinations, why=why
    )


def by_role(kind: str, people: Mapping[str, Person], config: AlertsConfig, routes: Routes) -> None:
    """The users whose roles receive ``kind`` immediately."""
    for person in people.values():
        roles = [r for r in person.roles if kind in config.roles.get(r, _NONE).immediate]
        if roles:
            _add_user(person, config, routes, f"role {roles[0]}")


def by_owner(
    owner: Owner | None,
    people: Mapping[str, Person],
    config: AlertsConfig,
    routes: Routes,
    source: str,
) -> None:
    """The users, e-mail addresses and channels of an owners entry."""
    if owner is None:
        return
    why = f"owner ({source} line {owner.line})"
    for name in owner.users:
        if name in people:
            _add_user(people[name], config, routes, why)
        else:
            routes.problems.append(f"{source} line {owner.line}: user {name!r} does not exist")
    for address in owner.emails:
        if address in people:
            _add_user(people[address], config, routes, why)
            continue
        routes.add(
            Recipient(
                key=f"email:{address}", scope=owner.match, destinations=((EMAIL, address),), why=why
            )
        )
    for text in owner.channels:
        resolved = resolve_channel(text, config)
        if resolved is None:
            routes.problems.append(
                f"{source} line {owner.line}: channel {text!r} is not configured in "
                f"{config.name} (channels:)"
            )
            continue
        routes.add(
            Recipient(
                key=f"channel:{resolved}",
                scope=owner.match,
                destinations=((resolved, ""),),
                why=why,
            )
        )


def by_budget_owners(
    owners: Iterable[str],
    scope: Sequence[Filter],
    people: Mapping[str, Person],
    config: AlertsConfig,
    routes: Routes,
) -> None:
    for name in owners:
        if name in people:
            _add_user(people[name], config, routes, "budget owner")
        elif "@" in name:
            routes.add(
                Recipient(
                    key=f"email:{name}",
                    scope=tuple(scope),
                    destinations=((EMAIL, name),),
                    why="budget owner",
                )
            )
        else:
            routes.problems.append(f"budget owner {name!r} is neither a user nor an e-mail")


def owner_of_budget(owners: OwnersFile | None, scope: Sequence[Filter]) -> Owner | None:
    """The owners entry of a budget's scope, matched by its ``=`` conditions."""
    if owners is None:
        return None
    values = {f.column: f.values[0] for f in scope if f.op == "="}
    return owners.owner_of(values)


def resolve_channel(text: str, config: AlertsConfig) -> str | None:
    """A configured channel's name from ``NAME`` or ``KIND:NAME``."""
    if text in config.channels:
        return text
    kind, _, name = text.partition(":")
    found = config.channels.get(name)
    return name if found is not None and found.type == kind else None


def role_people(role: str, people: Mapping[str, Person]) -> list[Person]:
    return [p for p in people.values() if role in p.roles]


def _add_user(person: Person, config: AlertsConfig, routes: Routes, why: str) -> None:
    if f"user:{person.username}" in routes.recipients:
        return
    found = user_recipient(person, config, why)
    if found is None:
        routes.problems.append(
            f"user {person.username} has no e-mail address or channel; add it under "
            f"recipients: in {config.name}"
        )
        return
    routes.add(found)


_NONE = RoleRouting()
