"""Plain-Python readings of docs/semantics.md, independent of omnistock's kernels.

- ``node_reason``: the first rule of S3 that rejects a node (the eligibility kernel's twin);
- ``usable``: units of a (node, SKU) an order of a tier may take (the protection kernel's twin);
- ``one_order_optimum``: the exact optimum of a one-order scenario by brute force over node
  subsets, each subset's units by a linear program (the transportation matrix is totally
  unimodular, so the LP optimum is integral).

They read the pydantic scenario only; nothing here imports omnistock's compiled arrays.
"""

from __future__ import annotations

import itertools
import math

import numpy as np
from scipy.optimize import linprog

from omnistock import Node, Order, Scenario

EARTH_RADIUS_KM = 6371.0
# Reason codes as documented (omnistock.Reason): eligible, channel, method, distance,
# same_day_radius, protection, capacity, no_stock.
ELIGIBLE, CHANNEL, METHOD, DISTANCE, SAME_DAY_RADIUS, PROTECTION, CAPACITY, NO_STOCK = (
    range(8)
)


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def destination(scenario: Scenario, order: Order) -> tuple[float, float]:
    if order.method == "pickup":
        node = next(n for n in scenario.nodes if n.id == order.pickup_node)
        return node.lat, node.lon
    assert order.destination is not None
    return order.destination.lat, order.destination.lon


def km(scenario: Scenario, node: Node, order: Order) -> float:
    lat, lon = destination(scenario, order)
    return haversine_km(node.lat, node.lon, lat, lon)


def node_reason(scenario: Scenario, node: Node, order: Order) -> int:
    """The first S3 rule that rejects ``node`` for ``order`` (ELIGIBLE if none)."""
    rules = scenario.rules
    if node.channels and order.channel not in node.channels:
        return CHANNEL
    if order.method == "pickup":
        if not (node.id == order.pickup_node or "ship" in node.methods):
            return METHOD
    elif order.method not in node.methods:
        return METHOD
    d = km(scenario, node, order)
    if rules.max_distance_km is not None and d > rules.max_distance_km:
        return DISTANCE
    if order.method == "same_day" and d > rules.same_day_radius_km:
        return SAME_DAY_RADIUS
    return ELIGIBLE


def free(scenario: Scenario, node_id: str, sku: str) -> int:
    for r in scenario.stock:
        if r.node == node_id and r.sku == sku:
            return max(0, r.on_hand - r.reserved - r.safety_stock)
    return 0


def usable(scenario: Scenario, node: Node, sku: str, tier: str) -> int:
    """Units of (node, sku) one order of ``tier`` may take from the scenario's stock."""
    f = free(scenario, node.id, sku)
    if tier in scenario.rules.exempt_tiers:
        return f
    return max(0, f - scenario.rules.last_unit_protection.get(node.kind, 0))


def split_limit(scenario: Scenario, order: Order) -> int | None:
    limits = [v for v in (order.max_splits, scenario.rules.max_splits) if v is not None]
    if order.ship_complete:
        limits.append(1)
    return min(limits) if limits else None


def _subset_cost(
    unit: list[float],
    use: np.ndarray,
    cap: list[float],
    qty: list[int],
    penalty: float,
    aon: bool,
) -> float | None:
    """Cheapest variable cost (units + unfilled) over the given nodes, by LP."""
    n, n_lines = use.shape
    total_q = sum(qty)
    # Variables x[i, l] in row-major order; minimise sum (unit_i - penalty) x + penalty Q.
    c = np.repeat(np.asarray(unit) - penalty, n_lines)
    a_ub, b_ub = [], []
    for i in range(n):
        row = np.zeros(n * n_lines)
        row[i * n_lines : (i + 1) * n_lines] = 1
        a_ub.append(row)
        b_ub.append(cap[i])
    a_eq, b_eq = [], []
    for li in range(n_lines):
        row = np.zeros(n * n_lines)
        row[li::n_lines] = 1
        (a_eq if aon else a_ub).append(row)
        (b_eq if aon else b_ub).append(qty[li])
    res = linprog(
        c,
        A_ub=np.asarray(a_ub) if a_ub else None,
        b_ub=b_ub or None,
        A_eq=np.asarray(a_eq) if a_eq else None,
        b_eq=b_eq or None,
        bounds=[(0, use[i, li]) for i in range(n) for li in range(n_lines)],
        method="highs",
    )
    if res.status != 0:
        return None
    return float(res.fun) + penalty * total_q


def one_order_optimum(scenario: Scenario) -> float:
    """The optimal objective of a scenario with exactly one order, by brute force."""
    (order,) = scenario.orders
    costs, rules = scenario.costs, scenario.rules
    penalty = costs.unfilled * rules.tier_weights.get(order.tier, 1.0)
    qty = [line.qty for line in order.lines]
    aon = order.ship_complete or not order.allow_partial
    nodes = [
        n
        for n in scenario.nodes
        if node_reason(scenario, n, order) == ELIGIBLE
        and any(usable(scenario, n, line.sku, order.tier) > 0 for line in order.lines)
        and (n.capacity is None or n.capacity > 0)
    ]
    k = split_limit(scenario, order)
    best = penalty * sum(qty)  # nothing
    max_size = len(nodes) if k is None else min(k, len(nodes))
    for size in range(1, max_size + 1):
        for subset in itertools.combinations(nodes, size):
            fixed = sum(
                costs.package + n.handling_cost + costs.per_km * km(scenario, n, order)
                for n in subset
            )
            if fixed >= best:
                continue
            use = np.array(
                [
                    [usable(scenario, n, line.sku, order.tier) for line in order.lines]
                    for n in subset
                ],
                dtype=float,
            )
            cap = [
                float(sum(qty)) if n.capacity is None else float(n.capacity)
                for n in subset
            ]
            var = _subset_cost(
                [n.unit_cost for n in subset], use, cap, qty, penalty, aon
            )
            if var is not None:
                best = min(best, fixed + var)
    return best
