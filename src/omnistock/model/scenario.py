"""The scenario: one network, its stock, a batch of orders, rules and costs.

This is contract v1 (docs/scenario.md). Field rules live on the part models;
the cross-references between parts (unknown nodes, duplicate ids) are checked
once, here.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    SerializerFunctionWrapHandler,
    model_serializer,
    model_validator,
)

from omnistock.model.network import Node, StockRecord
from omnistock.model.orders import Order
from omnistock.model.protect import ProtectionEntry, check_protection
from omnistock.model.rates import Sku
from omnistock.model.rules import Costs, Rules

if TYPE_CHECKING:
    from omnistock.compiled import CompiledScenario

__all__ = ["Scenario"]


class Scenario(BaseModel):
    """A whole allocation problem: network, stock, orders, rules and costs.

    Examples
    --------
    >>> s = Scenario.model_validate(
    ...     {
    ...         "nodes": [{"id": "W1", "kind": "warehouse", "lat": 48.85, "lon": 2.35}],
    ...         "stock": [{"node": "W1", "sku": "A", "on_hand": 3}],
    ...         "orders": [
    ...             {
    ...                 "id": "o1",
    ...                 "destination": {"lat": 45.76, "lon": 4.84},
    ...                 "lines": [{"sku": "A", "qty": 2}],
    ...             }
    ...         ],
    ...     }
    ... )
    >>> Scenario.model_validate_json(s.model_dump_json()) == s
    True
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    nodes: tuple[Node, ...]
    stock: tuple[StockRecord, ...] = ()
    orders: tuple[Order, ...] = ()
    rules: Rules = Field(default_factory=Rules)
    costs: Costs = Field(default_factory=Costs)
    #: Contract v1.2: units per (node, sku, tier) kept from that tier (S4 v1.2).
    protection: tuple[ProtectionEntry, ...] = ()
    #: Contract v1.1 SKU weights (left out of dumps when empty: v1 JSON stays v1's).
    skus: tuple[Sku, ...] = Field(default=(), exclude_if=lambda v: not v)

    _compiled: CompiledScenario | None = PrivateAttr(default=None)

    @model_validator(mode="after")
    def _cross_references(self) -> Scenario:
        if not self.nodes:
            msg = "nodes: a scenario needs at least one node. Got none."
            raise ValueError(msg)
        nodes: dict[str, Node] = {}
        for i, node in enumerate(self.nodes):
            if node.id in nodes:
                msg = f"nodes[{i}]: duplicate node id {node.id!r}."
                raise ValueError(msg)
            nodes[node.id] = node
        seen_stock: set[tuple[str, str]] = set()
        for i, rec in enumerate(self.stock):
            if rec.node not in nodes:
                msg = (
                    f"stock[{i}] (node {rec.node!r}, sku {rec.sku!r}): unknown node "
                    f"{rec.node!r}."
                )
                raise ValueError(msg)
            if nodes[rec.node].kind == "locker":
                msg = (
                    f"stock[{i}] (node {rec.node!r}, sku {rec.sku!r}): node "
                    f"{rec.node!r} is a locker, which holds no stock (S11). Got "
                    f"on_hand={rec.on_hand}."
                )
                raise ValueError(msg)
            key = (rec.node, rec.sku)
            if key in seen_stock:
                msg = (
                    f"stock[{i}] (node {rec.node!r}, sku {rec.sku!r}): duplicate "
                    "(node, sku) stock row."
                )
                raise ValueError(msg)
            seen_stock.add(key)
        seen_orders: set[str] = set()
        for i, order in enumerate(self.orders):
            if order.id in seen_orders:
                msg = f"orders[{i}]: duplicate order id {order.id!r}."
                raise ValueError(msg)
            seen_orders.add(order.id)
            if order.pickup_node is not None:
                pickup = nodes.get(order.pickup_node)
                if pickup is None:
                    msg = (
                        f"order {order.id!r}: pickup_node {order.pickup_node!r} is "
                        "not a node of the scenario."
                    )
                    raise ValueError(msg)
                if "pickup" not in pickup.methods:
                    msg = (
                        f"order {order.id!r}: pickup_node {pickup.id!r} does not offer "
                        f'"pickup". Got methods={list(pickup.methods)}.'
                    )
                    raise ValueError(msg)
        check_protection(self.protection, set(nodes))
        seen_skus: set[str] = set()
        for i, sku in enumerate(self.skus):
            if sku.sku in seen_skus:
                msg = f"skus[{i}]: duplicate sku {sku.sku!r}."
                raise ValueError(msg)
            seen_skus.add(sku.sku)
        return self

    @model_serializer(mode="wrap")
    def _v1_stays_v1(self, handler: SerializerFunctionWrapHandler) -> dict[str, Any]:
        # A scenario without a protection table is written exactly as v1 wrote it.
        data: dict[str, Any] = handler(self)
        if not self.protection:
            data.pop("protection", None)
        return data

    # -- compiled form -----------------------------------------------------------

    def compiled(self) -> CompiledScenario:
        """The compiled arrays of this scenario, built once and cached."""
        if self._compiled is None:
            from omnistock.compiled import compile_scenario

            self._compiled = compile_scenario(self)
        return self._compiled

    def with_orders(self, orders: Any, lines: Any = None) -> Scenario:
        """A copy of this scenario with other orders.

        ``orders``: Order objects or their JSON dicts; or, with ``lines``, an
        orders table and a lines table (polars, pandas or pyarrow; the columns of
        ``Scenario.from_frames``).
        """
        if lines is not None:
            from omnistock.model.io import orders_from_frames

            orders = orders_from_frames(orders, lines)
        data = {
            "nodes": self.nodes,
            "stock": self.stock,
            "orders": tuple(orders),
            "rules": self.rules,
            "costs": self.costs,
            "protection": self.protection,
            "skus": self.skus,
        }
        return Scenario.model_validate(data)

    def with_protection(self, frame: Any) -> Scenario:
        """A copy of this scenario whose ``protection`` table is ``frame``.

        ``frame``: a table with columns ``node, sku, tier, units`` (polars, pandas
        or pyarrow; e.g. :func:`omnistock.protection.levels`), or entries / their
        JSON dicts. It replaces the scenario's table (contract v1.2, S4).
        """
        from omnistock.model.io import protection_from_frame

        parts = {name: getattr(self, name) for name in type(self).model_fields}
        return Scenario.model_validate(
            {**parts, "protection": protection_from_frame(frame)}
        )

    # -- files and frames ---------------------------------------------------------

    @classmethod
    def from_json(cls, path: str | Path) -> Scenario:
        """Read a scenario JSON file (contract v1)."""
        return cls.model_validate_json(Path(path).read_bytes())

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 1) -> str:
        """The scenario as JSON text; also written to ``path`` when given."""
        text = self.model_dump_json(indent=indent, exclude_defaults=False)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_frames(
        cls,
        *,
        nodes: Any,
        stock: Any,
        orders: Any,
        lines: Any,
        rules: Rules | dict[str, Any] | None = None,
        costs: Costs | dict[str, Any] | None = None,
    ) -> Scenario:
        """Build a scenario from tables: polars, pandas or pyarrow (docs/scenario.md)."""
        from omnistock.model.io import scenario_from_frames

        return scenario_from_frames(
            nodes=nodes,
            stock=stock,
            orders=orders,
            lines=lines,
            rules=rules,
            costs=costs,
        )

    @classmethod
    def json_schema(cls) -> dict[str, Any]:
        """The JSON Schema of contract v1 (docs/scenario.schema.json)."""
        return cls.model_json_schema(mode="validation")

    @classmethod
    def json_schema_text(cls) -> str:
        """The JSON Schema as the text stored in docs/scenario.schema.json."""
        return json.dumps(cls.json_schema(), indent=2, sort_keys=True) + "\n"
