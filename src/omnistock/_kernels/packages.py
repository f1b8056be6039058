"""The candidates and packages of a whole batch (the ``optimal`` solver's input).

A (line, stock row) is a candidate when its node is eligible for the order
(``eligibility.node_reason``) and the row holds units the order's tier may use
(``protection.usable``) with capacity left; each candidate belongs to the
(order, node) package it would ship in, priced by ``cost.package_cost``.
The Python driver is ``solvers.optimal.candidates``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.codes import ELIGIBLE
from omnistock._kernels.cost import package_cost_kernel
from omnistock._kernels.eligibility import node_reason
from omnistock._kernels.protection import usable

__all__ = ["batch_candidates"]


@njit(cache=True, nogil=True)
def batch_candidates(
    net: Any,  # records.NetworkRecord
    state: Any,  # records.StateRecord: the stock the batch starts from
    orders: Any,  # records.OrdersRecord
) -> tuple[np.ndarray, ...]:
    """The (line, stock row) candidates and (order, node) packages of a batch.

    Returns ``line, row, ub, pair`` (int64[n_cand]) and ``pair_order, pair_node``
    (int64[n_pair]), ``pair_cost`` (float64[n_pair]); see
    ``solvers.optimal.candidates.Candidates``.
    """
    stock_indptr, stock_node = net.stock_indptr, net.stock_node
    stock_free, stock_limit, node_capacity = state.free, state.limit, state.capacity
    order_exempt, line_indptr = orders.order_exempt, orders.line_indptr
    line_sku, line_qty = orders.line_sku, orders.line_qty
    n_orders = orders.order_channel.shape[0]
    n_nodes = net.node_xyz.shape[0]
    most = 0
    for line in range(line_sku.shape[0]):
        s = line_sku[line]
        if s >= 0:
            most += stock_indptr[s + 1] - stock_indptr[s]
    cand_line = np.empty(most, dtype=np.int64)
    cand_row = np.empty(most, dtype=np.int64)
    cand_ub = np.empty(most, dtype=np.int64)
    cand_pair = np.empty(most, dtype=np.int64)
    pair_order = np.empty(most, dtype=np.int64)
    pair_node = np.empty(most, dtype=np.int64)
    pair_cost = np.empty(most, dtype=np.float64)
    # Per-order caches keyed by a stamp, so nothing is cleared between orders.
    stamp = np.full(n_nodes, -1, dtype=np.int64)
    eligible = np.zeros(n_nodes, dtype=np.bool_)
    pair_of_node = np.empty(n_nodes, dtype=np.int64)
    node_km = np.empty(n_nodes, dtype=np.float64)
    n_cand = 0
    n_pair = 0
    for o in range(n_orders):
        exempt = order_exempt[o]
        for line in range(line_indptr[o], line_indptr[o + 1]):
            s = line_sku[line]
            if s < 0:
                continue
            for row in range(stock_indptr[s], stock_indptr[s + 1]):
                n = stock_node[row]
                if stamp[n] != o:
                    stamp[n] = o
                    reason, node_km[n] = node_reason(
                        net,
                        n,
                        orders.order_channel[o],
                        orders.order_method[o],
                        orders.order_pickup[o],
                        orders.order_xyz[o],
                    )
                    eligible[n] = reason == ELIGIBLE
                    pair_of_node[n] = -1
                if not eligible[n]:
                    continue
                ub = min(line_qty[line], usable(stock_free, stock_limit, row, exempt))
                ub = min(ub, node_capacity[n])
                if ub <= 0:
                    continue
                if pair_of_node[n] < 0:
                    pair_of_node[n] = n_pair
                    pair_order[n_pair] = o
                    pair_node[n_pair] = n
                    pair_cost[n_pair] = package_cost_kernel(
                        net.package, net.node_handling[n], net.per_km, node_km[n]
                    )
                    n_pair += 1
                cand_line[n_cand] = line
                cand_row[n_cand] = row
                cand_ub[n_cand] = ub
                cand_pair[n_cand] = pair_of_node[n]
                n_cand += 1
    return (
        cand_line[:n_cand],
        cand_row[:n_cand],
        cand_ub[:n_cand],
        cand_pair[:n_cand],
        pair_order[:n_pair],
        pair_node[:n_pair],
        pair_cost[:n_pair],
    )
