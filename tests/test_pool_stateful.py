"""StockPool against a plain-Python model, with crashes, snapshots and torn records."""

from __future__ import annotations

import copy
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
)

from omnistock import (
    InsufficientStock,
    InvalidAdjustment,
    InvalidRequest,
    KeyConflict,
    ReservationClosed,
    Scenario,
    StockPool,
    UnknownReservation,
    UnknownStockRow,
)
from omnistock.compiled.network import NO_LIMIT
from omnistock.pool.journal import encode_record, scan_journal

SCENARIO = Scenario.model_validate(
    {
        "nodes": [
            {"id": "W1", "kind": "warehouse", "lat": 48.85, "lon": 2.35, "capacity": 9},
            {"id": "S1", "kind": "store", "lat": 45.76, "lon": 4.84, "capacity": 3},
            {"id": "S2", "kind": "store", "lat": 43.30, "lon": 5.37},
            {"id": "L1", "kind": "locker", "lat": 48.9, "lon": 2.4, "capacity": 1},
        ],
        "stock": [
            {"node": "W1", "sku": "A", "on_hand": 6, "safety_stock": 1},
            {"node": "W1", "sku": "B", "on_hand": 3, "reserved": 1},
            {"node": "S1", "sku": "A", "on_hand": 2},
            {"node": "S2", "sku": "B", "on_hand": 4, "safety_stock": 2},
            {"node": "S2", "sku": "C", "on_hand": 1},
        ],
        "rules": {"last_unit_protection": {"store": 1, "warehouse": 1}},
    }
)
PROTECT = {"W1": 1, "S1": 1, "S2": 1}
CAPACITY = {"W1": 9, "S1": 3, "S2": NO_LIMIT, "L1": 1}  # L1 counts parcels
NODES = list(CAPACITY)
NODE_IDS = ["W1", "S1", "S2"] * 4 + ["X9"]  # X9 is not a node (drawn 1 in 13)
SKUS = ["A", "B", "C"] * 4 + ["D"]  # D is stocked nowhere


@dataclass
class Row:
    on_hand: int
    reserved: int
    safety: int
    protect: int
    shipped: int = 0
    received: int = 0
    returned: int = 0
    unsellable: int = 0

    def usable(self, exempt: bool) -> int:
        free = max(0, self.on_hand - self.reserved - self.safety)
        return free if exempt else max(0, free - self.protect)


@dataclass
class Res:
    order_id: str
    lines: tuple[tuple[str, str, int], ...]
    key: str | None
    deadline: float | None
    exempt: bool
    issued: tuple[tuple[str, str, int], ...] = ()  # the lines as reserved
    amends: int | None = None
    locker: str | None = None
    parcels: set[str] = field(default_factory=set)  # nodes whose parcel it holds


