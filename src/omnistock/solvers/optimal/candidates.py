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

import numpy as np

from omnistock._kernels.components import link
from omnistock._kernels.packages import batch_candidates
from omnistock.compiled import NO_LIMIT, CompiledScenario, StockState

__all__ = ["Candidates", "candidates", "components"]


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
    pair_ok = ~single[pair_order] | (
        (full == n_lines[pair_order])
        & (net.node_capacity[pair_node] >= order_qty[pair_order])
    )
    if not pair_ok.all():
        keep = pair_ok[pair]
        new_id = np.cumsum(pair_ok) - 1
        line, row, ub, pair = line[keep], row[keep], ub[keep], new_id[pair[keep]]
        pair_order, pair_node = pair_order[pair_ok], pair_node[pair_ok]
        pair_cost = pair_cost[pair_ok]
    n_rows = net.stock_node.shape[0]
    node = pair_node[pair]
    if not stock_in_bound:
        ub = np.minimum(orders.line_qty[line], net.node_capacity[node])
    protected = ~orders.order_exempt[orders.line_order[line]]
    demand_all = np.bincount(row, weights=ub, minlength=n_rows)
    demand_protected = np.bincount(
        row[protected], weights=ub[protected], minlength=n_rows
    )
    demand_node = np.bincount(node, weights=ub, minlength=net.n_nodes)
    cap = net.node_capacity
    return Candidates(
        line=line,
        row=row,
        ub=ub,
        pair=pair,
        pair_order=pair_order,
        pair_node=pair_node,
        pair_cost=pair_cost,
        exact=single[pair_order[pair]],
        row_free_binds=demand_all > net.stock_free,
        row_limit_binds=demand_protected > net.stock_limit,
        cap_binds=(cap < NO_LIMIT) & (demand_node > cap),
    )


def components(compiled: CompiledScenario, cand: Candidates) -> np.ndarray:
    """int64[n_orders]: a component label per order (-1: no candidate at all).

    Labels are 0..n_components-1, numbered by first order.
    """
    orders = compiled.orders
    n_orders = orders.n_orders
    cand_order = orders.line_order[cand.line]
    n_rows = cand.row_free_binds.shape[0]
    row_binds = cand.row_free_binds | cand.row_limit_binds
    node = cand.pair_node[cand.pair]
    row_key = np.where(row_binds[cand.row], cand.row, -1)
    cap_key = np.where(cand.cap_binds[node], n_rows + node, -1)
    n_keys = n_rows + cand.cap_binds.shape[0]
    # S11: orders picked up at one capacity-limited locker share its parcels.
    from omnistock.lockers import order_lockers

    locker = order_lockers(compiled)
    at_locker = np.flatnonzero(locker >= 0)
    root = link(
        n_orders,
        np.concatenate([cand_order, cand_order, at_locker]),
        np.concatenate([row_key, cap_key, n_keys + locker[at_locker]]),
        n_keys + cand.cap_binds.shape[0],
    )
    has_cand = np.zeros(n_orders, dtype=np.bool_)
    has_cand[cand_order] = True
    label = np.full(n_orders, -1, dtype=np.int64)
    roots = np.unique(root[has_cand])
    label[has_cand] = np.searchsorted(roots, root[has_cand])
    return label
