"""Every integer code a kernel reads or writes, in one table.

Kernels take no enums and no strings, so each vocabulary is read here into int
constants (numba freezes a module global at compile time). Reasons, methods and
node kinds are derived from the contract's own vocabulary (``Reason``,
``METHODS``, ``NODE_KINDS``), never written a second time; cost components and
policies exist only here. ``tests/kernels/test_codes.py`` pins every code, so a
reordered vocabulary (which numba's cache would not notice) fails a test.
"""

from __future__ import annotations

from omnistock.model.network import METHODS, NODE_KINDS
from omnistock.model.rules import Reason

__all__ = [
    "CAPACITY",
    "CHANNEL",
    "COMPONENTS",
    "COST_DISTANCE",
    "COST_HANDLING",
    "COST_PACKAGE",
    "COST_UNFILLED",
    "COST_UNIT",
    "DISTANCE",
    "ELIGIBLE",
    "KIND_CODES",
    "LOCKER",
    "LOCKER_FULL",
    "METHOD",
    "METHOD_CODES",
    "NO_STOCK",
    "PICKUP",
    "PICKUP_LOCKER",
    "POLICY_GREEDY",
    "POLICY_MOST_STOCK",
    "POLICY_NEAREST",
    "POLICY_PRIORITY",
    "PROTECTION",
    "RATED_COMPONENTS",
    "RATE_CARD",
    "SAME_DAY",
    "SAME_DAY_RADIUS",
    "SHIP",
    "STORE",
    "WAREHOUSE",
]

# Eligibility reasons, in evaluation order (omnistock.Reason).
ELIGIBLE = int(Reason.ELIGIBLE)
CHANNEL = int(Reason.CHANNEL)
METHOD = int(Reason.METHOD)
DISTANCE = int(Reason.DISTANCE)
SAME_DAY_RADIUS = int(Reason.SAME_DAY_RADIUS)
PROTECTION = int(Reason.PROTECTION)
CAPACITY = int(Reason.CAPACITY)
NO_STOCK = int(Reason.NO_STOCK)
RATE_CARD = int(Reason.RATE_CARD)
PICKUP_LOCKER = int(Reason.PICKUP_LOCKER)
LOCKER_FULL = int(Reason.LOCKER_FULL)

# Order methods (``order_method``); a node's ``node_methods`` holds ``1 << code``.
METHOD_CODES: dict[str, int] = {m: i for i, m in enumerate(METHODS)}
SHIP = METHOD_CODES["ship"]
PICKUP = METHOD_CODES["pickup"]
SAME_DAY = METHOD_CODES["same_day"]

# Node kinds (``node_kind``).
KIND_CODES: dict[str, int] = {k: i for i, k in enumerate(NODE_KINDS)}
WAREHOUSE = KIND_CODES["warehouse"]
STORE = KIND_CODES["store"]
LOCKER = KIND_CODES["locker"]

# Index of each cost component in a cost array (docs/semantics.md, S9).
COST_PACKAGE = 0
COST_DISTANCE = 1
COST_HANDLING = 2
COST_UNIT = 3
COST_UNFILLED = 4
COMPONENTS = ("package", "distance", "handling", "unit", "unfilled")
#: Contract v1.1 adds three (``_kernels.rates``): kept apart so that a v1
#: scenario's breakdown and objective stay the same five floats.
RATED_COMPONENTS = (*COMPONENTS, "unit_distance", "rate_card", "unfilled_order")

# How an order's nodes are chosen: the exact cheapest decision, or a peer's walk.
POLICY_GREEDY = 0
POLICY_PRIORITY = 1
POLICY_NEAREST = 2
POLICY_MOST_STOCK = 3
