"""Each order alone against the batch's initial stock, with every unit priced.

The Lagrangian bound of a batch too large to list (``solvers.optimal.lagrange``)
relaxes the constraints orders share (a stock row's free units and protected
limit, a node's capacity) with prices ``p >= 0``. What is left splits by order:
each order's cheapest decision against the initial stock when every unit it
takes also costs the price of the constraints it uses. Each order counts a lower
bound of that minimum: its lines each alone, every unit priced exactly, without
what ties the lines together (fixed costs, split limits, ship-complete; all
>= 0 or relaxations), :func:`_lines_alone`; and, for an order none of whose
units carries a price, the larger of that and greedy's exact decision
(``sourcing.decide_order``, every rule of the order kept), then its exact
minimum.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.candidates import collect_candidates
from omnistock._kernels.codes import POLICY_GREEDY
from omnistock._kernels.cost import unfilled_cost_kernel
from omnistock._kernels.lockers import locker_of, parcel_limited
from omnistock._kernels.protection import usable
from omnistock._kernels.records import make_request
from omnistock._kernels.sourcing import _order_rows, decide_order

__all__ = ["priced_orders"]


@njit(cache=True, nogil=True)
def priced_orders(
    net: Any,  # records.NetworkRecord
    state: Any,  # records.StateRecord: the initial stock, read, not changed
    orders: Any,  # records.OrdersRecord
    span: tuple[int, int],  # orders first..last-1 (a chunk of the batch)
    prices: tuple[np.ndarray, np.ndarray, np.ndarray],  # free, limit (nnz), node
    usage: tuple[np.ndarray, np.ndarray, np.ndarray],  # raised in place
) -> float:
    """Sum over the orders of ``span`` of their cheapest priced decision.

    ``prices``: per stock row the price of a unit of its free units (every
    order) and of its protected limit (non-exempt orders only), per node the
    price of a unit of its capacity. ``usage`` adds up the units the decisions
    take: per row (all, non-exempt) and per node, the subgradient of the bound.
    """
    free_p, limit_p, cap_p = prices
    use_all, use_limit, use_cap = usage
    stock_node = net.stock_node
    total = 0.0
    for o in range(span[0], span[1]):
        exempt = orders.order_exempt[o]
        lo, hi = orders.line_indptr[o], orders.line_indptr[o + 1]
        rows, _ = _order_rows(net.stock_indptr, orders.line_sku[lo:hi])
        priced = False
        for r in rows:
            if usable(state.free, state.limit, r, exempt) > 0:
                price = free_p[r] if exempt else free_p[r] + limit_p[r]
                priced |= price + cap_p[stock_node[r]] > 0.0
        penalty = unfilled_cost_kernel(
            orders.order_unfilled[o], orders.order_weight[o], 1
        )
        request = make_request(orders, o, penalty, net.node_unit_cost)
        alone, a_node, a_row, a_qty = _lines_alone(net, state, request, prices)
        if not priced:
            # No price on any unit: greedy's exact search is the exact minimum (and
            # as fast as greedy). With prices near the unfilled cost its
            # branch-and-bound loses its pruning (seen: minutes on "large" at
            # 1,000,000 orders), so a priced order counts its lines alone.
            locker = locker_of(net.node_kind, orders.order_pickup[o])
            if locker >= 0:  # S11: the order alone may use all the locker's parcels
                request = parcel_limited(request, state.capacity[locker])
            _, s_node, s_row, s_qty, comp = decide_order(
                net, state, request, POLICY_GREEDY
            )
            if comp.sum() >= alone:
                alone, a_node, a_row, a_qty = comp.sum(), s_node, s_row, s_qty
        total += alone
        for i in range(a_qty.shape[0]):
            use_all[a_row[i]] += a_qty[i]
            if not exempt:
                use_limit[a_row[i]] += a_qty[i]
            use_cap[a_node[i]] += a_qty[i]
    return total


@njit(cache=True, nogil=True)
def _lines_alone(
    net: Any,
    state: Any,
    request: Any,  # records.Request: lines, tier and unfilled cost of the order
    prices: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray]:
    """The order's lines each alone: cheapest priced units, no fixed cost, no link.

    Every plan of the order costs at least this under the prices: fixed costs
    are >= 0, and without the links between lines (packages, split limits,
    ship-complete) each line is a fractional knapsack whose unit prices are
    exact (unit cost plus the row's and the node's prices). Returns the value
    and the units it takes (node, row, qty) for the subgradient.
    """
    free_p, limit_p, cap_p = prices
    cand_node, _, cand_use, cand_row = collect_candidates(net, state, request)
    m, n_lines = cand_use.shape
    out_node = np.empty(m * n_lines, dtype=np.int64)
    out_row = np.empty(m * n_lines, dtype=np.int64)
    out_qty = np.empty(m * n_lines, dtype=np.int64)
    cost = np.empty(m, dtype=np.float64)
    penalty = request.penalty
    total = 0.0
    p = 0
    for li in range(n_lines):
        for j in range(m):
            r = cand_row[j, li]
            n = cand_node[j]
            cost[j] = np.inf
            if r >= 0 and cand_use[j, li] > 0 and state.capacity[n] > 0:
                cost[j] = net.node_unit_cost[n] + free_p[r] + cap_p[n]
                if not request.exempt:
                    cost[j] += limit_p[r]
        need = request.line_qty[li]
        for j in np.argsort(cost):
            if need <= 0 or not cost[j] < penalty:
                break
            q = min(need, cand_use[j, li], state.capacity[cand_node[j]])
            total += q * cost[j]
            need -= q
            out_node[p] = cand_node[j]
            out_row[p] = cand_row[j, li]
            out_qty[p] = q
            p += 1
        total += need * penalty
    return total, out_node[:p], out_row[:p], out_qty[:p]
