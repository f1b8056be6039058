"""Candidates and independent components of a batch (the ``optimal`` solver's input).

1. :func:`candidates` (numba) lists the (line, node) pairs an order may use: the
   node is eligible (``_kernels.eligibility``) and the stock row holds usable
   units for the order's tier at the start of the batch (``_kernels.protection``).
   Each candidate gets an upper bound ``min(qty, usable, capacity)`` and the
   (order, node) package it belongs to, priced by ``_kernels.cost.package_cost``.
2. :func:`components` (numba) links orders that share a *binding* constraint: a
   stock row whose candidates could together take more than its free units (or,
   for non-exempt orders, more than its protected limit), or a node whose
   candidates could take more than its capacity. A constraint that cannot bind
   is implied by the candidates' upper bounds, so dropping it keeps the model
   exact, and orders with no binding constraint in common are independent.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from omnistock._kernels.components import link
from omnistock._kernels.packages import (
    batch_candidates,
    candidate_demand,
    candidate_links,
    packages_ok,
)
from omnistock.compiled import NO_LIMIT, CompiledScenario, StockState
from omnistock.compiled.lockers import order_lockers

__all__ = [
    "CHUNK_ORDERS",
    "Candidates",
    "candidates",
    "component_profile",
    "components",
    "unit_costs",
]

#: Orders listed at a time by :func:`component_profile` (~13 M candidates on "large").
CHUNK_ORDERS = 25_000


@dataclass(frozen=True, eq=False)
class Candidates:
    """What each order may use, and which constraints can bind.

    Attributes
    ----------
    line, row, ub, pair : int64[n_cand]
        Line, stock row, upper bound on units and package of each candidate.
    pair_order, pair_node : int64[n_pair]
        The (order, node) packages, listed order by order (``pair_order`` is
        ascending, as ``line`` is: the optimal solver's look-ups rely on it).
    pair_cost : float64[n_pair]
        Fixed cost of each package (package + handling + per_km x km).
    exact : bool[n_cand]
        The candidate's order is ship-complete: its units are ``ub`` (the line's
        quantity) when the package ships, else 0. Packages of such an order
        without every line in full are not candidates.
    row_free_binds, row_limit_binds : bool[n_rows]
        Whether the free units / the protected limit of a stock row can bind.
    cap_binds : bool[n_nodes]
        Whether a node's capacity can bind.
    unit_extra : float64[n_cand] or None
        Contract v1.1: what one unit of the candidate's line costs at its node
        beyond the node's ``unit_cost`` (``solvers.optimal.rated_decomp``); None
        on a v1 batch, whose arithmetic is then untouched.
    """

    line: np.ndarray
    row: np.ndarray
    ub: np.ndarray
    pair: np.ndarray
    pair_order: np.ndarray
    pair_node: np.ndarray
    pair_cost: np.ndarray
    exact: np.ndarray
    row_free_binds: np.ndarray
    row_limit_binds: np.ndarray
    cap_binds: np.ndarray
    unit_extra: np.ndarray | None = None


def unit_costs(compiled: CompiledScenario, cand: Candidates, c: Any) -> np.ndarray:
    """float64: the cost of one unit at the candidates ``c`` (an index array or slice).

    The node's ``unit_cost``, plus the line's v1.1 extra when ``cand`` has one.
    """
    cost: np.ndarray = compiled.network.node_unit_cost[cand.pair_node[cand.pair[c]]]
    return cost if cand.unit_extra is None else cost + cand.unit_extra[c]


def candidates(
    compiled: CompiledScenario, *, stock_in_bound: bool = True
) -> Candidates:
    """The candidates of every order of the batch, and the constraints that can bind.

    With ``stock_in_bound=False`` a candidate's bound is ``min(qty, capacity)``:
    the stock and protection limits then act only through their rows, so the
    rows' duals carry their whole value (``omnistock.relax``).
    """
    net, orders = compiled.network, compiled.orders
    line, row, ub, pair, pair_order, pair_node, pair_cost = batch_candidates(
        net.record, StockState.of_network(net).record, orders.record
    )
    # A ship-complete order takes every line in full from one node: a package
    # without every line's full quantity (or without the capacity) is never used.
    n_lines = np.diff(orders.line_indptr)
    order_qty = np.bincount(
        orders.line_order, weights=orders.line_qty, minlength=orders.n_orders
    )
    single = orders.order_all_or_nothing & (orders.order_max_splits == 1)
    full = np.bincount(
        pair, weights=ub >= orders.line_qty[line], minlength=pair_order.size
    )
    pair_ok = packages_ok(
        pair_order,
        pair_node,
        full.astype(np.int64),
        net.node_capacity,
        (single, n_lines, order_qty.astype(np.int64)),
    )
    if not pair_ok.all():
        keep = pair_ok[pair]
        new_id = np.cumsum(pair_ok) - 1
        line, row, ub, pair = line[keep], row[keep], ub[keep], new_id[pair[keep]]
        pair_order, pair_node = pair_order[pair_ok], pair_node[pair_ok]
        pair_cost = pair_cost[pair_ok]
    node = pair_node[pair]
    if not stock_in_bound:
        ub = np.minimum(orders.line_qty[line], net.node_capacity[node])
    row_free_binds, row_limit_binds, cap_binds = _binds(
        compiled, _demand(compiled, line, row, ub, node)
    )
    return Candidates(
        line=line,
        row=row,
        ub=ub,
        pair=pair,
        pair_order=pair_order,
        pair_node=pair_node,
        pair_cost=pair_cost,
        exact=single[pair_order[pair]],
        row_free_binds=row_free_binds,
        row_limit_binds=row_limit_binds,
        cap_binds=cap_binds,
    )


def _demand(
    compiled: CompiledScenario,
    line: np.ndarray,
    row: np.ndarray,
    ub: np.ndarray,
    node: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Units the candidates could take together: per row (all, non-exempt), per node."""
    net, orders = compiled.network, compiled.orders
    n_rows = net.stock_node.shape[0]
    protected = ~orders.order_exempt[orders.line_order[line]]
    return (
        np.bincount(row, weights=ub, minlength=n_rows),
        np.bincount(row[protected], weights=ub[protected], minlength=n_rows),
        np.bincount(node, weights=ub, minlength=net.n_nodes),
    )


