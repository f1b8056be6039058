"""The exact decision for one order: branch-and-bound over node subsets (docs/solvers.md).

Given the order's candidates (``candidates.collect_candidates``) the order's part of
the objective is

``sum over shipping nodes (F[n] + c[n] * y[n]) + w * (Q - sum y)``

with ``F`` the package cost (package + handling + per_km * km), ``c`` the unit cost,
``y`` the units a node gives, ``Q`` the units ordered and ``w`` the unfilled cost of
one unit (costs.unfilled x tier weight). For a fixed node subset the best units are
an exact transportation flow (``transport.allocate``). The search:

1. "nothing" and every single-node cover (vectorised) give the first incumbent;
2. a global bound (two cheapest packages plus the relaxed variable cost) usually
   proves a single node optimal at once;
3. otherwise a depth-first branch-and-bound: branch on one line, each child adds one
   node holding that line (siblings in ascending package cost, earlier siblings
   forbidden in later ones, so every subset is met at most once), and a last child
   forbids the line's remaining nodes. A subtree is pruned by a per-line relaxation
   in which a new node's package cost is spread over the units it could give
   (``c + F / U``), which is a valid lower bound.

Ties (costs within ``TIE_TOL``) go to fewer packages, then the lower sum of node
priorities, then the lexicographically smaller list of node positions.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from omnistock._kernels.subsets import (
    INF,
    TIE_TOL,
    better,
    branch_and_bound,
    prunable,
    relaxed,
)
from omnistock._kernels.transport import allocate

__all__ = ["TIE_TOL", "best_decision"]


@njit(cache=True, nogil=True)
def best_decision(
    cand_node: np.ndarray,  # int64[m]
    cand_km: np.ndarray,  # float64[m]
    cand_use: np.ndarray,  # int64[m, n_lines]
    cap_left: np.ndarray,  # int64[n_nodes]
    node_handling: np.ndarray,  # float64[n_nodes]
    node_unit_cost: np.ndarray,  # float64[n_nodes]
    node_priority: np.ndarray,  # int64[n_nodes]
    qty: np.ndarray,  # int64[n_lines]
    penalty: float,  # unfilled cost of one unit of this order
    k: int,  # split limit
    aon: bool,  # all-or-nothing
    package: float,
    per_km: float,
) -> tuple[np.ndarray, np.ndarray, int]:
    """The cheapest decision for one order (ties as in the module docstring).

    Returns
    -------
    sel : int64[b]
        Candidate positions that ship, in fill order.
    x : int64[b, n_lines]
        Units each of them gives to each line.
    evaluated : int
        Node subsets whose flow was solved (search effort).
    """
    m = cand_node.shape[0]
    n_lines = qty.shape[0]
    total_q = 0
    for li in range(n_lines):
        total_q += qty[li]
    capc = np.empty(m, dtype=np.int64)
    fixed = np.empty(m, dtype=np.float64)
    unit = np.empty(m, dtype=np.float64)
    prio = np.empty(m, dtype=np.int64)
    use = np.empty((m, n_lines), dtype=np.int64)
    most = np.empty(m, dtype=np.int64)
    for j in range(m):
        n = cand_node[j]
        capc[j] = min(cap_left[n], total_q)
        fixed[j] = package + node_handling[n] + per_km * cand_km[j]
        unit[j] = node_unit_cost[n]
        prio[j] = node_priority[n]
        tot = 0
        for li in range(n_lines):
            u = min(cand_use[j, li], qty[li])
            use[j, li] = u
            tot += u
        most[j] = min(capc[j], tot)

    # Incumbent: nothing, then every single-node cover.
    inc_cost = penalty * total_q
    inc_pk = 0
    inc_prio = 0
    inc_nodes = np.empty(0, dtype=np.int64)
    inc_sel = np.empty(0, dtype=np.int64)
    one = np.empty(1, dtype=np.int64)
    for j in range(m):
        if aon:
            if capc[j] < total_q:
                continue
            full = True
            for li in range(n_lines):
                if use[j, li] < qty[li]:
                    full = False
                    break
            if not full:
                continue
            cost = fixed[j] + unit[j] * total_q
        else:
            if unit[j] >= penalty or most[j] == 0:
                continue
            cost = fixed[j] + unit[j] * most[j] + penalty * (total_q - most[j])
        one[0] = cand_node[j]
        if better(cost, 1, prio[j], one, inc_cost, inc_pk, inc_prio, inc_nodes):
            inc_cost, inc_pk, inc_prio = cost, 1, prio[j]
            inc_nodes = one.copy()
            inc_sel = np.full(1, j, dtype=np.int64)

    evaluated = 0
    kmax = min(k, m, total_q)
    vstar = f1 = f2 = 0.0
    if kmax >= 2:
        vstar, f1, f2 = relaxed(unit, fixed, use, capc, qty, penalty, aon)
        if vstar == INF or prunable(f1 + f2 + vstar, 2, inc_cost, inc_pk):
            kmax = 0
    if kmax >= 2:
        # Only a node whose package fits under the incumbent with one more can
        # join a better subset: most of a large network drops out here.
        keep = np.empty(m, dtype=np.int64)
        n_keep = 0
        for j in range(m):
            if not prunable(fixed[j] + f1 + vstar, 2, inc_cost, inc_pk):
                keep[n_keep] = j
                n_keep += 1
        keep = keep[:n_keep]
        sub_use = use[keep]
        sub_cap = capc[keep]
        if n_keep >= 2:
            vstar, _, _ = relaxed(
                unit[keep], fixed[keep], sub_use, sub_cap, qty, penalty, aon
            )
        if n_keep >= 2 and vstar < INF:
            found, sel, evaluated = branch_and_bound(
                cand_node[keep],
                prio[keep],
                fixed[keep],
                unit[keep],
                sub_use,
                sub_cap,
                most[keep],
                qty,
                penalty,
                aon,
                min(kmax, n_keep),
                vstar,
                inc_cost,
                inc_pk,
                inc_prio,
                inc_nodes,
            )
            if found:
                inc_sel = keep[sel]

    x = allocate(inc_sel, use, capc, qty)
    ships = np.zeros(inc_sel.shape[0], dtype=np.bool_)
    for a in range(inc_sel.shape[0]):
        for li in range(n_lines):
            if x[a, li] > 0:
                ships[a] = True
    return inc_sel[ships], x[ships], evaluated
