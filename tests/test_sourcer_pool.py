"""The Sourcer on a live StockPool: decides on the pool's counters, reserves through it."""

from __future__ import annotations

import threading

import pytest

from omnistock import (
    DecisionError,
    InsufficientStock,
    KeyConflict,
    Scenario,
    ScenarioError,
    Sourcer,
    StockPool,
)
from tests.helpers import make_scenario

# A Sourcer on either store: every test runs on both (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pool_store")

NEAR_S = {"lat": 45.75, "lon": 4.85}


def order(oid: str, qty: int = 1, tier: str = "standard") -> dict:
    return {
        "id": oid,
        "tier": tier,
        "destination": NEAR_S,
        "lines": [{"sku": "A", "qty": qty}],
    }


def test_commit_reserves_through_the_pool_and_returns_the_reservation() -> None:
    network = make_scenario(orders=[])
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    decision = sourcer.source(order("o1", 2))
    assert decision.allocations["node_id"].to_list() == ["S"]  # the store next door
    before = pool.free("S", "A")
    reservation = sourcer.commit(decision, ttl=30.0)
    assert (
        reservation is not None and pool.status(reservation.reservation_id) == "active"
    )
    assert pool.free("S", "A") == before - 2
    with pytest.raises(DecisionError, match="already committed"):
        sourcer.commit(decision)


def test_decisions_read_the_pools_live_counters() -> None:
    network = make_scenario(orders=[])
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    pool.reserve("elsewhere", [("S", "A", 3)])  # a checkout outside the Sourcer
    decision = sourcer.source(order("o1", 1))
    assert decision.allocations["node_id"].to_list() == ["W"]


def test_a_stale_decision_fails_and_changes_nothing() -> None:
    network = make_scenario(orders=[])
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    decision = sourcer.source(order("o1", 3))
    pool.reserve("elsewhere", [("S", "A", 1)])
    stock = pool.stock()
    with pytest.raises(InsufficientStock):
        sourcer.commit(decision)
    assert pool.stock().equals(stock)
    assert not decision.committed


def test_the_live_protection_rule_applies_to_standard_tiers() -> None:
    network = make_scenario(orders=[], rules={"last_unit_protection": {"store": 3}})
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    standard = sourcer.source(order("o1", 1))
    vip = sourcer.source(order("o2", 1, tier="vip"))
    assert standard.allocations["node_id"].to_list() == ["W"]  # S keeps its 3 units
    assert vip.allocations["node_id"].to_list() == ["S"]


def test_a_pool_of_another_network_is_refused() -> None:
    pool = StockPool.from_scenario(
        make_scenario(stock=[{"node": "W", "sku": "A", "on_hand": 1}])
    )
    with pytest.raises(ScenarioError, match="build both from the same network"):
        Sourcer(make_scenario(), pool=pool)


@pytest.mark.threads
def test_threads_never_oversell_the_pool() -> None:
    network = make_scenario(orders=[])  # 10 units at W, 3 at S
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    won: list[int] = []
    lock = threading.Lock()

    def buy(worker: int) -> None:
        for k in range(20):
            try:
                decision = sourcer.source_and_commit(order(f"w{worker}-{k}", 1))
            except InsufficientStock:
                continue
            if decision.committed and decision.allocations.height:
                with lock:
                    won.append(int(decision.qty.sum()))

    threads = [threading.Thread(target=buy, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stock = pool.stock()
    assert sum(won) == 13 == int(stock["reserved"].sum())
    assert (stock["on_hand"] >= stock["reserved"]).all()
    assert pool.free("W", "A") == 0 and pool.free("S", "A") == 0


def capped_store() -> Scenario:
    """W far away with plenty of stock; S next door with 10 units and capacity 5."""
    nodes = [
        {"id": "W", "kind": "warehouse", "lat": 48.8566, "lon": 2.3522},
        {"id": "S", "kind": "store", "lat": 45.7640, "lon": 4.8357, "capacity": 5},
    ]
    stock = [
        {"node": "W", "sku": "A", "on_hand": 0},
        {"node": "S", "sku": "A", "on_hand": 10},
    ]
    return make_scenario(nodes=nodes, stock=stock, orders=[])


def test_release_gives_node_capacity_back_to_the_sourcer() -> None:
    network = capped_store()
    clock = [0.0]
    pool = StockPool.from_scenario(network, clock=lambda: clock[0])
    sourcer = Sourcer(network, pool=pool)
    first = sourcer.commit(sourcer.source(order("o1", 5)))
    assert first is not None and int(pool.capacity_left[1]) == 0
    assert sourcer.source(order("o2", 1)).allocations.height == 0  # S is at capacity
    pool.release(first.reservation_id)
    assert int(pool.capacity_left[1]) == 5
    second = sourcer.source(order("o2", 5))
    assert second.allocations["qty"].to_list() == [5]
    reservation = sourcer.commit(second, ttl=10.0)
    assert reservation is not None and int(pool.capacity_left[1]) == 0
    clock[0] = 10.0
    assert pool.expire() == [reservation.reservation_id]
    assert int(pool.capacity_left[1]) == 5  # expiry gives it back too
    third = sourcer.commit(sourcer.source(order("o3", 4)))
    assert third is not None
    pool.commit(third.reservation_id)
    assert int(pool.capacity_left[1]) == 1  # commit keeps it: the node gave them


def test_a_keyed_retry_returns_the_original_and_takes_nothing() -> None:
    network = capped_store()
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    first = sourcer.commit(sourcer.source(order("o1", 3)), key="k")
    assert first is not None
    stock, capacity = pool.stock(), pool.capacity_left.copy()
    # The client retries: the new decision was sourced against the reduced stock.
    retry = sourcer.commit(sourcer.source(order("o1", 3)), key="k")
    assert retry == first
    assert pool.stock().equals(stock)
    assert (pool.capacity_left == capacity).all()
    assert len(pool.reservations()) == 1
    with pytest.raises(KeyConflict, match="'k'"):
        sourcer.commit(sourcer.source(order("other", 1)), key="k")
