"""One order's decision and its cost under contract v1.1 terms (``sourcing.decide_order``).

The exact decision is :func:`rated_search.rated_decision`; a peer policy keeps
its walk (``walks.walk``) and is priced by the v1.1 objective. The components
are those of ``codes.RATED_COMPONENTS``, each unit priced by the one helper
``rates.line_unit_extra``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.codes import (
    COST_DISTANCE,
    COST_HANDLING,
    COST_PACKAGE,
    COST_UNFILLED,
    COST_UNIT,
    POLICY_GREEDY,
)
from omnistock._kernels.rated_search import rated_decision, rated_terms
from omnistock._kernels.rates import line_unit_extra, rated_package
from omnistock._kernels.walks import walk

__all__ = ["rated_order"]

#: Positions of the v1.1 components in ``codes.RATED_COMPONENTS``.
COST_UNIT_DISTANCE = 5
COST_RATE_CARD = 6
COST_UNFILLED_ORDER = 7


@njit(cache=True, nogil=True)
def rated_order(
    cands: Any,  # candidates.collect_candidates
    net: Any,  # records.NetworkRecord
    state: Any,  # records.StateRecord: read, not changed
    request: Any,  # records.Request
    policy: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``sourcing.decide_order`` for an order with a v1.1 term (same returns)."""
    cand_node, _, _, cand_row = cands
    terms = rated_terms(cands, net, request)
    if policy == POLICY_GREEDY:
        sel, units, _ = rated_decision(cands, terms, net, state.capacity, request)
    else:
        sel, units = walk(policy, cands, net, state, request)
    band, km = terms[2], terms[3]
    line_qty = request.line_qty
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
    comp = np.zeros(8, dtype=np.float64)
    filled = 0
    p = 0
    for a in range(sel.shape[0]):
        j = sel[a]
        n = cand_node[j]
        comp[COST_PACKAGE] += net.package
        comp[COST_HANDLING] += net.node_handling[n]
        comp[COST_DISTANCE] += net.per_km * km[j]
        comp[COST_RATE_CARD] += rated_package(net, band[j])
        for li in range(n_lines):
            q = units[a, li]
            if q > 0:
                alloc_line[p] = li
                alloc_node[p] = n
                alloc_row[p] = cand_row[j, li]
                alloc_qty[p] = q
                dist, card = line_unit_extra(
                    net, band[j], km[j], request.line_weight[li]
                )
                comp[COST_UNIT] += q * request.unit_cost[n]
                comp[COST_UNIT_DISTANCE] += q * dist
                comp[COST_RATE_CARD] += q * card
                filled += q
                p += 1
    total_q = line_qty.sum()
    if total_q > filled:
        comp[COST_UNFILLED] = request.penalty * (total_q - filled)
        comp[COST_UNFILLED_ORDER] = request.charge
    return alloc_line, alloc_node, alloc_row, alloc_qty, comp
