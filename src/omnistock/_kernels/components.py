"""Union-find over orders that share a binding constraint (independent components).

The Python driver is ``solvers.optimal.candidates.components``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["find", "link"]


@njit(cache=True, nogil=True)
def find(parent: np.ndarray, i: int) -> int:
    """The root of ``i``, compressing the path to it."""
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:  # path compression
        nxt = parent[i]
        parent[i] = root
        i = nxt
    return root


@njit(cache=True, nogil=True)
def link(
    n_orders: int,
    cand_order: np.ndarray,
    cand_key: np.ndarray,  # int64[n_cand]: binding constraint id, -1 for none
    n_keys: int,
) -> np.ndarray:
    """int64[n_orders]: the root order of each order's component (union-find)."""
    parent = np.arange(n_orders)
    first = np.full(n_keys, -1, dtype=np.int64)
    for c in range(cand_order.shape[0]):
        k = cand_key[c]
        if k < 0:
            continue
        o = cand_order[c]
        if first[k] < 0:
            first[k] = o
        else:
            a, b = find(parent, o), find(parent, first[k])
            if a != b:
                parent[max(a, b)] = min(a, b)
    for o in range(n_orders):
        parent[o] = find(parent, o)
    return parent
