"""The live stock pool of one network: reservations that never oversell.

State is kept per stock row of the compiled network (SKU-major CSR) in numpy
arrays, changed only under one lock: ``on_hand``, ``reserved``, the fixed
``safety_stock``, ``shipped`` and ``received`` (net adjustments), and the two
counters every sourcing kernel reads (``_kernels/protection.py``):

``free_left = max(0, on_hand - reserved - safety_stock)``
    what any order may still take;
``limit_left = max(0, free_left - protect)``
    what a non-exempt order may take (live reading of last-unit protection,
    docs/decisions.md), read through ``usable``.

Every operation is checked in full, written to the journal, then applied, so a
failed operation changes nothing and a multi-line reserve takes all lines or none.
"""

from __future__ import annotations

import heapq
import operator
import os
import threading
import time
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl

from omnistock._kernels.protection import usable
from omnistock.compiled import CompiledNetwork
from omnistock.exceptions import (
    InsufficientStock,
    InvalidAdjustment,
    InvalidRequest,
    KeyConflict,
    ReservationClosed,
    UnknownReservation,
    UnknownStockRow,
)
from omnistock.model.scenario import Scenario
from omnistock.pool.availability import View, pool_availability, stock_frame
from omnistock.pool.journal import FsyncPolicy, Journal, open_empty_journal
from omnistock.pool.recovery import recover_pool, write_pool_snapshot
from omnistock.pool.reservation import (
    ACTIVE,
    COMMITTED,
    EXPIRED,
    RELEASED,
    STATUS_NAMES,
    Line,
    Reservation,
    normalise_lines,
)

__all__ = ["Reservation", "StockPool"]


