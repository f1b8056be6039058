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
from omnistock._kernels.components import flatten, link_into
from omnistock._kernels.cost import package_cost_kernel
from omnistock._kernels.eligibility import node_reason
from omnistock._kernels.protection import usable

__all__ = [
    "batch_candidates",
    "candidate_demand",
    "candidate_links",
    "order_candidates",
    "package_ok",
    "packages_ok",
]


@njit(cache=True, nogil=True)
def order_candidates(
    net: Any,  # records.NetworkRecord
    state: Any,  # records.StateRecord
    orders: Any,  # records.OrdersRecord
    o: int,
    scratch: tuple[np.ndarray, ...],  # per node: km float64, eligible bool, stamp int64
    out: tuple[np.ndarray, np.ndarray, np.ndarray],  # line, row, ub buffers (int64)
) -> int:
    """Write order ``o``'s (line, stock row, ub) candidates into the ``out`` buffers.

    Returns how many; the buffers must hold the rows of every line's SKU. A node
    is tested once per order (its ``stamp`` is set to ``o``; stamps start at -1
    and are never cleared); its km to the order is left in ``scratch[0]``.
    """
    node_km, eligible, stamp = scratch[0], scratch[1], scratch[2]
    out_line, out_row, out_ub = out
    stock_indptr, stock_node = net.stock_indptr, net.stock_node
    line_sku, line_qty = orders.line_sku, orders.line_qty
    exempt = orders.order_exempt[o]
    k = 0
    for line in range(orders.line_indptr[o], orders.line_indptr[o + 1]):
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
            if not eligible[n]:
                continue
            ub = min(line_qty[line], usable(state.free, state.limit, row, exempt))
            ub = min(ub, state.capacity[n])
            if ub <= 0:
                continue
            out_line[k] = line
            out_row[k] = row
            out_ub[k] = ub
            k += 1
    return k


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
    stock_indptr = net.stock_indptr
    line_sku = orders.line_sku
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
    pair_stamp = np.full(n_nodes, -1, dtype=np.int64)
    pair_of_node = np.empty(n_nodes, dtype=np.int64)
    node_km = np.empty(n_nodes, dtype=np.float64)
    n_cand = 0
    n_pair = 0
    for o in range(n_orders):
        k = order_candidates(
            net,
            state,
            orders,
            o,
            (node_km, eligible, stamp),
            (cand_line[n_cand:], cand_row[n_cand:], cand_ub[n_cand:]),
        )
        for c in range(n_cand, n_cand + k):
            n = net.stock_node[cand_row[c]]
            if pair_stamp[n] != o:
                pair_stamp[n] = o
                pair_of_node[n] = n_pair
                pair_order[n_pair] = o
                pair_node[n_pair] = n
                pair_cost[n_pair] = package_cost_kernel(
                    net.package, net.node_handling[n], net.per_km, node_km[n]
                )
                n_pair += 1
            cand_pair[c] = pair_of_node[n]
        n_cand += k
    return (
        cand_line[:n_cand],
        cand_row[:n_cand],
        cand_ub[:n_cand],
        cand_pair[:n_cand],
        pair_order[:n_pair],
        pair_node[:n_pair],
        pair_cost[:n_pair],
    )


@njit(cache=True, nogil=True)
def package_ok(
    single: bool, full_lines: int, n_lines: int, capacity: int, order_qty: int
) -> bool:
    """Whether a package is a candidate.

    Always, but for a ship-complete order (``single``) only with every line in
    full and the capacity for all its units.
    """
    return (not single) or (full_lines == n_lines and capacity >= order_qty)


@njit(cache=True, nogil=True)
def packages_ok(
    pair_order: np.ndarray,
    pair_node: np.ndarray,
    full_lines: np.ndarray,  # int64[n_pair]: lines the package holds in full
    capacity: np.ndarray,  # int64[n_nodes]
    rule: tuple[np.ndarray, np.ndarray, np.ndarray],  # per order: single, lines, qty
) -> np.ndarray:
    """bool[n_pair]: :func:`package_ok` of every package.

    ``rule`` holds per order whether it is ship-complete (bool), its number of
    lines and its units (int64).
    """
    single, n_lines, order_qty = rule
    ok = np.empty(pair_order.shape[0], dtype=np.bool_)
    for p in range(pair_order.shape[0]):
        o, n = pair_order[p], pair_node[p]
        ok[p] = package_ok(
            single[o], full_lines[p], n_lines[o], capacity[n], order_qty[o]
        )
    return ok