def _binds(
    compiled: CompiledScenario, demand: tuple[np.ndarray, np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Which row free units, row protected limits and node capacities can bind."""
    net = compiled.network
    demand_all, demand_protected, demand_node = demand
    cap = net.node_capacity
    return (
        demand_all > net.stock_free,
        demand_protected > net.stock_limit,
        (cap < NO_LIMIT) & (demand_node > cap),
    )


def _keys(
    compiled: CompiledScenario, cand: Candidates
) -> tuple[np.ndarray, np.ndarray, int]:
    """Items to link and their keys: each candidate's order twice (its row, its node).

    The key is the binding row or node, -1 if none binds.

    Orders picked up at one capacity-limited locker share its parcels (S11): each
    such order gets one more key, its locker's.
    """
    cand_order = compiled.orders.line_order[cand.line]
    n_rows = cand.row_free_binds.shape[0]
    row_binds = cand.row_free_binds | cand.row_limit_binds
    node = cand.pair_node[cand.pair]
    row_key = np.where(row_binds[cand.row], cand.row, -1)
    cap_key = np.where(cand.cap_binds[node], n_rows + node, -1)
    n_keys = n_rows + cand.cap_binds.shape[0]
    locker = order_lockers(compiled)
    at_locker = np.flatnonzero(locker >= 0)
    return (
        np.concatenate([cand_order, cand_order, at_locker]),
        np.concatenate([row_key, cap_key, n_keys + locker[at_locker]]),
        n_keys + cand.cap_binds.shape[0],
    )


def _labels(root: np.ndarray, has_cand: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 numbered by first order from union-find roots; -1 without candidates."""
    label = np.full(root.shape[0], -1, dtype=np.int64)
    roots = np.unique(root[has_cand])
    label[has_cand] = np.searchsorted(roots, root[has_cand])
    return label


def components(compiled: CompiledScenario, cand: Candidates) -> np.ndarray:
    """int64[n_orders]: a component label per order (-1: no candidate at all).

    Labels are 0..n_components-1, numbered by first order.
    """
    n_orders = compiled.orders.n_orders
    item, key, n_keys = _keys(compiled, cand)
    root = link(n_orders, item, key, n_keys)
    has_cand = np.zeros(n_orders, dtype=np.bool_)
    has_cand[compiled.orders.line_order[cand.line]] = True
    return _labels(root, has_cand)


def component_profile(compiled: CompiledScenario) -> tuple[np.ndarray, np.ndarray]:
    """``components`` and each component's candidate count, no candidate stored.

    The same labels as ``components(compiled, candidates(compiled))`` without
    ever holding the batch's candidates (about 510 a "large" order: 51 M at
    100,000 orders, 32 bytes each and more in copies, beyond memory at
    1,000,000). Whether a constraint binds depends on every candidate, so the
    candidates are listed twice in numba (``_kernels.packages``): once to add up
    the demand on each row and node, once to link orders through the
    constraints that bind.

    Returns
    -------
    label : int64[n_orders]
        As :func:`components`.
    size : int64[n_components]
        Candidates of each component.
    """
    net, orders = compiled.network, compiled.orders
    records = (net.record, StockState.of_network(net).record, orders.record)
    single = orders.order_all_or_nothing & (orders.order_max_splits == 1)
    order_qty = np.bincount(
        orders.line_order, weights=orders.line_qty, minlength=orders.n_orders
    ).astype(np.int64)
    rule = (single, order_qty)
    demand_all, demand_protected, demand_node, count = candidate_demand(*records, rule)
    free_binds, limit_binds, cap_binds = _binds(
        compiled, (demand_all, demand_protected, demand_node)
    )
    root = candidate_links(*records, rule, (free_binds | limit_binds, cap_binds))
    locker = order_lockers(compiled)
    at_locker = np.flatnonzero(locker >= 0)
    if at_locker.size:  # S11: orders at one limited locker share its parcels
        n_orders = orders.n_orders
        root = link(
            n_orders,
            np.concatenate([np.arange(n_orders), at_locker]),
            np.concatenate([root, n_orders + locker[at_locker]]),
            n_orders + net.n_nodes,
        )
    label = _labels(root, count > 0)
    n_comp = int(label.max()) + 1 if label.size else 0
    has = label >= 0
    size = np.bincount(label[has], weights=count[has], minlength=n_comp)
    return label, size.astype(np.int64)
