"""Capacity periods of a :class:`~omnistock.StockPool`: node units and locker parcels.

:class:`Capacity` is a mixin the pool inherits (it keeps the operations module
within its size): :meth:`Capacity.open_period` restarts every node's capacity
counter, a locker's counting parcels (S11, :mod:`omnistock.pool.parcels`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

import numpy as np

from omnistock.compiled import CompiledNetwork
from omnistock.pool.reservation import check_capacity
from omnistock.pool.state import PoolState

__all__ = ["Capacity"]


class Capacity:
    """Node capacity periods of a pool (mixed into StockPool)."""

    _state: PoolState
    network: CompiledNetwork
    capacity_left: np.ndarray
    lock: threading.RLock

    def _log(self, payload: list[Any]) -> None:  # pragma: no cover - the pool's
        raise NotImplementedError

    def open_period(
        self, capacity: Mapping[str, int | None] | None = None
    ) -> np.ndarray:
        """Start a new capacity period (e.g. each day); returns the capacity left.

        Each node may give its scenario ``capacity`` again, or the units
        ``capacity`` maps its id to (None: no limit), less the units that
        active reservations still hold there (they took it when made). A
        locker counts parcels: its capacity (or the mapping's value) less the
        parcels active reservations hold there. Journaled like every operation.
        """
        given = check_capacity(capacity, self.network.node_index)
        with self.lock:
            self._log(["period", given])
            self._state.apply_period(given)
            return self.capacity_left.copy()
