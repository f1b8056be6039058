"""A :class:`Decision`: what the Sourcer decided for one order.

Kept apart from :mod:`omnistock.sourcer.service` so each module stays small; the
Decision reads its Sourcer's network for names and ``explain``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import polars as pl

from omnistock._kernels.codes import COMPONENTS, RATED_COMPONENTS
from omnistock._kernels.records import Request
from omnistock.compiled import CompiledNetwork
from omnistock.model.orders import Order
from omnistock.plan import ALLOCATION_SCHEMA, UNFILLED_SCHEMA

if TYPE_CHECKING:
    from omnistock.sourcer.service import Sourcer

__all__ = ["Decision"]

_Arrays = tuple[np.ndarray, ...]


class Decision:
    """What the Sourcer decided for one order; commit it to take the stock.

    Attributes
    ----------
    order
        The order.
    cost
        The order's part of the objective (docs/semantics.md, S9).
    cost_breakdown
        ``cost`` by component: package, distance, handling, unit, unfilled.
    line_idx, node_idx, row_idx, qty : int64[a]
        Each allocation's line (position in ``order.lines``), node, stock row, units.
    exempt
        Whether the order's tier may take protected units.
    request
        The order as the kernels read it (``_kernels.records.Request``).
    committed
        Whether :meth:`Sourcer.commit` applied it.
    """

    __slots__ = (
        "_allocations",
        "_sourcer",
        "_state",
        "amended",
        "committed",
        "cost_breakdown",
        "exempt",
        "line_idx",
        "line_sku",
        "network",
        "node_idx",
        "order",
        "qty",
        "request",
        "row_idx",
    )

    def __init__(
        self,
        sourcer: Sourcer,
        order: Order,
        request: Request,
        arrays: _Arrays,
        state: _Arrays,
        network: CompiledNetwork | None = None,
    ) -> None:
        self._sourcer = sourcer
        #: The network the decision was made on: its rows are the ones
        #: ``row_idx`` and the explanation refer to (a pool may add rows later).
        self.network = sourcer.network if network is None else network
        self.order = order
        self.request = request
        self.line_sku = request.line_sku
        self.line_idx, self.node_idx, self.row_idx, self.qty, comp = arrays
        # Contract v1.1's three components show when the order has such a term.
        names = (
            RATED_COMPONENTS
            if self.network.rated or request.charge > 0.0
            else COMPONENTS
        )
        self.cost_breakdown = {name: float(comp[i]) for i, name in enumerate(names)}
        self.exempt = request.exempt
        self.committed = False
        #: The lines of the reservation an amend replaced (Sourcer.amend), or None.
        self.amended: tuple[tuple[str, str, int], ...] | None = None
        self._state = state
        self._allocations: pl.DataFrame | None = None

    @property
    def cost(self) -> float:
        """The order's part of the objective."""
        return sum(self.cost_breakdown.values())

    @property
    def allocations(self) -> pl.DataFrame:
        """One row per (order, SKU, node) with ``qty > 0`` (``Plan.allocations`` columns)."""
        if self._allocations is None:
            lines = self.order.lines
            self._allocations = pl.DataFrame(
                {
                    "order_id": [self.order.id] * len(self.qty),
                    "sku": [lines[i].sku for i in self.line_idx.tolist()],
                    "node_id": self.network.node_ids[self.node_idx].tolist(),
                    "qty": self.qty,
                },
                schema=ALLOCATION_SCHEMA,
            )
        return self._allocations

    @property
    def unfilled(self) -> pl.DataFrame:
        """One row per line with units left unfilled (``Plan.unfilled`` columns)."""
        filled = np.bincount(
            self.line_idx, weights=self.qty, minlength=len(self.order.lines)
        )
        rows = [
            (self.order.id, line.sku, line.qty - int(f))
            for line, f in zip(self.order.lines, filled, strict=True)
            if line.qty > f
        ]
        return pl.DataFrame(rows, schema=UNFILLED_SCHEMA, orient="row")

    def explain(self) -> pl.DataFrame:
        """Why each node was or was not used, at the stock this decision saw (docs/explain.md).

        A decision of :meth:`Sourcer.amend` has two more columns: ``kept``, the
        units served from a node that already held them for the order, and
        ``moved``, the units newly taken there.
        """
        from omnistock.explain import explain_decision

        frame = explain_decision(self)
        if self.amended is None:
            return frame
        return frame.with_columns(**self._kept_and_moved(frame["node_id"]))

    def _kept_and_moved(self, node_ids: pl.Series) -> dict[str, pl.Series]:
        """Per node, the units an amendment kept where they were held, and moved there.

        A unit of a SKU is kept at a node when the replaced reservation held
        that SKU there too (up to what it held); the rest of the node's units
        for the order were moved to it.
        """
        held: dict[tuple[str, str], int] = {}
        for node_id, sku, qty in self.amended or ():
            held[node_id, sku] = held.get((node_id, sku), 0) + qty
        kept: dict[str, int] = {}
        moved: dict[str, int] = {}
        for node_id, sku, qty in self.allocations.select(
            "node_id", "sku", "qty"
        ).iter_rows():
            k = min(qty, held.get((node_id, sku), 0))
            held[node_id, sku] = held.get((node_id, sku), 0) - k
            kept[node_id] = kept.get(node_id, 0) + k
            moved[node_id] = moved.get(node_id, 0) + qty - k
        names = node_ids.to_list()
        return {
            "kept": pl.Series([kept.get(n, 0) for n in names], dtype=pl.Int64),
            "moved": pl.Series([moved.get(n, 0) for n in names], dtype=pl.Int64),
        }

    def __repr__(self) -> str:
        return (
            f"Decision(order={self.order.id!r}, units={int(self.qty.sum())}, "
            f"nodes={len(set(self.node_idx.tolist()))}, cost={self.cost:.2f}, "
            f"committed={self.committed})"
        )
