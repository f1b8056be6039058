"""The network: nodes (warehouses and stores), their locations, and the stock they hold."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnistock.model._validation import (
    COST,
    COUNT,
    MAX_QTY,
    Cost,
    Count,
    Num,
    check_numbers,
    describe,
    require_choice,
)

__all__ = [
    "METHODS",
    "NODE_KINDS",
    "Location",
    "Method",
    "Node",
    "NodeKind",
    "StockRecord",
]

Method = Literal["ship", "pickup", "same_day"]
NodeKind = Literal["warehouse", "store", "locker"]
METHODS: tuple[Method, ...] = ("ship", "pickup", "same_day")
NODE_KINDS: tuple[NodeKind, ...] = ("warehouse", "store", "locker")


#: Degrees of latitude and longitude, stated as an interval in messages.
LAT = Num(integer=False, low=-90.0, high=90.0, interval=True)
LON = Num(integer=False, low=-180.0, high=180.0, interval=True)
#: A node's place in the priority walk (lower is preferred).
PRIORITY = Num(integer=True, low=-MAX_QTY, high=MAX_QTY)
_NODE_NUMBERS = {
    "lat": LAT,
    "lon": LON,
    "capacity": COUNT,
    "handling_cost": COST,
    "unit_cost": COST,
    "priority": PRIORITY,
}
_STOCK_NUMBERS = {"on_hand": COUNT, "reserved": COUNT, "safety_stock": COUNT}


class Location(BaseModel):
    """A point on Earth in decimal degrees (WGS 84)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lat: float = Field(ge=-90.0, le=90.0, description="Latitude in degrees.")
    lon: float = Field(ge=-180.0, le=180.0, description="Longitude in degrees.")

    @model_validator(mode="before")
    @classmethod
    def _strict_degrees(cls, data: Any) -> Any:
        check_numbers(data, {"lat": LAT, "lon": LON}, "location")
        return data


class Node(BaseModel):
    """A warehouse or store that can give units to orders, or a parcel locker.

    ``channels`` empty means the node serves every channel. ``capacity`` caps the
    units the node gives in one plan (``None``: unlimited). ``priority`` orders the
    peers' priority walk and breaks ties (lower is preferred).

    A ``"locker"`` holds no stock and only receives: its methods are exactly
    ``("pickup",)`` (the default for a locker) and its ``capacity`` is the
    parcels it can take (docs/semantics.md, S11).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(min_length=1)
    kind: NodeKind
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    methods: tuple[Method, ...] = ("ship",)
    channels: tuple[str, ...] = ()
    capacity: Count | None = None
    handling_cost: Cost = 0.0
    unit_cost: Cost = 0.0
    priority: int = Field(default=0, ge=-MAX_QTY, le=MAX_QTY)

    @model_validator(mode="before")
    @classmethod
    def _name_the_node(cls, data: Any) -> Any:
        where = f"node ({describe(data, 'id')})"
        check_numbers(data, _NODE_NUMBERS, where)
        require_choice(data, "kind", NODE_KINDS, where)
        require_choice(data, "methods", METHODS, where)
        return locker_methods(data, where)


def locker_methods(data: Any, where: str) -> Any:
    """A locker's methods: ``("pickup",)`` when not given, and nothing else (S11).

    A locker only receives parcels for pickup orders; "ship" or "same_day" at a
    locker would promise units it never holds, so they are refused.
    """
    if not isinstance(data, dict) or data.get("kind") != "locker":
        return data
    if data.get("methods") is None:
        return {**data, "methods": ("pickup",)}
    methods = data["methods"]
    if isinstance(methods, list | tuple) and list(methods) != ["pickup"]:
        msg = (
            f'{where}: a locker\'s methods must be exactly ["pickup"]. '
            f"Got methods={methods!r}."
        )
        raise ValueError(msg)
    return data


class StockRecord(BaseModel):
    """Units of one SKU at one node.

    free = max(0, on_hand - reserved - safety_stock) is what plans may take.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    node: str = Field(min_length=1)
    sku: str = Field(min_length=1)
    on_hand: Count
    reserved: Count = 0
    safety_stock: Count = 0

    @model_validator(mode="before")
    @classmethod
    def _name_the_record(cls, data: Any) -> Any:
        where = f"stock ({describe(data, 'node', 'sku')})"
        check_numbers(data, _STOCK_NUMBERS, where)
        return data

    @model_validator(mode="after")
    def _reserved_within_on_hand(self) -> StockRecord:
        if self.reserved > self.on_hand:
            msg = (
                f"stock (node {self.node!r}, sku {self.sku!r}): reserved must be "
                f"<= on_hand. Got reserved={self.reserved}, on_hand={self.on_hand}."
            )
            raise ValueError(msg)
        return self
