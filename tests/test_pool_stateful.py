"""StockPool against a plain-Python model, with crashes, snapshots and torn records.

The model is tests/pool_model.py; tiers and ``set_protection`` (contract v1.2)
are drawn too, and every row's ``free(node, sku, tier=t)`` is held to it.
"""

from __future__ import annotations

import shutil
import tempfile
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
    ReservationClosed,
    Scenario,
    StockPool,
    UnknownReservation,
    UnknownStockRow,
)
from omnistock.pool.journal import encode_record, scan_journal
from tests.pool_model import (
    NODE_IDS,
    NODES,
    PROTECT,
    SCENARIO,
    SKUS,
    TIERS,
    Model,
    Row,
)


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
        tier=st.none() | st.sampled_from(TIERS),
    )
    def reserve(
        self,
        lines: list[tuple[str, str, int]],
        key: str | None,
        ttl: float | None,
        exempt: bool,
        order: str,
        locker: str | None = None,
        tier: str | None = None,
    ) -> None:
        deadline = None if ttl is None else self.now + ttl
        expected = self.model.reserve(order, lines, key, deadline, exempt, locker, tier)
        event(f"reserve: {'ok' if isinstance(expected, int) else expected[0].__name__}")
        if locker is not None:
            full = not isinstance(expected, int) and expected[1] == "L1"
            event(f"reserve at L1: {'locker full' if full else 'other'}")
        # Only the in-process pool knows tiers: a v1 call stays a v1 call.
        more = {} if tier is None else {"tier": tier}
        if isinstance(expected, int):
            res = self.pool.reserve(
                order, lines, key=key, ttl=ttl, exempt=exempt, locker=locker, **more
            )
            assert res.reservation_id == expected
            stored = self.model.res[expected]
            assert (res.lines, res.deadline, res.key, res.exempt) == (
                stored.issued,
                stored.deadline,
                stored.key,
                stored.exempt,
            )
            assert res.tier == stored.tier
            return
        kind, *fields = expected
        with pytest.raises(kind) as err:
            self.pool.reserve(
                order, lines, key=key, ttl=ttl, exempt=exempt, locker=locker, **more
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
        row=st.sampled_from([(r.node, r.sku) for r in SCENARIO.stock]),
        qty=st.integers(1, 3),
        tier=st.sampled_from(TIERS),
        key=st.none() | st.just("k6"),
    )
    def reserve_at_a_tier(
        self, row: tuple[str, str], qty: int, tier: str, key: str | None
    ) -> None:
        self.reserve([(*row, qty)], key, None, False, "o5", None, tier)

    @rule(
        entries=st.lists(
            st.tuples(
                st.sampled_from(["W1", "S1", "S2"] * 4 + ["L1", "X9"]),
                st.sampled_from(SKUS),  # rows without stock too (D, S1-B, ...)
                st.sampled_from(["standard", "gold", "vip"]),
                st.integers(0, 4),
            ),
            max_size=5,
        )
    )
    def set_protection(self, entries: list[tuple[str, str, str, int]]) -> None:
        frame = [
            dict(zip(("node", "sku", "tier", "units"), e, strict=True)) for e in entries
        ]
        if self.model.set_protection(entries) is InvalidRequest:
            event("set_protection: refused")
            with pytest.raises(InvalidRequest, match="set_protection"):
                self.pool.set_protection(frame)
            return
        event(f"set_protection: {'empty' if not entries else 'a table'}")
        self.pool.set_protection(frame)

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
        assert got.tolist() == self.capacities()

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

    def capacities(self) -> list[int]:
        """The model's capacity left per node, as the pool under test keeps it."""
        return [self.model.cap[n] for n in NODES]

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
        # The tier and exemption too: the journal and a snapshot keep them.
        active = {
            r.reservation_id: (r.lines, r.tier, r.exempt)
            for r in self.pool.reservations()
        }
        assert active == {
            rid: (r.lines, r.tier, r.exempt)
            for rid, r in self.model.res.items()
            if self.model.status[rid] == "active"
        }
        for rid, s in self.model.status.items():
            assert self.pool.status(rid) == s
        assert self.pool.capacity_left.tolist() == self.capacities()
        parcels = {r.reservation_id: r.parcels for r in self.pool.reservations()}
        assert parcels == {
            rid: tuple(sorted(self.model.res[rid].parcels))
            for rid, s in self.model.status.items()
            if s == "active"
        }

    @invariant()
    def free_at_each_tier_matches_the_model(self) -> None:
        # Rows the table names before they hold stock included (free 0 there).
        rows = set(self.model.rows) | {
            (n, s) for n, s, _ in self.model.table if n in PROTECT
        }
        for node, sku in sorted(rows):
            got = [self.pool.free(node, sku, tier=t) for t in TIERS]
            assert got == [self.model.usable(node, sku, t, False) for t in TIERS]

    @invariant()
    def availability_matches_the_model(self) -> None:
        frame = self.pool.availability(tier="standard")
        for sku, available in zip(frame["sku"], frame["available"], strict=True):
            assert available == sum(
                self.model.usable(n, s, "standard", False)
                for n, s in self.model.rows
                if s == sku
            )


TestPoolMachine = PoolMachine.TestCase
