"""The exact decision for one order: branch-and-bound over node subsets (docs/solvers.md).

Given the order's candidates (``candidates.collect_candidates``) the order's part of
the objective is

``sum over shipping nodes (F[n] + c[n] * y[n]) + w * (Q - sum y)``

with ``F`` the package cost (package + handling + per_km * km), ``c`` the unit cost,
``y`` the units a node gives, ``Q`` the units ordered and ``w`` the unfilled cost of
one unit (costs.unfilled x tier weight). For a fixed node subset the best units are
an exact transportation flow (``transport.allocate``). The search:

1. "nothing" and every single-node cover (vectorised) give the first incumbent;
   a node's km (an ``asin``) is taken only when its single cover, bounded below
   with the half chord (``asin(h) >= h``), can compete;
2. a global bound (two cheapest packages plus the relaxed variable cost) usually
   proves a single node optimal at once;
3. otherwise, over the nodes whose package fits under the incumbent with one more
   (their km now exact), a depth-first branch-and-bound: branch on one line, each child adds one
   node holding that line (siblings in ascending package cost, earlier siblings
   forbidden in later ones, so every subset is met at most once), and a last child
   forbids the line's remaining nodes. A subtree is pruned by a per-line relaxation
   in which a new node's package cost is spread over the units it could give
   (``c + F / U``), which is a valid lower bound.

Ties (costs within ``TIE_TOL``) go to fewer packages, then the lower sum of node
priorities, then the lexicographically smaller list of node positions.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.candidates import km_from_half
from omnistock._kernels.cost import package_cost_kernel
from omnistock._kernels.geo import EARTH_RADIUS_KM
from omnistock._kernels.subsets import (
    INF,
    TIE_TOL,
    Incumbent,
    Subproblem,
    better,
    branch_and_bound,
    prunable,
    relaxed,
)
from omnistock._kernels.transport import allocate

__all__ = ["TIE_TOL", "best_decision"]


_TWO_R = 2.0 * EARTH_RADIUS_KM


@njit(cache=True, nogil=True, inline="always")
def _exact_package(
    j: int,
    fixed: np.ndarray,
    exact: np.ndarray,
    cand_node: np.ndarray,
    cand_half: np.ndarray,
    costs: tuple[float, np.ndarray, float],  # package, node handling, per_km
) -> float:
    """Replace candidate ``j``'s bound by its exact package cost; return the raise."""
    package, node_handling, per_km = costs
    old = fixed[j]
    km = km_from_half(cand_half[j])
    fixed[j] = package_cost_kernel(package, node_handling[cand_node[j]], per_km, km)
    exact[j] = True
    return fixed[j] - old


