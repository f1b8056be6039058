"""Shortcuts of the v1.1 search (``rated_search``), each exact (docs/decisions.md, "rate cards").

* :func:`uncoupled` / :func:`per_line`: when no node of a subset can bind its
  capacity, the subset's min-cost flow splits into one sorted fill per line;
* :func:`fill_all` and :func:`in_package_order`: the search's first bound and
  its package order over only the nodes that can fit, without sorting them all;
* :func:`single_bound`: what one node can do at best, before its flow;
* :func:`undominated`: nodes no optimal decision of two or more packages ships
  from, left out of the subset enumeration.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numba import njit

from omnistock._kernels.subsets import INF

__all__ = [
    "fill_all",
    "in_package_order",
    "per_line",
    "single_bound",
    "uncoupled",
    "undominated",
]


@njit(cache=True, nogil=True)
def uncoupled(subset: np.ndarray, rt: Any) -> bool:
    """Whether no node of ``subset`` can bind its capacity (it holds no more than it may send)."""
    for a in range(subset.shape[0]):
        j = subset[a]
        if rt.use[j].sum() > rt.cap[j]:
            return False
    return True


@njit(cache=True, nogil=True)
def per_line(subset: np.ndarray, rt: Any) -> tuple[float, np.ndarray]:
    """:func:`rated_search._flow` when no capacity binds: each line from its cheapest units alone.

    Without a shared capacity the flow's paths never reroute, so each line's
    units fill from its cheapest nodes of ``subset``. The best partial fill takes
    every unit dearer than nothing (below the penalty) and pays the charge when
    something is left; the full fill takes every line's cheapest ``qty`` units;
    the partial fill wins ties (as in the flow, which reaches it first).
    """
    unit, use, qty = rt.unit, rt.use, rt.qty
    penalty = rt.penalty
    s = subset.shape[0]
    n_lines = qty.shape[0]
    x_part = np.zeros((s, n_lines), dtype=np.int64)
    x_full = np.zeros((s, n_lines), dtype=np.int64)
    sorted_a = np.empty(s, dtype=np.int64)
    part = 0.0
    full = 0.0
    short = False  # the partial fill leaves something unfilled
    can_fill = True
    for li in range(n_lines):
        for a in range(s):  # insertion sort by unit cost, stable (few nodes)
            q = a
            while q > 0 and unit[subset[sorted_a[q - 1]], li] > unit[subset[a], li]:
                sorted_a[q] = sorted_a[q - 1]
                q -= 1
            sorted_a[q] = a
        need = qty[li]
        need_part = qty[li]
        for q in range(s):
            if need == 0:
                break
            a = sorted_a[q]
            j = subset[a]
            t = min(need, use[j, li])
            if t == 0:
                continue
            x_full[a, li] = t
            full += t * unit[j, li]
            need -= t
            if unit[j, li] < penalty:
                x_part[a, li] = t
                part += t * unit[j, li]
                need_part -= t
        if need > 0:
            can_fill = False
        if need_part > 0:
            short = True
            part += need_part * penalty
    if not short:
        return part, x_part
    if rt.all_or_nothing:
        return (full, x_full) if can_fill else (INF, x_full)
    part += rt.charge
    if can_fill and full < part:
        return full, x_full
    return part, x_part


@njit(cache=True, nogil=True)
def undominated(keep: np.ndarray, rt: Any, total_q: int, tol: float) -> np.ndarray:
    """``keep`` without the nodes no optimal decision of two or more packages ships from.

    Node ``b`` is dominated by ``a`` when ``a`` can take over whatever ``b``
    ships, alongside whatever ``a`` ships itself, at no more cost: ``a`` may
    send the whole order (capacity), holds each line ``b`` holds in full, at a
    unit cost no dearer, and its package is cheaper by more than the tie
    tolerance ``tol`` (the incumbent's, so any decision worth finding costs no
    more). Moving ``b``'s units to ``a`` then drops ``b``'s package or swaps it
    for a cheaper one, with the same units served: strictly cheaper, so no
    optimum ships from ``b``. Stock at least ``b``'s alone would not do: a
    decision needing both ``a``'s and ``b``'s units could not move them.
    """
    unit, use, cap, qty, fixed = rt.unit, rt.use, rt.cap, rt.qty, rt.fixed
    n_lines = qty.shape[0]
    out = np.empty(keep.shape[0], dtype=np.int64)
    n_out = 0
    for p in range(keep.shape[0]):
        b = keep[p]
        dominated = False
        for q in range(keep.shape[0]):
            a = keep[q]
            if a == b or cap[a] < total_q or fixed[a] >= fixed[b] - tol:
                continue
            dominated = True
            for li in range(n_lines):
                if use[b, li] > 0 and (
                    use[a, li] < qty[li] or unit[a, li] > unit[b, li]
                ):
                    dominated = False
                    break
            if dominated:
                break
        if not dominated:
            out[n_out] = b
            n_out += 1
    return out[:n_out]


#: Cheapest nodes :func:`fill_all` picks one by one before it sorts the line.
FILL_PICKS = 8


@njit(cache=True, nogil=True)
def fill_all(rt: Any) -> float:
    """``rated_search._var_bound`` with nothing chosen and every candidate allowed.

    Each line from its cheapest units over all candidates (each up to its stock
    and capacity), the rest at the penalty (and the charge when nothing holds
    it); ``inf`` when an all-or-nothing order cannot be filled. A line usually
    fills from one or two nodes, so the cheapest are picked one by one (O(m)
    each) and the line is sorted only past ``FILL_PICKS`` picks. The total is
    the sum of the same cheapest units whatever the order of equal prices.
    """
    unit, use, cap, qty = rt.unit, rt.use, rt.cap, rt.qty
    penalty, all_or_nothing = rt.penalty, rt.all_or_nothing
    m = unit.shape[0]
    taken = np.zeros(m, dtype=np.bool_)
    total = 0.0
    short = False
    for li in range(qty.shape[0]):
        taken[:] = False
        need = qty[li]
        picks = 0
        ranked = np.empty(0, dtype=np.int64)
        while need > 0:
            best = -1
            if picks < FILL_PICKS:
                price = INF
                for j in range(m):
                    if not taken[j] and use[j, li] > 0 and unit[j, li] < price:
                        best, price = j, unit[j, li]
            else:
                if ranked.shape[0] == 0:
                    ranked = np.argsort(unit[:, li], kind="mergesort")
                for r in range(m):
                    if not taken[ranked[r]] and use[ranked[r], li] > 0:
                        best = int(ranked[r])
                        break
            picks += 1
            if best < 0:
                if all_or_nothing:
                    return INF
                short = True
                total += need * penalty
                break
            if not all_or_nothing and unit[best, li] >= penalty:
                total += need * penalty
                break
            taken[best] = True
            t = min(need, use[best, li], cap[best])
            total += t * unit[best, li]
            need -= t
    return total + rt.charge if short else total


@njit(cache=True, nogil=True)
def in_package_order(rt: Any, mask: np.ndarray) -> np.ndarray:
    """The candidates where ``mask`` holds by package cost, then priority, then position.

    The order of the search (a stable sort of all candidates by priority, then
    by package), over only the candidates that can still fit.
    """
    sub = np.nonzero(mask)[0]
    sub = sub[np.argsort(rt.prio[sub], kind="mergesort")]
    return sub[np.argsort(rt.fixed[sub], kind="mergesort")]


@njit(cache=True, nogil=True)
def single_bound(j: int, rt: Any) -> float:
    """A lower bound on the variable cost of shipping from candidate ``j`` alone.

    Per line, the units ``j`` can give (its stock, and its capacity for that
    line alone) at the cheaper of its unit cost and the penalty, the rest at the
    penalty; the unfilled-order charge when some line cannot be filled from
    ``j`` (then some unit is surely unfilled); ``inf`` for an all-or-nothing
    order ``j`` cannot fill. Shared capacity is dropped: a relaxation. O(lines),
    no allocation: most single nodes of a many-line order are dismissed here.
    """
    unit, use, qty = rt.unit, rt.use, rt.qty
    penalty = rt.penalty
    total = 0.0
    short = False
    for li in range(qty.shape[0]):
        t = min(use[j, li], rt.cap[j])
        if t < qty[li]:
            if rt.all_or_nothing:
                return INF
            short = True
        total += t * min(unit[j, li], penalty) + (qty[li] - t) * penalty
    return total + rt.charge if short else total
