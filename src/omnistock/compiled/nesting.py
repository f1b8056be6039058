"""Contract v1.2's nested protection (S4 v1.2) as arrays: a level per row and tier class.

Orders fall into *tier classes*: one per tier named by the scenario's ``protection``
table or by ``rules.exempt_tiers``, and one last class for every other tier (they
all follow v1's rule, so they protect alike). ``level[r, c]`` is ``u_c(r)``: the
units of stock row ``r`` an order of class ``c`` must leave. The nested rule says,
per row and class, that the orders whose level is at least ``u_c(r)`` take
together at most ``max(0, free(r) - u_c(r))``.

A batch keeps one *headroom* counter per row and class, ``head[r, c]``: that
bound less what those orders already took. An order of class ``c`` may take
``min(free_left[r], head[r, c'] for every c' with level[r, c'] <= level[r, c])``
and its take lowers each of those heads. :func:`initial_head` is the one
formula of the start (on ``compiled/state.py``'s ``protected_limit``).

Without a ``protection`` table there are no classes (``level`` has 0 columns)
and every solver keeps v1's scalar limit per row (the fast path).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from omnistock.compiled.state import protected_limit

if TYPE_CHECKING:
    from omnistock.compiled.network import CompiledNetwork
    from omnistock.compiled.scenario import CompiledScenario

__all__ = [
    "TierLevels",
    "head_usage",
    "initial_head",
    "order_classes",
    "protected_units",
    "tier_levels",
]


@dataclass(frozen=True, eq=False)
class TierLevels:
    """The tier classes of a network and the protected amount per row and class.

    Attributes
    ----------
    tiers : tuple[str, ...]
        The named tier classes; class ``len(tiers)`` holds every other tier.
    level : int64[nnz, n_classes]
        ``u_c(r)``; ``n_classes == 0`` without a protection table (v1).
    """

    tiers: tuple[str, ...]
    level: np.ndarray

    @property
    def nested(self) -> bool:
        """The scenario has a protection table: the nested rule applies."""
        return bool(self.level.shape[1] > 0)

    def tier_class(self, tier: str) -> int:
        """The class of ``tier`` (the last class for unnamed tiers)."""
        try:
            return self.tiers.index(tier)
        except ValueError:
            return len(self.tiers)

    def order_class(self, tiers: Sequence[str] | np.ndarray) -> np.ndarray:
        """int64[n]: the class of each tier (0 for all when not nested)."""
        if not self.nested:
            return np.zeros(len(tiers), dtype=np.int64)
        index = {t: i for i, t in enumerate(self.tiers)}
        other = len(self.tiers)
        return np.fromiter(
            (index.get(str(t), other) for t in tiers), dtype=np.int64, count=len(tiers)
        )


def tier_levels(
    protection: Sequence[tuple[str, str, str, int]],
    exempt_tiers: frozenset[str],
    node_ids: np.ndarray,
    node_protect: np.ndarray,
    sku_ids: np.ndarray,
    stock_indptr: np.ndarray,
    stock_node: np.ndarray,
) -> TierLevels:
    """The classes and ``u_c(r)`` of each stock row (docs/semantics.md, S4 v1.2).

    An entry (node, sku, tier, units) sets ``u`` of its row for its tier; any other
    (row, tier) keeps v1's rule: 0 for exempt tiers, the node kind's
    ``last_unit_protection`` otherwise. Entries of node-SKUs without a row do
    nothing.
    """
    nnz = stock_node.shape[0]
    if not protection:
        return TierLevels((), np.zeros((nnz, 0), dtype=np.int64))
    tiers = tuple(sorted({e[2] for e in protection} | set(exempt_tiers)))
    level = np.empty((nnz, len(tiers) + 1), dtype=np.int64)
    v1 = node_protect[stock_node]
    for c, tier in enumerate(tiers):
        level[:, c] = 0 if tier in exempt_tiers else v1
    level[:, len(tiers)] = v1
    node_index = {str(n): i for i, n in enumerate(node_ids)}
    sku_index = {str(s): i for i, s in enumerate(sku_ids)}
    for node, sku, tier, units in protection:
        s = sku_index.get(sku)
        if s is None:
            continue
        lo, hi = stock_indptr[s], stock_indptr[s + 1]
        r = lo + int(np.searchsorted(stock_node[lo:hi], node_index[node]))
        if r < hi and stock_node[r] == node_index[node]:
            level[r, tiers.index(tier)] = units
    return TierLevels(tiers, level)


def initial_head(free: np.ndarray, level: np.ndarray) -> np.ndarray:
    """int64[nnz, n_classes]: ``max(0, free - u_c)`` per row and class (no take yet)."""
    return np.ascontiguousarray(
        protected_limit(free[:, None], level).reshape(level.shape), dtype=np.int64
    )


def order_classes(compiled: CompiledScenario) -> np.ndarray:
    """int64[n_orders]: each order's tier class; ``int64[0]`` for a v1 scenario."""
    levels = compiled.network.levels
    if not levels.nested:
        return np.zeros(0, dtype=np.int64)
    return levels.order_class(compiled.orders.order_tier)


def head_usage(
    compiled: CompiledScenario,
    line_idx: np.ndarray,
    node_idx: np.ndarray,
    qty: np.ndarray,
) -> np.ndarray:
    """int64[nnz, n_classes]: what the triples take from each nested head.

    A take of class ``c`` from row ``r`` counts in the head of every class whose
    level on ``r`` is at most ``u_c(r)`` (``_kernels.nested.take_head``).
    """
    from omnistock.compiled.allocations import stock_rows

    net, orders = compiled.network, compiled.orders
    level = net.levels.level
    out = np.zeros(level.shape, dtype=np.int64)
    if not level.shape[1] or not len(qty):
        return out
    rows = stock_rows(net, orders.line_sku[line_idx], node_idx)
    cls = net.levels.order_class(orders.order_tier[orders.line_order[line_idx]])
    counts = level[rows] <= level[rows, cls][:, None]
    np.add.at(out, rows, counts * np.asarray(qty, dtype=np.int64)[:, None])
    return out


def protected_units(
    net: CompiledNetwork, line_sku: np.ndarray, tier: str, exempt: bool
) -> np.ndarray:
    """int64[n_nodes, n_lines]: ``u`` the tier leaves of each line's row per node.

    0 where the node has no row of the line's SKU; v1: the node kind's count
    for a non-exempt tier, 0 for an exempt one (``explain``'s ``protected``).
    """
    out = np.zeros((net.n_nodes, line_sku.shape[0]), dtype=np.int64)
    levels = net.levels
    for li, s in enumerate(line_sku.tolist()):
        if s < 0:
            continue
        lo, hi = int(net.stock_indptr[s]), int(net.stock_indptr[s + 1])
        nodes = net.stock_node[lo:hi]
        if levels.nested:
            out[nodes, li] = net.stock_level[lo:hi, levels.tier_class(tier)]
        elif not exempt:
            out[nodes, li] = net.node_protect[nodes]
    return out
