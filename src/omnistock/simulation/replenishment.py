"""Stock through a simulated stream: depletion, receipts, order-up-to replenishment.

A node-SKU's free units are its initial free units plus its receipts, less what the
stream took; non-exempt tiers together take at most that total less the protected
units (docs/semantics.md, S4, read over the whole stream or one plan period).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from omnistock.compiled import CompiledNetwork, CompiledOrders, CompiledScenario
from omnistock.compiled.allocations import Triples, stock_rows
from omnistock.compiled.nesting import initial_head
from omnistock.compiled.state import StockState, protected_limit
from omnistock.exceptions import OmnistockError
from omnistock.solvers.sequential import take_units

__all__ = [
    "OrderUpTo",
    "SimStock",
    "arrive",
    "protected_lines",
    "receipts_rows",
    "review",
]


@dataclass(frozen=True)
class OrderUpTo:
    """A periodic order-up-to replenishment rule.

    Every ``period_hours`` each node-SKU orders what brings its free units plus
    units on order back up to its initial free units; they arrive
    ``lead_time_hours`` later.
    """

    period_hours: float = 24.0
    lead_time_hours: float = 24.0


class SimStock:
    """Free units, non-exempt limits and daily capacity through the stream (see module doc).

    ``state`` holds the three counters (a :class:`~omnistock.compiled.StockState`);
    a protected limit is always derived by the one formula, ``protected_limit``.
    """

    def __init__(self, compiled: CompiledScenario) -> None:
        net = compiled.network
        self.net = net
        self.state = StockState.from_network(net)
        self.total = net.stock_free.copy()  # initial free + receipts so far
        self.protect = net.node_protect[net.stock_node]
        if net.levels.nested:  # v1.2: the heads protect, the scalar limit does not
            self.protect = np.zeros_like(self.protect)
        self.on_order = np.zeros_like(self.state.free)

    def scenario(self, orders: CompiledOrders) -> CompiledScenario:
        """The network as the stream left it, with ``orders`` to decide."""
        state = self.state
        return CompiledScenario(
            self.net.with_stock(
                free=state.free,
                limit=state.limit,
                capacity=state.capacity,
                head=state.head,
            ),
            orders,
        )

    def apply(self, compiled: CompiledScenario, triples: Triples, sign: int) -> None:
        """Take (``sign=+1``) or give back (``-1``) the units of allocation triples."""
        take_units(self.state, compiled, triples, sign)

    def receive(self, rows: np.ndarray, qty: np.ndarray) -> None:
        """Receive ``qty`` units into stock ``rows``; protection limits follow."""
        before = protected_limit(self.total[rows], self.protect[rows])
        level = self.net.stock_level[rows]
        head_before = initial_head(self.total[rows], level)
        np.add.at(self.total, rows, qty)
        np.add.at(self.state.free, rows, qty)
        after = protected_limit(self.total[rows], self.protect[rows])
        np.add.at(self.state.limit, rows, after - before)
        if self.state.head.size:  # v1.2: each level's bound rises with the total
            grown = initial_head(self.total[rows], level) - head_before
            np.add.at(self.state.head, rows, grown)

    def new_plan(self) -> None:
        """Open a new plan period: capacity and protection start from the stock at hand."""
        free = self.state.free
        self.total = free.copy()
        self.state = StockState(
            free,
            protected_limit(free, self.protect),
            self.net.node_capacity.copy(),
            initial_head(free, self.net.stock_level),
        )

    def restart_protection(self) -> None:
        """v1.2: the nested heads start again from the stock at hand (a new table period)."""
        if self.state.head.size:
            self.state.head[:] = initial_head(self.state.free, self.net.stock_level)


def receipts_rows(
    net: CompiledNetwork, receipts: pl.DataFrame | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Stock rows, hours and units of a receipts frame (hour, node_id, sku, qty)."""
    if receipts is None or receipts.height == 0:
        empty = np.empty(0, dtype=np.int64)
        return empty, np.empty(0, dtype=np.float64), empty
    missing = {"hour", "node_id", "sku", "qty"} - set(receipts.columns)
    if missing:
        msg = f"receipts: missing column(s) {sorted(missing)}. Got columns {receipts.columns}."
        raise OmnistockError(msg)
    node = np.array(
        [net.node_index.get(n, -1) for n in receipts["node_id"].to_list()],
        dtype=np.int64,
    )
    sku = np.array(
        [net.sku_index.get(s, -1) for s in receipts["sku"].to_list()], dtype=np.int64
    )
    rows = stock_rows(net, sku, node)
    if np.any(rows < 0):
        bad = int(np.flatnonzero(rows < 0)[0])
        msg = (
            f"receipts[{bad}] (node {receipts['node_id'][bad]!r}, sku {receipts['sku'][bad]!r}): "
            "the node holds no stock row for this SKU in the network."
        )
        raise OmnistockError(msg)
    return (
        rows,
        receipts["hour"].cast(pl.Float64).to_numpy(),
        receipts["qty"].cast(pl.Int64).to_numpy(),
    )


def arrive(
    stock: SimStock,
    rows: np.ndarray,
    hours: np.ndarray,
    qty: np.ndarray,
    scheduled: list[tuple[float, np.ndarray, np.ndarray]],
    now: float,
) -> None:
    """Receive what is due at ``now`` (receipts due at the segment's start)."""
    due = np.abs(hours - now) < 1e-9
    if due.any():
        stock.receive(rows[due], qty[due])
    for item in [s for s in scheduled if abs(s[0] - now) < 1e-9]:
        stock.receive(item[1], item[2])
        stock.on_order[item[1]] -= item[2]
        scheduled.remove(item)


def review(
    stock: SimStock, rule: OrderUpTo, now: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """Order what brings free + on order back to the initial free units."""
    want = stock.net.stock_free - stock.state.free - stock.on_order
    rows = np.flatnonzero(want > 0)
    qty = want[rows]
    stock.on_order[rows] += qty
    return now + rule.lead_time_hours, rows, qty


def protected_lines(stock: SimStock, sub: CompiledScenario) -> np.ndarray:
    """Bool per line of ``sub``: some node holds units of its SKU only exempt tiers may take."""
    net = stock.net
    protected = (stock.state.free > stock.state.limit).astype(np.int64)
    # Sums per SKU by cumulative sums: reduceat fails on trailing SKUs without
    # rows (a stream's SKU no node stocks).
    csum = np.concatenate([[0], np.cumsum(protected)])
    per_sku = csum[net.stock_indptr[1:]] - csum[net.stock_indptr[:-1]]
    sku = sub.orders.line_sku
    return np.where(sku >= 0, per_sku[np.maximum(sku, 0)] > 0, False)
