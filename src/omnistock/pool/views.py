"""The read side of a :class:`~omnistock.StockPool`: availability and stock views.

:class:`Views` is a mixin the pool inherits: both views copy the counters under
the pool's lock and build their frames outside it (docs/pool.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable

import polars as pl

from omnistock.pool.availability import View, pool_availability, stock_frame
from omnistock.pool.state import PoolState

__all__ = ["Views"]


class Views:
    """Availability and stock frames of a pool (mixed into StockPool)."""

    _state: PoolState
    lock: threading.RLock

    def free(
        self, node_id: str, sku: str, *, exempt: bool = True, tier: str | None = None
    ) -> int:
        """Units of (node_id, sku) a reservation of this kind may take now (0 if no row).

        ``tier`` (contract v1.2): a reservation of that tier, which on a pool with
        a protection table may take ``max(0, free - u_tier)``; it sets ``exempt``.
        """
        with self.lock:
            state = self._state
            exempt = state.exempt_of(tier, exempt)
            return state.usable(state.row(node_id, sku), exempt, tier)

    def availability(
        self,
        *,
        channel: str | None = None,
        tier: str | None = None,
        skus: Iterable[str] | None = None,
        by: View = "sku",
    ) -> pl.DataFrame:
        """What may be promised now, per SKU (``by="sku"``) or per node-SKU (``"node"``).

        Parameters
        ----------
        channel
            Count only the nodes that serve this channel; None: every node.
        tier
            A tier not in ``rules.exempt_tiers`` sees free units less the
            protected ones; None: no protection (all free units).
        skus
            The SKUs to show, in this order (unknown SKUs show zeros); None: all.
        by
            ``"sku"``: columns sku, on_hand, reserved, free, available, nodes
            (sums over the channel's nodes; ``nodes`` counts those with
            available > 0). ``"node"``: one row per stock row of the channel's
            nodes: node_id, sku, on_hand, reserved, safety_stock, free, available.
        """
        return pool_availability(
            self._state, self.lock, channel=channel, tier=tier, skus=skus, by=by
        )

    def stock(self) -> pl.DataFrame:
        """Every stock row: node_id, sku and its counters.

        Columns on_hand, reserved, safety_stock, free, shipped, received,
        returned (restocked returns) and returned_unsellable.
        """
        with self.lock:
            cols = {name: a.copy() for name, a in self._state.columns().items()}
            net = self._state.network  # a return may add a row: read both together
        return stock_frame(net, cols)
