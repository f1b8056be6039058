"""Customer orders and their lines."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnistock.model._validation import describe, require_choice, require_in_range
from omnistock.model.network import METHODS, Location, Method

__all__ = ["Order", "OrderLine"]


class OrderLine(BaseModel):
    """``qty`` units of one SKU."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str = Field(min_length=1)
    qty: int = Field(gt=0)

    @model_validator(mode="before")
    @classmethod
    def _name_the_line(cls, data: Any) -> Any:
        if isinstance(data, dict):
            qty = data.get("qty")
            if isinstance(qty, int | float) and not isinstance(qty, bool) and qty <= 0:
                msg = (
                    f"line ({describe(data, 'sku')}): qty must be > 0. Got qty={qty!r}."
                )
                raise ValueError(msg)
        return data


class Order(BaseModel):
    """One customer order: where it goes, how, for whom, and its lines.

    A pickup order's destination is its ``pickup_node``; ship and same-day orders
    need a ``destination``. ``ship_complete`` means one package and all-or-nothing;
    ``allow_partial=False`` means all-or-nothing with splits allowed.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    channel: str = "web"
    method: Method = "ship"
    tier: str = "standard"
    destination: Location | None = None
    pickup_node: str | None = None
    ship_complete: bool = False
    allow_partial: bool = True
    max_splits: int | None = Field(default=None, ge=1)
    lines: tuple[OrderLine, ...] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _name_the_order(cls, data: Any) -> Any:
        where = f"order ({describe(data, 'id')})"
        require_choice(data, "method", METHODS, where)
        if isinstance(data, dict) and isinstance(data.get("destination"), dict):
            require_in_range(
                data["destination"], "lat", -90, 90, f"{where} destination"
            )
            require_in_range(
                data["destination"], "lon", -180, 180, f"{where} destination"
            )
        if isinstance(data, dict):
            splits = data.get("max_splits")
            if isinstance(splits, int) and not isinstance(splits, bool) and splits < 1:
                msg = f"{where}: max_splits must be >= 1. Got max_splits={splits!r}."
                raise ValueError(msg)
        return data

    @model_validator(mode="after")
    def _method_needs_its_place(self) -> Order:
        if self.method == "pickup" and self.pickup_node is None:
            msg = f"order {self.id!r}: method 'pickup' needs a pickup_node. Got none."
            raise ValueError(msg)
        if self.method != "pickup" and self.destination is None:
            msg = (
                f"order {self.id!r}: method {self.method!r} needs a destination "
                "{lat, lon}. Got none."
            )
            raise ValueError(msg)
        seen: set[str] = set()
        for line in self.lines:
            if line.sku in seen:
                msg = f"order {self.id!r}: duplicate sku {line.sku!r} in lines."
                raise ValueError(msg)
            seen.add(line.sku)
        return self

    @property
    def split_limit(self) -> int | None:
        """The order's own split limit: 1 if ship_complete, else ``max_splits``."""
        return 1 if self.ship_complete else self.max_splits

    @property
    def all_or_nothing(self) -> bool:
        """Whether every line must be filled in full or none at all."""
        return self.ship_complete or not self.allow_partial
