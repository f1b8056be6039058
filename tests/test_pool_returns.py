"""Returns and new stock rows while the pool runs: any store may take a unit back."""

from __future__ import annotations

import random
import threading
from pathlib import Path
from typing import Any

import polars as pl
import pytest

from omnistock import (
    InsufficientStock,
    InvalidRequest,
    JournalError,
    Sourcer,
    StockPool,
    UnknownStockRow,
    samples,
)
from tests.helpers import make_scenario
from tests.test_pool_partial import write_journal

# The conformance suite: every test runs on both stores (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pool_store")

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


def test_rows_added_while_threads_source_and_commit_never_oversell() -> None:
    """Returns of new SKUs at random nodes, beside checkouts deciding lock-free."""
    network = samples.network("small", seed=2)
    batch = samples.orders(network, 600, seed=4)
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    start = pool.stock().select("node_id", "sku", "on_hand")
    outside = int(pool.stock()["reserved"].sum())  # the scenario's own reserved
    node_ids = [n.id for n in network.nodes]
    skus = sorted({r.sku for r in network.stock}) + [f"NEW-{i:02d}" for i in range(30)]
    errors: list[BaseException] = []

    def checkout(worker: int) -> None:
        rng = random.Random(worker)
        try:
            for order in batch[worker::3]:
                try:
                    decision = sourcer.source(order)
                    decision.explain()  # on the rows the decision saw
                    res = sourcer.commit(decision)
                except InsufficientStock:
                    continue
                if res is not None and rng.random() < 0.5:
                    pool.release(res.reservation_id)
                elif res is not None:
                    pool.commit(res.reservation_id)
        except BaseException as err:  # reported below
            errors.append(err)

    def returns(_: int) -> None:
        rng = random.Random(99)
        try:
            for i in range(120):
                node, sku = rng.choice(node_ids), rng.choice(skus)
                pool.receive_return(f"r{i}", node, sku, 1, restock=rng.random() < 0.8)
        except BaseException as err:  # reported below
            errors.append(err)

    threads = [threading.Thread(target=checkout, args=(w,)) for w in range(3)]
    threads.append(threading.Thread(target=returns, args=(0,)))
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    stock = pool.stock()
    assert stock.height > start.height  # rows were added while deciding
    began = stock.join(start, on=["node_id", "sku"], how="left")["on_hand_right"]
    kept = stock["on_hand"] + stock["shipped"] - stock["received"] - stock["returned"]
    assert kept.equals(began.fill_null(0), check_names=False)
    assert (stock["reserved"] <= stock["on_hand"]).all()
    held = sum(r.units for r in pool.reservations())
    assert int(stock["reserved"].sum()) == outside + held
    # Every active reservation's rows are the rows of its lines after the shifts.
    index = {
        (n, s): i for i, (n, s) in enumerate(stock.select("node_id", "sku").rows())
    }
    for res in pool.reservations():
        assert res.rows == tuple(index[n, s] for n, s, _ in res.lines)


def test_a_sourcer_built_after_rows_were_added_decides_on_them() -> None:
    pool = StockPool.from_scenario(NETWORK)
    pool.receive_return("o1", "S", "C", 2)
    sourcer = Sourcer(NETWORK, pool=pool)  # the scenario has no row S-C
    order = {"id": "o2", "destination": NEAR_S, "lines": [{"sku": "C", "qty": 1}]}
    assert sourcer.source(order).allocations["node_id"].to_list() == ["S"]
