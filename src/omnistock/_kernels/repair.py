"""Repair of a feasible plan: fill what it left unfilled, cheapest unit first.

Stock and protection go through ``protection`` like every solver. The Python
driver is ``solvers.optimal.repair.complete``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.cost import unfilled_cost_kernel
from omnistock._kernels.protection import take, usable

__all__ = ["fill_short"]


@njit(cache=True, nogil=True)
def fill_short(
    packages: Any,  # records.Packages: the candidates of the orders to complete
    net: Any,  # records.NetworkRecord: unit costs
    state: Any,  # records.StateRecord: the stock the plan starts from (not changed)
    orders: Any,  # records.OrdersRecord
    order_mask: np.ndarray,  # bool[n_orders]: the orders to complete
    x: np.ndarray,  # int64[n_cand], units per candidate; completed in place
) -> None:
    """Fill the short lines of ``order_mask``, cheapest unit first (``x`` in place).

    See ``solvers.optimal.repair.complete``.
    """
    cand_line, cand_row, cand_ub, cand_pair = (
        packages.line,
        packages.row,
        packages.ub,
        packages.pair,
    )
    pair_order, pair_node, pair_cost = (
        packages.pair_order,
        packages.pair_node,
        packages.pair_cost,
    )
    node_unit_cost, unfilled = net.node_unit_cost, net.unfilled
    order_exempt, order_weight = orders.order_exempt, orders.order_weight
    order_max_splits = orders.order_max_splits
    order_all_or_nothing = orders.order_all_or_nothing
    line_order, line_qty = orders.line_order, orders.line_qty
    line_indptr = orders.line_indptr
    n_lines = line_qty.shape[0]
    free_left = state.free.copy()
    limit_left = state.limit.copy()
    cap_left = state.capacity.copy()
    pair_units = np.zeros(pair_order.shape[0], dtype=np.int64)
    n_open = np.zeros(order_exempt.shape[0], dtype=np.int64)
    filled = np.zeros(n_lines, dtype=np.int64)
    first = np.full(n_lines + 1, cand_line.shape[0], dtype=np.int64)
    for c in range(cand_line.shape[0] - 1, -1, -1):
        first[cand_line[c]] = c
    for line in range(n_lines - 1, -1, -1):
        first[line] = min(first[line], first[line + 1])
    for c in range(cand_line.shape[0]):
        if x[c] > 0:
            o = line_order[cand_line[c]]
            take(free_left, limit_left, cand_row[c], x[c], order_exempt[o])
            cap_left[pair_node[cand_pair[c]]] -= x[c]
            if pair_units[cand_pair[c]] == 0:
                n_open[o] += 1
            pair_units[cand_pair[c]] += x[c]
            filled[cand_line[c]] += x[c]
    for o in range(order_exempt.shape[0]):
        if not order_mask[o]:
            continue
        exempt = order_exempt[o]
        short = False
        for line in range(line_indptr[o], line_indptr[o + 1]):
            while filled[line] < line_qty[line]:
                need = line_qty[line] - filled[line]
                best_take = 0
                best, best_cost = -1, unfilled_cost_kernel(unfilled, order_weight[o], 1)
                for c in range(first[line], first[line + 1]):
                    p = cand_pair[c]
                    n = pair_node[p]
                    room = min(
                        usable(free_left, limit_left, cand_row[c], exempt), cap_left[n]
                    )
                    room = min(room, need, cand_ub[c] - x[c])
                    if room <= 0:
                        continue
                    per_unit = node_unit_cost[n]
                    if pair_units[p] == 0:
                        if n_open[o] >= order_max_splits[o]:
                            continue
                        per_unit += pair_cost[p] / room
                    if per_unit < best_cost:
                        best, best_cost, best_take = c, per_unit, room
                if best < 0:
                    break
                p = cand_pair[best]
                take(free_left, limit_left, cand_row[best], best_take, exempt)
                cap_left[pair_node[p]] -= best_take
                if pair_units[p] == 0:
                    n_open[o] += 1
                pair_units[p] += best_take
                x[best] += best_take
                filled[line] += best_take
            short = short or filled[line] < line_qty[line]
        if short and order_all_or_nothing[o]:
            for line in range(line_indptr[o], line_indptr[o + 1]):
                for c in range(first[line], first[line + 1]):
                    if x[c] > 0:
                        take(free_left, limit_left, cand_row[c], -x[c], exempt)
                        cap_left[pair_node[cand_pair[c]]] += x[c]
                        x[c] = 0
                filled[line] = 0
