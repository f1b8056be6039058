"""Every integer code a kernel reads or writes, in one table.

Kernels take no enums and no strings, so each vocabulary is mirrored here as int
constants: the one place its codes are written. ``tests/kernels/test_codes.py``
pins every name to its code and to the contract's own names (``Reason``,
``METHODS``, ``NODE_KINDS``).
"""

from __future__ import annotations

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
    "METHOD",
    "METHOD_CODES",
    "NO_STOCK",
    "PICKUP",
    "POLICY_GREEDY",
    "POLICY_MOST_STOCK",
    "POLICY_NEAREST",
    "POLICY_PRIORITY",
    "PROTECTION",
    "SAME_DAY",
    "SAME_DAY_RADIUS",
    "SHIP",
    "STORE",
    "WAREHOUSE",
]

# Eligibility reasons, in evaluation order (omnistock.Reason has the same names).
ELIGIBLE = 0
CHANNEL = 1
METHOD = 2
DISTANCE = 3
SAME_DAY_RADIUS = 4
PROTECTION = 5
CAPACITY = 6
NO_STOCK = 7

# Order methods (``order_method``); a node's ``node_methods`` holds ``1 << code``.
SHIP = 0
PICKUP = 1
SAME_DAY = 2
METHOD_CODES: dict[str, int] = {"ship": SHIP, "pickup": PICKUP, "same_day": SAME_DAY}

# Node kinds (``node_kind``).
WAREHOUSE = 0
STORE = 1
KIND_CODES: dict[str, int] = {"warehouse": WAREHOUSE, "store": STORE}

# Index of each cost component in a cost array (docs/semantics.md, S9).
COST_PACKAGE = 0
COST_DISTANCE = 1
COST_HANDLING = 2
COST_UNIT = 3
COST_UNFILLED = 4
COMPONENTS = ("package", "distance", "handling", "unit", "unfilled")

# How an order's nodes are chosen: the exact cheapest decision, or a peer's walk.
POLICY_GREEDY = 0
POLICY_PRIORITY = 1
POLICY_NEAREST = 2
POLICY_MOST_STOCK = 3
