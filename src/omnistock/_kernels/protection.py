"""Free units, last-unit protection and capacity left (docs/semantics.md, S2, S4, S5).

Stock state is two counters per stock row, kept by whoever owns the state (a batch
solver, the Sourcer, the live pool):

``free_left[r]``
    units all orders may still take from row ``r``;
``limit_left[r]``
    units non-exempt orders may still take, together, from row ``r``.

In a batch plan they start at ``stock_free`` and ``stock_limit`` and every take
lowers ``free_left``; a non-exempt take also lowers ``limit_left`` (the nested
protection limits of S4). The live pool instead recomputes
``limit_left = max(0, free - protect)`` after each change (docs/decisions.md).
Either way a request reads them through :func:`usable`, the one place the
protection rule is applied.
"""

from __future__ import annotations

import numpy as np
from numba import njit


@njit(cache=True, nogil=True, inline="always")
def usable(
    free_left: np.ndarray, limit_left: np.ndarray, row: int, exempt: bool
) -> int:
    """Units of stock row ``row`` an order of this tier may take now."""
    if row < 0:
        return 0
    f = free_left[row]
    if exempt:
        return max(f, 0)
    lim = limit_left[row]
    return max(min(f, lim), 0)


@njit(cache=True, nogil=True, inline="always")
def take(
    free_left: np.ndarray, limit_left: np.ndarray, row: int, qty: int, exempt: bool
) -> None:
    """Record that an order of this tier took ``qty`` units of row ``row``."""
    free_left[row] -= qty
    if not exempt:
        limit_left[row] -= qty


@njit(cache=True, nogil=True)
def usable_rows(
    free_left: np.ndarray, limit_left: np.ndarray, rows: np.ndarray, exempt: bool
) -> np.ndarray:
    """int64[m]: :func:`usable` for each row in ``rows`` (-1 rows give 0)."""
    out = np.empty(rows.shape[0], dtype=np.int64)
    for i in range(rows.shape[0]):
        out[i] = usable(free_left, limit_left, rows[i], exempt)
    return out
