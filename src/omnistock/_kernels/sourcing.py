"""One order, or a whole batch in scenario order, decided exactly against the stock left.

:func:`decide_order` is the Sourcer's hot path (one call per order);
:func:`decide_batch` runs the same decision over every order of a compiled batch in
one call, taking each decision's units from the counters before the next order
(``protection.take``; capacity from ``state.capacity``). Both take records
(``records``): the network, the stock state, and one order or the batch.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.candidates import collect_candidates, km_from_half
from omnistock._kernels.codes import (
    COST_DISTANCE,
    COST_HANDLING,
    COST_PACKAGE,
    COST_UNFILLED,
    COST_UNIT,
    POLICY_GREEDY,
)
from omnistock._kernels.cost import unfilled_cost_kernel
from omnistock._kernels.lockers import count_packages, locker_of, parcel_limited
from omnistock._kernels.nested import close_view, open_view, take_head
from omnistock._kernels.protection import take, usable
from omnistock._kernels.rated_order import rated_order
from omnistock._kernels.records import make_request
from omnistock._kernels.search import best_decision
from omnistock._kernels.walks import walk

__all__ = ["commit_takes", "decide_batch", "decide_order", "snapshot_rows"]


@njit(cache=True, nogil=True)
def decide_order(
    net: Any,  # records.NetworkRecord
    state: Any,  # records.StateRecord: read, not changed
    request: Any,  # records.Request
    policy: int,  # codes.POLICY_GREEDY (exact) or a peer policy code
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The decision of ``policy`` for one order; the counters are read, not changed.

    ``POLICY_GREEDY`` is the cheapest decision (``search.best_decision``); the
    other codes are the peers' walks (``walks.walk``).

    Returns
    -------
    alloc_line, alloc_node, alloc_row, alloc_qty : int64[a]
        Line position (within the order), node, stock row and units of each
        allocation, by node in fill order then line.
    components : float64[8]
        The decision's cost by ``codes.RATED_COMPONENTS``: package, distance,
        handling, unit, unfilled, then contract v1.1's unit_distance, rate_card
        and unfilled_order (0 for an order with no v1.1 term).
    """
    cands = collect_candidates(net, state, request)
    cand_node, cand_half, _, cand_row = cands
    if net.rated or request.charge > 0.0:
        return rated_order(cands, net, state, request, policy)
    if policy == POLICY_GREEDY:
        sel, units, _ = best_decision(cands, net, state.capacity, request)
    else:
        sel, units = walk(policy, cands, net, state, request)
    line_qty = request.line_qty
    unit_cost = request.unit_cost
    node_handling = net.node_handling
    package, per_km = net.package, net.per_km
    n_lines = line_qty.shape[0]
    count = 0
    for a in range(sel.shape[0]):
        for li in range(n_lines):
            if units[a, li] > 0:
                count += 1
    alloc_line = np.empty(count, dtype=np.int64)
    alloc_node = np.empty(count, dtype=np.int64)
    alloc_row = np.empty(count, dtype=np.int64)
    alloc_qty = np.empty(count, dtype=np.int64)
    comp = np.zeros(8, dtype=np.float64)  # codes.RATED_COMPONENTS; v1 fills 5
    filled = 0
    p = 0
    for a in range(sel.shape[0]):
        j = sel[a]
        n = cand_node[j]
        comp[COST_PACKAGE] += package
        comp[COST_HANDLING] += node_handling[n]
        comp[COST_DISTANCE] += per_km * km_from_half(cand_half[j])
        for li in range(n_lines):
            q = units[a, li]
            if q > 0:
                alloc_line[p] = li
                alloc_node[p] = n
                alloc_row[p] = cand_row[j, li]
                alloc_qty[p] = q
                comp[COST_UNIT] += q * unit_cost[n]
                filled += q
                p += 1
    total_q = 0
    for li in range(n_lines):
        total_q += line_qty[li]
    if total_q > filled:
        comp[COST_UNFILLED] = request.penalty * (total_q - filled)
    return alloc_line, alloc_node, alloc_row, alloc_qty, comp


