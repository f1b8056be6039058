"""Business rules and costs of a scenario, and the catalogue of rejection reasons.

The :class:`Reason` codes are written by the kernels and printed by ``explain()``;
their order is the order in which the rules are evaluated for a node.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnistock.model._validation import (
    COST,
    COUNT,
    MAX_QTY,
    MAX_TIER_WEIGHT,
    Cost,
    Count,
    Num,
    check_mapping,
    check_numbers,
)
from omnistock.model.network import NodeKind
from omnistock.model.orders import SPLITS
from omnistock.model.rates import RateBand, check_bands

__all__ = ["Costs", "Reason", "Rules"]

#: A tier weight on the unfilled cost.
WEIGHT = Num(integer=False, low=0.0, high=MAX_TIER_WEIGHT)
#: A distance in km: any finite value >= 0.
KM = Num(integer=False, low=0.0, high=float("inf"))
_RULE_NUMBERS = {"same_day_radius_km": KM, "max_distance_km": KM, "max_splits": SPLITS}
_COST_NUMBERS = {
    "package": COST,
    "per_km": COST,
    "unfilled": COST,
    "unit_per_km": COST,
    "unfilled_order": COST,
}


class Rules(BaseModel):
    """Rules every plan obeys (docs/semantics.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    last_unit_protection: dict[NodeKind, Count] = Field(
        default_factory=dict,
        description="Node kind -> units per node-SKU kept from non-exempt tiers.",
    )
    exempt_tiers: tuple[str, ...] = ("vip",)
    tier_weights: dict[
        str,
        Annotated[
            float,
            Field(ge=0.0, le=MAX_TIER_WEIGHT, allow_inf_nan=False),
        ],
    ] = Field(
        default_factory=dict,
        description="Tier -> weight on the unfilled cost (default 1.0).",
    )
    same_day_radius_km: float = Field(default=50.0, ge=0.0, allow_inf_nan=False)
    max_distance_km: float | None = Field(default=None, ge=0.0, allow_inf_nan=False)
    max_splits: int | None = Field(default=None, ge=1, le=MAX_QTY)

    @model_validator(mode="before")
    @classmethod
    def _name_the_rule(cls, data: Any) -> Any:
        check_numbers(data, _RULE_NUMBERS, "rules")
        check_mapping(data, "last_unit_protection", COUNT, "rules")
        check_mapping(data, "tier_weights", WEIGHT, "rules")
        return data

    def protection(self, kind: str) -> int:
        """Units per node-SKU of a node of ``kind`` kept from non-exempt tiers."""
        return int(self.last_unit_protection.get(kind, 0))  # type: ignore[call-overload]

    def tier_weight(self, tier: str) -> float:
        """Weight on the unfilled cost for ``tier`` (1.0 when not listed)."""
        return float(self.tier_weights.get(tier, 1.0))


def _unset(value: Any) -> bool:
    """A contract v1.1 field at its default (not dumped, see ``Costs``)."""
    return value is None or not value


class Costs(BaseModel):
    """Cost coefficients of the objective (docs/semantics.md, S9)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    package: Cost = Field(default=5.0, description="Per (order, node) package.")
    per_km: Cost = Field(default=0.01, description="Per package per km.")
    unfilled: Cost = Field(default=1000.0, description="Per unfilled unit.")
    # Contract v1.1 (docs/scenario.md, "Rate cards"): all default to "absent".
    # Left out of dumps at their defaults: a v1 scenario's JSON stays v1's.
    unit_per_km: Cost = Field(
        default=0.0, description="Per unit per km.", exclude_if=_unset
    )
    unfilled_order: Cost = Field(
        default=0.0, description="Per order with any unfilled unit.", exclude_if=_unset
    )
    rate_card: tuple[RateBand, ...] = Field(
        default=(),
        description="Carrier bands by method and distance.",
        exclude_if=_unset,
    )

    @model_validator(mode="before")
    @classmethod
    def _name_the_cost(cls, data: Any) -> Any:
        check_numbers(data, _COST_NUMBERS, "costs")
        return data

    @model_validator(mode="after")
    def _bands_are_distinct(self) -> Costs:
        check_bands(self.rate_card)
        return self


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
    #: Contract v1.1: no band of the order's rate card covers the distance
    #: (checked after the v1 eligibility rules; a new code keeps v1's codes).
    RATE_CARD = 8
    #: S11: the order's pickup locker itself (it receives, it gives nothing).
    PICKUP_LOCKER = 9
    #: S11: the order's locker has no parcel left for this node's package.
    LOCKER_FULL = 10

    @property
    def label(self) -> str:
        """The lower-case name used in frames and docs."""
        return self.name.lower()
