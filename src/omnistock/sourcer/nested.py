"""The Sourcer on a v1.2 scenario: one order of a tier decided and taken on its view.

The kernels read one scalar limit per row. For an order of tier ``t`` on a
network with a ``protection`` table, :func:`tier_view` gives a state whose
limits on the order's rows are what ``t`` may take there (``_kernels.nested``),
and :func:`take_all_nested` checks and takes a decision's units the same way
under the lock, lowering the nested heads it counts in. A v1 scenario never
comes here (docs/semantics.md, S4 v1.2).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from omnistock._kernels import nested, sourcing
from omnistock.compiled import CompiledNetwork, StockState

if TYPE_CHECKING:
    from omnistock.pool.pool import StockPool
    from omnistock.sourcer.decision import Decision
    from omnistock.sourcer.state import SourcingState

__all__ = ["pool_stock", "take_all_nested", "tier_view"]


def tier_view(
    net: CompiledNetwork, stock: StockState, line_sku: np.ndarray, tier: str
) -> StockState:
    """``stock`` with its limits on the order's rows replaced by ``tier``'s view.

    The free units, heads and capacity are the live arrays; the limits a copy.
    """
    view = StockState(stock.free, stock.limit.copy(), stock.capacity, stock.head)
    rows = sourcing.snapshot_rows(net.record, view.record, line_sku)[0]
    c = net.levels.tier_class(tier)
    nested.open_view(view.record, net.stock_level, rows, c)
    return view


def take_all_nested(
    state: SourcingState, decision: Decision, net: CompiledNetwork
) -> tuple[int, int, int]:
    """``SourcingState.take_all`` for a v1.2 decision; the caller holds the lock.

    The tier's view stands in the rows' limits while the takes are checked and
    taken, then the heads the tier counts in fall and the limits come back.
    """
    record = state.stock.record
    rows, qty = decision.row_idx, decision.qty
    c = net.levels.tier_class(decision.order.tier)
    saved = nested.open_view(record, net.stock_level, rows, c)
    try:
        bad, avail, what = state.take_all(rows, decision.node_idx, qty, False)
        if bad < 0:
            nested.take_heads(record, net.stock_level, rows, qty, c)
    finally:
        nested.close_view(record, rows, saved)
    return bad, avail, what


def pool_stock(pool: StockPool) -> StockState:
    """The pool's live counters as a StockState (heads included)."""
    return StockState(
        pool.free_left, pool.limit_left, pool.capacity_left, pool.head_left
    )
