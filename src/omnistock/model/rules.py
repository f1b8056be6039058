"""Business rules and costs of a scenario, and the catalogue of rejection reasons.

The :class:`Reason` codes are written by the kernels and printed by ``explain()``;
their order is the order in which the rules are evaluated for a node.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from omnistock.model.network import NodeKind

__all__ = ["Costs", "Reason", "Rules"]


class Rules(BaseModel):
    """Rules every plan obeys (docs/semantics.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    last_unit_protection: dict[NodeKind, Annotated[int, Field(ge=0)]] = Field(
        default_factory=dict,
        description="Node kind -> units per node-SKU kept from non-exempt tiers.",
    )
    exempt_tiers: tuple[str, ...] = ("vip",)
    tier_weights: dict[str, Annotated[float, Field(ge=0.0)]] = Field(
        default_factory=dict,
        description="Tier -> weight on the unfilled cost (default 1.0).",
    )
    same_day_radius_km: float = Field(default=50.0, ge=0.0)
    max_distance_km: float | None = Field(default=None, ge=0.0)
    max_splits: int | None = Field(default=None, ge=1)

    def protection(self, kind: str) -> int:
        """Units per node-SKU of a node of ``kind`` kept from non-exempt tiers."""
        return int(self.last_unit_protection.get(kind, 0))  # type: ignore[call-overload]

    def tier_weight(self, tier: str) -> float:
        """Weight on the unfilled cost for ``tier`` (1.0 when not listed)."""
        return float(self.tier_weights.get(tier, 1.0))


class Costs(BaseModel):
    """Cost coefficients of the objective (docs/semantics.md, S9)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    package: float = Field(
        default=5.0, ge=0.0, description="Per (order, node) package."
    )
    per_km: float = Field(default=0.01, ge=0.0, description="Per package per km.")
    unfilled: float = Field(default=1000.0, ge=0.0, description="Per unfilled unit.")


class Reason(IntEnum):
    """Why a node does not serve an order, in evaluation order (0: it may)."""

    ELIGIBLE = 0
    CHANNEL = 1
    METHOD = 2
    DISTANCE = 3
    SAME_DAY_RADIUS = 4
    PROTECTION = 5
    CAPACITY = 6
    NO_STOCK = 7

    @property
    def label(self) -> str:
        """The lower-case name used in frames and docs."""
        return self.name.lower()
