"""Which FOCUS dataset and version a file is, judged from its header row alone.

Names are compared after :func:`clean_name` (UTF-8 BOM and surrounding whitespace removed) and
without regard to case, so ``SkuPriceid`` and ``billedcost`` are recognised; old FOCUS names
(``ChargeType``, ``AmortizedCost`` …) are recognised too. Every name reported back (the keys
of ``renamed``, ``extension``, ``unknown``, ``duplicates``) is spelled exactly as it was
passed in, so a reader can rename the columns it actually has.

The dataset is Contract Commitment when the header has ContractCommitmentId and no
BilledCost, otherwise Cost and Usage. The version is the newest one whose new columns the
header shows: any 1.3-only column makes it 1.3, else any 1.2-only column 1.2, and so on down to
1.0. Mandatory columns are then checked against that version only, so a 1.2 file is never
faulted for lacking 1.3's ServiceProviderName.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Literal

from costprism.focus.columns import (
    FOCUS_VERSIONS,
    RENAMES,
    ColumnSpec,
    Dataset,
    column,
    columns_for,
    release_rank,
)

_BOM = "\ufeff"


@dataclass(frozen=True, kw_only=True)
class HeaderDetection:
    """What :func:`detect_header` found in a header row.

    - ``renamed``: header name as passed -> FOCUS name, for every name not already spelled
      exactly as FOCUS spells it (old names, other case, a BOM or surrounding whitespace).
    - ``extension``: names starting with ``x_``; ``unknown``: other non-FOCUS names.
    - ``missing_mandatory``: mandatory columns of ``version``/``dataset`` absent, spec order.
    - ``duplicates``: first spelling of each column named more than once, ignoring case or
      via an old name beside its new one (``ChargeType`` and ``ChargeCategory``).
    """

    dataset: Literal["cost_and_usage", "contract_commitment"]
    version: str
    renamed: Mapping[str, str]
    extension: tuple[str, ...]
    unknown: tuple[str, ...]
    missing_mandatory: tuple[str, ...]
    duplicates: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class _Entry:
    """One header name: as passed, cleaned, and the FOCUS column it denotes (if any)."""

    raw: str
    clean: str
    canonical: str | None


def clean_name(name: str) -> str:
    """``name`` without a UTF-8 BOM or surrounding whitespace."""
    return name.strip().lstrip(_BOM).strip()


def detect_header(header: Sequence[str]) -> HeaderDetection:
    """Detect the FOCUS dataset and version of a file from its header names."""
    cleaned = [clean_name(raw) for raw in header]
    dataset = _detect_dataset(cleaned)
    lookup = _name_lookup(dataset)
    entries = [
        _Entry(raw=raw, clean=clean, canonical=_resolve(clean, lookup))
        for raw, clean in zip(header, cleaned, strict=True)
    ]
    present = {entry.canonical for entry in entries if entry.canonical is not None}
    version = "1.3" if dataset == "contract_commitment" else _detect_version(present)
    return HeaderDetection(
        dataset=dataset,
        version=version,
        renamed=MappingProxyType(
            {e.raw: e.canonical for e in entries if e.canonical and e.raw != e.canonical}
        ),
        extension=tuple(e.raw for e in entries if e.canonical is None and _is_extension(e)),
        unknown=tuple(e.raw for e in entries if e.canonical is None and not _is_extension(e)),
        missing_mandatory=_missing_mandatory(version, dataset, present),
        duplicates=_duplicates(entries),
    )


def _detect_dataset(cleaned: Sequence[str]) -> Dataset:
    folded = {name.casefold() for name in cleaned}
    if "contractcommitmentid" in folded and "billedcost" not in folded:
        return "contract_commitment"
    return "cost_and_usage"


def _name_lookup(dataset: Dataset) -> Mapping[str, str]:
    """Case-folded current and old names of the dataset's columns -> current name."""
    every_column = columns_for(FOCUS_VERSIONS[-1], dataset)
    lookup = {spec.name.casefold(): spec.name for spec in every_column}
    if dataset == "cost_and_usage":
        lookup.update({old.casefold(): new for old, new in RENAMES.items()})
    return lookup


def _resolve(clean: str, lookup: Mapping[str, str]) -> str | None:
    if clean.startswith("x_"):
        return None
    return lookup.get(clean.casefold())


def _is_extension(entry: _Entry) -> bool:
    return entry.clean.startswith("x_")


def _detect_version(present: set[str]) -> str:
    """The newest FOCUS version that introduced one of the ``present`` columns (1.0 at least)."""
    introduced = [column(name).introduced for name in present]
    newest = max(introduced, key=release_rank, default=FOCUS_VERSIONS[0])
    return newest if newest in FOCUS_VERSIONS else FOCUS_VERSIONS[0]


def _missing_mandatory(version: str, dataset: Dataset, present: set[str]) -> tuple[str, ...]:
    specs: tuple[ColumnSpec, ...] = columns_for(version, dataset)
    return tuple(s.name for s in specs if s.level == "mandatory" and s.name not in present)


def _duplicates(entries: Sequence[_Entry]) -> tuple[str, ...]:
    """First spelling of each column named more than once (ignoring case, or via an old name)."""
    first: dict[str, str] = {}
    repeated: dict[str, None] = {}
    for entry in entries:
        key = entry.canonical or entry.clean.casefold()
        if key in first:
            repeated[first[key]] = None
        else:
            first[key] = entry.raw
    return tuple(repeated)