@dataclass
class Model:
    """The pool as dicts: the reading of the issue that the pool must match."""

    rows: dict[tuple[str, str], Row] = field(default_factory=dict)
    res: dict[int, Res] = field(default_factory=dict)
    status: dict[int, str] = field(default_factory=dict)
    keys: dict[str, int] = field(default_factory=dict)
    cap: dict[str, int] = field(default_factory=lambda: dict(CAPACITY))

    def reserve(
        self,
        order_id: str,
        lines: Any,
        key: Any,
        deadline: Any,
        ex: bool,
        locker: str | None = None,
    ) -> Any:
        """The reservation id, or the error (type and fields) the pool must raise."""
        if key is not None and key in self.keys:
            prior = self.res[self.keys[key]]
            same = (prior.order_id, sorted(prior.issued), prior.exempt) == (
                order_id,
                sorted(lines),
                ex,
            ) and (prior.locker == locker)
            return self.keys[key] if same else (KeyConflict, key)
        for node, sku, _ in lines:
            if node not in PROTECT:
                return (UnknownStockRow, node, sku)
        need: dict[tuple[str, str], int] = {}
        for node, sku, qty in lines:
            need[node, sku] = need.get((node, sku), 0) + qty
        for node, sku, _ in lines:
            row = self.rows.get((node, sku))
            have = 0 if row is None else row.usable(ex)
            if need[node, sku] > have:
                return (InsufficientStock, node, sku, need[node, sku], have)
        at: dict[str, int] = {}
        for node, _, qty in lines:
            at[node] = at.get(node, 0) + qty
        for node, sku, _ in lines:
            if at[node] > self.cap[node]:
                return (InsufficientStock, node, sku, at[node], max(self.cap[node], 0))
        parcels = set() if locker is None else {node for node, _, _ in lines}
        if locker is not None and len(parcels) > self.cap[locker]:  # one a package
            left = max(self.cap[locker], 0)
            return (InsufficientStock, locker, lines[0][1], len(parcels), left)
        rid = len(self.status) + 1
        for node, sku, qty in lines:
            self.rows[node, sku].reserved += qty
            self.cap[node] -= qty
        if locker is not None:
            self.cap[locker] -= len(parcels)
        self.res[rid] = Res(order_id, tuple(lines), key, deadline, ex, tuple(lines))
        self.res[rid].locker, self.res[rid].parcels = locker, parcels
        self.status[rid] = "active"
        if key is not None:
            self.keys[key] = rid
        return rid

    def close(self, rid: int, status: str) -> None:
        self.take(rid, self.res[rid].lines, status)

    def take(self, rid: int, lines: Any, status: str) -> Any:
        """Ship or give back ``lines`` of reservation ``rid``; None, or the error."""
        held: dict[tuple[str, str], int] = {}
        for node, sku, qty in self.res[rid].lines:
            held[node, sku] = held.get((node, sku), 0) + qty
        for node, sku, qty in lines:
            held[node, sku] = held.get((node, sku), 0) - qty
            if held[node, sku] < 0:
                return InvalidRequest
        for node, sku, qty in lines:
            row = self.rows[node, sku]
            row.reserved -= qty
            if status == "committed":
                row.on_hand -= qty
                row.shipped += qty
            else:
                self.cap[node] += qty
        # What is left, line by line in the order reserved: a node-SKU's units
        # are taken from its first lines first.
        owed = held
        left = []
        for node, sku, qty in reversed(self.res[rid].lines):
            keep = min(qty, owed[node, sku])
            owed[node, sku] -= keep
            if keep:
                left.append((node, sku, keep))
        self.res[rid].lines = tuple(reversed(left))
        # Parcels: a commit uses those it ships from; a release gives back a
        # package's parcel with its last line (unless part of it shipped).
        res = self.res[rid]
        touched = {node for node, _, _ in lines}
        gone = touched if status == "committed" else touched - {n for n, _, _ in left}
        if status != "committed" and res.locker is not None:
            self.cap[res.locker] += len(res.parcels & gone)
        res.parcels -= gone
        if not left:
            self.status[rid] = status
        return None

    def amend(
        self, rid: int, lines: Any, key: Any, deadline: float | None, locker: Any = ...
    ) -> Any:
        """The new reservation's id, or the error the pool must raise."""
        if key is not None and key in self.keys:
            prior = self.res[self.keys[key]]
            same = (prior.amends, sorted(prior.issued)) == (rid, sorted(lines))
            return self.keys[key] if same else (KeyConflict, key)
        if rid not in self.status:
            return (UnknownReservation,)
        if self.status[rid] != "active":
            return (ReservationClosed,)
        old = self.res[rid]
        before = copy.deepcopy((self.rows, self.res, self.status, self.cap))
        self.take(rid, old.lines, "amended")  # its own units count as free
        locker = old.locker if locker is ... else locker
        new = self.reserve(old.order_id, lines, None, deadline, old.exempt, locker)
        if not isinstance(new, int):
            self.rows, self.res, self.status, self.cap = before
            return new
        self.res[new].key, self.res[new].amends = key, rid
        self.res[new].deadline = old.deadline if deadline is None else deadline
        if key is not None:
            self.keys[key] = new
        return new

    def period(self, given: dict[str, int | None]) -> None:
        cap = dict(CAPACITY)
        cap.update({n: NO_LIMIT if c is None else c for n, c in given.items()})
        for rid, r in self.res.items():
            if self.status[rid] == "active":
                for node, _, qty in r.lines:
                    cap[node] -= qty
                if r.locker is not None:
                    cap[r.locker] -= len(r.parcels)
        self.cap = cap


class PoolMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="pool-stateful-"))
        self.journal = self.dir / "journal"
        self.snap: Path | Scenario = SCENARIO
        self.now = 100.0
        self.pool = StockPool.from_scenario(
            SCENARIO, clock=self.clock, journal=self.journal, fsync="never"
        )
        self.model = Model(
            rows={
                (r.node, r.sku): Row(
                    r.on_hand, r.reserved, r.safety_stock, PROTECT[r.node]
                )
                for r in SCENARIO.stock
            }
        )

    def clock(self) -> float:
        return self.now

    def teardown(self) -> None:
        self.pool.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -- operations ------------------------------------------------------------------

    @rule(
        lines=st.lists(
            st.tuples(
                st.sampled_from(NODE_IDS), st.sampled_from(SKUS), st.integers(1, 4)
            ),
            min_size=1,
            max_size=3,
        ),
        key=st.none() | st.sampled_from(["k1", "k2", "k3"]),
        ttl=st.none() | st.sampled_from([5.0, 20.0]),
        exempt=st.booleans(),
        order=st.sampled_from(["o1", "o2"]),
        locker=st.none() | st.just("L1"),
    )
    def reserve(
        self,
        lines: list[tuple[str, str, int]],
        key: str | None,
        ttl: float | None,
        exempt: bool,
        order: str,
        locker: str | None = None,
    ) -> None:
        deadline = None if ttl is None else self.now + ttl
        expected = self.model.reserve(order, lines, key, deadline, exempt, locker)
        event(f"reserve: {'ok' if isinstance(expected, int) else expected[0].__name__}")
        if locker is not None:
            full = not isinstance(expected, int) and expected[1] == "L1"
            event(f"reserve at L1: {'locker full' if full else 'other'}")
        if isinstance(expected, int):
            res = self.pool.reserve(
                order, lines, key=key, ttl=ttl, exempt=exempt, locker=locker
            )
            assert res.reservation_id == expected
            stored = self.model.res[expected]
            assert (res.lines, res.deadline, res.key) == (
                stored.issued,
                stored.deadline,
                stored.key,
            )
            return
        kind, *fields = expected
        with pytest.raises(kind) as err:
            self.pool.reserve(
                order, lines, key=key, ttl=ttl, exempt=exempt, locker=locker
            )
        if kind is InsufficientStock:
            e = err.value
            assert [e.node_id, e.sku, e.requested, e.free] == fields

    @rule(
        row=st.sampled_from([(r.node, r.sku) for r in SCENARIO.stock]),
        qty=st.integers(1, 2),
        ttl=st.none() | st.just(5.0),
        exempt=st.booleans(),
    )
    def reserve_a_stocked_row(
        self, row: tuple[str, str], qty: int, ttl: float | None, exempt: bool
    ) -> None:
        self.reserve([(*row, qty)], None, ttl, exempt, "o3")

    @rule(
        rows=st.lists(
            st.sampled_from([(r.node, r.sku) for r in SCENARIO.stock]),
            min_size=1,
            max_size=2,
        ),
        ttl=st.none() | st.just(5.0),
    )
    def reserve_at_the_locker(
        self, rows: list[tuple[str, str]], ttl: float | None
    ) -> None:
        self.reserve([(*row, 1) for row in rows], None, ttl, True, "o4", "L1")

    def _pick(self, data: st.DataObject) -> int:
        return data.draw(st.integers(0, len(self.model.status) + 1))

    @rule(data=st.data(), commit=st.booleans())
    def close(self, data: st.DataObject, commit: bool) -> None:
        rid = self._pick(data)
        action = self.pool.commit if commit else self.pool.release
        status = self.model.status.get(rid)
        if status is None:
            with pytest.raises(UnknownReservation):
                action(rid)
        elif status != "active":
            with pytest.raises(ReservationClosed, match=f"already {status}"):
                action(rid)
        else:
            action(rid)
            self.model.close(rid, "committed" if commit else "released")

    @rule(data=st.data(), commit=st.booleans())
    def close_some_lines(self, data: st.DataObject, commit: bool) -> None:
        active = [rid for rid, s in self.model.status.items() if s == "active"]
        if not active:
            return
        rid = data.draw(st.sampled_from(active))
        held = self.model.res[rid].lines
        lines = data.draw(
            st.lists(
                st.tuples(
                    st.sampled_from([(n, s) for n, s, _ in held] + [("S1", "C")]),
                    st.integers(1, 3),
                ).map(lambda t: (*t[0], t[1])),
                min_size=1,
                max_size=3,
            )
        )
        action = self.pool.commit if commit else self.pool.release
        status = "committed" if commit else "released"
        before = self.model.res[rid].lines
        if self.model.take(rid, lines, status) is InvalidRequest:
            event("partial: more than held")
            with pytest.raises(InvalidRequest, match=f"reservation {rid} holds"):
                action(rid, lines)
            return
        event(f"partial: {'ended' if self.model.status[rid] != 'active' else 'kept'}")
        got = action(rid, lines)
        left = self.model.res[rid].lines
        assert got.reservation_id == rid
        assert got.lines == (left or before)

    @rule(
        given=st.none()
        | st.dictionaries(st.sampled_from(NODES), st.none() | st.integers(0, 6))
    )
    def open_period(self, given: dict[str, int | None] | None) -> None:
        self.model.period(given or {})
        got = self.pool.open_period(given)
        assert got.tolist() == [self.model.cap[n] for n in NODES]

    @rule(
        data=st.data(),
        lines=st.lists(
            st.tuples(
                st.sampled_from(NODE_IDS), st.sampled_from(SKUS), st.integers(1, 4)
            ),
            min_size=1,
            max_size=3,
        ),
        key=st.none() | st.sampled_from(["k1", "k4"]),
        ttl=st.none() | st.just(20.0),
        locker=st.sampled_from([..., None, "L1"]),
    )
    def amend(
        self,
        data: st.DataObject,
        lines: list[tuple[str, str, int]],
        key: str | None,
        ttl: float | None,
        locker: Any = ...,
    ) -> None:
        active = [r for r, s in self.model.status.items() if s == "active"]
        rid = data.draw(st.sampled_from(active)) if active else self._pick(data)
        deadline = None if ttl is None else self.now + ttl
        expected = self.model.amend(rid, lines, key, deadline, locker)
        event(f"amend: {'ok' if isinstance(expected, int) else expected[0].__name__}")
        if isinstance(expected, int):
            new = self.pool.amend(rid, lines, key=key, ttl=ttl, locker=locker)
            stored = self.model.res[expected]
            assert (new.reservation_id, new.amends, new.lines, new.deadline) == (
                expected,
                stored.amends,
                stored.issued,
                stored.deadline,
            )
            return
        kind, *fields = expected
        with pytest.raises(kind) as err:
            self.pool.amend(rid, lines, key=key, ttl=ttl, locker=locker)
        if kind is InsufficientStock:
            e = err.value
            assert [e.node_id, e.sku, e.requested, e.free] == fields

    @rule(
        data=st.data(),
        rows=st.lists(
            st.sampled_from([(r.node, r.sku) for r in SCENARIO.stock]),
            min_size=1,
            max_size=2,
        ),
        key=st.none() | st.just("k5"),
    )
    def amend_to_stocked_rows(
        self, data: st.DataObject, rows: list[tuple[str, str]], key: str | None
    ) -> None:
        self.amend(data, [(*row, 1) for row in rows], key, None)

    @rule(dt=st.sampled_from([0.0, 3.0, 5.0, 12.0, 30.0]))
    def expire(self, dt: float) -> None:
        self.now += dt
        due = sorted(
            (r.deadline, rid)
            for rid, r in self.model.res.items()
            if self.model.status[rid] == "active"
            and r.deadline is not None
            and r.deadline <= self.now
        )
        assert self.pool.expire() == [rid for _, rid in due]
        for _, rid in due:
            self.model.close(rid, "expired")

    @rule(
        node=st.sampled_from(NODE_IDS),
        sku=st.sampled_from(SKUS),
        delta=st.integers(-4, 4),
    )
    def adjust(self, node: str, sku: str, delta: int) -> None:
        row = self.model.rows.get((node, sku))
        if row is None and node in PROTECT and delta > 0:
            event("adjust: a new row")
            assert self.pool.adjust(node, sku, delta, "receipt") == delta
            self.model.rows[node, sku] = Row(delta, 0, 0, PROTECT[node], received=delta)
        elif row is None:
            with pytest.raises(UnknownStockRow):
                self.pool.adjust(node, sku, delta, "count")
        elif row.on_hand + delta < row.reserved:
            with pytest.raises(InvalidAdjustment):
                self.pool.adjust(node, sku, delta, "count")
        else:
            assert self.pool.adjust(node, sku, delta, "count") == row.on_hand + delta
            row.on_hand += delta
            row.received += delta

    @rule(
        node=st.sampled_from(NODE_IDS),
        sku=st.sampled_from(SKUS),
        qty=st.integers(1, 3),
        restock=st.booleans(),
    )
    def receive_return(self, node: str, sku: str, qty: int, restock: bool) -> None:
        if node not in PROTECT:
            with pytest.raises(UnknownStockRow):
                self.pool.receive_return("o1", node, sku, qty, restock=restock)
            return
        row = self.model.rows.get((node, sku))
        event(f"return: {'new row' if row is None else 'row'}, restock={restock}")
        if row is None:
            row = self.model.rows[node, sku] = Row(0, 0, 0, PROTECT[node])
        if restock:
            row.on_hand += qty
            row.returned += qty
        else:
            row.unsellable += qty
        got = self.pool.receive_return("o1", node, sku, qty, restock=restock)
        assert got == (row.on_hand if restock else row.unsellable)

    # -- durability ------------------------------------------------------------------

    @rule()
    def snapshot(self) -> None:
        self.snap = self.pool.snapshot(self.dir / "snapshot")

    def _recover(self) -> None:
        event(
            "recover from a snapshot"
            if isinstance(self.snap, Path)
            else "recover from the scenario"
        )
        self.pool = StockPool.recover(
            self.snap, self.journal, clock=self.clock, fsync="never"
        )

    @rule()
    def crash_and_recover(self) -> None:
        # What was handed to the OS survives a process crash.
        self.pool.sync()
        self.pool.close()
        self._recover()

    @rule(data=st.data())
    def torn_record_then_recover(self, data: st.DataObject) -> None:
        self.pool.close()
        record = encode_record(self.pool.seq + 1, ["adjust", "W1", "A", 3, "receipt"])
        how = data.draw(st.sampled_from(["cut", "flip", "zeros"]))
        if how == "cut":
            tail = record[: data.draw(st.integers(1, len(record) - 1))]
        elif how == "flip":
            at = data.draw(st.integers(8, len(record) - 1))
            tail = record[:at] + bytes([record[at] ^ 0x5A]) + record[at + 1 :]
        else:
            tail = b"\0" * data.draw(st.integers(1, 64))
        with self.journal.open("ab") as f:
            f.write(tail)
        assert scan_journal(self.journal).torn
        self._recover()
        assert not scan_journal(self.journal).torn  # the torn tail was cut off

    @invariant()
    def matches_the_model(self) -> None:
        stock = self.pool.stock()
        got = {
            (r["node_id"], r["sku"]): (
                r["on_hand"],
                r["reserved"],
                r["shipped"],
                r["received"],
                r["returned"],
                r["returned_unsellable"],
                r["free"],
            )
            for r in stock.iter_rows(named=True)
        }
        want = {
            k: (
                r.on_hand,
                r.reserved,
                r.shipped,
                r.received,
                r.returned,
                r.unsellable,
                r.usable(True),
            )
            for k, r in self.model.rows.items()
        }
        assert got == want
        for (node, sku), r in self.model.rows.items():
            assert self.pool.free(node, sku, exempt=False) == r.usable(False)
        active = {r.reservation_id: r.lines for r in self.pool.reservations()}
        assert active == {
            rid: self.model.res[rid].lines
            for rid, s in self.model.status.items()
            if s == "active"
        }
        for rid, s in self.model.status.items():
            assert self.pool.status(rid) == s
        assert self.pool.capacity_left.tolist() == [self.model.cap[n] for n in NODES]
        parcels = {r.reservation_id: r.parcels for r in self.pool.reservations()}
        assert parcels == {
            rid: tuple(sorted(self.model.res[rid].parcels))
            for rid, s in self.model.status.items()
            if s == "active"
        }

    @invariant()
    def availability_matches_the_model(self) -> None:
        frame = self.pool.availability(tier="standard")
        for sku, available in zip(frame["sku"], frame["available"], strict=True):
            assert available == sum(
                r.usable(False) for (_, s), r in self.model.rows.items() if s == sku
            )


TestPoolMachine = PoolMachine.TestCase
