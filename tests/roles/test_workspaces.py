"""The role workspaces: one per role, made of registered panel kinds, documented as built."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from costprism.capabilities.home import PANELS
from costprism.roles import ROLES
from costprism.roles.workspaces import WORKSPACES, PanelSpec

DOC = Path(__file__).resolve().parents[2] / "docs" / "reference" / "home-pages.md"


def test_every_role_has_a_workspace() -> None:
    assert list(WORKSPACES) == list(ROLES)
    assert all(w.role == name for name, w in WORKSPACES.items())


@pytest.mark.parametrize("role", list(ROLES))
def test_a_workspace_is_made_of_registered_panel_kinds(role: str) -> None:
    panels = WORKSPACES[role].panels
    keys = [spec.key for spec in panels]
    assert len(keys) == len(set(keys))
    assert {spec.kind for spec in panels} <= set(PANELS)
    assert keys[0] == "spend-summary"
    assert "freshness" in keys
    for spec in panels:
        assert (spec.dimension is not None) == (spec.kind in ("trend", "top")), spec


def test_a_panel_key_names_its_kind_and_dimension() -> None:
    assert PanelSpec(kind="top", title="t", dimension="tag:team").key == "top:tag:team"
    assert PanelSpec(kind="freshness", title="f").key == "freshness"


def test_the_reference_lists_each_roles_panels_as_built() -> None:
    rows = dict(re.findall(r"^\| `([a-z]+)` \| [^|]+ \| [a-z]+ \| (.+) \|$", DOC.read_text(), re.M))
    assert set(rows) == set(WORKSPACES)
    for role, workspace in WORKSPACES.items():
        listed = re.findall(r"`([^`]+)`", rows[role])
        assert listed == [spec.key for spec in workspace.panels], role
    documented_bases = re.findall(r"^\| `([a-z]+)` \| [^|]+ \| ([a-z]+) \|", DOC.read_text(), re.M)
    assert dict(documented_bases) == {r: w.basis for r, w in WORKSPACES.items()}
