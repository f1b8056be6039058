"""Union-find over orders that share a binding constraint (independent components).

The Python driver is ``solvers.optimal.candidates.components``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["find", "flatten", "link", "link_into"]


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
def link_into(
    parent: np.ndarray,  # int64[n_orders]: the union-find so far, written in place
    first: np.ndarray,  # int64[n_keys]: first order seen on each key (-1: none yet)
    cand_order: np.ndarray,
    cand_key: np.ndarray,  # int64[n_cand]: binding constraint id, -1 for none
) -> None:
    """Join the orders of these candidates that share a key into ``parent``.

    Called once per chunk of candidates, it links a batch whose candidates never
    all sit in memory at once (``solvers.optimal.candidates.component_profile``).
    """
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


@njit(cache=True, nogil=True)
def flatten(parent: np.ndarray) -> np.ndarray:
    """``parent`` with every order pointing at its root (in place; returned)."""
    for o in range(parent.shape[0]):
        parent[o] = find(parent, o)
    return parent


@njit(cache=True, nogil=True)
def link(
    n_orders: int,
    cand_order: np.ndarray,
    cand_key: np.ndarray,  # int64[n_cand]: binding constraint id, -1 for none
    n_keys: int,
) -> np.ndarray:
    """int64[n_orders]: the root order of each order's component (union-find)."""
    parent = np.arange(n_orders)
    link_into(parent, np.full(n_keys, -1, dtype=np.int64), cand_order, cand_key)
    return flatten(parent)
