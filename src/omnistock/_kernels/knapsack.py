"""Each line's units taken cheapest first (the line-split bound's fractional knapsack).

The Python driver is ``solvers.optimal.bounds.line_split_bound``.
"""

from __future__ import annotations

import numpy as np
from numba import njit

__all__ = ["cheapest_first"]

# Runs up to this long are sorted by insertion (stable, no allocation).
_INSERTION = 32


@njit(cache=True, nogil=True)
def cheapest_first(
    line: np.ndarray, price: np.ndarray, ub: np.ndarray, qty: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """The candidates in (line, price) order and the units each takes to fill its line.

    ``line`` must be non-decreasing (candidates are listed line by line). Returns
    ``by`` (int64[n]: equal to ``np.lexsort((price, line))``, ties in list order)
    and ``take`` (float64[n], in ``by``'s order): ``min(ub, qty[line] - units
    before it in its line)``, at least 0. Sorting each line's short run alone
    is what makes this faster than a lexsort of the whole batch.
    """
    n = line.shape[0]
    by = np.empty(n, dtype=np.int64)
    take = np.empty(n, dtype=np.float64)
    start = 0
    while start < n:
        end = start + 1
        while end < n and line[end] == line[start]:
            end += 1
        if end - start <= _INSERTION:
            for k in range(start, end):
                j = k
                while j > start and price[by[j - 1]] > price[k]:
                    by[j] = by[j - 1]
                    j -= 1
                by[j] = k
        else:
            run = np.argsort(price[start:end], kind="mergesort")
            for k in range(end - start):
                by[start + k] = start + run[k]
        need = qty[line[start]]
        for k in range(start, end):
            units = ub[by[k]]
            got = min(units, max(need, 0.0))
            take[k] = got
            need -= units
        start = end
    return by, take
