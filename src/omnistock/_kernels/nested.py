"""Contract v1.2's nested protection (S4 v1.2) for one order of a tier class.

``level[r, c]`` is ``u_c(r)``, ``head[r, c]`` what the orders whose level is at
least ``u_c(r)`` may still take together from row ``r`` (``compiled/nesting.py``).
An order of class ``c`` may take :func:`nested_usable` units of a row, and its
take lowers the head of every class whose level is at most its own
(:func:`take_head`): those are the constraints it counts in.

The per-order kernels keep reading one scalar limit per row: for a v1.2 order the
caller writes the order's view (:func:`open_view`) into the state's ``limit`` of
the order's rows, decides it as a non-exempt order, then puts the limits back
(:func:`close_view`). A v1 scenario never comes here (the fast path).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

__all__ = ["close_view", "nested_usable", "open_view", "take_head", "take_heads"]


@njit(cache=True, nogil=True, inline="always")
def nested_usable(
    free: np.ndarray, head: np.ndarray, level: np.ndarray, row: int, c: int
) -> int:
    """Units of row ``row`` an order of class ``c`` may take now (S2 and S4 v1.2)."""
    if row < 0:
        return 0
    f = free[row]
    u = level[row, c]
    for k in range(level.shape[1]):
        if level[row, k] <= u and head[row, k] < f:
            f = head[row, k]
    return max(f, 0)


@njit(cache=True, nogil=True, inline="always")
def take_head(head: np.ndarray, level: np.ndarray, row: int, c: int, qty: int) -> None:
    """An order of class ``c`` took ``qty`` units of ``row``: lower the heads it is in."""
    u = level[row, c]
    for k in range(level.shape[1]):
        if level[row, k] <= u:
            head[row, k] -= qty


@njit(cache=True, nogil=True)
def open_view(state: Any, level: np.ndarray, rows: np.ndarray, c: int) -> np.ndarray:
    """Write class ``c``'s usable units into ``state.limit[rows]``; the old limits."""
    limit = state.limit
    saved = limit[rows].copy()
    for i in range(rows.shape[0]):
        limit[rows[i]] = nested_usable(state.free, state.head, level, rows[i], c)
    return saved


@njit(cache=True, nogil=True)
def close_view(state: Any, rows: np.ndarray, saved: np.ndarray) -> None:
    """Put back the limits :func:`open_view` replaced."""
    limit = state.limit
    for i in range(rows.shape[0]):
        limit[rows[i]] = saved[i]


@njit(cache=True, nogil=True)
def take_heads(
    state: Any, level: np.ndarray, rows: np.ndarray, qty: np.ndarray, c: int
) -> None:
    """:func:`take_head` for each (row, qty) an order of class ``c`` took."""
    for i in range(rows.shape[0]):
        take_head(state.head, level, rows[i], c, qty[i])
