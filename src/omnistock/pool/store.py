"""Where a pool keeps its stock: the store interface, and the in-process store.

A store opens a :class:`~omnistock.StockPool` on a scenario
(``StockPool.from_scenario(scenario, store=...)``). Two stores exist:

:class:`MemoryStore`
    today's counters in the process, with an optional journal (the default:
    no server, one writer);
:class:`~omnistock.pool.pgstore.PostgresStore`
    the counters in PostgreSQL, shared by every replica of an order service.

Both give the same operations, arguments, errors and statuses (the
conformance suite, tests/test_pool*.py, runs on both). A new store implements
``open_pool`` and returns a StockPool subclass whose operations keep the
counters there (see :mod:`omnistock.pool.pgpool` for the pattern).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from omnistock.model.scenario import Scenario
    from omnistock.pool.journal import FsyncPolicy, Journal
    from omnistock.pool.pool import StockPool

__all__ = ["MemoryStore", "PoolStore", "Stores"]


class PoolStore(Protocol):
    """What ``StockPool.from_scenario(scenario, store=...)`` needs of a store."""

    def open_pool(self, scenario: Scenario, **options: Any) -> StockPool:
        """A pool holding ``scenario``'s stock in this store (options: ``clock``)."""
        ...


class MemoryStore:
    """The in-process store: counters in this process, journaled when ``journal`` is set.

    Parameters
    ----------
    journal, fsync, batch_records, batch_ms
        As for :class:`~omnistock.StockPool`.
    """

    def __init__(
        self,
        journal: str | os.PathLike[str] | Journal | None = None,
        *,
        fsync: FsyncPolicy = "batch",
        batch_records: int = 10_000,
        batch_ms: float = 100.0,
    ) -> None:
        self.options: dict[str, Any] = {
            "journal": journal,
            "fsync": fsync,
            "batch_records": batch_records,
            "batch_ms": batch_ms,
        }

    def open_pool(self, scenario: Scenario, **options: Any) -> StockPool:
        """The in-process pool of ``scenario`` (``options``: ``clock``)."""
        from omnistock.pool.pool import StockPool

        return StockPool(scenario, **self.options, **options)


class Stores:
    """How a pool is opened on a store, and follows it (mixed into StockPool)."""

    @classmethod
    def from_scenario(
        cls, scenario: Scenario, *, store: PoolStore | None = None, **options: Any
    ) -> StockPool:
        """The pool of ``scenario``'s network and stock (options as in the class).

        ``store`` keeps the counters elsewhere, e.g. ``PostgresStore(dsn)``
        (docs/pool.md, "Stores"); ``options`` are then those of the store's pool.
        """
        if store is not None:
            return store.open_pool(scenario, **options)
        return cls(scenario, **options)  # type: ignore[call-arg,return-value]

    @classmethod
    def connect(
        cls,
        dsn: str,
        *,
        schema: str = "omnistock",
        clock: Callable[[], float] = time.time,
    ) -> StockPool:
        """Attach to the pool already in PostgreSQL (``dsn``, ``schema``).

        Every replica of an order service connects to the same pool; see
        :class:`~omnistock.pool.pgstore.PostgresStore` (extra ``omnistock[postgres]``).
        """
        from omnistock.pool.pgpool import PostgresPool
        from omnistock.pool.pgstore import PostgresStore

        store = PostgresStore(dsn, schema=schema)
        try:
            return PostgresPool.open(store, clock=clock)
        except BaseException:
            store.close()
            raise

    def refresh(self) -> None:
        """Bring the counters up to date with the store (in process: always are)."""
        return None
