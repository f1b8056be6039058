"""pool.amend: replace a reservation's lines in one step, its own units counting as free."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from omnistock import (
    InsufficientStock,
    KeyConflict,
    ReservationClosed,
    Scenario,
    StockPool,
    UnknownReservation,
)

# The conformance suite: every test runs on both stores (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pool_store")

SCENARIO = Scenario.model_validate(
    {
        "nodes": [
            {
                "id": "W1",
                "kind": "warehouse",
                "lat": 48.85,
                "lon": 2.35,
                "capacity": 12,
            },
            {"id": "S1", "kind": "store", "lat": 45.76, "lon": 4.84},
        ],
        "stock": [
            {"node": "W1", "sku": "A", "on_hand": 4},
            {"node": "W1", "sku": "B", "on_hand": 2},
            {"node": "S1", "sku": "A", "on_hand": 3},
        ],
        "rules": {"last_unit_protection": {"store": 1}},
    }
)


def run_threads(work: Callable[[int], None], n: int) -> None:
    """Run ``work(0)`` .. ``work(n - 1)`` on n threads and wait for all of them."""
    threads = [threading.Thread(target=work, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def state(pool: StockPool) -> tuple[object, ...]:
    return (pool.stock().rows(), pool.reservations(), pool.capacity_left.tolist())


def test_amend_counts_its_own_units_as_free() -> None:
    pool = StockPool.from_scenario(SCENARIO, clock=lambda: 100.0)
    old = pool.reserve("o1", [("W1", "A", 4)], ttl=60.0, exempt=False)
    assert pool.free("W1", "A") == 0
    # All 4 units again plus an accessory: only possible with its own units.
    new = pool.amend(old.reservation_id, [("W1", "A", 4), ("W1", "B", 1)])
    assert pool.status(old.reservation_id) == "amended"
    assert (new.reservation_id, new.amends, new.order_id) == (2, 1, "o1")
    assert (new.deadline, new.exempt) == (160.0, False)  # same deadline and tier
    assert new.lines == (("W1", "A", 4), ("W1", "B", 1))
    assert pool.reservations() == [new]
    assert pool.free("W1", "A") == 0 and pool.free("W1", "B") == 1
    assert pool.capacity_left.tolist()[0] == 12 - 5
    with pytest.raises(ReservationClosed, match="already amended"):
        pool.commit(old.reservation_id)


def test_a_failed_amend_leaves_the_old_reservation_unchanged(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")
    old = pool.reserve("o1", [("W1", "A", 2)])
    before = (state(pool), pool.seq)
    with pytest.raises(InsufficientStock) as err:  # 4 of A at W1 + 3 more than exist
        pool.amend(old.reservation_id, [("W1", "A", 4), ("W1", "B", 3)])
    assert (err.value.node_id, err.value.sku, err.value.free) == ("W1", "B", 2)
    pool.open_period({"W1": 3})
    with pytest.raises(InsufficientStock, match="node capacity left"):
        pool.amend(old.reservation_id, [("W1", "A", 4)])
    pool.open_period()
    assert (state(pool), pool.seq) == (before[0], before[1] + 2)
    assert pool.status(old.reservation_id) == "active"
    pool.close()


def test_amend_of_a_closed_or_unknown_reservation_is_an_error() -> None:
    pool = StockPool.from_scenario(SCENARIO)
    res = pool.reserve("o1", [("W1", "A", 1)])
    pool.release(res.reservation_id)
    with pytest.raises(ReservationClosed, match="already released"):
        pool.amend(res.reservation_id, [("W1", "A", 1)])
    with pytest.raises(UnknownReservation):
        pool.amend(99, [("W1", "A", 1)])


def test_amend_is_idempotent_by_key() -> None:
    pool = StockPool.from_scenario(SCENARIO)
    old = pool.reserve("o1", [("W1", "A", 1)])
    new = pool.amend(old.reservation_id, [("S1", "A", 2)], key="amend-1")
    again = pool.amend(old.reservation_id, [("S1", "A", 2)], key="amend-1")
    assert again == new and pool.free("S1", "A") == 1
    with pytest.raises(KeyConflict):
        pool.amend(old.reservation_id, [("S1", "A", 1)], key="amend-1")
    assert pool.keyed("amend-1") == new


def test_amends_are_recovered_from_the_journal_and_a_snapshot(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j", fsync="never")
    r1 = pool.reserve("o1", [("W1", "A", 2)], ttl=50.0)
    r2 = pool.amend(r1.reservation_id, [("W1", "A", 3)], key="a1")
    snap = pool.snapshot(tmp_path / "snap")
    pool.amend(r2.reservation_id, [("W1", "B", 1), ("S1", "A", 1)], ttl=10.0)
    pool.close()
    for source in (SCENARIO, snap):
        back = StockPool.recover(source, tmp_path / "j")
        assert state(back) == state(pool)
        assert [back.status(i) for i in (1, 2, 3)] == ["amended", "amended", "active"]
        assert back.keyed("a1") == r2
        back.close()


def test_threads_mixing_amend_with_reserve_commit_release_never_oversell() -> None:
    """Hot rows, 6 threads: the units always add up and nothing goes below zero."""
    hot = Scenario.model_validate(
        {
            "nodes": SCENARIO.model_dump()["nodes"][:1],
            "stock": [
                {"node": "W1", "sku": "A", "on_hand": 20},
                {"node": "W1", "sku": "B", "on_hand": 10},
            ],
        }
    )
    pool = StockPool.from_scenario(hot)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[int] = []
        try:
            for _ in range(400):
                lines = [("W1", rng.choice("AB"), rng.randint(1, 3))]
                try:
                    if mine and rng.random() < 0.4:
                        rid = mine.pop(rng.randrange(len(mine)))
                        mine.append(pool.amend(rid, lines).reservation_id)
                    elif mine and rng.random() < 0.5:
                        rid = mine.pop(rng.randrange(len(mine)))
                        (pool.commit if rng.random() < 0.5 else pool.release)(rid)
                    else:
                        mine.append(pool.reserve(f"o{seed}", lines).reservation_id)
                except InsufficientStock:
                    pass
                now = pool.stock()
                on_hand, reserved = now["on_hand"].to_list(), now["reserved"].to_list()
                assert all(0 <= r <= h for r, h in zip(reserved, on_hand, strict=True))
        except BaseException as err:  # reported below
            errors.append(err)

    run_threads(work, 6)
    assert errors == []
    stock = pool.stock()
    held = {"A": 0, "B": 0}
    for res in pool.reservations():
        for _, sku, qty in res.lines:
            held[sku] += qty
    # Every unit is on hand or shipped, and reserved is exactly what is held.
    assert (stock["on_hand"] + stock["shipped"]).to_list() == [20, 10]
    assert stock["reserved"].to_list() == [held["A"], held["B"]]
    assert all(v >= 0 for v in stock["free"].to_list())
