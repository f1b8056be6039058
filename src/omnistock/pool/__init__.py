"""The live stock pool of an order service: one thread-safe, journaled stock truth.

:mod:`.pool` holds :class:`StockPool`, which wraps a :class:`.state.PoolState`
(the counters, node capacity and reservation book); :mod:`.reservation` its
reservation values and argument checks; :mod:`.availability` the views an order
service shows; :mod:`.records` and :mod:`.journal` the append-only record of every
operation (one writer); :mod:`.snapshot` the checksummed snapshot files and
:mod:`.recovery` the way back from a snapshot and the journal after a crash;
:mod:`.durable` the pool's sync, close and snapshot methods (a mixin);
:mod:`.store` the store interface (the in-process store, ``from_scenario``,
``connect``); :mod:`.pgstore`, :mod:`.pgschema` and :mod:`.pgpool` the pool on
PostgreSQL (its connections, its schema and functions, its pool class).
Imports run one way: pool -> durable -> recovery -> (snapshot, journal -> records, state ->
reservation), availability.
"""

from __future__ import annotations

from omnistock.pool.pgstore import PostgresStore
from omnistock.pool.pool import StockPool
from omnistock.pool.reservation import Reservation
from omnistock.pool.store import MemoryStore

__all__ = ["MemoryStore", "PostgresStore", "Reservation", "StockPool"]
