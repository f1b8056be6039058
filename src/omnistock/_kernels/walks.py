"""The peers' policies: one greedy walk per line over a fixed node order (docs/solvers.md).

``PRIORITY``: nodes by ascending priority, then scenario node order (Magento MSI's
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

import numpy as np
from numba import njit

GREEDY, PRIORITY, NEAREST, MOST_STOCK = 0, 1, 2, 3


@njit(cache=True, nogil=True)
def _walk_order(
    policy: int,
    li: int,
    cand_node: np.ndarray,
    cand_km: np.ndarray,
    cand_row: np.ndarray,
    free_left: np.ndarray,
    node_priority: np.ndarray,
    pickup: int,
) -> np.ndarray:
    """int64[m]: candidate positions in walk order for line ``li``."""
    m = cand_node.shape[0]
    prio = node_priority[cand_node]
    # Candidates are in node order, so stable sorts keep node order for ties.
    order = np.argsort(prio, kind="mergesort")
    if policy == NEAREST:
        order = order[np.argsort(cand_km[order], kind="mergesort")]
    elif policy == MOST_STOCK:
        stock = np.zeros(m, dtype=np.int64)
        for j in range(m):
            row = cand_row[j, li]
            if row >= 0:
                stock[j] = -free_left[row]
        order = order[np.argsort(stock[order], kind="mergesort")]
    if pickup >= 0:
        for p in range(m):
            if cand_node[order[p]] == pickup:
                first = order[p]
                for q in range(p, 0, -1):
                    order[q] = order[q - 1]
                order[0] = first
                break
    return order


@njit(cache=True, nogil=True)
def walk(
    policy: int,
    cand_node: np.ndarray,  # int64[m]
    cand_km: np.ndarray,  # float64[m]
    cand_use: np.ndarray,  # int64[m, n_lines]
    cand_row: np.ndarray,  # int64[m, n_lines]
    free_left: np.ndarray,  # int64[nnz]
    cap_left: np.ndarray,  # int64[n_nodes]
    node_priority: np.ndarray,  # int64[n_nodes]
    pickup: int,
    qty: np.ndarray,  # int64[n_lines]
    k: int,
    aon: bool,
) -> tuple[np.ndarray, np.ndarray]:
    """The policy's decision: candidate positions that ship (first use order) and units.

    Returns ``sel : int64[b]`` and ``x : int64[b, n_lines]`` like
    ``search.best_decision``.
    """
    m = cand_node.shape[0]
    n_lines = qty.shape[0]
    x = np.zeros((m, n_lines), dtype=np.int64)
    first_use = np.full(m, -1, dtype=np.int64)
    n_used = 0
    total_q = 0
    for li in range(n_lines):
        total_q += qty[li]
    if aon and k == 1:
        order = _walk_order(
            policy, 0, cand_node, cand_km, cand_row, free_left, node_priority, pickup
        )
        for j in order:
            if cap_left[cand_node[j]] < total_q:
                continue
            whole = True
            for li in range(n_lines):
                if cand_use[j, li] < qty[li]:
                    whole = False
                    break
            if whole:
                x[j] = qty
                first_use[j] = 0
                n_used = 1
                break
    else:
        cap = np.empty(m, dtype=np.int64)
        for j in range(m):
            cap[j] = cap_left[cand_node[j]]
        short = False
        order = _walk_order(
            policy, 0, cand_node, cand_km, cand_row, free_left, node_priority, pickup
        )
        for li in range(n_lines):
            need = qty[li]
            if li > 0 and policy == MOST_STOCK:
                order = _walk_order(
                    policy,
                    li,
                    cand_node,
                    cand_km,
                    cand_row,
                    free_left,
                    node_priority,
                    pickup,
                )
            for j in order:
                if need == 0:
                    break
                t = min(need, cand_use[j, li], cap[j])
                if t <= 0:
                    continue
                if first_use[j] < 0:
                    if n_used >= k:
                        continue  # would exceed the split limit
                    first_use[j] = n_used
                    n_used += 1
                x[j, li] = t
                cap[j] -= t
                need -= t
            if need > 0:
                short = True
        if aon and short:
            n_used = 0
    sel = np.empty(n_used, dtype=np.int64)
    for j in range(m):
        if 0 <= first_use[j] < n_used:
            sel[first_use[j]] = j
    out = np.empty((n_used, n_lines), dtype=np.int64)
    for a in range(n_used):
        out[a] = x[sel[a]]
    return sel, out
