"""The StockPool on PostgreSQL: one stock truth for every replica of an order service.

:class:`PostgresPool` is a :class:`~omnistock.StockPool` whose operations run in
the database (:mod:`.pgschema`, one plpgsql call each: one round trip, one
transaction) and whose counters (``free_left``, ``limit_left``,
``capacity_left``, the arrays a Sourcer decides on) are a LOCAL COPY of it:
every operation this process makes writes the rows it touched back into the
copy, newer versions only (each row and node carries a version the database
raises on every change, so replies arriving out of order never go back in
time); changes made by other processes arrive by :meth:`refresh` (a Sourcer
calls it when the database refuses a stale decision) or by :meth:`follow`
(a thread polling every ``interval`` seconds: the documented staleness bound).
Reads that answer a question (``free``, ``status``, ``reservations``,
``keyed``) ask the database; ``stock`` and ``availability`` refresh the copy
first. Arguments are checked by the same functions as in process, so errors
and messages are the same.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import numpy as np
import polars as pl

from omnistock.exceptions import (
    InvalidRequest,
    KeyConflict,
    UnknownReservation,
)
from omnistock.model.scenario import Scenario
from omnistock.pool.parcels import check_locker, parcels_of, settle_part
from omnistock.pool.pglocal import LocalCopy
from omnistock.pool.pgstore import Change, PostgresStore
from omnistock.pool.pool import StockPool
from omnistock.pool.protecting import apply_protection, check_table
from omnistock.pool.reservation import (
    STATUS_NAMES,
    Line,
    Reservation,
    check_capacity,
    check_delta,
    check_exempt,
    check_request,
    check_text,
    check_time,
    check_ttl,
    normalise_lines,
)
from omnistock.pool.state import PoolState

__all__ = ["PostgresPool"]

#: Keyed reservations this process issued, kept so a retry returns the same value.
_KEEP_KEYS = 10_000
#: One-line reservations this process made, kept so closing them is one row.
_KEEP_MINE = 100_000
#: The active reservation, locked (or the error saying why not), as a change row.
_OPEN_SQL = (
    "SELECT 'r', id, status, 0, 0, 0, 0, 0, 0, order_id, key, deadline, exempt, "
    "amends, nodes, skus, qtys, locker, parcels, tier FROM os_open(%s, %s)"
)


def _columns(lines: Sequence[Line]) -> tuple[list[str], list[str], list[int]]:
    return [n for n, _, _ in lines], [s for _, s, _ in lines], [q for _, _, q in lines]


def _rid(reservation_id: object) -> int:
    """A reservation id the database may hold, else -1 (never issued)."""
    if (
        isinstance(reservation_id, int | np.integer)
        and not isinstance(reservation_id, bool)
        and 0 < reservation_id < 2**63
    ):
        return int(reservation_id)
    return -1


class PostgresPool(LocalCopy, StockPool):
    """A StockPool kept in PostgreSQL, shared by every process that opens it.

    Build it with ``StockPool.from_scenario(scenario,
    store=PostgresStore(dsn))`` or ``StockPool.connect(dsn)``.

    Same operations, arguments, errors and statuses as the in-process pool;
    durability is the database's (no journal, no snapshot files).
    """

    store: PostgresStore
    #: Version of each stock row ("s", id) and node ("n", idx) in the local copy.
    _versions: dict[tuple[str, int], int]
    #: Keyed reservations this process issued (a retry returns the same value).
    _issued: dict[str, Reservation]
    #: One-line reservations this process made and has not closed, by id.
    _mine: dict[int, Reservation]
    _stop: threading.Event | None

    @classmethod
    def open(
        cls,
        store: PostgresStore,
        scenario: Scenario | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> PostgresPool:
        """Load ``scenario`` into the store (None: attach to the pool already there)."""
        if scenario is not None:
            network = scenario.compiled().network
            store.load(scenario, network)
            base = scenario.model_copy(update={"stock": (), "orders": ()})
        else:
            base = Scenario.model_validate_json(store.base())
            stock = [
                {"node": n, "sku": s, "on_hand": h, "reserved": r, "safety_stock": f}
                for n, s, h, r, f in store.query(
                    "SELECT node_id, sku, on_hand, reserved, safety FROM os_row"
                )
            ]
            data = base.model_dump(mode="json", exclude={"stock", "orders"})
            data["protection"] = [  # the table now (set_protection may have run)
                {"node": n, "sku": s, "tier": t, "units": u}
                for n, s, t, u in store.table()
            ]
            base = Scenario.model_validate(data)
            compiled = Scenario.model_validate({**data, "stock": stock}).compiled()
            network = compiled.network
        pool = cls.__new__(cls)
        pool._setup(PoolState(network), base, clock)
        pool.store = store
        pool._versions = {}
        pool._issued = {}
        pool._mine = {}
        pool._stop = None
        pool._table_version = -1
        pool.refresh()
        return pool

    def _reservation(self, ch: Change, issued: bool = False) -> Reservation:
        """The Reservation of an ``os_res_row`` change row (rows in the local copy).

        A row read with the locker, parcels and tier (20 columns) carries them;
        as issued, the parcels are those of the lines as issued.
        """
        lines = tuple(zip(ch[14], ch[15], ch[16], strict=True))
        with self.lock:
            rows = tuple(self._state.row(n, s) for n, s, _ in lines)
        res = Reservation(ch[1], ch[9], lines, ch[10], ch[11], ch[12], rows, ch[13])
        if len(ch) > 17 and ch[17] is not None:
            held = parcels_of(ch[17], lines) if issued else tuple(ch[18] or ())
            res = res._replace(locker=ch[17], parcels=held)
        if len(ch) > 19 and ch[19] is not None:
            res = res._replace(tier=ch[19])
        mine = None if res.key is None else self._issued.get(res.key)
        return mine if mine is not None and mine[:6] == res[:6] else res

    def _with_parcels(self, res: Reservation, changes: list[Change]) -> Reservation:
        """``res`` with the locker, parcels and tier of its ``'p'`` change row, if any."""
        for ch in changes:
            if ch[0] == "p" and ch[1] == res.reservation_id:
                return res._replace(
                    locker=ch[9], parcels=tuple(ch[14] or ()), tier=ch[10]
                )
        return res

    def _keep(self, res: Reservation) -> Reservation:
        if len(res.lines) == 1 and res.locker is None:  # os_close1 closes it
            with self.lock:
                if len(self._mine) >= _KEEP_MINE:  # forget the oldest
                    del self._mine[next(iter(self._mine))]
                self._mine[res.reservation_id] = res
        if res.key is not None:
            with self.lock:
                if len(self._issued) >= _KEEP_KEYS:  # forget the oldest
                    del self._issued[next(iter(self._issued))]
                self._issued[res.key] = res
        return res

    def _run(self, function: str, *args: object) -> list[Change]:
        changes = self.store.call(function, *args)
        self._apply(changes)
        return changes

    # -- reading --------------------------------------------------------------------

    def free(
        self, node_id: str, sku: str, *, exempt: bool = True, tier: str | None = None
    ) -> int:
        """Units of (node_id, sku) a reservation of this kind may take now (0 if no row).

        ``tier`` sets ``exempt``, and the protection table's entry applies.
        """
        exempt = self._state.exempt_of(tier, exempt)
        got = self.store.query(
            "SELECT r.on_hand - r.reserved - r.safety, "
            "os_kept(n.id, %s, %s, %s, r.protect) FROM os_node n "
            "LEFT JOIN os_row r ON r.node_id = n.id AND r.sku = %s WHERE n.id = %s",
            (str(sku), tier, exempt, str(sku), str(node_id)),
        )
        if not got:
            self._state.row(str(node_id), str(sku))  # raises UnknownStockRow
        free, kept = got[0]
        if free is None:
            return 0
        return int(max(0, max(0, free) - kept))  # max(0, free_units - u_t(r))

    def status(self, reservation_id: int) -> str:
        """``"active"``, ``"committed"``, ``"released"``, ``"expired"`` or ``"amended"``."""
        got = self.store.query(
            "SELECT status FROM os_res WHERE id = %s", (_rid(reservation_id),)
        )
        if not got:
            raise UnknownReservation(reservation_id)
        return STATUS_NAMES[got[0][0]]

    def _select(self, where: str, args: Sequence[object], issued: bool) -> list[Any]:
        cols = "nodes, skus, qtys"
        if issued:
            cols = "coalesce(i_nodes, nodes), coalesce(i_skus, skus), coalesce(i_qtys, qtys)"
        rows = self.store.query(
            f"SELECT 'r', id, status, 0, 0, 0, 0, 0, 0, order_id, key, deadline, "
            f"exempt, amends, {cols}, locker, parcels, tier FROM os_res WHERE {where} "
            "ORDER BY id",
            args,
        )
        return [self._reservation(r, issued) for r in rows]

    def reservations(self) -> list[Reservation]:
        """The active reservations, oldest first."""
        return self._select("status = 1", (), False)

    def keyed(self, key: str) -> Reservation | None:
        """The reservation made under idempotency key ``key``, or None."""
        got = self._select("key = %s", (key,), True)
        return got[0] if got else None

    def stock(self) -> pl.DataFrame:
        """Every stock row and its counters, read from the database now."""
        self.refresh()
        return super().stock()

    def availability(self, **options: Any) -> pl.DataFrame:
        """As :meth:`StockPool.availability`, on counters read from the database now."""
        self.refresh()
        return super().availability(**options)

    # -- the operations: check the arguments here, the stock in the database ------

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
        """As :meth:`StockPool.reserve`, in one database transaction."""
        norm = normalise_lines(lines)
        order_id, key, ttl, exempt = check_request(order_id, key, ttl, exempt)
        deadline = None if ttl is None else self._deadline(order_id, ttl)
        head: Change
        if locker is not None or tier is not None:  # S11 parcels, v1.2 tiers
            if tier is not None:  # the tier sets it (contract v1.2)
                exempt = tier in self.network.exempt_tiers
            if locker is not None:
                where = f"reserve of order {order_id!r}"
                locker = check_locker(self.network, locker, where)
            changes = self._run(
                "os_reserve_at", order_id, key, deadline, exempt, *_columns(norm),
                locker, list(parcels_of(locker, norm)), tier,
            )  # fmt: skip
            head = changes[0]
        elif len(norm) == 1:  # the hot path: scalars in, one row out
            ((node, sku, qty),) = norm
            one = self.store.call_one(
                "os_reserve1", order_id, key, deadline, exempt, node, sku, qty
            )
            if one[1] == 1:
                rows = self._apply_one(node, sku, one)
                res = Reservation(one[0], order_id, norm, key, deadline, exempt, rows)
                return self._keep(res)
            head = ("k", one[0])  # a keyed retry: read it below
        else:
            changes = self._run(
                "os_reserve", order_id, key, deadline, exempt, *_columns(norm)
            )
            head = changes[0]
        if head[0] == "k":
            prior = self.keyed(key or "")
            assert prior is not None  # a key is never taken back
            same = (prior.order_id, sorted(prior.lines), prior.exempt, prior.tier)
            if same != (order_id, sorted(norm), exempt, tier) or prior.locker != locker:
                raise KeyConflict(
                    key or "", prior.reservation_id, "order, lines or tier"
                )
            return prior
        with self.lock:
            rows = tuple(self._state.row(n, s) for n, s, _ in norm)
        res = Reservation(head[1], order_id, norm, key, deadline, exempt, rows)
        held = parcels_of(locker, norm)
        return self._keep(res._replace(locker=locker, parcels=held, tier=tier))

    def _close(
        self, reservation_id: int, op: str, status: int, lines: Iterable[Any] | None
    ) -> Reservation:
        part = None if lines is None else normalise_lines(lines)
        rid = _rid(reservation_id)
        mine = self._mine.get(rid) if part is None else None
        try:
            if mine is not None:  # one line this process made: the hot path
                one = self.store.call_one("os_close1", rid, op, status)
                if one[1] != -1:
                    del self._mine[rid]
                    ((node, sku, _),) = mine.lines
                    rows = self._apply_one(node, sku, one)
                    return mine._replace(lines=((node, sku, one[2]),), rows=rows)
            if part is None:
                changes = self._run("os_close", rid, op, status)
                return self._with_parcels(self._reservation(changes[0]), changes)
            with self.store.transaction() as conn:
                got = conn.execute(_OPEN_SQL, (rid, op)).fetchone()
                assert got is not None
                res = self._reservation(got)
                res = res._replace(rows=(0,) * len(res.lines))
                rest = self._state.check_part(res, part)
                args: tuple[Any, ...] = (rid, status, *_columns(part))
                args = (*args, *_columns(rest.lines))
                if res.locker is None:
                    sql = "SELECT * FROM os_part(%s, %s, %s, %s, %s, %s, %s, %s)"
                else:  # S11: the parcels settled by the one copy of the rule
                    given = np.zeros(self.network.n_nodes, dtype=np.int64)
                    rest = settle_part(self.network, given, rest, part, status == 2)
                    back = int(given[self.network.node_index[res.locker]])
                    args = (*args, list(rest.parcels), back)
                    sql = "SELECT * FROM os_part_at(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
                changes = conn.execute(sql, args).fetchall()
        except UnknownReservation:
            raise UnknownReservation(reservation_id) from None
        self._apply(changes)
        with self.lock:
            out = rest if rest.lines else res
            rows = tuple(self._state.row(n, s) for n, s, _ in out.lines)
        return out._replace(rows=rows)

    def amend(
        self,
        reservation_id: int,
        lines: Iterable[Any] | pl.DataFrame,
        *,
        key: str | None = None,
        ttl: float | None = None,
        locker: Any = ...,
    ) -> Reservation:
        """As :meth:`StockPool.amend`, in one database transaction."""
        norm = normalise_lines(lines)
        if key is not None:
            key = check_text(key, f"amend of reservation {reservation_id!r}: key")
        if ttl is not None:
            ttl = check_ttl(ttl, f"amend of reservation {reservation_id!r}")
        deadline = None
        if ttl is not None:
            deadline = check_time(
                self.clock() + ttl,
                f"amend of reservation {reservation_id!r}: clock() + ttl",
            )
        keep = locker is ...
        if not keep:
            where = f"amend of reservation {reservation_id!r}"
            locker = check_locker(self.network, locker, where)
        try:
            changes = self._run(
                "os_amend_at", _rid(reservation_id), key, ttl is not None, deadline,
                *_columns(norm), None if keep else locker, keep,
                list(parcels_of("", norm)),  # the new lines' packages
            )  # fmt: skip
        except UnknownReservation:
            raise UnknownReservation(reservation_id) from None
        head = changes[0]
        if head[0] == "k":
            new = self.keyed(key or "")
            assert new is not None  # a key is never taken back
            if (new.amends, sorted(new.lines)) != (reservation_id, sorted(norm)):
                raise KeyConflict(key or "", new.reservation_id, "amendment or lines")
            return new
        return self._keep(self._with_parcels(self._reservation(head), changes))

    @contextmanager
    def as_if_released(self, reservation_id: int) -> Iterator[Reservation]:
        """As :meth:`StockPool.as_if_released`, on the local copy (the database re-checks)."""
        with self.lock:
            try:
                got = self.store.query(_OPEN_SQL, (_rid(reservation_id), "amend"))
            except UnknownReservation:
                raise UnknownReservation(reservation_id) from None
            res = self._reservation(got[0])
            with self._state.as_if_released(res):
                yield res

    def expire(self, now: float | None = None) -> list[int]:
        """As :meth:`StockPool.expire`: every due reservation, in one transaction."""
        now = check_time(self.clock() if now is None else now, "expire: now")
        due = sorted(
            (ch[11], ch[1]) for ch in self._run("os_expire", now) if ch[0] == "x"
        )
        return [rid for _, rid in due]

    def adjust(self, node_id: str, sku: str, delta: int, reason: str) -> int:
        """As :meth:`StockPool.adjust`, in one database transaction."""
        delta = check_delta(delta, f"node {node_id!r}, sku {sku!r}")
        reason = check_text(reason, "reason")
        sku = check_text(sku, "sku")
        changes = self._run("os_adjust", str(node_id), sku, delta, reason)
        return int(next(ch[3] for ch in changes if ch[0] == "s"))

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
        """As :meth:`StockPool.receive_return`, in one database transaction."""
        order_id = check_text(order_id, "order_id")
        reason = check_text(reason, "reason")
        ((node_id, sku, qty),) = normalise_lines([(node_id, sku, qty)])
        sku = check_text(sku, "sku")
        restock = check_exempt(restock, f"return of order {order_id!r}: restock")
        changes = self._run("os_return", order_id, node_id, sku, qty, restock, reason)
        row = next(ch for ch in changes if ch[0] == "s")
        return int(row[3] if restock else row[8])

    def open_period(
        self, capacity: Mapping[str, int | None] | None = None
    ) -> np.ndarray:
        """As :meth:`StockPool.open_period`, in one database transaction."""
        given = check_capacity(capacity, self.network.node_index)
        self._run("os_period", list(given), list(given.values()))
        with self.lock:
            return self.capacity_left.copy()

    # -- durability is the database's ---------------------------------------------

    def set_protection(self, frame: Any) -> None:
        """As :meth:`StockPool.set_protection`: the table in the database, in one transaction.

        Other replicas read it on their next refresh (``follow``'s interval);
        the database applies it to every request from its commit on.
        """
        with self.lock:
            table = check_table(self._state, frame)
            with self.store.transaction() as conn:
                version = self.store.put_table(conn, table)
            apply_protection(self._state, table)
            self._table_version = version

    def snapshot(self, path: Any, **options: Any) -> Any:
        """Not for a PostgreSQL pool: back the database up (pg_dump, base backups)."""
        msg = (
            "snapshot: a PostgreSQL pool is kept by its database; back that up "
            f"(pg_dump --schema={self.store.schema}, or base backups and WAL), then "
            "restore it and attach with StockPool.connect."
        )
        raise InvalidRequest(msg)

    def close(self) -> None:
        """Stop :meth:`follow` and close this pool's connections."""
        if self._stop is not None:
            self._stop.set()
            self._stop = None
        self.store.close()
