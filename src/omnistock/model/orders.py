"""Customer orders and their lines."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from omnistock.model._validation import (
    COST,
    MAX_QTY,
    Cost,
    Num,
    check_booleans,
    check_number,
    check_numbers,
    describe,
    require_choice,
)
from omnistock.model.network import LAT, LON, METHODS, Location, Method

__all__ = ["SPLITS", "Order", "OrderLine"]

#: A line's quantity: at least one unit, at most the quantity maximum.
QTY = Num(integer=True, low=1, high=MAX_QTY, below="> 0")
#: A split limit: at least one package (above the node count it never binds).
SPLITS = Num(integer=True, low=1, high=MAX_QTY)


class OrderLine(BaseModel):
    """``qty`` units of one SKU."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    sku: str = Field(min_length=1)
    qty: int = Field(gt=0, le=MAX_QTY)

    @model_validator(mode="before")
    @classmethod
    def _name_the_line(cls, data: Any) -> Any:
        check_numbers(data, {"qty": QTY}, f"line ({describe(data, 'sku')})")
        return data


_LINE_FIELDS = frozenset(OrderLine.model_fields)
_OVERRIDES = {"unfilled_unit_cost": COST, "unfilled_order_cost": COST}


def _check_lines(order: dict[str, Any]) -> None:
    """Check an order's raw lines, naming the order and the line in one message.

    A line's own errors (``orders.0.lines.0``) would name neither the order's id
    nor, once every line failed, avoid pydantic's second, false "at least 1 item"
    error; checked here, one fault is one error: ``order 'ORD-7', line sku 'A':
    qty must be > 0. Got qty=-1.``
    """
    lines = order.get("lines")
    if not isinstance(lines, list | tuple):
        return
    order_id = order.get("id")
    if not lines:
        msg = f"order {order_id!r}: needs at least one line. Got none."
        raise ValueError(msg)
    for position, line in enumerate(lines):
        if not isinstance(line, dict):
            continue  # an OrderLine already, or a type pydantic will name
        sku = line.get("sku")
        where = f"order {order_id!r}, line sku {sku!r}"
        if not isinstance(sku, str) or not sku:
            where = f"order {order_id!r}, line {position}"
            msg = f"{where}: sku must be a non-empty string. Got sku={sku!r}."
            raise ValueError(msg)
        unknown = sorted(set(line) - _LINE_FIELDS)
        if unknown:
            msg = f"{where}: unknown field(s) {unknown}; a line has sku and qty."
            raise ValueError(msg)
        if "qty" not in line:
            msg = f"{where}: qty is missing."
            raise ValueError(msg)
        check_numbers(line, {"qty": QTY}, where)


def _is_none(value: Any) -> bool:
    return value is None


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
    ship_complete: bool = Field(default=False)
    allow_partial: bool = Field(default=True)
    max_splits: int | None = Field(default=None, ge=1, le=MAX_QTY)
    lines: tuple[OrderLine, ...] = Field(min_length=1)
    # Contract v1.1: the order's own lost-sale costs (null: the costs' ones).
    # (left out of dumps when null: a v1 order's JSON stays v1's)
    unfilled_unit_cost: Cost | None = Field(default=None, exclude_if=_is_none)
    unfilled_order_cost: Cost | None = Field(default=None, exclude_if=_is_none)

    @model_validator(mode="before")
    @classmethod
    def _name_the_order(cls, data: Any) -> Any:
        where = f"order ({describe(data, 'id')})"
        require_choice(data, "method", METHODS, where)
        if isinstance(data, dict):
            check_number(data.get("max_splits"), "max_splits", SPLITS, where)
            check_booleans(data, ("ship_complete", "allow_partial"), where)
            check_numbers(data, _OVERRIDES, where)
            dest = data.get("destination")
            check_numbers(dest, {"lat": LAT, "lon": LON}, f"{where} destination")
            _check_lines(data)
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
