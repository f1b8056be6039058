"""Returns and new stock rows while the pool runs: any store may take a unit back."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from omnistock import (
    InvalidRequest,
    JournalError,
    Sourcer,
    StockPool,
    UnknownStockRow,
)
from tests.helpers import make_scenario
from tests.test_pool_partial import write_journal

NETWORK = make_scenario(
    orders=[],
    stock=[
        {"node": "W", "sku": "A", "on_hand": 10},
        {"node": "W", "sku": "C", "on_hand": 4},
        {"node": "S", "sku": "A", "on_hand": 3},
    ],
)
NEAR_S = {"lat": 45.75, "lon": 4.85}


def row(pool: StockPool, node: str, sku: str) -> dict[str, Any]:
    frame = pool.stock().filter(pl.col("node_id") == node, pl.col("sku") == sku)
    return frame.row(0, named=True)


def test_a_restocked_return_is_sellable_at_once() -> None:
    pool = StockPool.from_scenario(NETWORK)
    assert pool.receive_return("o1", "S", "A", 2, reason="wrong size") == 5
    assert pool.free("S", "A") == 5
    r = row(pool, "S", "A")
    assert (r["on_hand"], r["returned"], r["returned_unsellable"]) == (5, 2, 0)
    assert pool.receive_return("o1", "S", "A", 1, restock=False) == 1
    r = row(pool, "S", "A")
    assert (r["on_hand"], r["returned"], r["returned_unsellable"]) == (5, 2, 1)


def test_a_return_to_a_store_that_never_held_the_sku_adds_the_row() -> None:
    pool = StockPool.from_scenario(NETWORK)
    sourcer = Sourcer(NETWORK, pool=pool)
    held = pool.reserve("o0", [("W", "C", 1), ("S", "A", 1)])  # rows shift under it
    order = {"id": "o2", "destination": NEAR_S, "lines": [{"sku": "C", "qty": 1}]}
    assert sourcer.source(order).allocations["node_id"].to_list() == ["W"]
    assert pool.receive_return("o1", "S", "C", 1) == 1
    # The Sourcer, explain and availability see the new row at once.
    decision = sourcer.source(order)
    assert decision.allocations["node_id"].to_list() == ["S"]  # next door now
    frame = decision.explain()
    assert frame.filter(pl.col("node_id") == "S")["chosen"].to_list() == [True]
    by_node = pool.availability(by="node").filter(pl.col("sku") == "C")
    assert by_node.select("node_id", "available").rows() == [("W", 3), ("S", 1)]
    assert pool.availability(skus=["C"])["nodes"].to_list() == [2]
    # The reservation made before still holds and commits its own rows.
    pool.commit(held.reservation_id)
    assert (row(pool, "W", "C")["shipped"], row(pool, "S", "A")["shipped"]) == (1, 1)
    reservation = sourcer.commit(decision)
    assert reservation is not None and reservation.lines == (("S", "C", 1),)
    assert pool.free("S", "C") == 0


def test_a_sku_the_network_never_knew_can_come_back_and_be_sold() -> None:
    pool = StockPool.from_scenario(NETWORK)
    sourcer = Sourcer(NETWORK, pool=pool)
    assert pool.adjust("W", "B", 2, "first receipt") == 2  # B sorts between A and C
    assert pool.receive_return("o9", "S", "Z", 1) == 1
    assert pool.stock()["sku"].to_list() == ["A", "A", "B", "C", "Z"]
    order = {"id": "o3", "destination": NEAR_S, "lines": [{"sku": "Z", "qty": 1}]}
    reservation = sourcer.commit(sourcer.source(order))
    assert reservation is not None and reservation.lines == (("S", "Z", 1),)
    order_c = {"id": "o4", "destination": NEAR_S, "lines": [{"sku": "C", "qty": 4}]}
    assert sourcer.source(order_c).allocations["qty"].to_list() == [4]


def test_new_rows_are_recovered_from_the_journal_and_a_snapshot(tmp_path: Path) -> None:
    pool = StockPool.from_scenario(NETWORK, journal=tmp_path / "j", fsync="never")
    res = pool.reserve("o1", [("W", "C", 2)])
    pool.receive_return("o0", "S", "C", 1)
    snap = pool.snapshot(tmp_path / "snap")
    pool.receive_return("o0", "W", "B", 1, restock=False)
    pool.adjust("S", "Q", 3, "receipt")
    pool.close()
    for source in (NETWORK, snap):
        back = StockPool.recover(source, tmp_path / "j")
        assert back.stock().rows() == pool.stock().rows()
        assert back.reservations() == pool.reservations()
        back.close()
    back = StockPool.recover(snap, tmp_path / "j")
    back.commit(res.reservation_id)  # its row moved twice since it was made
    assert row(back, "W", "C")["on_hand"] == 2
    back.close()


@pytest.mark.parametrize(
    ("args", "kwargs", "error"),
    [
        (("o1", "X9", "A", 1), {}, UnknownStockRow),
        (("o1", "S", "A", 0), {}, InvalidRequest),
        (("o1", "S", "A", 2.5), {}, InvalidRequest),
        (("o1", "S", "A", 1), {"restock": "no"}, InvalidRequest),
        (("\ud800", "S", "A", 1), {}, InvalidRequest),
        (("o1", "S", "\ud800", 1), {}, InvalidRequest),
    ],
)
def test_a_bad_return_is_refused_before_the_journal(
    tmp_path: Path, args: tuple[Any, ...], kwargs: dict[str, Any], error: type
) -> None:
    pool = StockPool.from_scenario(NETWORK, journal=tmp_path / "j")
    with pytest.raises(error):
        pool.receive_return(*args, **kwargs)
    assert pool.seq == 0 and pool.stock().height == 3
    pool.close()


@pytest.mark.parametrize(
    "payload",
    [
        ["return", "o1", "S", "A", 0, True, ""],
        ["return", "o1", "S", "A", 1, "yes", ""],
        ["return", "o1", "X9", "A", 1, True, ""],
        ["return", "o1", "S", 7, 1, True, ""],
        ["adjust", "S", "B", -1, "count"],
    ],
)
def test_a_checksummed_return_record_with_bad_fields_is_a_journal_error(
    tmp_path: Path, payload: list[Any]
) -> None:
    path = tmp_path / "j"
    write_journal(path, payload)
    with pytest.raises(JournalError, match="record 1 does not apply"):
        StockPool.recover(NETWORK, path)
