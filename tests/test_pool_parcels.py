"""The live pool keeps a locker's parcels (issue 15, items 5 and 6; docs/pool.md, "Lockers").

One parcel per (order, shipping node) package of a reservation made at a locker:
taken by reserve, given back by release / expire / amend, kept by commit, reset
by open_period; journaled and recovered exactly (journal, snapshot, older
formats); read by the Sourcer, which decides as batch greedy.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import signal
import struct
import threading
import zlib
from pathlib import Path
from typing import Any

import polars as pl
import pytest
from hypothesis import given, settings

from omnistock import (
    InsufficientStock,
    InvalidRequest,
    JournalError,
    KeyConflict,
    Scenario,
    Sourcer,
    StockPool,
)
from omnistock.compiled.network import NO_LIMIT
from omnistock.pool.journal import MAGIC, scan_journal
from tests.test_lockers import at_lockers, sources_as_greedy
from tests.test_pool_faults import child

SCENARIO = Scenario.model_validate(
    {
        "nodes": [
            {"id": "W1", "kind": "warehouse", "lat": 48.8, "lon": 2.3},
            {"id": "W2", "kind": "warehouse", "lat": 45.7, "lon": 4.8},
            {"id": "S1", "kind": "store", "lat": 43.3, "lon": 5.4},
            {"id": "L1", "kind": "locker", "lat": 48.9, "lon": 2.4, "capacity": 3},
            {"id": "L2", "kind": "locker", "lat": 45.8, "lon": 4.9},
        ],
        "stock": [
            {"node": "W1", "sku": "A", "on_hand": 20},
            {"node": "W1", "sku": "B", "on_hand": 20},
            {"node": "W2", "sku": "A", "on_hand": 20},
            {"node": "S1", "sku": "B", "on_hand": 20},
        ],
    }
)
L1, L2 = 3, 4  # node indexes
TWO = [("W1", "A", 1), ("W1", "B", 2), ("W2", "A", 1)]  # two packages: W1, W2


def parcels_left(pool: StockPool, node: int = L1) -> int:
    return int(pool.capacity_left[node])


def test_reserve_takes_one_parcel_a_shipping_node(pool_store: str) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    res = pool.reserve("o1", TWO, locker="L1")
    assert (res.locker, res.parcels) == ("L1", ("W1", "W2"))
    assert parcels_left(pool) == 1
    plain = pool.reserve("o2", TWO)  # not at a locker: no parcel
    assert (plain.locker, plain.parcels, parcels_left(pool)) == (None, (), 1)


def test_a_reserve_past_the_locker_is_refused_and_changes_nothing(
    pool_store: str,
) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    pool.reserve("o1", TWO, locker="L1")
    before = (pool.stock(), pool.capacity_left.copy(), pool.seq)
    with pytest.raises(InsufficientStock, match=r"locker 'L1' can take 1 more parcels"):
        pool.reserve("o2", TWO, locker="L1")
    assert pool.stock().equals(before[0])
    assert (pool.capacity_left == before[1]).all() and pool.seq == before[2]
    pool.reserve("o3", [("W2", "A", 1)], locker="L1")  # one parcel still fits
    assert parcels_left(pool) == 0


@pytest.mark.parametrize(
    ("locker", "what"), [("S1", "is not a locker"), ("X9", "is not a node"), (7, "")]
)
def test_a_locker_must_name_a_locker(locker: Any, what: str, pool_store: str) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    with pytest.raises(InvalidRequest, match=f"locker {locker!r} {what}"):
        pool.reserve("o1", TWO, locker=locker)
    assert pool.seq == 0


def test_an_unlimited_locker_counts_but_never_refuses(pool_store: str) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    before = parcels_left(pool, L2)
    pool.reserve("o1", TWO, locker="L2")
    # In process it counts down (PostgreSQL never writes an unlimited counter:
    # its open_period counts the parcels held); a later limit sees them.
    assert parcels_left(pool, L2) == before - (2 if pool_store == "memory" else 0)
    assert pool.open_period({"L2": 5})[L2] == 3


@pytest.mark.parametrize("end", ["commit", "release", "expire"])
def test_release_and_expire_give_parcels_back_commit_keeps_them(
    end: str, pool_store: str
) -> None:
    pool = StockPool.from_scenario(SCENARIO, clock=lambda: 0.0)
    res = pool.reserve("o1", TWO, locker="L1", ttl=5.0)
    if end == "expire":
        assert pool.expire(10.0) == [res.reservation_id]
    else:
        getattr(pool, end)(res.reservation_id)
    assert parcels_left(pool) == (1 if end == "commit" else 3)


def test_a_partial_commit_uses_the_parcel_of_the_node_it_ships_from(
    pool_store: str,
) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    res = pool.reserve("o1", TWO, locker="L1")
    rest = pool.commit(res.reservation_id, [("W1", "A", 1)])
    assert rest.parcels == ("W2",)  # W1's box left: its parcel is used
    # Cancelling the rest of W1's package gives nothing back; W2's last line does.
    rest = pool.release(res.reservation_id, [("W1", "B", 2)])
    assert parcels_left(pool) == 1
    pool.release(res.reservation_id, [("W2", "A", 1)])
    assert parcels_left(pool) == 2 and pool.status(res.reservation_id) == "released"


def test_a_partial_release_gives_a_parcel_back_with_its_last_line(
    pool_store: str,
) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    res = pool.reserve("o1", TWO, locker="L1")
    rest = pool.release(res.reservation_id, [("W1", "B", 1)])
    assert (rest.parcels, parcels_left(pool)) == (("W1", "W2"), 1)
    rest = pool.release(res.reservation_id, [("W1", "A", 1), ("W1", "B", 1)])
    assert (rest.parcels, parcels_left(pool)) == (("W2",), 2)
    pool.commit(res.reservation_id)
    assert parcels_left(pool) == 2


def test_amend_counts_its_own_parcels_as_free(pool_store: str) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    old = pool.reserve("o1", TWO, locker="L1")
    pool.reserve("o2", [("W1", "A", 1)], locker="L1")  # the locker is full
    new = pool.amend(old.reservation_id, [("W1", "A", 1), ("W2", "A", 3)])
    assert (new.locker, new.parcels, parcels_left(pool)) == ("L1", ("W1", "W2"), 0)
    with pytest.raises(InsufficientStock, match=r"locker 'L1'.*needs 3"):
        pool.amend(new.reservation_id, [*TWO, ("S1", "B", 1)])
    assert pool.status(new.reservation_id) == "active" and parcels_left(pool) == 0
    fewer = pool.amend(new.reservation_id, [("W2", "A", 1)])
    assert (fewer.parcels, parcels_left(pool)) == (("W2",), 1)


def test_amend_moves_or_drops_the_locker(pool_store: str) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    old = pool.reserve("o1", TWO, locker="L1")
    moved = pool.amend(old.reservation_id, TWO, locker="L2")
    assert (moved.locker, parcels_left(pool)) == ("L2", 3)
    home = pool.amend(moved.reservation_id, TWO, locker=None)
    assert (home.locker, home.parcels) == (None, ())
    assert parcels_left(pool, L2) == SCENARIO.compiled().network.node_capacity[L2]
    back = pool.amend(home.reservation_id, TWO, locker="L1")
    assert (back.parcels, parcels_left(pool)) == (("W1", "W2"), 1)


def test_open_period_restarts_from_capacity_less_parcels_held(pool_store: str) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    res = pool.reserve("o1", TWO, locker="L1")
    pool.commit(res.reservation_id, [("W1", "A", 1)])  # W1's parcel used, not held
    pool.reserve("o2", [("W2", "A", 1)], locker="L1")
    assert parcels_left(pool) == 0
    assert pool.open_period()[L1] == 3 - 2  # W2 of o1, W2 of o2
    assert pool.open_period({"L1": 5})[L1] == 3
    assert pool.open_period({"L1": 1})[L1] == -1  # gives nothing until they go
    with pytest.raises(InsufficientStock, match="locker 'L1' can take 0 more"):
        pool.reserve("o3", [("W1", "A", 1)], locker="L1")


def test_a_retry_under_a_key_must_name_the_same_locker(pool_store: str) -> None:
    pool = StockPool.from_scenario(SCENARIO)
    res = pool.reserve("o1", TWO, locker="L1", key="k1")
    assert pool.reserve("o1", TWO, locker="L1", key="k1") is res
    with pytest.raises(KeyConflict):
        pool.reserve("o1", TWO, key="k1")
    assert parcels_left(pool) == 1


# -- journaled and recovered exactly ---------------------------------------------------


def operate(pool: StockPool, snapshot_at: int = -1, snap: Path | None = None) -> None:
    """Every operation that moves parcels, at two lockers; a snapshot between two."""
    got: dict[str, int] = {}

    def step(name: str, op: Any) -> None:
        if len(got) == snapshot_at:
            assert snap is not None
            pool.snapshot(snap)
        value = op()
        got[name] = getattr(value, "reservation_id", 0)

    step("a", lambda: pool.reserve("o1", TWO, locker="L1", key="k1"))
    step("b", lambda: pool.reserve("o2", [("W1", "A", 2)], locker="L2", ttl=1.0))
    step("c", lambda: pool.reserve("o3", [("S1", "B", 1)], locker="L1"))
    step("ca", lambda: pool.commit(got["a"], [("W1", "A", 1)]))
    step("rc", lambda: pool.release(got["c"], [("S1", "B", 1)]))
    step("d", lambda: pool.amend(got["a"], [("W1", "B", 2), ("S1", "B", 1)], key="k2"))
    step("e", lambda: pool.amend(got["d"], [("W2", "A", 1)], locker="L2"))
    step("x", lambda: pool.expire(pool.clock() + 2.0))
    step("p", lambda: pool.open_period({"L1": 2}))
    step("f", lambda: pool.reserve("o4", [("W1", "A", 1)], locker="L1"))


def test_the_database_keeps_the_parcels_as_in_process(pg_store: Any) -> None:
    """Every parcel move of ``operate`` on PostgreSQL ends where the in-process pool does."""
    mem = StockPool.from_scenario(SCENARIO, clock=lambda: 0.0)
    pg = StockPool.from_scenario(SCENARIO, store=pg_store(), clock=lambda: 0.0)
    operate(mem)
    operate(pg)
    assert pg.capacity_left.tolist() == [
        c if c < 2**60 else NO_LIMIT for c in mem.capacity_left.tolist()
    ]
    assert pg.reservations() == mem.reservations()
    assert pg.stock().equals(mem.stock())
    assert [pg.keyed(k) for k in ("k1", "k2")] == [mem.keyed(k) for k in ("k1", "k2")]
    pg.close()


def same_state(a: StockPool, b: StockPool) -> None:
    assert (a.capacity_left == b.capacity_left).all()
    assert a.reservations() == b.reservations()
    assert a.stock().equals(b.stock()) and a.seq == b.seq
    assert [a.keyed(k) for k in ("k1", "k2")] == [b.keyed(k) for k in ("k1", "k2")]


def test_recover_replays_the_parcels_exactly(tmp_path: Path) -> None:
    path = tmp_path / "j"
    pool = StockPool(SCENARIO, journal=path, clock=lambda: 100.0)
    operate(pool)
    pool.close()
    back = StockPool.recover(SCENARIO, path, clock=lambda: 100.0)
    same_state(pool, back)
    assert back.reservations()[-1].parcels == ("W1",)
    back.close()


@pytest.mark.parametrize("at", [0, 3, 6, 9])
def test_a_snapshot_keeps_the_parcels(tmp_path: Path, at: int) -> None:
    path = tmp_path / "j"
    pool = StockPool(SCENARIO, journal=path, clock=lambda: 100.0)
    operate(pool, at, tmp_path / "snap")
    pool.close()
    back = StockPool.recover(tmp_path / "snap", path, clock=lambda: 100.0)
    same_state(pool, back)
    back.close()


def test_a_torn_reserve_at_a_locker_takes_no_parcel(tmp_path: Path) -> None:
    path = tmp_path / "j"
    pool = StockPool(SCENARIO, journal=path)
    pool.reserve("o1", [("W1", "A", 1)], locker="L1")
    pool.reserve("o2", TWO, locker="L1")
    pool.close()
    data = path.read_bytes()
    path.write_bytes(data[:-5])  # the crash cut the last record
    back = StockPool.recover(SCENARIO, path)
    assert back.seq == 1 and parcels_left(back) == 2
    assert back.reservations()[0].parcels == ("W1",)
    back.close()


def test_a_failed_journal_write_takes_no_parcel(tmp_path: Path) -> None:
    pool = StockPool(SCENARIO, journal=tmp_path / "j")
    res = pool.reserve("o1", TWO, locker="L1")
    journal = pool._journal
    assert journal is not None

    def full(payload: list[Any]) -> int:
        raise OSError(28, "No space left on device")

    journal.append = full  # type: ignore[method-assign]
    with pytest.raises(OSError, match="No space"):
        pool.reserve("o2", [("W1", "A", 1)], locker="L1")
    with pytest.raises(OSError, match="No space"):
        pool.release(res.reservation_id)
    with pytest.raises(OSError, match="No space"):
        pool.amend(res.reservation_id, [("W1", "A", 1)])
    assert parcels_left(pool) == 1 and pool.reservations() == [res]


def write(path: Path, payloads: list[list[Any]]) -> None:
    out = bytearray(MAGIC)
    for seq, payload in enumerate(payloads, 1):
        body = json.dumps([seq, *payload], separators=(",", ":")).encode()
        out += struct.pack("<II", len(body), zlib.crc32(body)) + body
    path.write_bytes(bytes(out))


def test_older_records_without_a_locker_still_read(tmp_path: Path) -> None:
    path = tmp_path / "j"
    write(
        path,
        [
            ["reserve", 1, "o1", None, None, True, [["W1", "A", 1]]],
            ["amend", 1, 2, None, None, [["W2", "A", 1]]],
        ],
    )
    back = StockPool.recover(SCENARIO, path)
    (res,) = back.reservations()
    assert (res.reservation_id, res.locker, res.parcels) == (2, None, ())
    assert parcels_left(back) == 3
    back.close()


ONE = [["W1", "A", 1]]


@pytest.mark.parametrize(
    "payloads",
    [
        [["reserve", 1, "o1", None, None, True, ONE, None, "S1"]],  # not a locker
        [["reserve", 1, "o1", None, None, True, ONE, None, 3]],
        [
            ["reserve", 1, "o1", None, None, True, ONE],
            ["amend", 1, 2, None, None, ONE, 3],
        ],
        # Two parcels where one is left: the record cannot have been acknowledged.
        [
            ["period", {"L1": 1}],
            ["reserve", 1, "o1", None, None, True, TWO, None, "L1"],
        ],
    ],
)
def test_a_record_with_a_bad_locker_is_a_journal_error(
    tmp_path: Path, payloads: list[list[Any]]
) -> None:
    path = tmp_path / "j"
    write(path, json.loads(json.dumps(payloads)))
    with pytest.raises(JournalError, match="does not apply"):
        StockPool.recover(SCENARIO, path)


def test_a_format_3_snapshot_still_reads(tmp_path: Path) -> None:
    pool = StockPool(SCENARIO, journal=tmp_path / "j")
    pool.reserve("o1", TWO)
    snap = pool.snapshot(tmp_path / "snap")
    pool.close()
    frame = pl.read_parquet(snap / "reservations.parquet").drop("locker", "parcel")
    frame.write_parquet(snap / "reservations.parquet")
    meta = json.loads((snap / "meta.json").read_text())
    meta["format"] = 3
    digest = hashlib.sha256((snap / "reservations.parquet").read_bytes())
    meta["files"]["reservations.parquet"] = digest.hexdigest()
    (snap / "meta.json").write_text(json.dumps(meta))
    back = StockPool.recover(snap, tmp_path / "j")
    assert back.reservations() == pool.reservations()
    back.close()
    shutil.rmtree(snap)


def test_the_journal_names_the_locker_only_when_there_is_one(tmp_path: Path) -> None:
    path = tmp_path / "j"
    pool = StockPool(SCENARIO, journal=path)
    a = pool.reserve("o1", TWO)
    pool.amend(a.reservation_id, TWO)
    b = pool.reserve("o2", TWO, locker="L1")
    pool.amend(b.reservation_id, TWO, locker=None)
    pool.close()
    records = scan_journal(path).records
    # seq + op + 6 fields; a reserve at a locker adds the tier (null) and the locker.
    assert [len(r) for r in records] == [8, 7, 10, 8]
    assert records[2][-2:] == [None, "L1"] and records[3][-1] is None


# -- the Sourcer reads the pool's parcels --------------------------------------------


@settings(max_examples=30, deadline=None)
@given(at_lockers(max_orders=5))
def test_sourcer_on_a_pool_decides_as_greedy_with_lockers(scenario: Scenario) -> None:
    pool = StockPool(scenario)
    sources_as_greedy(scenario, Sourcer(scenario, pool=pool))
    # The pool holds what the plan sends to each limited locker.
    net = scenario.compiled().network
    held = {r.locker: 0 for r in pool.reservations()}
    for r in pool.reservations():
        held[r.locker] = held.get(r.locker, 0) + len(r.parcels)
    for locker, n in held.items():
        if locker is not None:
            node = net.node_index[locker]
            assert int(pool.capacity_left[node]) == int(net.node_capacity[node]) - n


@settings(max_examples=20, deadline=None)
@given(at_lockers(max_orders=4, min_orders=2))
def test_sourcer_amend_at_a_locker_equals_sourcing_after_release(
    scenario: Scenario,
) -> None:
    first, *rest = scenario.orders
    amended = rest[-1].model_copy(update={"id": first.id, "tier": first.tier})

    def setup() -> tuple[StockPool, Sourcer, int | None]:
        pool = StockPool(scenario)
        sourcer = Sourcer(scenario, pool=pool)
        res = sourcer.commit(sourcer.source(first))
        for order in rest[:-1]:
            sourcer.commit(sourcer.source(order))
        return pool, sourcer, None if res is None else res.reservation_id

    pool, sourcer, rid = setup()
    if rid is None:
        return
    other, other_sourcer, other_rid = setup()
    assert other_rid is not None
    other.release(other_rid)
    want = other_sourcer.source(amended)
    try:
        decision, new = sourcer.amend(rid, amended)
    except InsufficientStock:
        assert want.unfilled.height > 0
        return
    assert decision.allocations.equals(want.allocations)
    other_sourcer.commit(want)
    assert (pool.capacity_left == other.capacity_left).all()
    if new.locker is not None:
        assert new.parcels == tuple(sorted(set(decision.allocations["node_id"])))


KILLED = """
    import sys
    from omnistock import StockPool
    from tests.test_pool_parcels import SCENARIO, TWO
    pool = StockPool.from_scenario(SCENARIO, journal=sys.argv[1], fsync="batch")
    a = pool.reserve("o1", TWO, locker="L1")
    pool.commit(a.reservation_id, [("W1", "A", 1)])
    pool.reserve("o2", [("W2", "A", 1)], locker="L1")
    pool.release(a.reservation_id)
    pool.sync()
    print("acknowledged", pool.seq, int(pool.capacity_left[3]), flush=True)
    sys.stdin.readline()  # until killed
