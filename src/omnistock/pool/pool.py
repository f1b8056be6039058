"""The live stock pool of one network: reservations that never oversell.

:class:`StockPool` wraps a :class:`~omnistock.pool.state.PoolState` (per stock
row ``on_hand``, ``reserved``, the fixed ``safety_stock``, ``shipped`` and
``received``; per node the capacity left) and changes it only under one lock.
The counters every sourcing kernel reads (``_kernels/protection.py``) are live
arrays of that state:

``free_left = max(0, on_hand - reserved - safety_stock)``
    what any order may still take;
``limit_left = max(0, free_left - protect)``
    what a non-exempt order may take (live reading of last-unit protection,
    docs/decisions.md), read through ``usable``;
``capacity_left``
    what each node may still give this period (reserve takes, release gives back).

Every operation is checked in full (arguments, then stock), journaled, then
applied: a failed operation changes nothing; a reserve takes all lines or none.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl

from omnistock.compiled import CompiledNetwork
from omnistock.exceptions import InvalidRequest, KeyConflict
from omnistock.model.scenario import Scenario
from omnistock.pool.capacity import Capacity
from omnistock.pool.durable import Durable
from omnistock.pool.journal import FsyncPolicy, Journal, open_empty_journal
from omnistock.pool.parcels import LockerArg, at_locker
from omnistock.pool.protecting import Protecting
from omnistock.pool.recovery import recover_state
from omnistock.pool.reservation import (
    COMMITTED,
    EXPIRED,
    RELEASED,
    STATUS_NAMES,
    Reservation,
    check_delta,
    check_exempt,
    check_request,
    check_text,
    check_time,
    check_ttl,
    normalise_lines,
)
from omnistock.pool.state import PoolState
from omnistock.pool.store import Stores
from omnistock.pool.views import Views

__all__ = ["Reservation", "StockPool"]

_SYNC_OPTIONS = ("fsync", "batch_records", "batch_ms")


class StockPool(Views, Durable, Capacity, Protecting, Stores):
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
        The journal's sync policy (docs/pool.md, "Durability").

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
    ) -> None:
        self._setup(
            PoolState(scenario.compiled().network),
            scenario.model_copy(update={"stock": (), "orders": ()}),
            clock,
        )
        self._journal: Journal | None = (
            None
            if journal is None
            else open_empty_journal(
                journal, fsync=fsync, batch_records=batch_records, batch_ms=batch_ms
            )
        )

    def _setup(
        self, state: PoolState, base: Scenario, clock: Callable[[], float]
    ) -> None:
        self._state = state
        self._base = base
        self.network: CompiledNetwork = state.network
        self.clock = clock
        #: Held by every operation; hold it to read ``free_left``/``limit_left``.
        self.lock = threading.RLock()
        #: The live counters the sourcing kernels read: int64[nnz] by stock row and
        #: int64[n_nodes] (writable, for compiled kernels; only the pool writes
        #: them, under lock).
        self.free_left: np.ndarray = state.stock.free
        self.limit_left: np.ndarray = state.stock.limit
        self.capacity_left: np.ndarray = state.stock.capacity
        self.head_left: np.ndarray = state.stock.head  # v1.2 (compiled/nesting.py)
        self._journal = None
        state.on_grow.append(self._regrown)

    def _regrown(self) -> None:
        """Re-point the live counters after the state added a stock row."""
        state = self._state
        self.network = state.network
        self.free_left, self.limit_left = state.stock.free, state.stock.limit
        self.head_left = state.stock.head

    def on_grow(self, callback: Callable[[], None]) -> None:
        """Call ``callback()`` (under the lock) after a return or adjust adds a row.

        ``network``, ``free_left``, ``limit_left`` are then new (a Sourcer follows).
        """
        self._state.on_grow.append(callback)

    def status(self, reservation_id: int) -> str:
        """``"active"``, ``"committed"``, ``"released"``, ``"expired"`` or ``"amended"``."""
        with self.lock:
            code = self._state.code(reservation_id)
            if code == 0:
                self._state.open(reservation_id, "status")  # raises UnknownReservation
            return STATUS_NAMES[code]

    def reservations(self) -> list[Reservation]:
        """The active reservations, oldest first."""
        with self.lock:
            return list(self._state.active.values())

    def keyed(self, key: str) -> Reservation | None:
        """The reservation made under idempotency key ``key``, or None."""
        with self.lock:
            return self._state.keys.get(key)

    # -- the operations: check, journal, apply ----------------------------------------

    def _log(self, payload: list[Any]) -> None:
        if self._journal is not None:
            self._state.seq = self._journal.append(payload)
        else:
            self._state.seq += 1

    def reserve(
        self,
        order_id: str,
        lines: Iterable[Any] | pl.DataFrame,
        *,
        key: str | None = None,
        ttl: float | None = None,
        exempt: bool = True,
        tier: str | None = None,
        locker: str | None = None,
    ) -> Reservation:
        """Hold units for ``order_id``: every line or none.

        Parameters
        ----------
        order_id
            The order the units are for (text; converted with ``str``).
        lines
            ``(node_id, sku, qty)`` tuples, or a polars frame with those columns;
            qty an integer in [1, 2**40].
        key
            Idempotency key: the same key again returns the same reservation and
            takes nothing more (a different request under it raises KeyConflict).
        ttl
            Seconds (a finite number > 0) until :meth:`expire` may release it;
            None: never.
        exempt
            False for a tier not in ``rules.exempt_tiers``: it may take at most
            ``max(0, free - protect)`` units of each row (last-unit protection).
        tier
            The order's tier; it sets ``exempt``, and on a v1.2 pool the order
            may take ``max(0, free - u_tier)`` of each row (S4 v1.2).
        locker
            The order's pickup locker: one parcel a shipping node is held there.

        Raises
        ------
        InsufficientStock
            A line (or the locker's parcels) does not fit; nothing is reserved.
        InvalidRequest
            A malformed argument, named in the message.
        """
        norm = normalise_lines(lines)
        order_id, key, ttl, exempt = check_request(order_id, key, ttl, exempt)
        with self.lock:
            state = self._state
            if tier is not None:  # the tier sets it (contract v1.2)
                exempt = tier in state.network.exempt_tiers
            if key is not None and key in state.keys:
                prior = state.keys[key]
                same = (prior.order_id, sorted(prior.lines), prior.exempt, prior.tier)
                if same != (order_id, sorted(norm), exempt, tier) or (
                    prior.locker != locker
                ):
                    raise KeyConflict(key, prior.reservation_id, "order, lines or tier")
                return prior
            rows = state.check_reserve(norm, exempt, tier)
            deadline = None if ttl is None else self._deadline(order_id, ttl)
            res = Reservation(
                state.next_id, order_id, norm, key, deadline, exempt, rows
            )
            res = res if tier is None else res._replace(tier=tier)
            rec = ["reserve", res.reservation_id, order_id, key, deadline, exempt, norm]
            if locker is not None:  # S11: its parcels (the record gains tier, locker)
                res, rec = at_locker(state, res, [*rec, tier], None, locker)
            elif tier is not None:  # contract v1.2: the record gains the tier
                rec.append(tier)
            self._log(rec)
            state.apply_reserve(res)
            return res

    def _deadline(self, order_id: str, ttl: float) -> float:
        return check_time(self.clock() + ttl, f"order {order_id!r}: clock() + ttl")

    def commit(
        self, reservation_id: int, lines: Iterable[Any] | None = None
    ) -> Reservation:
        """Ship the reservation's units (or only ``lines`` of them).

        Shipped units leave on_hand and reserved; the node keeps the capacity
        they took. With ``lines`` (``(node_id, sku, qty)``, as for
        :meth:`reserve`) the rest stays held under the same id and the value
        returned holds what is left; when nothing is left (or ``lines`` is None)
        the reservation is ``"committed"`` and the value returned is the last
        one it held. Asking for more of a node-SKU than it holds is
        InvalidRequest.
        """
        return self._close(reservation_id, "commit", COMMITTED, lines)

    def release(
        self, reservation_id: int, lines: Iterable[Any] | None = None
    ) -> Reservation:
        """Give the reservation's units (and node capacity) back, or only ``lines``.

        ``lines`` as for :meth:`commit`; a release that leaves nothing ends the
        reservation as ``"released"``.
        """
        return self._close(reservation_id, "release", RELEASED, lines)

    def _close(
        self, reservation_id: int, op: str, status: int, lines: Iterable[Any] | None
    ) -> Reservation:
        part = None if lines is None else normalise_lines(lines)
        with self.lock:
            state = self._state
            res = state.open(reservation_id, op)
            if part is None:
                self._log([op, res.reservation_id])
                state.apply_close(res, status)
                return res
            rest = state.check_part(res, part)
            self._log([op, res.reservation_id, part])
            rest = state.apply_part(res, rest, part, status)
            return rest if rest.lines else res

    def amend(
        self,
        reservation_id: int,
        lines: Iterable[Any] | pl.DataFrame,
        *,
        key: str | None = None,
        ttl: float | None = None,
        locker: LockerArg = ...,
    ) -> Reservation:
        """Replace an active reservation's lines in one step: every line or none.

        The reservation's own units (and node capacity) count as free for the
        new lines. On success the old reservation's status is ``"amended"`` and
        the new one (a new id, ``amends=reservation_id``, same order and tier)
        holds ``lines``; its deadline is the old one, or ``clock() + ttl``.
        ``key`` makes it idempotent as for :meth:`reserve`: the same amendment
        again returns the same new reservation. ``locker``: as for :meth:`reserve`,
        default the old one's.

        Raises
        ------
        InsufficientStock
            A line does not fit even with the old units given back, or a node's
            capacity left; the old reservation stands unchanged.
        ReservationClosed, UnknownReservation
            The reservation is not active (or was never issued).
        KeyConflict
            ``key`` names another request.
        """
        norm = normalise_lines(lines)
        if key is not None:
            key = check_text(key, f"amend of reservation {reservation_id!r}: key")
        if ttl is not None:
            ttl = check_ttl(ttl, f"amend of reservation {reservation_id!r}")
        with self.lock:
            state = self._state
            if key is not None and key in state.keys:
                prior = state.keys[key]
                if (prior.amends, sorted(prior.lines)) != (
                    reservation_id,
                    sorted(norm),
                ):
                    raise KeyConflict(key, prior.reservation_id, "amendment or lines")
                return prior
            old = state.open(reservation_id, "amend")
            rows = state.check_amend(old, norm)
            deadline = (
                old.deadline if ttl is None else self._deadline(old.order_id, ttl)
            )
            new = old._replace(
                reservation_id=state.next_id,
                lines=norm,
                key=key,
                deadline=deadline,
                rows=rows,
                amends=old.reservation_id,
            )
            record = ["amend", old.reservation_id, new.reservation_id, key, deadline]
            record.append(norm)
            if old.locker is not None or locker is not ...:  # S11: the parcels
                new, record = at_locker(state, new, record, old, locker)
            self._log(record)
            state.apply_amend(old, new)
            return new

    @contextmanager
    def as_if_released(self, reservation_id: int) -> Iterator[Reservation]:
        """Hold the lock; inside, the active reservation's units count as free.

        The live counters are exactly those of the pool after releasing it, and
        exactly as before on leaving; nothing is journaled. This is how
        :meth:`Sourcer.amend` sources an amended order against the stock it may
        use, with no other request able to take the units in between.
        """
        with self.lock:
            res = self._state.open(reservation_id, "amend")
            with self._state.as_if_released(res):
                yield res

    def expire(self, now: float | None = None) -> list[int]:
        """Release every active reservation whose deadline is <= ``now`` (default: clock).

        Returns the expired reservation ids, earliest deadline first.
        """
        with self.lock:
            now = check_time(self.clock() if now is None else now, "expire: now")
            state = self._state
            due = state.due(now)
            if not due:
                return []
            ids = [rid for _, rid in due]
            try:
                self._log(["expire", now, ids])
            except BaseException:
                state.undue(due)
                raise
            for rid in ids:
                state.apply_close(state.active[rid], EXPIRED)
            return ids

    def adjust(self, node_id: str, sku: str, delta: int, reason: str) -> int:
        """Change on_hand by ``delta`` (receipt, count, damage...); returns the new on_hand.

        ``delta`` is an integer in [-2**40, 2**40]. Raises InvalidAdjustment when
        on_hand would fall below the reserved units (release reservations
        first) or rise above 2**40.
        """
        delta = check_delta(delta, f"node {node_id!r}, sku {sku!r}")
        reason = check_text(reason, "reason")
        sku = check_text(sku, "sku")
        with self.lock:
            row = self._state.check_adjust(node_id, sku, delta)
            self._log(["adjust", node_id, sku, delta, reason])
            row = self._state.apply_adjust(row, delta, node_id, sku)
            return int(self._state.on_hand[row])

    def receive_return(
        self,
        order_id: str,
        node_id: str,
        sku: str,
        qty: int,
        *,
        restock: bool = True,
        reason: str = "",
    ) -> int:
        """Take back ``qty`` units of ``sku`` returned at ``node_id`` (any node).

        ``restock=True``: the units go on hand there, sellable at once (also by
        ship-from-store) and counted in ``returned``; returns the new on_hand.
        ``restock=False``: they count in ``returned_unsellable``; returns that
        count. A node that never held the SKU gets the row (the Sourcer,
        explain and availability see it at once).
        """
        order_id = check_text(order_id, "order_id")
        reason = check_text(reason, "reason")
        ((node_id, sku, qty),) = normalise_lines([(node_id, sku, qty)])
        sku = check_text(sku, "sku")
        restock = check_exempt(restock, f"return of order {order_id!r}: restock")
        with self.lock:
            state = self._state
            row = state.check_return(node_id, sku, qty, restock)
            self._log(["return", order_id, node_id, sku, qty, restock, reason])
            return state.apply_return(row, node_id, sku, qty, restock)

    # -- durability: snapshot, sync, close (Durable); recover ---------------------------

    @classmethod
    def recover(
        cls,
        snapshot: str | os.PathLike[str] | Scenario,
        journal: str | os.PathLike[str] | None = None,
        **options: Any,
    ) -> StockPool:
        """Rebuild the exact state from a snapshot and the journal written after it.

        Parameters
        ----------
        snapshot
            A directory from :meth:`snapshot` (or what survived a crash while
            one was written), or the scenario the pool started from.
        journal
            The journal file; None: the one a rolled snapshot names. A torn last
            record is ignored (its bytes kept in ``<journal>.damaged-<seq>``),
            and new operations are appended to it.
        **options
            ``clock``, ``fsync``, ``batch_records``, ``batch_ms`` as in the class.

        Raises
        ------
        JournalError
            Damage in the snapshot or the journal, or a journal that does not
            continue the snapshot; nothing is changed on disk.
        JournalLocked
            The journal is open in another pool.
        """
        sync = {k: options.pop(k) for k in _SYNC_OPTIONS if k in options}
        state, base, journal_ = recover_state(snapshot, journal, sync)
        pool = cls.__new__(cls)
        pool._setup(state, base, options.pop("clock", time.time))
        if options:
            journal_.close()
            msg = f"recover: unknown options {sorted(options)}."
            raise InvalidRequest(msg)
        pool._journal = journal_
        return pool
