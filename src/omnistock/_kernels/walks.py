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
def _before(
    policy: int,
    li: int,
    a: int,
    b: int,
    cand_node: np.ndarray,
    cand_half: np.ndarray,
    cand_row: np.ndarray,
    free_left: np.ndarray,
    prio: np.ndarray,
    pickup: int,
) -> bool:
    """Whether candidate ``a`` comes before ``b`` in the walk of line ``li``."""
    if cand_node[a] == pickup or cand_node[b] == pickup:
        return cand_node[a] == pickup
    if policy == NEAREST and cand_half[a] != cand_half[b]:
        return cand_half[a] < cand_half[b]
    if policy == MOST_STOCK:
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
    policy: int,
    cand_node: np.ndarray,  # int64[m]
    cand_half: np.ndarray,  # float64[m]: half chords, ordered like km
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
    ``search.best_decision``. The next node of a walk is picked when needed (a
    line is usually filled by its first node), never by sorting every candidate.
    """
    m = cand_node.shape[0]
    n_lines = qty.shape[0]
    prio = node_priority[cand_node]
    x = np.zeros((m, n_lines), dtype=np.int64)
    first_use = np.full(m, -1, dtype=np.int64)
    n_used = 0
    total_q = 0
    for li in range(n_lines):
        total_q += qty[li]
    if aon and k == 1:
        best = -1
        for j in range(m):
            if cap_left[cand_node[j]] < total_q:
                continue
            whole = True
            for li in range(n_lines):
                if cand_use[j, li] < qty[li]:
                    whole = False
                    break
            if whole and (
                best < 0
                or _before(
                    policy,
                    0,
                    j,
                    best,
                    cand_node,
                    cand_half,
                    cand_row,
                    free_left,
                    prio,
                    pickup,
                )
            ):
                best = j
        if best >= 0:
            x[best] = qty
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
                    if first_use[j] < 0 and n_used >= k:
                        continue  # would exceed the split limit
                    if best < 0 or _before(
                        policy,
                        li,
                        j,
                        best,
                        cand_node,
                        cand_half,
                        cand_row,
                        free_left,
                        prio,
                        pickup,
                    ):
                        best = j
                if best < 0:
                    break
                visited[best] = True
                t = min(need, cand_use[best, li], cap[best])
                if first_use[best] < 0:
                    first_use[best] = n_used
                    n_used += 1
                x[best, li] = t
                cap[best] -= t
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