class StockPool:
    """The live, thread-safe stock of one network.

    Parameters
    ----------
    scenario
        The network and its starting stock (orders are ignored). Its ``reserved``
        units stay held outside any pool reservation.
    clock
        Returns the current time in seconds; ttl deadlines are on this clock.
        Default :func:`time.time`, so deadlines survive a restart.
    journal
        Path of an empty (or new) journal file, or an open :class:`Journal`; None
        keeps no journal. Use :meth:`recover` to resume from a non-empty one.
    fsync, batch_records, batch_ms
        The journal's sync policy (:mod:`omnistock.journal`).

    Examples
    --------
    >>> from omnistock import Scenario, StockPool
    >>> s = Scenario.model_validate(
    ...     {
    ...         "nodes": [{"id": "W1", "kind": "warehouse", "lat": 48.8, "lon": 2.3}],
    ...         "stock": [{"node": "W1", "sku": "A", "on_hand": 3}],
    ...     }
    ... )
    >>> pool = StockPool.from_scenario(s)
    >>> r = pool.reserve("o1", [("W1", "A", 2)])
    >>> pool.free("W1", "A")
    1
    >>> _ = pool.commit(r.reservation_id)
    >>> pool.free("W1", "A"), pool.status(r.reservation_id)
    (1, 'committed')
    """

    def __init__(
        self,
        scenario: Scenario,
        *,
        clock: Callable[[], float] = time.time,
        journal: str | os.PathLike[str] | Journal | None = None,
        fsync: FsyncPolicy = "batch",
        batch_records: int = 10_000,
        batch_ms: float = 100.0,
        _network: CompiledNetwork | None = None,  # recovery's, built from a snapshot
    ) -> None:
        net = scenario.compiled().network if _network is None else _network
        self.network = net
        self.clock = clock
        #: Held by every operation; hold it to read ``free_left``/``limit_left``.
        self.lock = threading.RLock()
        self._base = scenario.model_copy(update={"stock": (), "orders": ()})
        self._on_hand = net.stock_on_hand.copy()
        self._reserved = net.stock_reserved.copy()
        self._safety = net.stock_safety.copy()
        self._shipped = np.zeros_like(self._on_hand)
        self._received = np.zeros_like(self._on_hand)
        self._protect = net.node_protect[net.stock_node]
        self._free = np.maximum(0, self._on_hand - self._reserved - self._safety)
        self._limit = np.maximum(0, self._free - self._protect)
        #: The live counters the sourcing kernels read, int64[nnz] by stock row
        #: (writable, for compiled kernels; only the pool writes them, under lock).
        self.free_left = self._free
        self.limit_left = self._limit
        self._indptr = array("q", net.stock_indptr.astype(np.int64).tobytes())
        self._nodes = array("q", net.stock_node.astype(np.int64).tobytes())
        self._active: dict[int, Reservation] = {}
        self._keys: dict[str, Reservation] = {}
        self._status = bytearray(1)  # status code per reservation id; id 0 unused
        self._heap: list[tuple[float, int]] = []
        self._seq = 0
        self._journal = (
            None
            if journal is None
            else open_empty_journal(
                journal, fsync=fsync, batch_records=batch_records, batch_ms=batch_ms
            )
        )

    @classmethod
    def from_scenario(cls, scenario: Scenario, **options: Any) -> StockPool:
        """The pool of ``scenario``'s network and stock (options as in the class)."""
        return cls(scenario, **options)

    def _row(self, node_id: str, sku: str) -> int:
        """Stock row of (node_id, sku); -1 when the node has no row for the SKU."""
        net = self.network
        node_idx = net.node_index.get(node_id)
        if node_idx is None:
            raise UnknownStockRow(node_id, sku, f"Unknown node {node_id!r}.")
        sku_idx = net.sku_index.get(sku)
        if sku_idx is None:
            return -1
        # CompiledNetwork.stock_row's search, on arrays that bisect reads fast.
        hi = self._indptr[sku_idx + 1]
        row = bisect_left(self._nodes, node_idx, self._indptr[sku_idx], hi)
        return row if row < hi and self._nodes[row] == node_idx else -1

    def free(self, node_id: str, sku: str, *, exempt: bool = True) -> int:
        """Units of (node_id, sku) a reservation of this kind may take now (0 if no row)."""
        with self.lock:
            return int(usable(self._free, self._limit, self._row(node_id, sku), exempt))

    def status(self, reservation_id: int) -> str:
        """``"active"``, ``"committed"``, ``"released"`` or ``"expired"``."""
        with self.lock:
            code = self._code(reservation_id)
            if code == 0:
                raise UnknownReservation(reservation_id)
            return STATUS_NAMES[code]

    def reservations(self) -> list[Reservation]:
        """The active reservations, oldest first."""
        with self.lock:
            return list(self._active.values())

    def _code(self, reservation_id: int) -> int:
        if isinstance(reservation_id, (int, np.integer)) and 0 < reservation_id < len(
            self._status
        ):
            return self._status[int(reservation_id)]
        return 0

    def _open(self, reservation_id: int, action: str) -> Reservation:
        res = self._active.get(reservation_id)
        if res is not None:
            return res
        code = self._code(reservation_id)
        if code == 0:
            raise UnknownReservation(reservation_id)
        raise ReservationClosed(int(reservation_id), STATUS_NAMES[code], action)

    # -- the operations: check, journal, apply ----------------------------------------

    def _log(self, payload: list[Any]) -> None:
        if self._journal is not None:
            self._seq = self._journal.append(payload)
        else:
            self._seq += 1

    def _refresh(self, row: int) -> None:
        free = int(self._on_hand[row] - self._reserved[row] - self._safety[row])
        free = max(free, 0)
        self._free[row] = free
        self._limit[row] = max(free - int(self._protect[row]), 0)

    def _check_reserve(self, lines: tuple[Line, ...], exempt: bool) -> tuple[int, ...]:
        """The rows of ``lines``; raises InsufficientStock unless all fit together."""
        if len(lines) == 1:  # the common case, without the per-row sums
            node_id, sku, qty = lines[0]
            row = self._row(node_id, sku)
            have = usable(self._free, self._limit, row, exempt)
            if qty > have:
                raise self._shortage(row, node_id, sku, qty, int(have), exempt)
            return (row,)
        rows = tuple(self._row(node_id, sku) for node_id, sku, _ in lines)
        need: dict[tuple[str, str], int] = {}
        for node_id, sku, qty in lines:
            need[node_id, sku] = need.get((node_id, sku), 0) + qty
        for row, (node_id, sku, _) in zip(rows, lines, strict=True):
            have = int(usable(self._free, self._limit, row, exempt))
            if need[node_id, sku] > have:
                raise self._shortage(
                    row, node_id, sku, need[node_id, sku], have, exempt
                )
        return rows

    def _shortage(
        self, row: int, node_id: str, sku: str, need: int, have: int, exempt: bool
    ) -> InsufficientStock:
        detail = ""
        if row < 0:
            detail = "The node holds no stock of this sku."
        elif not exempt and have < int(self._free[row]):
            detail = "Protected units are kept from non-exempt reservations."
        return InsufficientStock(node_id, sku, need, have, detail)

    def reserve(
        self,
        order_id: str,
        lines: Iterable[Any] | pl.DataFrame,
        *,
        key: str | None = None,
        ttl: float | None = None,
        exempt: bool = True,
    ) -> Reservation:
        """Hold units for ``order_id``: every line or none.

        Parameters
        ----------
        order_id
            The order the units are for.
        lines
            ``(node_id, sku, qty)`` tuples, or a polars frame with those columns.
        key
            Idempotency key: the same key again returns the same reservation and
            takes nothing more (a different request under it raises KeyConflict).
        ttl
            Seconds until :meth:`expire` may release it; None: never.
        exempt
            False for a tier not in ``rules.exempt_tiers``: it may take at most
            ``max(0, free - protect)`` units of each row (last-unit protection).

        Raises
        ------
        InsufficientStock
            A line asks for more than is free for it; nothing is reserved.
        """
        norm = normalise_lines(lines)
        order_id, key = str(order_id), None if key is None else str(key)
        if ttl is not None and not ttl > 0:
            msg = (
                f"order {order_id!r}: ttl must be > 0 seconds or None. Got ttl={ttl!r}."
            )
            raise InvalidRequest(msg)
        with self.lock:
            if key is not None and key in self._keys:
                prior = self._keys[key]
                if (prior.order_id, sorted(prior.lines), prior.exempt) != (
                    order_id,
                    sorted(norm),
                    exempt,
                ):
                    raise KeyConflict(key, prior.reservation_id, "order, lines or tier")
                return prior
            rows = self._check_reserve(norm, exempt)
            deadline = None if ttl is None else self.clock() + ttl
            res = Reservation(
                len(self._status), order_id, norm, key, deadline, exempt, rows
            )
            self._log(
                ["reserve", res.reservation_id, order_id, key, deadline, exempt, norm]
            )
            self._apply_reserve(res)
            return res

    def _apply_reserve(self, res: Reservation) -> None:
        for row, line in zip(res.rows, res.lines, strict=True):
            self._reserved[row] += line[2]
            self._refresh(row)
        self._status.append(ACTIVE)
        self._active[res.reservation_id] = res
        if res.key is not None:
            self._keys[res.key] = res
        if res.deadline is not None:
            heapq.heappush(self._heap, (res.deadline, res.reservation_id))

    def _apply_close(self, res: Reservation, status: int) -> None:
        shipped = status == COMMITTED
        for row, line in zip(res.rows, res.lines, strict=True):
            qty = line[2]
            self._reserved[row] -= qty
            if shipped:  # on_hand - reserved is unchanged, and so are the counters
                self._on_hand[row] -= qty
                self._shipped[row] += qty
            else:
                self._refresh(row)
        del self._active[res.reservation_id]
        self._status[res.reservation_id] = status

    def commit(self, reservation_id: int) -> Reservation:
        """The reservation shipped: its units leave on_hand and reserved."""
        with self.lock:
            res = self._open(reservation_id, "commit")
            self._log(["commit", res.reservation_id])
            self._apply_close(res, COMMITTED)
            return res

    def release(self, reservation_id: int) -> Reservation:
        """Give the reservation's units back to free stock."""
        with self.lock:
            res = self._open(reservation_id, "release")
            self._log(["release", res.reservation_id])
            self._apply_close(res, RELEASED)
            return res

    def expire(self, now: float | None = None) -> list[int]:
        """Release every active reservation whose deadline is <= ``now`` (default: clock).

        Returns the expired reservation ids, earliest deadline first.
        """
        with self.lock:
            now = self.clock() if now is None else float(now)
            due: list[tuple[float, int]] = []
            while self._heap and self._heap[0][0] <= now:
                item = heapq.heappop(self._heap)
                if item[1] in self._active:
                    due.append(item)
            if not due:
                return []
            ids = [rid for _, rid in due]
            try:
                self._log(["expire", now, ids])
            except BaseException:
                for item in due:
                    heapq.heappush(self._heap, item)
                raise
            for rid in ids:
                self._apply_close(self._active[rid], EXPIRED)
            return ids

    def _check_adjust(self, node_id: str, sku: str, delta: int) -> int:
        row = self._row(node_id, sku)
        if row < 0:
            raise UnknownStockRow(
                node_id,
                sku,
                "A pool's rows are fixed when it is built: declare the row (on_hand 0) "
                "in the scenario (docs/decisions.md).",
            )
        on_hand, reserved = int(self._on_hand[row]), int(self._reserved[row])
        if on_hand + delta < reserved:
            raise InvalidAdjustment(node_id, sku, delta, on_hand, reserved)
        return row

    def adjust(self, node_id: str, sku: str, delta: int, reason: str) -> int:
        """Change on_hand by ``delta`` (receipt, count, damage...); returns the new on_hand.

        Raises InvalidAdjustment when on_hand would fall below zero or below the
        reserved units (release reservations first).
        """
        try:
            delta = operator.index(delta)
        except TypeError as err:
            msg = f"node {node_id!r}, sku {sku!r}: delta must be an integer. Got {delta!r}."
            raise InvalidRequest(msg) from err
        with self.lock:
            row = self._check_adjust(node_id, sku, delta)
            self._log(["adjust", node_id, sku, delta, str(reason)])
            self._apply_adjust(row, delta)
            return int(self._on_hand[row])

    def _apply_adjust(self, row: int, delta: int) -> None:
        self._on_hand[row] += delta
        self._received[row] += delta
        self._refresh(row)

    # -- views -------------------------------------------------------------------------

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
        return pool_availability(self, channel=channel, tier=tier, skus=skus, by=by)

    def _columns(self) -> dict[str, np.ndarray]:
        """The live per-row counters by column name (read them under the lock)."""
        return {
            "on_hand": self._on_hand,
            "reserved": self._reserved,
            "safety_stock": self._safety,
            "free": self._free,
            "shipped": self._shipped,
            "received": self._received,
        }

    def stock(self) -> pl.DataFrame:
        """Every stock row: node_id, sku, then the counters of :meth:`_columns`."""
        with self.lock:
            cols = {name: a.copy() for name, a in self._columns().items()}
        return stock_frame(self.network, cols)

    # -- durability --------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """Sequence number of the last operation applied (journaled or not)."""
        return self._seq

    def sync(self) -> None:
        """Flush and fsync the journal now (no-op without one)."""
        with self.lock:
            if self._journal is not None:
                self._journal.sync()

    def close(self) -> None:
        """Sync and close the journal; the pool stays readable."""
        with self.lock:
            if self._journal is not None:
                self._journal.close()

    def __enter__(self) -> StockPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def snapshot(self, path: str | os.PathLike[str]) -> Path:
        """Write the whole state to the directory ``path`` (parquet) and return it.

        The journal is synced first, so ``StockPool.recover(path, journal)``
        replays exactly the records after the snapshot.
        """
        return write_pool_snapshot(self, Path(path))

    @classmethod
    def recover(
        cls,
        snapshot: str | os.PathLike[str] | Scenario,
        journal: str | os.PathLike[str],
        **options: Any,
    ) -> StockPool:
        """Rebuild the exact state from a snapshot and the journal written after it.

        Parameters
        ----------
        snapshot
            A directory from :meth:`snapshot`, or the scenario the pool started from.
        journal
            The journal file; a torn last record is ignored (and cut off), and
            new operations are appended to it.
        **options
            ``clock``, ``fsync``, ``batch_records``, ``batch_ms`` as in the class.
        """
        return recover_pool(cls, snapshot, journal, **options)
