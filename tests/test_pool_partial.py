"""Partial commit and release: ship or cancel some lines, the rest stays held."""

from __future__ import annotations

import json
import struct
import zlib
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from omnistock import (
    InvalidRequest,
    JournalError,
    ReservationClosed,
    Scenario,
    StockPool,
)
from omnistock.pool.records import MAGIC

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
                "capacity": 20,
            },
            {"id": "S1", "kind": "store", "lat": 45.76, "lon": 4.84},
        ],
        "stock": [
            {"node": "W1", "sku": "A", "on_hand": 10},
            {"node": "W1", "sku": "B", "on_hand": 5},
            {"node": "S1", "sku": "A", "on_hand": 3},
        ],
    }
)


def write_journal(path: Path, *payloads: list[Any]) -> None:
    """A journal of ``payloads`` as records 1, 2, ... with valid checksums."""
    data = MAGIC
    for seq, payload in enumerate(payloads, 1):
        body = json.dumps([seq, *payload], separators=(",", ":")).encode()
        data += struct.pack("<II", len(body), zlib.crc32(body)) + body
    path.write_bytes(data)


def row(pool: StockPool, node: str, sku: str) -> tuple[int, int, int]:
    r = (
        pool.stock()
        .filter(pl.col("node_id") == node, pl.col("sku") == sku)
        .row(0, named=True)
    )
    return r["on_hand"], r["reserved"], r["shipped"]


def capacity(pool: StockPool, node: str) -> int:
    return int(pool.capacity_left[pool.network.node_index[node]])


def test_partial_commit_ships_some_lines_and_keeps_the_rest_held() -> None:
    pool = StockPool.from_scenario(SCENARIO)
    res = pool.reserve("o1", [("W1", "A", 4), ("W1", "B", 2), ("S1", "A", 1)])
    left = pool.commit(res.reservation_id, [("W1", "A", 3), ("W1", "B", 2)])
    assert left.reservation_id == res.reservation_id
    assert left.lines == (("W1", "A", 1), ("S1", "A", 1))
    assert pool.status(res.reservation_id) == "active"
    assert pool.reservations() == [left]
    assert row(pool, "W1", "A") == (7, 1, 3)
    assert row(pool, "W1", "B") == (3, 0, 2)
    assert capacity(pool, "W1") == 20 - 6  # shipped units keep their capacity
    # The rest ships later; the reservation ends committed.
    last = pool.commit(res.reservation_id, [("W1", "A", 1), ("S1", "A", 1)])
    assert last == left
    assert pool.status(res.reservation_id) == "committed"
    assert row(pool, "W1", "A") == (6, 0, 4)


def test_partial_release_gives_back_units_and_capacity() -> None:
    pool = StockPool.from_scenario(SCENARIO)
    res = pool.reserve("o1", [("W1", "A", 4), ("W1", "B", 2)])
    left = pool.release(res.reservation_id, [("W1", "A", 1)])
    assert left.lines == (("W1", "A", 3), ("W1", "B", 2))
    assert pool.free("W1", "A") == 7
    assert capacity(pool, "W1") == 20 - 5
    # Ship part, cancel the rest: the status names what ended it.
    pool.commit(res.reservation_id, [("W1", "B", 2)])
    pool.release(res.reservation_id)
    assert pool.status(res.reservation_id) == "released"
    assert row(pool, "W1", "A") == (10, 0, 0)
    assert row(pool, "W1", "B") == (3, 0, 2)
    assert capacity(pool, "W1") == 20 - 2


def test_lines_of_one_node_sku_are_taken_together_first_lines_first() -> None:
    pool = StockPool.from_scenario(SCENARIO)
    res = pool.reserve("o1", [("W1", "A", 2), ("W1", "B", 1), ("W1", "A", 3)])
    left = pool.commit(res.reservation_id, [("W1", "A", 1), ("W1", "A", 2)])
    assert left.lines == (("W1", "B", 1), ("W1", "A", 2))
    res_b = pool.reserve("o2", [("W1", "B", 1), ("W1", "A", 1)])
    assert left.rows == res_b.rows


@pytest.mark.parametrize(
    "lines",
    [
        [("W1", "A", 5)],  # more than held
        [("W1", "A", 3), ("W1", "A", 2)],  # more than held, over two lines
        [("S1", "A", 1)],  # a row the reservation does not hold
        [("X9", "A", 1)],  # not a node
        [("W1", "A", 0)],  # not a quantity
        [],
    ],
)
def test_more_than_held_is_invalid_and_changes_nothing(
    tmp_path: Path, lines: list[Any]
) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j")
    res = pool.reserve("o1", [("W1", "A", 4)])
    before = (pool.stock().rows(), pool.reservations(), pool.seq)
    for action in (pool.commit, pool.release):
        with pytest.raises(InvalidRequest):
            action(res.reservation_id, lines)
    assert (pool.stock().rows(), pool.reservations(), pool.seq) == before
    pool.close()


def test_a_closed_reservation_refuses_a_partial_operation() -> None:
    pool = StockPool.from_scenario(SCENARIO)
    res = pool.reserve("o1", [("W1", "A", 1)])
    pool.commit(res.reservation_id, [("W1", "A", 1)])
    with pytest.raises(ReservationClosed, match="already committed"):
        pool.release(res.reservation_id, [("W1", "A", 1)])


def test_partials_are_recovered_from_the_journal_and_a_snapshot(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(SCENARIO, journal=tmp_path / "j", fsync="never")
    res = pool.reserve("o1", [("W1", "A", 4), ("W1", "B", 2)], key="cart-1")
    pool.commit(res.reservation_id, [("W1", "A", 1)])
    snap = pool.snapshot(tmp_path / "snap")
    pool.release(res.reservation_id, [("W1", "B", 1)])
    pool.close()
    for source in (SCENARIO, snap):
        back = StockPool.recover(source, tmp_path / "j")
        assert back.stock().rows() == pool.stock().rows()
        assert back.reservations() == pool.reservations()
        assert back.capacity_left.tolist() == pool.capacity_left.tolist()
        # A retry of the original request under its key is still the same
        # reservation (compared with what was asked, not what is left).
        again = back.reserve("o1", [("W1", "A", 4), ("W1", "B", 2)], key="cart-1")
        assert again.reservation_id == res.reservation_id
        assert back.seq == pool.seq
        back.close()


def test_a_checksummed_partial_record_for_more_than_held_is_a_journal_error(
    tmp_path: Path,
) -> None:
    write_journal(
        tmp_path / "j",
        ["reserve", 1, "o1", None, None, True, [["W1", "A", 2]]],
        ["commit", 1, [["W1", "A", 3]]],
    )
    with pytest.raises(JournalError, match="record 2 does not apply"):
        StockPool.recover(SCENARIO, tmp_path / "j")
