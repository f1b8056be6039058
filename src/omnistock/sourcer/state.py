"""The counters a :class:`omnistock.Sourcer` decides against, and their lock.

Kept apart from the Sourcer so that code which only takes units (the v1.2
commit in :mod:`omnistock.sourcer.nested`) does not import the whole Sourcer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

import numpy as np

from omnistock._kernels import sourcing
from omnistock._kernels.records import StateRecord, entry_point
from omnistock.compiled import CompiledNetwork
from omnistock.compiled.state import StockState

__all__ = ["SourcingState"]

# commit_takes as the Sourcer calls it (records.entry_point).
_CommitTakes = Callable[
    [StateRecord, np.ndarray, np.ndarray, np.ndarray, bool], tuple[int, int, int]
]


class SourcingState:
    """The counters a Sourcer decides against, guarded by one lock.

    Attributes
    ----------
    stock : StockState
        Free units, protected limits and capacity left (docs/semantics.md, S2,
        S4, S5); the kernels read and write these very arrays, so a live pool's
        counters can back them.
    lock : threading.Lock
        Held while a commit checks and applies its takes.
    """

    def __init__(
        self, stock: StockState, lock: threading.Lock | threading.RLock | None = None
    ) -> None:
        self.stock = stock
        self.lock = threading.Lock() if lock is None else lock
        # The kernel that takes is called through its compiled function (hot path).
        self._take: _CommitTakes | None = None

    @classmethod
    def from_network(cls, net: CompiledNetwork) -> SourcingState:
        """Counters at the network's stock: free, protected limit, capacity."""
        return cls(StockState.from_network(net))

    @property
    def free_left(self) -> np.ndarray:
        """int64[nnz]: units all orders may still take from each stock row."""
        return self.stock.free

    @property
    def limit_left(self) -> np.ndarray:
        """int64[nnz]: units non-exempt orders may still take, together, per row."""
        return self.stock.limit

    @property
    def cap_left(self) -> np.ndarray:
        """int64[n_nodes]: units each node may still give (``NO_LIMIT``: unlimited)."""
        return self.stock.capacity

    def take_all(
        self, rows: np.ndarray, nodes: np.ndarray, qty: np.ndarray, exempt: bool
    ) -> tuple[int, int, int]:
        """Take every allocation or none (``_kernels.sourcing.commit_takes``).

        The caller holds :attr:`lock`.
        """
        args = (self.stock.record, rows, nodes, qty, exempt)
        if self._take is None:
            self._take = entry_point(sourcing.commit_takes, *args)
        bad, avail, what = self._take(*args)
        return int(bad), int(avail), int(what)
