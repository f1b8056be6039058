"""The live pool's state: per-row counters, node capacity and the reservation book.

:class:`PoolState` is what a :class:`~omnistock.StockPool` wraps and what
recovery rebuilds; it is changed only through its methods (the pool calls them
under its lock, recovery on a state no one else sees yet), so the counters are
derived in one place:

``free = free_units(on_hand, reserved, safety)`` and
``limit = protected_limit(free, protect)`` (:mod:`omnistock.compiled.state`, the
ONE formula), kept in a :class:`~omnistock.compiled.state.StockState` whose
arrays the Sourcer's kernels read; node ``capacity`` is taken by a reservation,
given back by release or expiry and kept by commit (the node gave the units).
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

import numpy as np

from omnistock._kernels.nested import nested_usable
from omnistock._kernels.protection import usable
from omnistock.compiled import CompiledNetwork
from omnistock.compiled.lockers import refuse_locker_row
from omnistock.compiled.nesting import initial_head
from omnistock.compiled.network import NO_LIMIT
from omnistock.compiled.state import StockState, free_units, protected_limit
from omnistock.exceptions import (
    InsufficientStock,
    InvalidAdjustment,
    InvalidRequest,
    ReservationClosed,
    UnknownReservation,
    UnknownStockRow,
)
from omnistock.pool import parcels
from omnistock.pool.reservation import (
    ACTIVE,
    AMENDED,
    COMMITTED,
    MAX_QTY,
    STATUS_NAMES,
    Line,
    Reservation,
)
from omnistock.pool.rows import grow_state
from omnistock.pool.shortages import over_capacity, shortage

__all__ = ["PoolState"]


class PoolState:
    """Counters and reservations of one pool (internal; the pool holds the lock).

    Attributes
    ----------
    network
        The compiled network whose stock rows the counters follow.
    stock
        free, limit (int64[nnz]) and capacity (int64[n_nodes]): the live counters.
    on_hand, reserved, held, safety, shipped, received, protect : int64[nnz]
        Per stock row; ``held`` are the units reserved outside any pool
        reservation (the starting ``reserved``), so ``reserved = held + active
        reservation lines`` always.
    seq
        Sequence number of the last operation applied.
    """

    def __init__(self, network: CompiledNetwork) -> None:
        net = network
        self.network = net
        self.on_hand = net.stock_on_hand.astype(np.int64, copy=True)
        self.reserved = net.stock_reserved.astype(np.int64, copy=True)
        self.held = self.reserved.copy()
        self.safety = net.stock_safety.astype(np.int64, copy=True)
        self.shipped = np.zeros_like(self.on_hand)
        self.received = np.zeros_like(self.on_hand)
        self.returned = np.zeros_like(self.on_hand)  # restocked returns
        self.unsellable = np.zeros_like(self.on_hand)  # returns not restocked
        self.protect = net.node_protect[net.stock_node].astype(np.int64)
        #: Called (under the pool's lock) after a stock row was added.
        self.on_grow: list[Callable[[], None]] = []
        free = free_units(self.on_hand, self.reserved, self.safety)
        self.stock = StockState(
            free,
            protected_limit(free, self.protect),
            net.node_capacity.astype(np.int64, copy=True),
            initial_head(free, net.stock_level),  # v1.2; 0 columns for v1
        )
        self.index_rows()
        self.active: dict[int, Reservation] = {}
        self.keys: dict[str, Reservation] = {}
        self.status = bytearray(1)  # status code per reservation id; id 0 unused
        self.heap: list[tuple[float, int]] = []
        self.seq = 0

    def index_rows(self) -> None:
        """Cache the live arrays and the row index (after building or adding a row)."""
        net = self.network
        self._free, self._limit = self.stock.free, self.stock.limit
        self._cap = self.stock.capacity
        self._head, self._level = self.stock.head, net.stock_level
        self._nested = bool(self._head.shape[1])  # v1.2: tiers have levels
        self._indptr = array("q", net.stock_indptr.astype(np.int64).tobytes())
        self._nodes = array("q", net.stock_node.astype(np.int64).tobytes())

    # -- reading ------------------------------------------------------------------------

    def row(self, node_id: str, sku: str) -> int:
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

    def usable(self, row: int, exempt: bool, tier: str | None = None) -> int:
        """Units a reservation of this kind (v1.2: of this tier) may take from ``row`` now."""
        if tier is not None and self._nested:  # max(0, free - u_tier)
            c = self.network.levels.tier_class(tier)
            return int(nested_usable(self._free, self._head, self._level, row, c))
        return int(usable(self._free, self._limit, row, exempt))

    def exempt_of(self, tier: str | None, exempt: bool) -> bool:
        """A reservation's exemption: its tier's when it names one, else ``exempt``."""
        return exempt if tier is None else tier in self.network.exempt_tiers

    def code(self, reservation_id: object) -> int:
        """Status code of ``reservation_id``; 0 when the pool never issued it."""
        if (
            isinstance(reservation_id, int | np.integer)
            and not isinstance(reservation_id, bool)
            and 0 < reservation_id < len(self.status)
        ):
            return self.status[int(reservation_id)]
        return 0

    def open(self, reservation_id: int, action: str) -> Reservation:
        """The active reservation ``reservation_id``, else the error saying why not."""
        res = self.active.get(reservation_id)
        if res is not None:
            return res
        code = self.code(reservation_id)
        if code == 0:
            raise UnknownReservation(reservation_id)
        raise ReservationClosed(int(reservation_id), STATUS_NAMES[code], action)

    @property
    def next_id(self) -> int:
        """The id the next reservation gets."""
        return len(self.status)

    def kept(self) -> list[tuple[Reservation, bool]]:
        """What a snapshot must keep, by id: ``(value, issued)`` pairs.

        Every active reservation as it now holds (``issued`` False) and every
        keyed one as it was issued (``issued`` True: a retry under its key is
        compared with the request, whatever partial commits or releases did
        since). A keyed active reservation not changed since appears once, as
        issued.
        """
        out = [(r, True) for r in self.keys.values()]
        out += [
            (r, False)
            for r in self.active.values()
            if r.key is None or self.keys.get(r.key) is not r
        ]
        return sorted(out, key=lambda pair: (pair[0].reservation_id, pair[1]))

    # -- checks (change nothing) --------------------------------------------------------

    def check_reserve(
        self, lines: tuple[Line, ...], exempt: bool, tier: str | None = None
    ) -> tuple[int, ...]:
        """The rows of ``lines``; raises InsufficientStock unless all fit together.

        Stock first (every line), then node capacity (the units of all lines at
        a node against what the node may still give this period).
        """
        if len(lines) == 1:  # the common case, without the per-row sums
            node_id, sku, qty = lines[0]
            row = self.row(node_id, sku)
            have = self.usable(row, exempt, tier)
            if qty > have:
                raise self._shortage(row, node_id, sku, qty, have, exempt)
            if qty > self._cap[self._nodes[row]]:
                raise self._over_capacity(node_id, sku, qty)
            return (row,)
        rows = self._check_stock(lines, exempt, tier)
        need: dict[str, int] = {}
        for node_id, _, qty in lines:
            need[node_id] = need.get(node_id, 0) + qty
        for row, (node_id, sku, _) in zip(rows, lines, strict=True):
            if need[node_id] > self._cap[self._nodes[row]]:
                raise self._over_capacity(node_id, sku, need[node_id])
        return rows

    def _over_capacity(self, node_id: str, sku: str, need: int) -> InsufficientStock:
        left = int(self._cap[self.network.node_index[node_id]])
        return over_capacity(node_id, sku, need, left)

    def _check_stock(
        self, lines: tuple[Line, ...], exempt: bool, tier: str | None
    ) -> tuple[int, ...]:
        """The rows of ``lines`` if each node-SKU's lines fit its usable units."""
        rows = tuple(self.row(node_id, sku) for node_id, sku, _ in lines)
        need: dict[tuple[str, str], int] = {}
        for node_id, sku, qty in lines:
            need[node_id, sku] = need.get((node_id, sku), 0) + qty
        for row, (node_id, sku, _) in zip(rows, lines, strict=True):
            have = self.usable(row, exempt, tier)
            if need[node_id, sku] > have:
                raise self._shortage(
                    row, node_id, sku, need[node_id, sku], have, exempt
                )
        return rows

    def _shortage(
        self, row: int, node_id: str, sku: str, need: int, have: int, exempt: bool
    ) -> InsufficientStock:
        free = int(self._free[row]) if row >= 0 else 0
        return shortage(node_id, sku, need, have, row >= 0, exempt, free)

    def check_adjust(self, node_id: str, sku: str, delta: int) -> int:
        """The row of (node_id, sku) if on_hand may change by ``delta``.

        -1 when the node has no row of the SKU and ``delta`` > 0: the row is
        added when the adjustment is applied.
        """
        row = self.row(node_id, sku)
        if row < 0:
            refuse_locker_row(self.network, node_id, sku)
            if delta > 0:
                return -1
            raise UnknownStockRow(
                node_id,
                sku,
                "The node holds no stock of this sku: only a positive delta (a "
                "receipt) adds the row.",
            )
        on_hand, reserved = int(self.on_hand[row]), int(self.reserved[row])
        if on_hand + delta < reserved:
            raise InvalidAdjustment(node_id, sku, delta, on_hand, reserved)
        if on_hand + delta > MAX_QTY:
            raise InvalidAdjustment(
                node_id,
                sku,
                delta,
                on_hand,
                reserved,
                "above the 2**40 units a row may hold",
            )
        return row

    # -- changes ------------------------------------------------------------------------

    def refresh(self, rows: Iterable[int] | slice) -> None:
        """Re-derive free and limit of ``rows`` from the counters (the ONE formula)."""
        idx = rows if isinstance(rows, slice) else np.fromiter(rows, dtype=np.int64)
        free = free_units(self.on_hand[idx], self.reserved[idx], self.safety[idx])
        self._free[idx] = free
        self._limit[idx] = protected_limit(free, self.protect[idx])
        if self._nested:  # v1.2, live reading: max(0, free - u) per tier
            self._head[idx] = initial_head(free, self._level[idx])

    def apply_reserve(self, res: Reservation) -> None:
        """Hold ``res``'s units (checked by :meth:`check_reserve`) and its capacity."""
        free, limit, cap, nodes = self._free, self._limit, self._cap, self._nodes
        for row, line in zip(res.rows, res.lines, strict=True):
            qty = line[2]
            self.reserved[row] += qty
            # qty <= free here, so the formula reduces to lowering both counters:
            # free_units(.., reserved + qty, ..) = free - qty, and
            # protected_limit(free - qty, protect) = max(0, limit - qty).
            free[row] -= qty
            limit[row] = max(int(limit[row]) - qty, 0)
            if self._nested:  # the same, for each tier's head (v1.2)
                self._head[row] = np.maximum(self._head[row] - qty, 0)
            cap[nodes[row]] -= qty
        parcels.give_back(self.network, cap, res, -1)  # S11: a parcel a package
        self.status.append(ACTIVE)
        self.active[res.reservation_id] = res
        if res.key is not None:
            self.keys[res.key] = res
        if res.deadline is not None:
            heapq.heappush(self.heap, (res.deadline, res.reservation_id))

    def apply_close(self, res: Reservation, status: int) -> None:
        """End ``res`` with ``status``: ship its units (commit) or give them back."""
        self._take(res.rows, res.lines, status == COMMITTED)
        if status != COMMITTED:
            parcels.give_back(self.network, self._cap, res)
        del self.active[res.reservation_id]
        self.status[res.reservation_id] = status

    def check_part(self, res: Reservation, lines: tuple[Line, ...]) -> Reservation:
        """``res`` less ``lines`` (a partial commit or release); changes nothing.

        Lines of the same node-SKU are taken together, from ``res``'s lines in
        order; asking for more of a node-SKU than ``res`` holds is InvalidRequest.
        The value returned has no lines when ``lines`` take every unit.
        """
        need: dict[tuple[str, str], int] = {}
        for node_id, sku, qty in lines:
            need[node_id, sku] = need.get((node_id, sku), 0) + qty
        held: dict[tuple[str, str], int] = {}
        for node_id, sku, qty in res.lines:
            held[node_id, sku] = held.get((node_id, sku), 0) + qty
        for (node_id, sku), qty in need.items():
            if qty > held.get((node_id, sku), 0):
                msg = (
                    f"reservation {res.reservation_id} holds "
                    f"{held.get((node_id, sku), 0)} units of sku {sku!r} at node "
                    f"{node_id!r}; asked for {qty}."
                )
                raise InvalidRequest(msg)
        kept_lines: list[Line] = []
        kept_rows: list[int] = []
        for row, (node_id, sku, qty) in zip(res.rows, res.lines, strict=True):
            take = min(qty, need.get((node_id, sku), 0))
            if take:
                need[node_id, sku] -= take
            if qty > take:
                kept_lines.append((node_id, sku, qty - take))
                kept_rows.append(row)
        return res._replace(lines=tuple(kept_lines), rows=tuple(kept_rows))

    def apply_part(
        self, res: Reservation, rest: Reservation, lines: tuple[Line, ...], status: int
    ) -> Reservation:
        """Ship (commit) or give back ``lines`` of ``res``, leaving ``rest`` held.

        ``rest`` comes from :meth:`check_part`; when it holds nothing, ``res``
        ends with ``status``. Returns ``rest`` with the parcels it still holds.
        """
        rows = tuple(self.row(node_id, sku) for node_id, sku, _ in lines)
        self._take(rows, lines, status == COMMITTED)
        net, shipped = self.network, status == COMMITTED
        rest = parcels.settle_part(net, self._cap, rest, lines, shipped)
        if rest.lines:
            self.active[res.reservation_id] = rest
        else:
            del self.active[res.reservation_id]
            self.status[res.reservation_id] = status
        return rest

    def _take(
        self, rows: tuple[int, ...], lines: tuple[Line, ...], shipped: bool
    ) -> None:
        """Lower reserved by ``lines``' units: shipped, or given back with capacity."""
        for row, line in zip(rows, lines, strict=True):
            qty = line[2]
            self.reserved[row] -= qty
            if shipped:  # on_hand - reserved is unchanged, and so are the counters
                self.on_hand[row] -= qty
                self.shipped[row] += qty
            else:  # the node did not give the units: its capacity comes back
                self._cap[self._nodes[row]] += qty
        if not shipped:
            self.refresh(rows)

    def apply_period(self, capacity: dict[str, int | None]) -> None:
        """Start a period: node capacity from the network, or ``capacity`` where given.

        The units active reservations still hold at a node are taken from it
        (they were counted in the period they were made), so the counter may
        start below zero: the node then gives nothing until they go.
        """
        net = self.network
        cap = net.node_capacity.astype(np.int64, copy=True)
        for node_id, value in capacity.items():
            cap[net.node_index[node_id]] = NO_LIMIT if value is None else value
        for res in self.active.values():
            for row, line in zip(res.rows, res.lines, strict=True):
                cap[self._nodes[row]] -= line[2]
        self._cap[:] = cap - parcels.held_parcels(net, self.active.values())

    @contextmanager
    def as_if_released(self, res: Reservation) -> Iterator[None]:
        """Inside the block, ``res``'s units and capacity count as free (for an amend).

        The counters are exactly those of a pool where ``res`` was released;
        on leaving they are exactly as before (the ONE formula, both ways).
        Statuses and the book do not change. The caller holds the pool's lock.
        """
        self._take(res.rows, res.lines, shipped=False)
        parcels.give_back(self.network, self._cap, res)
        try:
            yield
        finally:
            parcels.give_back(self.network, self._cap, res, -1)
            for row, line in zip(res.rows, res.lines, strict=True):
                self.reserved[row] += line[2]
                self._cap[self._nodes[row]] -= line[2]
            self.refresh(res.rows)

    def check_amend(self, old: Reservation, lines: tuple[Line, ...]) -> tuple[int, ...]:
        """The rows of ``lines`` if they fit with ``old``'s own units counted as free."""
        with self.as_if_released(old):
            return self.check_reserve(lines, old.exempt, old.tier)

    def apply_amend(self, old: Reservation, new: Reservation) -> None:
        """Replace ``old`` by ``new`` (checked by :meth:`check_amend`)."""
        self.apply_close(old, AMENDED)
        self.apply_reserve(new)

    def apply_adjust(self, row: int, delta: int, node_id: str, sku: str) -> int:
        """Change on_hand of ``row`` by ``delta`` (checked by :meth:`check_adjust`).

        ``row`` -1 adds the row of (node_id, sku) first. Returns the row.
        """
        if row < 0:
            row = self.add_row(node_id, sku)
        self.on_hand[row] += delta
        self.received[row] += delta
        self.refresh((row,))
        return row

    def check_return(self, node_id: str, sku: str, qty: int, restock: bool) -> int:
        """The row a return of ``qty`` units goes to (-1: a row to add); changes nothing."""
        row = self.row(node_id, sku)
        if row < 0:
            refuse_locker_row(self.network, node_id, sku)
        counter = self.on_hand if restock else self.unsellable
        if row >= 0 and int(counter[row]) + qty > MAX_QTY:
            raise InvalidAdjustment(
                node_id,
                sku,
                qty,
                int(self.on_hand[row]),
                int(self.reserved[row]),
                "above the 2**40 units a row may hold",
            )
        return row

    def apply_return(
        self, row: int, node_id: str, sku: str, qty: int, restock: bool
    ) -> int:
        """Take back ``qty`` units at the row (checked by :meth:`check_return`).

        Restocked units go on hand (sellable at once); others count as
        unsellable. Returns the counter the units went to, after.
        """
        if row < 0:
            row = self.add_row(node_id, sku)
        if not restock:
            self.unsellable[row] += qty
            return int(self.unsellable[row])
        self.on_hand[row] += qty
        self.returned[row] += qty
        self.refresh((row,))
        return int(self.on_hand[row])

    def add_row(self, node_id: str, sku: str) -> int:
        """Add the empty stock row of (node_id, sku) and return its position.

        See :func:`omnistock.pool.rows.grow_state`.
        """
        return grow_state(self, node_id, sku)

    def due(self, now: float) -> list[tuple[float, int]]:
        """Pop the active reservations whose deadline is <= ``now``, earliest first."""
        out: list[tuple[float, int]] = []
        while self.heap and self.heap[0][0] <= now:
            item = heapq.heappop(self.heap)
            if item[1] in self.active:
                out.append(item)
        return out

    def undue(self, items: list[tuple[float, int]]) -> None:
        """Put back what :meth:`due` popped (the expiry was not journaled)."""
        for item in items:
            heapq.heappush(self.heap, item)

    def columns(self) -> dict[str, np.ndarray]:
        """The live per-row counters by column name (read them under the lock)."""
        return {
            "on_hand": self.on_hand,
            "reserved": self.reserved,
            "safety_stock": self.safety,
            "free": self._free,
            "shipped": self.shipped,
            "received": self.received,
            "returned": self.returned,
            "returned_unsellable": self.unsellable,
        }
