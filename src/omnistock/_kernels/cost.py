"""The objective (docs/semantics.md, S9): package, distance, handling, unit, unfilled.

Every solver's plan is priced by :func:`plan_cost`, so two solvers that allocate the
same units report the same objective to the last bit.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from omnistock._kernels.geo import km_between

# Index of each component in the array returned by plan_cost.
PACKAGE, DISTANCE, HANDLING, UNIT, UNFILLED = 0, 1, 2, 3, 4
COMPONENTS = ("package", "distance", "handling", "unit", "unfilled")

#: Tolerance for comparing two costs: absolute plus relative to the larger one.
COST_TOL = 1e-6


def costs_agree(a: float, b: float) -> bool:
    """Whether two costs are equal within :data:`COST_TOL`."""
    return abs(a - b) <= COST_TOL * (1.0 + max(abs(a), abs(b)))


@njit(cache=True, nogil=True, inline="always")
def package_cost(
    node_xyz: np.ndarray,
    node_handling: np.ndarray,
    node_idx: int,
    dest_xyz: np.ndarray,
    package: float,
    per_km: float,
) -> float:
    """Fixed cost of one (order, node) package: package + handling + per_km * km."""
    return (
        package
        + node_handling[node_idx]
        + per_km * km_between(node_xyz[node_idx], dest_xyz)
    )


@njit(cache=True, nogil=True)
def order_cost_components(
    line_order: np.ndarray,  # int64[n_lines]: order_idx of each line
    line_qty: np.ndarray,  # int64[n_lines]
    order_xyz: np.ndarray,  # float64[n_orders, 3]: destination unit vectors
    order_weight: np.ndarray,  # float64[n_orders]: tier weight on unfilled units
    node_xyz: np.ndarray,  # float64[n_nodes, 3]
    node_handling: np.ndarray,  # float64[n_nodes]
    node_unit_cost: np.ndarray,  # float64[n_nodes]
    alloc_line: np.ndarray,  # int64[k]
    alloc_node: np.ndarray,  # int64[k]
    alloc_qty: np.ndarray,  # int64[k]
    package: float,
    per_km: float,
    unfilled: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Price allocation triples order by order (the objective is a sum over orders).

    Returns
    -------
    components : float64[n_orders, 5]
        Each order's package, distance, handling, unit and unfilled cost.
    unfilled_qty : int64[n_lines]
        Units of each line left unfilled.
    pair_order, pair_node : int64[p]
        The distinct (order, node) packages, sorted by order then node.
    """
    n_nodes = node_xyz.shape[0]
    n_lines = line_qty.shape[0]
    n_orders = order_xyz.shape[0]
    out = np.zeros((n_orders, 5), dtype=np.float64)
    filled = np.zeros(n_lines, dtype=np.int64)
    keys = np.empty(alloc_line.shape[0], dtype=np.int64)
    for i in range(alloc_line.shape[0]):
        line = alloc_line[i]
        node = alloc_node[i]
        filled[line] += alloc_qty[i]
        out[line_order[line], UNIT] += alloc_qty[i] * node_unit_cost[node]
        keys[i] = line_order[line] * n_nodes + node
    keys = np.unique(keys)
    pair_order = keys // n_nodes
    pair_node = keys % n_nodes
    for p in range(keys.shape[0]):
        o = pair_order[p]
        n = pair_node[p]
        out[o, PACKAGE] += package
        out[o, HANDLING] += node_handling[n]
        out[o, DISTANCE] += per_km * km_between(node_xyz[n], order_xyz[o])
    unfilled_qty = line_qty - filled
    for line in range(n_lines):
        if unfilled_qty[line] > 0:
            o = line_order[line]
            out[o, UNFILLED] += unfilled * order_weight[o] * unfilled_qty[line]
    return out, unfilled_qty, pair_order, pair_node


@njit(cache=True, nogil=True)
def plan_cost(
    line_order: np.ndarray,
    line_qty: np.ndarray,
    order_xyz: np.ndarray,
    order_weight: np.ndarray,
    node_xyz: np.ndarray,
    node_handling: np.ndarray,
    node_unit_cost: np.ndarray,
    alloc_line: np.ndarray,
    alloc_node: np.ndarray,
    alloc_qty: np.ndarray,
    package: float,
    per_km: float,
    unfilled: float,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Price a plan given as allocation triples (arguments of :func:`order_cost_components`).

    Returns
    -------
    components : float64[5]
        package, distance, handling, unit and unfilled cost (see ``COMPONENTS``).
    unfilled_qty : int64[n_lines]
        Units of each line left unfilled.
    pair_order, pair_node : int64[p]
        The distinct (order, node) packages, sorted by order then node.
    """
    per_order, unfilled_qty, pair_order, pair_node = order_cost_components(
        line_order,
        line_qty,
        order_xyz,
        order_weight,
        node_xyz,
        node_handling,
        node_unit_cost,
        alloc_line,
        alloc_node,
        alloc_qty,
        package,
        per_km,
        unfilled,
    )
    total = np.zeros(5, dtype=np.float64)
    for o in range(per_order.shape[0]):
        for c in range(5):
            total[c] += per_order[o, c]
    return total, unfilled_qty, pair_order, pair_node