"""


def test_sigkill_loses_no_acknowledged_parcel(tmp_path: Path) -> None:
    path = tmp_path / "j"
    with child(KILLED, str(path)) as service:
        assert service.stdout is not None
        line = service.stdout.readline()
        service.send_signal(signal.SIGKILL)
    # o1 used W1's parcel (shipped) and gave W2's back; o2 holds one: 3 - 2.
    assert line == "acknowledged 4 1\n"
    back = StockPool.recover(SCENARIO, path)
    assert (back.seq, parcels_left(back)) == (4, 1)
    assert [r.parcels for r in back.reservations()] == [("W2",)]
    back.close()


def test_a_period_can_limit_a_locker_the_scenario_leaves_open() -> None:
    pool = StockPool(SCENARIO)
    sourcer = Sourcer(SCENARIO, pool=pool)
    order = {
        "id": "o1",
        "method": "pickup",
        "pickup_node": "L2",
        "lines": [{"sku": "A", "qty": 1}],
    }
    assert sourcer.source(order).qty.sum() == 1
    pool.open_period({"L2": 0})
    decision = sourcer.source(order)
    assert decision.qty.size == 0  # the Sourcer reads the live counter
    reasons = dict(decision.explain().select("node_id", "reason").iter_rows())
    assert (reasons["W1"], reasons["L2"]) == ("locker_full", "pickup_locker")
    pool.open_period({"L2": 1})
    reservation = sourcer.commit(sourcer.source(order))
    assert reservation is not None and reservation.locker == "L2"
    assert parcels_left(pool, L2) == 0


def test_threads_never_take_more_parcels_than_the_locker_has() -> None:
    pool = StockPool(SCENARIO)
    sourcer = Sourcer(SCENARIO, pool=pool)
    barrier = threading.Barrier(8)
    got: list[int] = []

    def customer(i: int) -> None:
        order = {
            "id": f"o{i}",
            "method": "pickup",
            "pickup_node": "L1",
            "allow_partial": True,
            "lines": [{"sku": "A", "qty": 1}],
        }
        barrier.wait()
        for _ in range(5):  # the decision may go stale under the others' commits
            try:
                decision = sourcer.source(order)
                if decision.qty.size and sourcer.commit(decision) is not None:
                    got.append(i)
                return
            except InsufficientStock:
                continue

    threads = [threading.Thread(target=customer, args=(i,)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(got) == 3 and parcels_left(pool) == 0  # L1 takes 3 parcels
    assert sum(len(r.parcels) for r in pool.reservations()) == 3
