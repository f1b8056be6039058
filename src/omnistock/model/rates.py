"""Contract v1.1: carrier rate cards, SKU weights (docs/scenario.md, "Rate cards").

A :class:`RateBand` prices a shipment by method and distance band; a :class:`Sku`
gives a SKU's weight for the band's per-kg rate. Every field is optional: a
scenario that uses none of them means exactly what it meant under contract v1.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnistock.model._validation import (
    COST,
    Cost,
    Num,
    check_numbers,
    describe,
    require_choice,
)
from omnistock.model.network import METHODS, Method

__all__ = ["RateBand", "Sku", "check_bands"]

#: A band's upper distance: > 0, finite.
MAX_KM = Num(integer=False, low=0.0, high=float("inf"), below="> 0")
#: A SKU's weight in kg.
WEIGHT_KG = Num(integer=False, low=0.0, high=1e6)


class RateBand(BaseModel):
    """One band of a carrier rate card: a method's zone up to ``max_km``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    method: Method | None = Field(
        default=None, description="Method priced (null: every method not named)."
    )
    max_km: float | None = Field(
        default=None, gt=0.0, allow_inf_nan=False, description="Upper km (null: any)."
    )
    package: Cost = Field(default=0.0, description="Per (order, node) package.")
    unit: Cost = Field(default=0.0, description="Per unit shipped.")
    per_kg: Cost = Field(default=0.0, description="Per kg shipped (SKU weight).")

    @model_validator(mode="before")
    @classmethod
    def _name_the_band(cls, data: Any) -> Any:
        where = f"costs.rate_card band ({describe(data, 'method', 'max_km')})"
        require_choice(data, "method", METHODS, where)
        check_numbers(
            data,
            {"package": COST, "unit": COST, "per_kg": COST, "max_km": MAX_KM},
            where,
        )
        if isinstance(data, dict) and data.get("max_km") == 0:
            msg = f"{where}: max_km must be > 0. Got max_km=0."
            raise ValueError(msg)
        return data


def check_bands(bands: tuple[RateBand, ...]) -> None:
    """Within one method (or null) no two bands share a max_km; one unbounded at most."""
    seen: set[tuple[str | None, float | None]] = set()
    for i, band in enumerate(bands):
        key = (band.method, band.max_km)
        if key in seen:
            what = (
                "two unbounded bands" if band.max_km is None else "a duplicate max_km"
            )
            msg = (
                f"costs.rate_card[{i}] (method {band.method!r}, max_km "
                f"{band.max_km!r}): {what} for one method. Got max_km={band.max_km!r} twice."
            )
            raise ValueError(msg)
        seen.add(key)


class Sku(BaseModel):
    """A SKU's attributes: its weight (unlisted SKUs weigh 0)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str = Field(min_length=1)
    weight_kg: float = Field(default=0.0, ge=0.0, le=1e6, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _name_the_sku(cls, data: Any) -> Any:
        check_numbers(data, {"weight_kg": WEIGHT_KG}, f"skus ({describe(data, 'sku')})")
        return data
