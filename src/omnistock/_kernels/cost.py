"""The objective (docs/semantics.md, S9): package, distance, handling, unit, unfilled.

Every solver's plan is priced by :func:`plan_cost`, so two solvers that allocate the
same units report the same objective to the last bit. The two formulas every
decision repeats are written once each: :func:`package_cost` (one package's fixed
cost) and :func:`unfilled_cost` (units left unfilled), the latter usable from
Python and from kernels (:func:`unfilled_cost_kernel`) with the same float order.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.codes import (
    COMPONENTS,
    COST_DISTANCE,
    COST_HANDLING,
    COST_PACKAGE,
    COST_UNFILLED,
    COST_UNIT,
)
from omnistock._kernels.geo import km_between

__all__ = [
    "COMPONENTS",
    "COST_TOL",
    "costs_agree",
    "order_cost_components",
    "package_cost",
    "package_cost_kernel",
    "plan_cost",
    "unfilled_cost",
    "unfilled_cost_kernel",
]

#: Tolerance for comparing two costs: absolute plus relative to the larger one.
COST_TOL = 1e-6


def costs_agree(a: float, b: float) -> bool:
    """Whether two costs are equal within :data:`COST_TOL`."""
    return abs(a - b) <= COST_TOL * (1.0 + max(abs(a), abs(b)))


def unfilled_cost(unfilled: Any, weight: Any, units: Any) -> Any:
    """Cost of ``units`` left unfilled: ``unfilled x tier weight x units``.

    Scalars or numpy arrays (broadcast). ``unfilled_cost(u, w, 1)`` is the cost of
    one unit, the ``penalty`` of a :class:`~omnistock._kernels.records.Request`.
    """
    return unfilled * weight * units


#: :func:`unfilled_cost` inside kernels (the same expression, so the same floats).
unfilled_cost_kernel = njit(cache=True, nogil=True, inline="always")(unfilled_cost)


def package_cost(package: Any, handling: Any, per_km: Any, km: Any) -> Any:
    """Fixed cost of one (order, node) package ``km`` away: package + handling + per_km x km.

    Scalars or numpy arrays (broadcast); kernels call :func:`package_cost_kernel`.
    """
    return package + handling + per_km * km


#: :func:`package_cost` inside kernels (the same expression, so the same floats).
package_cost_kernel = njit(cache=True, nogil=True, inline="always")(package_cost)


@njit(cache=True, nogil=True)
def order_cost_components(
    net: Any,  # records.NetworkRecord
    orders: Any,  # records.OrdersRecord
    alloc_line: np.ndarray,  # int64[k]
    alloc_node: np.ndarray,  # int64[k]
    alloc_qty: np.ndarray,  # int64[k]
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
    line_order = orders.line_order
    line_qty = orders.line_qty
    order_xyz = orders.order_xyz
    order_weight = orders.order_weight
    node_xyz = net.node_xyz
    node_handling = net.node_handling
    node_unit_cost = net.node_unit_cost
    package = net.package
    per_km = net.per_km
    # v1.1: each order's own unfilled cost (the scenario's unless overridden).
    order_unfilled = orders.order_unfilled
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
        out[line_order[line], COST_UNIT] += alloc_qty[i] * node_unit_cost[node]
        keys[i] = line_order[line] * n_nodes + node
    keys = np.unique(keys)
    pair_order = keys // n_nodes
    pair_node = keys % n_nodes
    for p in range(keys.shape[0]):
        o = pair_order[p]
        n = pair_node[p]
        out[o, COST_PACKAGE] += package
        out[o, COST_HANDLING] += node_handling[n]
        out[o, COST_DISTANCE] += per_km * km_between(node_xyz[n], order_xyz[o])
    unfilled_qty = line_qty - filled
    for line in range(n_lines):
        if unfilled_qty[line] > 0:
            o = line_order[line]
            out[o, COST_UNFILLED] += unfilled_cost_kernel(
                order_unfilled[o], order_weight[o], unfilled_qty[line]
            )
    return out, unfilled_qty, pair_order, pair_node


@njit(cache=True, nogil=True)
def plan_cost(
    net: Any,
    orders: Any,
    alloc_line: np.ndarray,
    alloc_node: np.ndarray,
    alloc_qty: np.ndarray,
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
        net, orders, alloc_line, alloc_node, alloc_qty
    )
    total = np.zeros(5, dtype=np.float64)
    for o in range(per_order.shape[0]):
        for c in range(5):
            total[c] += per_order[o, c]
    return total, unfilled_qty, pair_order, pair_node
