"""The stock counters every decision is taken against, and the ONE formula behind them.

A stock row's *free* units are ``max(0, on_hand - reserved - safety)``
(docs/semantics.md, S2); its *limit* is ``max(0, free - protect)``: what orders of a
non-exempt tier may still take together (last-unit protection, S4). A node's
*capacity* is the units it may still give (S5, ``NO_LIMIT`` when unlimited).

:class:`StockState` holds the three counter arrays. Batch solvers copy the
network's (``StockState.from_network``), the Sourcer keeps one for its lifetime,
a live pool writes its own; :func:`free_units` and :func:`protected_limit` are
the only places the formula is written, so every one of them agrees.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from omnistock._kernels.records import StateRecord, state_record

if TYPE_CHECKING:
    from omnistock.compiled.network import CompiledNetwork

__all__ = ["StockState", "free_units", "protected_limit"]


def free_units(
    on_hand: np.ndarray, reserved: np.ndarray, safety: np.ndarray
) -> np.ndarray:
    """int64: units of each row any order may take, ``max(0, on_hand - reserved - safety)``."""
    return np.asarray(np.maximum(0, on_hand - reserved - safety), dtype=np.int64)


def protected_limit(free: np.ndarray, protect: np.ndarray) -> np.ndarray:
    """int64: units non-exempt orders may take together, ``max(0, free - protect)``."""
    return np.asarray(np.maximum(0, free - protect), dtype=np.int64)


@dataclass(eq=False)
class StockState:
    """The live counters of one plan or one service, int64 and C-contiguous.

    Attributes
    ----------
    free : int64[nnz]
        Units all orders may still take from each stock row.
    limit : int64[nnz]
        Units orders of non-exempt tiers may still take, together, from each row.
    capacity : int64[n_nodes]
        Units each node may still give (``NO_LIMIT`` when unlimited).
    head : int64[nnz, n_classes]
        Contract v1.2's nested headroom per row and tier class
        (``compiled/nesting.py``); 0 columns for a v1 scenario.
    """

    free: np.ndarray
    limit: np.ndarray
    capacity: np.ndarray
    head: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.int64))

    def __post_init__(self) -> None:
        # int64 contiguous arrays are kept as given (not copied), so a live pool's
        # counters can back a state that kernels write through.
        self.free = np.ascontiguousarray(self.free, dtype=np.int64)
        self.limit = np.ascontiguousarray(self.limit, dtype=np.int64)
        self.capacity = np.ascontiguousarray(self.capacity, dtype=np.int64)
        self.head = np.ascontiguousarray(self.head, dtype=np.int64)

    @classmethod
    def from_network(cls, net: CompiledNetwork) -> StockState:
        """Fresh counters (copies) at the network's stock, protection and capacity."""
        return cls(
            net.stock_free.astype(np.int64, copy=True),
            net.stock_limit.astype(np.int64, copy=True),
            net.node_capacity.astype(np.int64, copy=True),
            net.head.astype(np.int64, copy=True),
        )

    @functools.cached_property
    def record(self) -> StateRecord:
        """The kernels' record over these very arrays: a kernel's takes show here.

        Built once; the arrays are therefore never re-bound, only written.
        """
        return state_record(self)

    @classmethod
    def of_network(cls, net: CompiledNetwork) -> StockState:
        """The network's own counters, not copied: for kernels that only read them."""
        return cls(net.stock_free, net.stock_limit, net.node_capacity, net.head)

    def copy(self) -> StockState:
        """An independent copy of the counters."""
        return StockState(
            self.free.copy(), self.limit.copy(), self.capacity.copy(), self.head.copy()
        )