@njit(cache=True, nogil=True)
def best_decision(
    cands: Any,  # candidates.collect_candidates: (node, half chord, use, row)
    net: Any,  # records.NetworkRecord: handling, priority, package, per_km
    cap_left: np.ndarray,  # int64[n_nodes]
    request: Any,  # records.Request: qty, unit cost, penalty, split limit, all-or-nothing
) -> tuple[np.ndarray, np.ndarray, int]:
    """The cheapest decision for one order (ties as in the module docstring).

    The order's lines are ``request.line_qty``, its unit costs
    ``request.unit_cost``, one unfilled unit costs ``request.penalty``.

    Returns
    -------
    sel : int64[b]
        Candidate positions that ship, in fill order.
    units : int64[b, n_lines]
        Units each of them gives to each line.
    evaluated : int
        Node subsets whose flow was solved (search effort).
    """
    cand_node, cand_half, cand_use, _ = cands
    node_handling = net.node_handling
    node_priority = net.node_priority
    package = net.package
    per_km = net.per_km
    costs = (package, node_handling, per_km)
    node_unit_cost = request.unit_cost
    qty = request.line_qty
    penalty = request.penalty
    split_limit = request.split_limit
    all_or_nothing = request.all_or_nothing
    m = cand_node.shape[0]
    n_lines = qty.shape[0]
    total_q = 0
    for li in range(n_lines):
        total_q += qty[li]
    capc = np.empty(m, dtype=np.int64)
    fixed = np.empty(m, dtype=np.float64)  # package cost; exact only where known
    exact = np.zeros(m, dtype=np.bool_)
    unit = np.empty(m, dtype=np.float64)
    prio = np.empty(m, dtype=np.int64)
    use = np.empty((m, n_lines), dtype=np.int64)
    most = np.empty(m, dtype=np.int64)
    lone = np.empty(m, dtype=np.float64)  # lower bound on the node's single cover
    best_lone = -1
    for j in range(m):
        n = cand_node[j]
        capc[j] = min(cap_left[n], total_q)
        # asin(h) >= h: a lower bound on the package cost until the km is taken.
        fixed[j] = package + node_handling[n] + per_km * _TWO_R * cand_half[j]
        unit[j] = node_unit_cost[n]
        prio[j] = node_priority[n]
        tot = 0
        full = capc[j] >= total_q
        for li in range(n_lines):
            u = min(cand_use[j, li], qty[li])
            use[j, li] = u
            tot += u
            if u < qty[li]:
                full = False
        most[j] = min(capc[j], tot)
        if all_or_nothing:
            lone[j] = fixed[j] + unit[j] * total_q if full else INF
        elif unit[j] >= penalty or most[j] == 0:
            lone[j] = INF
        else:
            lone[j] = fixed[j] + unit[j] * most[j] + penalty * (total_q - most[j])
        if lone[j] < INF and (best_lone < 0 or lone[j] < lone[best_lone]):
            best_lone = j

    # Incumbent: nothing, then every single-node cover whose bound can compete
    # (the most promising first, so that few need their exact km).
    inc = Incumbent(penalty * total_q, 0, 0, np.empty(0, dtype=np.int64))
    inc_sel = np.empty(0, dtype=np.int64)
    one = np.empty(1, dtype=np.int64)
    # A split limit of 0 (a full locker, S11) leaves only "nothing".
    for step in range(m + 1 if split_limit >= 1 else 0):
        j = best_lone if step == 0 else step - 1
        if j < 0 or (step > 0 and j == best_lone) or lone[j] == INF:
            continue
        if prunable(lone[j], 1, inc):
            continue
        if not exact[j]:
            lone[j] += _exact_package(j, fixed, exact, cand_node, cand_half, costs)
        one[0] = cand_node[j]
        new = Incumbent(lone[j], 1, prio[j], one)
        if better(new, inc):
            inc = Incumbent(lone[j], 1, prio[j], one.copy())
            inc_sel = np.full(1, j, dtype=np.int64)

    evaluated = 0
    kmax = min(split_limit, m, total_q)
    vstar = f1 = f2 = 0.0
    if kmax >= 2:
        every = Subproblem(
            cand_node, prio, fixed, unit, use, capc, most, qty, penalty, all_or_nothing
        )
        vstar, f1, f2 = relaxed(every)
        if vstar == INF or prunable(f1 + f2 + vstar, 2, inc):
            kmax = 0
    if kmax >= 2:
        # Only a node whose package fits under the incumbent with one more can
        # join a better subset: most of a large network drops out here.
        keep = np.empty(m, dtype=np.int64)
        n_keep = 0
        for j in range(m):
            if not prunable(fixed[j] + f1 + vstar, 2, inc):
                keep[n_keep] = j
                n_keep += 1
        keep = keep[:n_keep]
        for a in range(n_keep):
            if not exact[keep[a]]:
                _exact_package(keep[a], fixed, exact, cand_node, cand_half, costs)
        kept = Subproblem(
            cand_node[keep],
            prio[keep],
            fixed[keep],
            unit[keep],
            use[keep],
            capc[keep],
            most[keep],
            qty,
            penalty,
            all_or_nothing,
        )
        if n_keep >= 2:
            vstar, _, _ = relaxed(kept)
        if n_keep >= 2 and vstar < INF:
            found, sel, evaluated = branch_and_bound(
                kept, min(kmax, n_keep), vstar, inc
            )
            if found:
                inc_sel = keep[sel]

    units = allocate(inc_sel, use, capc, qty)
    ships = np.zeros(inc_sel.shape[0], dtype=np.bool_)
    for a in range(inc_sel.shape[0]):
        for li in range(n_lines):
            if units[a, li] > 0:
                ships[a] = True
    return inc_sel[ships], units[ships], evaluated
