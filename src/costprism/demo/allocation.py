"""The demo company's allocation rules, written from its catalog as users would write them.

Dimensions ``team``, ``cost_center``, ``product`` and ``environment``. Rules, first match
wins: a resource tagged with both a team and an environment (each in any of the spellings
people really type: the catalog's misspellings are aliases), then one tagged with a team
only, then the owner of the sub-account it runs in (63 rules). Shared steps, in order: tax
in proportion to each team's cost; each commitment purchase to the teams that used that
commitment; and the platform team's cost (shared accounts, observability) to the product
teams in proportion to their cost.
"""

from __future__ import annotations

import json
from pathlib import Path

from costprism.demo.company import (
    ENVIRONMENT_MISSPELLINGS,
    NORTHWIND,
    TEAM_MISSPELLINGS,
    Company,
    Team,
)

RULES_FILE = "rules.yaml"
TAG_POLICY_FILE = "tag-policy.yaml"
GL_MAPPING_FILE = "gl-mapping.csv"
_PLATFORM = "platform"


def demo_rules(company: Company = NORTHWIND) -> str:
    """The rules YAML for ``company``."""
    teams = {t.key: t for t in company.teams}
    lines = [
        "# The demo company's allocation rules (costprism rules apply rules.yaml).",
        "dimensions: [team, cost_center, product, environment]",
        "aliases:",
        *(f"  {key}: {_list(spellings)}" for key, spellings in TEAM_MISSPELLINGS.items()),
        *(f"  {key}: {_list(spellings)}" for key, spellings in ENVIRONMENT_MISSPELLINGS.items()),
        "rules:",
    ]
    for team in company.teams:
        for environment in company.environments:
            lines += _rule(
                f"{team.key} {environment} by tags",
                {"tag:team": [team.key], "tag:environment": [environment]},
                team,
                environment,
            )
    for team in company.teams:
        lines += _rule(f"{team.key} by team tag", {"tag:team": [team.key]}, team, None)
    for sub in company.sub_accounts:
        lines += _rule(
            f"account {sub.name}", {"SubAccountId": [sub.id]}, teams[sub.team], sub.environment
        )
    products = [t.key for t in company.teams if t.key != _PLATFORM]
    lines += [
        "shared:",
        "  - name: tax by cost",
        "    match: {ChargeCategory: [Tax]}",
        "    split: proportional",
        "    to: team",
        "  - name: commitments to their users",
        "    match: {ChargeCategory: [Purchase], CommitmentDiscountId: {is: not null}}",
        "    split: proportional",
        "    within: CommitmentDiscountId",
        "    to: team",
        "  - name: platform to product teams",
        f"    match: {{team: [{_PLATFORM}]}}",
        "    split: proportional",
        "    to: team",
        f"    targets: {_list(products)}",
    ]
    return "\n".join(lines) + "\n"


def demo_tag_policy(company: Company = NORTHWIND) -> str:
    """The demo company's tag policy: team and environment on every resource, with the
    catalog's values (its misspellings are what the policy catches), product in prod."""
    teams = _list([t.key for t in company.teams])
    environments = _list(list(company.environments))
    return (
        "\n".join(
            [
                "# The demo company's tag policy (costprism tags policy apply tag-policy.yaml).",
                "owner: team",
                "taggable:",
                "  ResourceId: {is: not null}",
                "required:",
                "  - keys: [team, environment]",
                '  - scope: {SubAccountName: {like: "prod-%"}}',
                "    keys: [product]",
                "allowed:",
                f"  team: {teams}",
                f"  environment: {environments}",
            ]
        )
        + "\n"
    )


def demo_gl_mapping() -> str:
    """The demo company's general-ledger accounts for chargeback (first match wins)."""
    return (
        "\n".join(
            [
                "filter,gl_account,description",
                "ChargeCategory=Tax,6900,Cloud taxes",
                "ChargeCategory=Purchase,6800,Cloud commitments and subscriptions",
                "ServiceCategory=Compute,6100,Cloud compute",
                '"ServiceCategory in (Storage, Databases)",6200,Cloud storage and databases',
                "ServiceCategory=Networking,6300,Cloud networking",
                "ProviderName=Skyglass Observability,6400,Observability (SaaS)",
                "*,6000,Other cloud services",
            ]
        )
        + "\n"
    )


def write_demo_rules(out: Path, company: Company = NORTHWIND) -> Path:
    """The rules, the tag policy and the GL mapping beside the demo's exports."""
    path = out / RULES_FILE
    path.write_text(demo_rules(company), encoding="utf-8")
    (out / TAG_POLICY_FILE).write_text(demo_tag_policy(company), encoding="utf-8")
    (out / GL_MAPPING_FILE).write_text(demo_gl_mapping(), encoding="utf-8")
    return path


def _rule(name: str, match: dict[str, list[str]], team: Team, environment: str | None) -> list[str]:
    values = {"team": team.key, "cost_center": team.cost_center, "product": team.product}
    if environment is not None:
        values["environment"] = environment
    return [
        f"  - name: {json.dumps(name)}",
        f"    match: {{{', '.join(f'{k}: {_list(v)}' for k, v in match.items())}}}",
        f"    set: {{{', '.join(f'{k}: {json.dumps(v)}' for k, v in values.items())}}}",
    ]


def _list(values: tuple[str, ...] | list[str]) -> str:
    return "[" + ", ".join(json.dumps(v) for v in values) + "]"
