"""Exact unit allocation of one order over a fixed set of nodes (a tiny transportation problem).

Given the nodes that ship an order, what is left is a bipartite flow: node ``i``
gives at most ``cap[i]`` units in all, at most ``use[i, l]`` of line ``l``, and line
``l`` takes at most ``qty[l]``. A node's unit cost does not depend on the line, so
the set of achievable per-node totals is a polymatroid and the greedy rule is exact:
saturate the nodes one at a time in order of preference (cheapest unit first),
rerouting earlier units along augmenting paths, which never lowers an earlier
node's total. The same routine gives the cheapest full fill (all-or-nothing orders)
and the cheapest profitable partial fill (the caller passes only nodes whose unit
cost is below the unfilled penalty).
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True)
def allocate(
    sel: np.ndarray,  # int64[s]: candidate positions, most preferred first
    use: np.ndarray,  # int64[m, n_lines]: usable units per (candidate, line)
    cap: np.ndarray,  # int64[m]: units each candidate may still give
    qty: np.ndarray,  # int64[n_lines]
) -> np.ndarray:
    """int64[s, n_lines]: units each selected node gives to each line.

    Each node in turn ships as many units as the flow allows, given the units of
    the nodes before it (whose totals are kept, their lines may be swapped).
    """
    s = sel.shape[0]
    n_lines = qty.shape[0]
    units = np.zeros((s, n_lines), dtype=np.int64)
    dem = qty.copy()
    out = np.zeros(s, dtype=np.int64)
    left = 0
    for li in range(n_lines):
        left += dem[li]
    line_from = np.empty(n_lines, dtype=np.int64)
    line_seen = np.empty(n_lines, dtype=np.bool_)
    node_from = np.empty(s, dtype=np.int64)
    node_seen = np.empty(s, dtype=np.bool_)
    queue = np.empty(s, dtype=np.int64)
    for i in range(s):
        ci = sel[i]
        # Direct units first: most orders need no rerouting.
        for li in range(n_lines):
            r = min(use[ci, li] - units[i, li], dem[li], cap[ci] - out[i])
            if r > 0:
                units[i, li] += r
                dem[li] -= r
                out[i] += r
                left -= r
        while out[i] < cap[ci] and left > 0 and i > 0:
            line_seen[:] = False
            node_seen[:] = False
            node_seen[i] = True
            queue[0] = i
            head, tail, target = 0, 1, -1
            while head < tail and target < 0:
                a = queue[head]
                head += 1
                ca = sel[a]
                for li in range(n_lines):
                    if line_seen[li] or units[a, li] >= use[ca, li]:
                        continue
                    line_seen[li] = True
                    line_from[li] = a
                    if dem[li] > 0:
                        target = li
                        break
                    for b in range(i):
                        if not node_seen[b] and units[b, li] > 0:
                            node_seen[b] = True
                            node_from[b] = li
                            queue[tail] = b
                            tail += 1
            if target < 0:
                break
            delta = min(dem[target], cap[ci] - out[i])
            li = target
            while True:
                a = line_from[li]
                delta = min(delta, use[sel[a], li] - units[a, li])
                if a == i:
                    break
                back = node_from[a]
                delta = min(delta, units[a, back])
                li = back
            li = target
            dem[li] -= delta
            left -= delta
            while True:
                a = line_from[li]
                units[a, li] += delta
                if a == i:
                    break
                back = node_from[a]
                units[a, back] -= delta
                li = back
            out[i] += delta
    return units
