"""The live stock pool of an order service: one thread-safe, journaled stock truth.

:mod:`.pool` holds :class:`StockPool`; :mod:`.reservation` its reservation values;
:mod:`.availability` the views an order service shows; :mod:`.journal` the
append-only record of every operation and :mod:`.recovery` the way back from a
snapshot and the journal after a crash.
"""

from __future__ import annotations

from omnistock.pool.pool import StockPool
from omnistock.pool.reservation import Reservation

__all__ = ["Reservation", "StockPool"]