@njit(cache=True, nogil=True)
def decide_batch(
    net: Any,  # records.NetworkRecord
    state: Any,  # records.StateRecord: lowered in place, order by order
    orders: Any,  # records.OrdersRecord
    policy: int,  # codes.POLICY_*
    row_cost: np.ndarray,  # float64[nnz] opportunity cost per unit, or float64[0]
    order_class: np.ndarray,  # int64[n_orders]: tier class (S4 v1.2), or int64[0]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Decide every order in turn by ``policy``; returns triples (line, node, qty).

    A v1.2 scenario (``state.head`` has columns) decides each order of tier class
    ``order_class[o]`` on its nested view of the limits (``nested.open_view``,
    as a non-exempt request) and lowers the heads it counts in; a v1 scenario
    never enters that branch.

    With a non-empty ``row_cost`` each unit also costs the opportunity cost of its
    stock row (the look-ahead policy): ``float64[nnz]`` prices every tier alike,
    ``float64[2 * nnz]`` holds the non-exempt orders' prices then the exempt
    orders' (an exempt take does not use a row's protected limit, so it does not
    pay for it). The kernels price a unit per node, so each node gets the
    qty-weighted mean of its rows' costs over the order's lines it can give units
    of: exact for one-line orders and for nodes that can give one line, an
    average for the others. A unit left unfilled keeps its stock for later
    orders too, so it is not charged a price; to serve an order whenever greedy
    would (as Acimovic & Graves do), the order's unfilled cost is raised by the
    highest price among its rows: prices choose between nodes, they do not turn
    orders away.
    """
    line_indptr = orders.line_indptr
    cap_out = orders.line_qty.shape[0] + 16
    out_line = np.empty(cap_out, dtype=np.int64)
    out_node = np.empty(cap_out, dtype=np.int64)
    out_qty = np.empty(cap_out, dtype=np.int64)
    nnz = net.stock_node.shape[0]
    priced = row_cost.shape[0] > 0
    tiered = row_cost.shape[0] == 2 * nnz
    unit_cost = net.node_unit_cost.copy()
    # _price_order's scratch: units per node of the lines it can give
    units = np.zeros(unit_cost.shape[0] if priced else 0, dtype=np.int64)
    p = 0
    nested = state.head.shape[1] > 0
    no_rows = np.zeros(0, dtype=np.int64)
    for o in range(orders.order_channel.shape[0]):
        lo = line_indptr[o]
        exempt = orders.order_exempt[o]
        penalty = unfilled_cost_kernel(
            orders.order_unfilled[o], orders.order_weight[o], 1
        )
        request = make_request(orders, o, penalty, unit_cost, nested)
        rows, saved = no_rows, no_rows
        if nested:
            rows, _ = _order_rows(net.stock_indptr, request.line_sku)
            saved = open_view(state, net.stock_level, rows, order_class[o])
        if priced:
            prices = row_cost[nnz:] if tiered and exempt else row_cost[:nnz]
            surcharge = _price_order(unit_cost, units, net, state, prices, request)
            request = make_request(orders, o, penalty + surcharge, unit_cost, nested)
        locker = locker_of(net.node_kind, orders.order_pickup[o])
        if locker >= 0:  # S11: one parcel a package, at most the locker's left
            request = parcel_limited(request, state.capacity[locker])
        a_line, a_node, a_row, a_qty, _ = decide_order(net, state, request, policy)
        if locker >= 0:
            state.capacity[locker] -= count_packages(a_node)
        if priced:  # back to the plain unit costs for the next order
            _unprice_order(unit_cost, net, request.line_sku)
        if p + a_qty.shape[0] > cap_out:
            cap_out = 2 * (p + a_qty.shape[0])
            out_line = _grow(out_line, cap_out)
            out_node = _grow(out_node, cap_out)
            out_qty = _grow(out_qty, cap_out)
        for i in range(a_qty.shape[0]):
            take(state.free, state.limit, a_row[i], a_qty[i], exempt)
            if nested:
                take_head(
                    state.head, net.stock_level, a_row[i], order_class[o], a_qty[i]
                )
            state.capacity[a_node[i]] -= a_qty[i]
            out_line[p] = lo + a_line[i]
            out_node[p] = a_node[i]
            out_qty[p] = a_qty[i]
            p += 1
        if nested:
            close_view(state, rows, saved)
    return out_line[:p], out_node[:p], out_qty[:p]


@njit(cache=True, nogil=True)
def _price_order(
    unit_cost: np.ndarray,  # float64[n_nodes], raised in place
    units: np.ndarray,  # int64[n_nodes] scratch, all 0 on entry and on return
    net: Any,
    state: Any,
    row_cost: np.ndarray,  # float64[nnz]
    request: Any,  # records.Request: lines and tier of the order
) -> float:
    """Raise each node's unit cost by its qty-weighted mean row cost; the top price.

    A node's mean runs over the lines it can give units of (``usable > 0``), so
    a node that can give one line is priced exactly for it.
    """
    stock_node = net.stock_node
    free_left, limit_left = state.free, state.limit
    line_qty = request.line_qty
    exempt = request.exempt
    rows, lines = _order_rows(net.stock_indptr, request.line_sku)
    top = 0.0
    for i in range(rows.shape[0]):
        top = max(top, row_cost[rows[i]])
        if usable(free_left, limit_left, rows[i], exempt) > 0:
            units[stock_node[rows[i]]] += line_qty[lines[i]]
    for i in range(rows.shape[0]):
        n = stock_node[rows[i]]
        if units[n] > 0 and usable(free_left, limit_left, rows[i], exempt) > 0:
            unit_cost[n] += line_qty[lines[i]] / units[n] * row_cost[rows[i]]
    for i in range(rows.shape[0]):
        units[stock_node[rows[i]]] = 0
    return top


@njit(cache=True, nogil=True)
def _order_rows(
    stock_indptr: np.ndarray, line_sku: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The stock rows of the order's SKUs and the line (position) of each."""
    total = 0
    for li in range(line_sku.shape[0]):
        if line_sku[li] >= 0:
            total += stock_indptr[line_sku[li] + 1] - stock_indptr[line_sku[li]]
    rows = np.empty(total, dtype=np.int64)
    lines = np.empty(total, dtype=np.int64)
    p = 0
    for li in range(line_sku.shape[0]):
        if line_sku[li] >= 0:
            for r in range(stock_indptr[line_sku[li]], stock_indptr[line_sku[li] + 1]):
                rows[p] = r
                lines[p] = li
                p += 1
    return rows, lines


