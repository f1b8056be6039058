"""Node potentials of an optimal min-cost flow (the line-split relaxation's prices).

The Python driver is ``solvers.optimal.line_flow``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["potentials"]


@njit(cache=True, nogil=True)
def potentials(
    tails: np.ndarray,
    heads: np.ndarray,
    capacity: np.ndarray,
    cost: np.ndarray,
    flow: np.ndarray,
    n_vertices: int,
) -> tuple[np.ndarray, bool]:
    """Shortest distances in the residual graph of an optimal flow (Bellman-Ford).

    Every vertex starts at 0 (a virtual root joined to all), so the distances are
    <= 0 and ``cost + d[tail] - d[head] >= 0`` on every residual arc: ``-d`` are
    node potentials proving the flow optimal, and an arc whose reduced cost is
    negative is saturated, its dual ``d[head] - d[tail] - cost``. Returns the
    distances and whether they settled (an optimal flow has no negative cycle,
    so they settle within ``n_vertices`` passes).
    """
    d = np.zeros(n_vertices, dtype=np.int64)
    for _ in range(n_vertices):
        changed = False
        for a in range(tails.shape[0]):
            u, v, c = tails[a], heads[a], cost[a]
            if flow[a] < capacity[a] and d[u] + c < d[v]:
                d[v] = d[u] + c
                changed = True
            if flow[a] > 0 and d[v] - c < d[u]:
                d[u] = d[v] - c
                changed = True
        if not changed:
            return d, True
    return d, False
