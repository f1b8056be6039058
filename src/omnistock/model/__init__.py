"""The contract: the scenario JSON as pydantic models (docs/scenario.md).

:mod:`.network` (nodes, stock, locations), :mod:`.orders`, :mod:`.rules` (rules,
costs, reason names), :mod:`.scenario` (cross-references, JSON, schema) and
:mod:`.io` (tables in and out). Nothing here imports a solver or a kernel.
"""

from __future__ import annotations

from omnistock.model.network import Location, Node, StockRecord
from omnistock.model.orders import Order, OrderLine
from omnistock.model.rules import Costs, Reason, Rules
from omnistock.model.scenario import Scenario

__all__ = [
    "Costs",
    "Location",
    "Node",
    "Order",
    "OrderLine",
    "Reason",
    "Rules",
    "Scenario",
    "StockRecord",
]