@njit(cache=True, nogil=True)
def _unprice_order(unit_cost: np.ndarray, net: Any, line_sku: np.ndarray) -> None:
    """Restore the plain unit cost of every node :func:`_price_order` touched."""
    stock_indptr, stock_node = net.stock_indptr, net.stock_node
    for li in range(line_sku.shape[0]):
        s = line_sku[li]
        if s < 0:
            continue
        for r in range(stock_indptr[s], stock_indptr[s + 1]):
            n = stock_node[r]
            unit_cost[n] = net.node_unit_cost[n]


@njit(cache=True, nogil=True)
def _grow(arr: np.ndarray, size: int) -> np.ndarray:
    out = np.empty(size, dtype=arr.dtype)
    out[: arr.shape[0]] = arr
    return out


@njit(cache=True, nogil=True)
def snapshot_rows(
    net: Any, state: Any, line_sku: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Copies of the counters of the order's stock rows: (rows, free, limit)."""
    stock_indptr = net.stock_indptr
    total = 0
    for li in range(line_sku.shape[0]):
        s = line_sku[li]
        if s >= 0:
            total += stock_indptr[s + 1] - stock_indptr[s]
    rows = np.empty(total, dtype=np.int64)
    p = 0
    for li in range(line_sku.shape[0]):
        s = line_sku[li]
        if s >= 0:
            for r in range(stock_indptr[s], stock_indptr[s + 1]):
                rows[p] = r
                p += 1
    return rows, state.free[rows], state.limit[rows]


@njit(cache=True, nogil=True)
def commit_takes(
    state: Any,  # records.StateRecord, lowered in place on success
    rows: np.ndarray,  # int64[a]: distinct stock rows
    nodes: np.ndarray,  # int64[a]
    qty: np.ndarray,  # int64[a]
    exempt: bool,
) -> tuple[int, int, int]:
    """Take every allocation, or none when one no longer fits.

    Returns ``(-1, 0, 0)`` on success, else ``(i, available, what)``: the first
    allocation that does not fit, the units available to it and ``what`` 0 for
    stock (free units or protection) or 1 for node capacity. Nothing changes then.
    """
    free_left, limit_left, cap_left = state.free, state.limit, state.capacity
    for i in range(rows.shape[0]):
        avail = usable(free_left, limit_left, rows[i], exempt)
        if qty[i] > avail:
            return i, avail, 0
        need = 0
        for j in range(rows.shape[0]):
            if nodes[j] == nodes[i]:
                need += qty[j]
        if need > cap_left[nodes[i]]:
            return i, cap_left[nodes[i]], 1
    for i in range(rows.shape[0]):
        take(free_left, limit_left, rows[i], qty[i], exempt)
        cap_left[nodes[i]] -= qty[i]
    return -1, 0, 0