@njit(cache=True, nogil=True)
def _kept(
    net: Any,
    state: Any,
    orders: Any,
    o: int,
    rule: tuple[np.ndarray, np.ndarray],  # per order: ship-complete, units
    work: tuple[tuple[np.ndarray, ...], tuple[np.ndarray, np.ndarray, np.ndarray]],
) -> int:
    """Order ``o``'s candidates (into ``work[1]``) less those ``package_ok`` refuses."""
    single, order_qty = rule
    scratch, buf = work
    full = scratch[3]
    out_line, out_row, out_ub = buf
    k = order_candidates(net, state, orders, o, scratch, buf)
    if not single[o] or k == 0:
        return k
    for i in range(k):
        full[net.stock_node[out_row[i]]] = 0
    for i in range(k):
        if out_ub[i] >= orders.line_qty[out_line[i]]:
            full[net.stock_node[out_row[i]]] += 1
    n_lines = orders.line_indptr[o + 1] - orders.line_indptr[o]
    j = 0
    for i in range(k):
        n = net.stock_node[out_row[i]]
        if package_ok(True, full[n], n_lines, state.capacity[n], order_qty[o]):
            out_line[j], out_row[j], out_ub[j] = out_line[i], out_row[i], out_ub[i]
            j += 1
    return j


@njit(cache=True, nogil=True)
def _buffers(
    net: Any, orders: Any
) -> tuple[
    tuple[np.ndarray, ...],
    tuple[np.ndarray, np.ndarray, np.ndarray],
]:
    """Scratch per node (km, eligible, stamp, full lines) and buffers for any order."""
    n_nodes = net.node_xyz.shape[0]
    most = 0
    for o in range(orders.line_indptr.shape[0] - 1):
        rows = 0
        for line in range(orders.line_indptr[o], orders.line_indptr[o + 1]):
            s = orders.line_sku[line]
            if s >= 0:
                rows += net.stock_indptr[s + 1] - net.stock_indptr[s]
        most = max(most, rows)
    scratch = (
        np.empty(n_nodes, dtype=np.float64),
        np.zeros(n_nodes, dtype=np.bool_),
        np.full(n_nodes, -1, dtype=np.int64),
        np.zeros(n_nodes, dtype=np.int64),
    )
    buf = (
        np.empty(most, dtype=np.int64),
        np.empty(most, dtype=np.int64),
        np.empty(most, dtype=np.int64),
    )
    return scratch, buf


@njit(cache=True, nogil=True)
def candidate_demand(
    net: Any, state: Any, orders: Any, rule: tuple[np.ndarray, np.ndarray]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """What ``candidates`` would add up, without storing a candidate.

    ``rule``: per order whether it is ship-complete and its units. Returns the units the candidates could take per stock row (all orders,
    non-exempt orders) and per node, and the candidates of each order.
    """
    n_rows = net.stock_node.shape[0]
    n_orders = orders.line_indptr.shape[0] - 1
    demand_all = np.zeros(n_rows, dtype=np.int64)
    demand_protected = np.zeros(n_rows, dtype=np.int64)
    demand_node = np.zeros(net.node_xyz.shape[0], dtype=np.int64)
    count = np.zeros(n_orders, dtype=np.int64)
    work = _buffers(net, orders)
    buf = work[1]
    for o in range(n_orders):
        k = _kept(net, state, orders, o, rule, work)
        count[o] = k
        for i in range(k):
            row, ub = buf[1][i], buf[2][i]
            demand_all[row] += ub
            if not orders.order_exempt[o]:
                demand_protected[row] += ub
            demand_node[net.stock_node[row]] += ub
    return demand_all, demand_protected, demand_node, count


@njit(cache=True, nogil=True)
def candidate_links(
    net: Any,
    state: Any,
    orders: Any,
    rule: tuple[np.ndarray, np.ndarray],  # as for candidate_demand
    binds: tuple[np.ndarray, np.ndarray],  # row (free or limit), node capacity
) -> np.ndarray:
    """int64[n_orders]: each order's root (``components.link``), without storing.

    Orders are joined through the binding rows and nodes of their candidates.
    """
    row_binds, cap_binds = binds
    n_rows = net.stock_node.shape[0]
    n_orders = orders.line_indptr.shape[0] - 1
    parent = np.arange(n_orders)
    first = np.full(n_rows + cap_binds.shape[0], -1, dtype=np.int64)
    work = _buffers(net, orders)
    buf = work[1]
    one = np.zeros(1, dtype=np.int64)
    key = np.zeros(1, dtype=np.int64)
    for o in range(n_orders):
        k = _kept(net, state, orders, o, rule, work)
        one[0] = o
        for i in range(k):
            row = buf[1][i]
            node = net.stock_node[row]
            if row_binds[row]:
                key[0] = row
                link_into(parent, first, one, key)
            if cap_binds[node]:
                key[0] = n_rows + node
                link_into(parent, first, one, key)
    return flatten(parent)
