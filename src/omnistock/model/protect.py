"""Contract v1.2: units of a stock row kept per customer tier (docs/scenario.md).

A :class:`ProtectionEntry` says that orders of ``tier`` leave ``units`` of the
(``node``, ``sku``) stock row to the tiers whose protected amount is lower (the
nested rule S4 v1.2 of docs/semantics.md). The table is optional; without it a
scenario keeps v1's meaning exactly. :func:`check_protection` is the one check of
the cross-references (unique key, known node), called by ``Scenario``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnistock.model._validation import COUNT, Count, check_numbers, describe

__all__ = ["ProtectionEntry", "check_protection"]


class ProtectionEntry(BaseModel):
    """Units of one node-SKU protected from orders of one tier (contract v1.2)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    node: str = Field(min_length=1, description="The node's id (must exist).")
    sku: str = Field(min_length=1, description="The SKU; a row may appear later.")
    tier: str = Field(min_length=1, description="The customer tier it applies to.")
    units: Count = Field(description="Units orders of this tier must leave.")

    @model_validator(mode="before")
    @classmethod
    def _name_the_entry(cls, data: Any) -> Any:
        where = f"protection ({describe(data, 'node', 'sku', 'tier')})"
        check_numbers(data, {"units": COUNT}, where)
        return data


def check_protection(entries: Iterable[ProtectionEntry], nodes: set[str]) -> None:
    """Raise ValueError naming the first entry of an unknown node or a repeated key."""
    seen: set[tuple[str, str, str]] = set()
    for i, e in enumerate(entries):
        where = f"protection[{i}] (node {e.node!r}, sku {e.sku!r}, tier {e.tier!r})"
        if e.node not in nodes:
            msg = f"{where}: unknown node {e.node!r}."
            raise ValueError(msg)
        key = (e.node, e.sku, e.tier)
        if key in seen:
            msg = f"{where}: duplicate (node, sku, tier) entry."
            raise ValueError(msg)
        seen.add(key)
