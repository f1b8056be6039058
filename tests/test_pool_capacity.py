"""Node capacity per period in the pool: refused like missing stock, reopened each period."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from omnistock import (
    InsufficientStock,
    InvalidRequest,
    JournalError,
    Scenario,
    StockPool,
)
from omnistock.compiled.network import NO_LIMIT
from tests.test_pool_partial import write_journal

# The conformance suite: every test runs on both stores (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pool_store")

SCENARIO = Scenario.model_validate(
    {
        "nodes": [
            {"id": "W1", "kind": "warehouse", "lat": 48.85, "lon": 2.35, "capacity": 5},
            {"id": "S1", "kind": "store", "lat": 45.76, "lon": 4.84},
        ],
        "stock": [
            {"node": "W1", "sku": "A", "on_hand": 10},
            {"node": "W1", "sku": "B", "on_hand": 10},
            {"node": "S1", "sku": "A", "on_hand": 10},
        ],
    }
)


def test_a_direct_reserve_past_capacity_is_refused_and_changes_nothing() -> None:
    pool = StockPool.from_scenario(SCENARIO)
    pool.reserve("o1", [("W1", "A", 3)])
    before = (pool.stock().rows(), pool.capacity_left.tolist(), pool.seq)
    with pytest.raises(InsufficientStock, match="node capacity left") as err:
        pool.reserve("o2", [("W1", "A", 2), ("W1", "B", 1)])  # 3 units, 2 left
    assert (err.value.node_id, err.value.requested, err.value.free) == ("W1", 3, 2)
    assert (pool.stock().rows(), pool.capacity_left.tolist(), pool.seq) == before
    with pytest.raises(InsufficientStock, match="may give 2 more units"):
        pool.reserve("o3", [("W1", "B", 3)])
    pool.reserve("o4", [("W1", "B", 2), ("S1", "A", 9)])  # S1 has no limit


def test_open_period_restarts_capacity_less_what_active_reservations_hold() -> None:
    pool = StockPool.from_scenario(SCENARIO)
    held = pool.reserve("o1", [("W1", "A", 2)])
    shipped = pool.reserve("o2", [("W1", "A", 3)])
    pool.commit(shipped.reservation_id)
    assert pool.capacity_left.tolist() == [0, NO_LIMIT]
    # A new day: the node gives 5 again, less the 2 still held (shipped ones
    # belonged to yesterday).
    assert pool.open_period().tolist() == [3, NO_LIMIT]
    pool.release(held.reservation_id)
    assert pool.capacity_left.tolist() == [5, NO_LIMIT]
    # A given mapping: W1 unlimited today, S1 only 1 unit.
    assert pool.open_period({"W1": None, "S1": 1}).tolist() == [NO_LIMIT, 1]
    with pytest.raises(InsufficientStock, match="node capacity left"):
        pool.reserve("o3", [("S1", "A", 2)])


def test_a_period_below_what_is_held_gives_nothing_until_it_goes() -> None:
    pool = StockPool.from_scenario(SCENARIO)
    held = pool.reserve("o1", [("W1", "A", 4)])
    assert pool.open_period({"W1": 1}).tolist()[0] == -3
    with pytest.raises(InsufficientStock) as err:
        pool.reserve("o2", [("W1", "B", 1)])
    assert err.value.free == 0
    pool.release(held.reservation_id)
    assert pool.capacity_left.tolist()[0] == 1


@pytest.mark.parametrize(
    "capacity",
    [{"X9": 3}, {"W1": -1}, {"W1": 2**41}, {"W1": 2.5}, {"W1": True}, [("W1", 3)]],
)
def test_a_bad_period_capacity_is_refused_before_the_journal(
    tmp_path: Path, capacity: Any
) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")
    with pytest.raises(InvalidRequest, match="open_period"):
        pool.open_period(capacity)
    assert pool.seq == 0 and pool.capacity_left.tolist() == [5, NO_LIMIT]
    pool.close()


def test_periods_are_recovered_from_the_journal_and_a_snapshot(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j", fsync="never")
    pool.reserve("o1", [("W1", "A", 2)])
    pool.open_period({"W1": 4})
    snap = pool.snapshot(tmp_path / "snap")
    pool.reserve("o2", [("W1", "A", 1)])
    pool.open_period()
    pool.close()
    for source in (SCENARIO, snap):
        back = StockPool.recover(source, tmp_path / "j")
        assert (
            back.capacity_left.tolist()
            == pool.capacity_left.tolist()
            == [
                2,
                NO_LIMIT,
            ]
        )
        back.close()


@pytest.mark.parametrize(
    "payload", [["period", {"X9": 1}], ["period", {"W1": "3"}], ["period", None]]
)
def test_a_checksummed_period_record_with_bad_fields_is_a_journal_error(
    tmp_path: Path, payload: list[Any]
) -> None:
    path = tmp_path / "j"
    write_journal(path, payload)
    with pytest.raises(JournalError, match="record 1 does not apply"):
        StockPool.recover(SCENARIO, path)
