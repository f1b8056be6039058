"""Sourcer.amend: source the amended order as if its reservation were released, atomically."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from omnistock import (
    InsufficientStock,
    InvalidRequest,
    Order,
    Sourcer,
    StockPool,
    samples,
)
from tests.helpers import make_scenario
from tests.test_pool_amend import run_threads

# A Sourcer on either store: every test runs on both (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pool_store")

NEAR_S = {"lat": 45.75, "lon": 4.85}


def order(oid: str, qty: int, **extra: Any) -> Order:
    data: dict[str, Any] = {
        "id": oid,
        "destination": NEAR_S,
        "lines": [{"sku": "A", "qty": qty}],
    }
    data.update(extra)
    return Order.model_validate(data)


def test_amend_equals_sourcing_after_a_release_on_random_orders() -> None:
    network = samples.network("small", seed=3)
    batch = samples.orders(network, 160, seed=5)
    pool_a, pool_b = StockPool.from_scenario(network), StockPool.from_scenario(network)
    sa, sb = Sourcer(network, pool=pool_a), Sourcer(network, pool=pool_b)
    rng = random.Random(7)
    amended = refused = 0
    for first, other in zip(batch[:80], batch[80:], strict=True):
        ra, rb = (s.commit(s.source(first)) for s in (sa, sb))
        if ra is None or rb is None or ra.lines != rb.lines:
            continue
        # The amendment: another order's lines, place and method, same id and tier;
        # sometimes the original lines with one more unit.
        if rng.random() < 0.5:
            change = other.model_copy(update={"id": first.id, "tier": first.tier})
        else:
            lines = [
                line.model_copy(update={"qty": line.qty + 1}) for line in first.lines
            ]
            change = first.model_copy(update={"lines": tuple(lines)})
        pool_b.release(rb.reservation_id)
        want = sb.source(change)
        if want.unfilled.height:
            before = pool_a.stock().rows()
            with pytest.raises(InsufficientStock, match="stands unchanged"):
                sa.amend(ra.reservation_id, change)
            assert pool_a.stock().rows() == before
            assert pool_a.status(ra.reservation_id) == "active"
            pool_b.reserve(rb.order_id, rb.lines, exempt=rb.exempt)  # as it was
            refused += 1
            continue
        got, new = sa.amend(ra.reservation_id, change)
        assert got.allocations.equals(want.allocations)
        assert got.cost_breakdown == want.cost_breakdown
        sb.commit(want)
        assert (new.amends, pool_a.status(ra.reservation_id)) == (
            ra.reservation_id,
            "amended",
        )
        assert pool_a.stock().rows() == pool_b.stock().rows()
        assert pool_a.capacity_left.tolist() == pool_b.capacity_left.tolist()
        amended += 1
    assert amended > 10 and refused > 0


def test_explain_marks_units_kept_and_moved() -> None:
    network = make_scenario(orders=[])
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    res = sourcer.commit(sourcer.source(order("o1", 2)))
    assert res is not None and res.lines == (("S", "A", 2),)
    # One more unit: S keeps its 2 and serves the third (3 on hand there).
    decision, new = sourcer.amend(res.reservation_id, order("o1", 3))
    frame = decision.explain()
    s_row = frame.filter(frame["node_id"] == "S").row(0, named=True)
    assert (s_row["kept"], s_row["moved"]) == (2, 1)
    assert new.lines == (("S", "A", 3),) and decision.committed
    # Four units: S cannot hold them all (3 on hand), W takes the order whole.
    decision, newer = sourcer.amend(
        new.reservation_id, order("o1", 4, ship_complete=True)
    )
    frame = decision.explain().sort("node_id")
    assert frame.select("node_id", "kept", "moved").rows() == [
        ("S", 0, 0),
        ("W", 0, 4),
    ]
    assert newer.amends == new.reservation_id


def test_a_failed_amend_leaves_the_old_reservation_and_stock_unchanged() -> None:
    network = make_scenario(orders=[])
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    res = sourcer.commit(sourcer.source(order("o1", 2)))
    assert res is not None
    before = (pool.stock().rows(), pool.reservations(), pool.seq)
    with pytest.raises(InsufficientStock, match="stands unchanged"):
        sourcer.amend(res.reservation_id, order("o1", 14))  # 13 exist
    with pytest.raises(InvalidRequest, match="holds order 'o1'"):
        sourcer.amend(res.reservation_id, order("o2", 1))
    assert (pool.stock().rows(), pool.reservations(), pool.seq) == before


def test_no_other_request_takes_the_orders_units_during_an_amend() -> None:
    """A checkout racing the amend for the order's own units waits, then finds none."""
    network = make_scenario(orders=[])
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    res = sourcer.commit(sourcer.source(order("o1", 3)))  # all 3 units of S
    assert res is not None and res.lines == (("S", "A", 3),)
    outcome: list[str] = []
    started = threading.Event()

    def thief() -> None:
        started.set()
        try:
            pool.reserve("thief", [("S", "A", 3)])
            outcome.append("took them")
        except InsufficientStock:
            outcome.append("refused")

    source = sourcer.source

    def source_while_racing(o: Order) -> Any:
        # Between "as if released" and the amend, the thief runs: it must not
        # get in (the pool's lock is held), whatever the scheduler does.
        t = threading.Thread(target=thief)
        t.start()
        started.wait()
        t.join(0.3)  # long enough for the thief to finish if it could get in
        threads.append(t)
        return source(o)

    threads: list[threading.Thread] = []
    sourcer.source = source_while_racing  # type: ignore[method-assign]
    decision, new = sourcer.amend(res.reservation_id, order("o1", 3))
    threads[0].join()
    assert outcome == ["refused"]
    assert new.lines == (("S", "A", 3),) and pool.free("S", "A") == 0
    assert decision.explain().filter(decision.explain()["node_id"] == "S")[
        "kept"
    ].to_list() == [3]


def test_threads_mixing_sourcer_amend_with_checkouts_never_oversell() -> None:
    network = make_scenario(orders=[])
    pool = StockPool.from_scenario(network)
    sourcer = Sourcer(network, pool=pool)
    errors: list[BaseException] = []

    def work(seed: int) -> None:
        rng = random.Random(seed)
        mine: list[int] = []
        try:
            for i in range(150):
                oid = f"o{seed}-{i % 4}"
                try:
                    if mine and rng.random() < 0.4:
                        rid = mine.pop(rng.randrange(len(mine)))
                        got = pool.reservations()
                        held = next((r for r in got if r.reservation_id == rid), None)
                        if held is not None:
                            _, new = sourcer.amend(
                                rid, order(held.order_id, rng.randint(1, 4))
                            )
                            mine.append(new.reservation_id)
                    elif mine and rng.random() < 0.5:
                        rid = mine.pop(rng.randrange(len(mine)))
                        (pool.commit if rng.random() < 0.5 else pool.release)(rid)
                    else:
                        r = sourcer.commit(
                            sourcer.source(order(oid, rng.randint(1, 3)))
                        )
                        if r is not None:
                            mine.append(r.reservation_id)
                except InsufficientStock:
                    pass
        except BaseException as err:  # reported below
            errors.append(err)

    run_threads(work, 4)
    assert errors == []
    stock = pool.stock()
    assert (stock["on_hand"] + stock["shipped"]).to_list() == [10, 3]
    held = sum(r.units for r in pool.reservations())
    assert sum(stock["reserved"].to_list()) == held
    assert all(r <= h for r, h in zip(stock["reserved"], stock["on_hand"], strict=True))
