"""The peers' policies: one greedy walk per line over a fixed node order (docs/solvers.md).

Policy codes are ``codes.POLICY_*``. ``PRIORITY``: nodes by ascending priority, then scenario node order (Magento MSI's
priority selection, Saleor's sorting order, Solidus). ``NEAREST``: by ascending km,
then priority, then node order (Magento MSI's distance selection). ``MOST_STOCK``:
per line, by descending free units of that line's SKU left, then priority, then node
order (Saleor's high-stock strategy). A pickup order's pickup node comes first in
every walk.

Each line in turn takes as much as it can from each node in walk order; a node that
would open a package beyond the split limit is skipped. An all-or-nothing order
that ends incomplete gets nothing. An order that must come complete from one node
(``ship_complete``, or all-or-nothing with split limit 1) is served whole by the
first node in walk order (for ``MOST_STOCK``, the walk of its first line) that can
serve every line, else gets nothing.

The walks read only the order's candidates (``candidates.collect_candidates``):
eligible nodes with capacity left and usable units, so every rule holds.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
from numba import njit

from omnistock._kernels.codes import POLICY_MOST_STOCK, POLICY_NEAREST

__all__ = ["walk"]


class _Order(NamedTuple):
    """What ranks one order's candidates: node, half chord, rows, stock, priority."""

    cand_node: np.ndarray  # int64[m]
    cand_half: np.ndarray  # float64[m]: half chords, ordered like km
    cand_row: np.ndarray  # int64[m, n_lines]
    free: np.ndarray  # int64[nnz]: free units left per stock row
    prio: np.ndarray  # int64[m]: the candidates' node priorities
    pickup: int  # the pickup node, -1 for none


@njit(cache=True, nogil=True)
def _before(policy: int, li: int, a: int, b: int, order: _Order) -> bool:
    """Whether candidate ``a`` comes before ``b`` in the walk of line ``li``."""
    cand_node, cand_half, cand_row = order.cand_node, order.cand_half, order.cand_row
    free_left, prio, pickup = order.free, order.prio, order.pickup
    if cand_node[a] == pickup or cand_node[b] == pickup:
        return cand_node[a] == pickup
    if policy == POLICY_NEAREST and cand_half[a] != cand_half[b]:
        return cand_half[a] < cand_half[b]
    if policy == POLICY_MOST_STOCK:
        ra = cand_row[a, li]
        rb = cand_row[b, li]
        fa = free_left[ra] if ra >= 0 else 0
        fb = free_left[rb] if rb >= 0 else 0
        if fa != fb:
            return fa > fb
    if prio[a] != prio[b]:
        return prio[a] < prio[b]
    return a < b  # candidates are in scenario node order


@njit(cache=True, nogil=True)
def walk(
    policy: int,  # codes.POLICY_PRIORITY, POLICY_NEAREST or POLICY_MOST_STOCK
    cands: Any,  # candidates.collect_candidates: (node, half chord, use, row)
    net: Any,  # records.NetworkRecord: node_priority
    state: Any,  # records.StateRecord: free units, capacity
    request: Any,  # records.Request: pickup, qty, split limit, all-or-nothing
) -> tuple[np.ndarray, np.ndarray]:
    """The policy's decision: candidate positions that ship (first use order) and units.

    Returns ``sel : int64[b]`` and ``units : int64[b, n_lines]`` like
    ``search.best_decision``. The next node of a walk is picked when needed (a
    line is usually filled by its first node), never by sorting every candidate.
    """
    cand_node, cand_half, cand_use, cand_row = cands
    free_left = state.free
    cap_left = state.capacity
    pickup = request.pickup
    qty = request.line_qty
    split_limit = request.split_limit
    all_or_nothing = request.all_or_nothing
    m = cand_node.shape[0]
    n_lines = qty.shape[0]
    prio = net.node_priority[cand_node]
    ranks = _Order(cand_node, cand_half, cand_row, free_left, prio, pickup)
    units = np.zeros((m, n_lines), dtype=np.int64)
    first_use = np.full(m, -1, dtype=np.int64)
    n_used = 0
    total_q = 0
    for li in range(n_lines):
        total_q += qty[li]
    if all_or_nothing and split_limit == 1:
        best = -1
        for j in range(m):
            if cap_left[cand_node[j]] < total_q:
                continue
            whole = True
            for li in range(n_lines):
                if cand_use[j, li] < qty[li]:
                    whole = False
                    break
            if whole and (best < 0 or _before(policy, 0, j, best, ranks)):
                best = j
        if best >= 0:
            units[best] = qty
            first_use[best] = 0
            n_used = 1
    else:
        cap = np.empty(m, dtype=np.int64)
        for j in range(m):
            cap[j] = cap_left[cand_node[j]]
        visited = np.zeros(m, dtype=np.bool_)
        short = False
        for li in range(n_lines):
            need = qty[li]
            visited[:] = False
            while need > 0:
                best = -1
                for j in range(m):
                    if visited[j] or cand_use[j, li] <= 0 or cap[j] <= 0:
                        continue
                    if first_use[j] < 0 and n_used >= split_limit:
                        continue  # would exceed the split limit
                    if best < 0 or _before(policy, li, j, best, ranks):
                        best = j
                if best < 0:
                    break
                visited[best] = True
                t = min(need, cand_use[best, li], cap[best])
                if first_use[best] < 0:
                    first_use[best] = n_used
                    n_used += 1
                units[best, li] = t
                cap[best] -= t
                need -= t
            if need > 0:
                short = True
        if all_or_nothing and short:
            n_used = 0
    sel = np.empty(n_used, dtype=np.int64)
    for j in range(m):
        if 0 <= first_use[j] < n_used:
            sel[first_use[j]] = j
    out = np.empty((n_used, n_lines), dtype=np.int64)
    for a in range(n_used):
        out[a] = units[sel[a]]
    return sel, out
