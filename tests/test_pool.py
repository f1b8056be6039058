"""StockPool: atomic reservations, clear errors, protection, availability, threads."""

from __future__ import annotations

import contextlib
import sys
import threading
from collections.abc import Iterator
from typing import Any

import numpy as np
import polars as pl
import pytest

from omnistock import (
    InsufficientStock,
    InvalidAdjustment,
    InvalidRequest,
    KeyConflict,
    OmnistockError,
    ReservationClosed,
    Scenario,
    StockPool,
    UnknownReservation,
    UnknownStockRow,
)

# The conformance suite: every test runs on both stores (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("pool_store")

NODES = [
    {"id": "W1", "kind": "warehouse", "lat": 48.85, "lon": 2.35},
    {
        "id": "S1",
        "kind": "store",
        "lat": 45.76,
        "lon": 4.84,
        "channels": ["web", "store"],
    },
    {"id": "S2", "kind": "store", "lat": 43.30, "lon": 5.37, "channels": ["app"]},
]
STOCK = [
    {"node": "W1", "sku": "A", "on_hand": 10, "safety_stock": 2},
    {"node": "W1", "sku": "B", "on_hand": 5, "reserved": 1},
    {"node": "S1", "sku": "A", "on_hand": 3},
    {"node": "S1", "sku": "C", "on_hand": 2},
    {"node": "S2", "sku": "A", "on_hand": 1},
    {"node": "S2", "sku": "B", "on_hand": 4, "safety_stock": 1},
]
RULES = {"last_unit_protection": {"store": 1}, "exempt_tiers": ["vip"]}


def scenario(**overrides: Any) -> Scenario:
    data: dict[str, Any] = {"nodes": NODES, "stock": STOCK, "rules": RULES}
    data.update(overrides)
    return Scenario.model_validate(data)


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def pool() -> StockPool:
    return StockPool.from_scenario(scenario())


def test_free_follows_the_semantics(pool: StockPool) -> None:
    # free = max(0, on_hand - reserved - safety_stock)
    assert pool.free("W1", "A") == 8
    assert pool.free("W1", "B") == 4
    assert pool.free("S2", "B") == 3
    # A node without a row of the SKU, and a SKU nobody stocks, have nothing free.
    assert pool.free("S1", "B") == 0
    assert pool.free("W1", "nope") == 0


def test_free_of_unknown_node_is_an_error(pool: StockPool) -> None:
    with pytest.raises(UnknownStockRow, match="Unknown node 'X9'"):
        pool.free("X9", "A")


def test_reserve_holds_and_commit_ships(pool: StockPool) -> None:
    res = pool.reserve("o1", [("W1", "A", 3), ("S1", "C", 2)])
    assert res.units == 5
    assert pool.free("W1", "A") == 5
    assert pool.free("S1", "C") == 0
    pool.commit(res.reservation_id)
    rows = (
        pool.stock()
        .filter(pl.col("node_id") == "W1", pl.col("sku") == "A")
        .row(0, named=True)
    )
    assert (rows["on_hand"], rows["reserved"], rows["shipped"]) == (7, 0, 3)
    assert pool.free("W1", "A") == 5
    assert pool.status(res.reservation_id) == "committed"


def test_release_gives_units_back(pool: StockPool) -> None:
    res = pool.reserve("o1", [("W1", "A", 8)])
    assert pool.free("W1", "A") == 0
    pool.release(res.reservation_id)
    assert pool.free("W1", "A") == 8
    assert pool.status(res.reservation_id) == "released"
    assert pool.reservations() == []


def test_reserve_accepts_a_polars_frame(pool: StockPool) -> None:
    lines = pl.DataFrame({"node_id": ["W1", "S1"], "sku": ["A", "A"], "qty": [2, 1]})
    res = pool.reserve("o1", lines)
    assert res.lines == (("W1", "A", 2), ("S1", "A", 1))
    assert (pool.free("W1", "A"), pool.free("S1", "A")) == (6, 2)


def test_reserve_is_all_or_nothing(pool: StockPool) -> None:
    before = pool.stock()
    with pytest.raises(
        InsufficientStock, match="node 'S1', sku 'C': requested 3"
    ) as err:
        pool.reserve("o1", [("W1", "A", 2), ("S1", "C", 3)])
    assert (err.value.node_id, err.value.sku, err.value.requested, err.value.free) == (
        "S1",
        "C",
        3,
        2,
    )
    assert pool.stock().equals(before)
    assert pool.reservations() == []


def test_lines_on_the_same_row_are_checked_together(pool: StockPool) -> None:
    with pytest.raises(InsufficientStock, match="requested 9 units but only 8"):
        pool.reserve("o1", [("W1", "A", 5), ("W1", "A", 4)])
    assert pool.free("W1", "A") == 8


def test_reserve_from_a_node_without_the_sku_is_insufficient(pool: StockPool) -> None:
    with pytest.raises(InsufficientStock, match="holds no stock of this sku") as err:
        pool.reserve("o1", [("S1", "B", 1)])
    assert err.value.free == 0


def test_key_makes_reserve_idempotent(pool: StockPool) -> None:
    first = pool.reserve("o1", [("W1", "A", 3)], key="cart-1")
    again = pool.reserve("o1", [("W1", "A", 3)], key="cart-1")
    assert again is first
    assert pool.free("W1", "A") == 5
    assert len(pool.reservations()) == 1


def test_key_reused_for_another_request_is_an_error(pool: StockPool) -> None:
    pool.reserve("o1", [("W1", "A", 3)], key="cart-1")
    with pytest.raises(KeyConflict, match="key 'cart-1': already names reservation 1"):
        pool.reserve("o1", [("W1", "A", 4)], key="cart-1")
    assert pool.free("W1", "A") == 5


def test_key_after_commit_returns_the_committed_reservation(pool: StockPool) -> None:
    res = pool.reserve("o1", [("W1", "A", 3)], key="cart-1")
    pool.commit(res.reservation_id)
    assert pool.reserve("o1", [("W1", "A", 3)], key="cart-1") is res
    assert pool.free("W1", "A") == 5


@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("commit", "commit", "cannot commit it, it was already committed"),
        ("commit", "release", "cannot release it, it was already committed"),
        ("release", "release", "cannot release it, it was already released"),
        ("release", "commit", "cannot commit it, it was already released"),
    ],
)
def test_second_close_is_an_error_and_changes_nothing(
    pool: StockPool, first: str, second: str, message: str
) -> None:
    res = pool.reserve("o1", [("W1", "A", 3)])
    getattr(pool, first)(res.reservation_id)
    before = pool.stock()
    with pytest.raises(ReservationClosed, match=message) as err:
        getattr(pool, second)(res.reservation_id)
    assert err.value.reservation_id == res.reservation_id
    assert pool.stock().equals(before)


@pytest.mark.parametrize("rid", [0, 99, -1, "1"])
def test_unknown_reservation_is_an_error(pool: StockPool, rid: Any) -> None:
    pool.reserve("o1", [("W1", "A", 1)])
    for action in (pool.commit, pool.release, pool.status):
        with pytest.raises(UnknownReservation, match="unknown reservation id"):
            action(rid)
    assert pool.free("W1", "A") == 7


def test_expire_releases_only_what_is_due() -> None:
    clock = FakeClock()
    pool = StockPool.from_scenario(scenario(), clock=clock)
    short = pool.reserve("o1", [("W1", "A", 2)], ttl=10)
    long = pool.reserve("o2", [("W1", "A", 3)], ttl=60)
    forever = pool.reserve("o3", [("W1", "A", 1)])
    assert short.deadline == 1010.0
    assert pool.expire() == []
    clock.now = 1010.0
    assert pool.expire() == [short.reservation_id]
    assert pool.free("W1", "A") == 4
    assert pool.expire(now=5000.0) == [long.reservation_id]
    assert pool.status(long.reservation_id) == "expired"
    assert pool.status(forever.reservation_id) == "active"
    with pytest.raises(ReservationClosed, match="already expired"):
        pool.commit(short.reservation_id)


def test_committed_reservation_never_expires() -> None:
    clock = FakeClock()
    pool = StockPool.from_scenario(scenario(), clock=clock)
    res = pool.reserve("o1", [("W1", "A", 2)], ttl=1)
    pool.commit(res.reservation_id)
    assert pool.expire(now=2000.0) == []
    assert pool.status(res.reservation_id) == "committed"


def test_adjust_receipt_and_damage(pool: StockPool) -> None:
    assert pool.adjust("W1", "A", 5, "receipt") == 15
    assert pool.free("W1", "A") == 13
    assert pool.adjust("W1", "A", -3, "damage") == 12
    row = pool.stock().filter(pl.col("node_id") == "W1", pl.col("sku") == "A")
    assert row["received"].item() == 2


def test_adjust_below_zero_is_an_error(pool: StockPool) -> None:
    before = pool.stock()
    with pytest.raises(
        InvalidAdjustment, match="would leave on_hand=-1, below zero"
    ) as e:
        pool.adjust("S1", "A", -4, "count")
    assert (e.value.delta, e.value.on_hand) == (-4, 3)
    assert pool.stock().equals(before)


def test_adjust_below_reserved_is_an_error(pool: StockPool) -> None:
    pool.reserve("o1", [("S1", "A", 2)])
    with pytest.raises(InvalidAdjustment, match="below reserved=2"):
        pool.adjust("S1", "A", -2, "damage")
    assert pool.free("S1", "A") == 1


def test_adjust_of_a_missing_row_adds_it_only_for_a_receipt(pool: StockPool) -> None:
    # Issue 15 (docs/decisions.md): a receipt adds the row while the pool runs;
    # a negative or zero delta of a row that does not exist is still an error.
    with pytest.raises(UnknownStockRow, match="only a positive delta"):
        pool.adjust("S1", "B", -1, "count")
    assert pool.adjust("S1", "B", 5, "receipt") == 5
    assert pool.free("S1", "B") == 5
    with pytest.raises(UnknownStockRow, match="Unknown node"):
        pool.adjust("X9", "A", 5, "receipt")


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ([], "needs at least one line"),
        ([("W1", "A", 0)], "qty must be > 0. Got qty=0"),
        ([("W1", "A", -2)], "qty must be > 0"),
        ([("W1", "A", 1.5)], "integer qty"),
        ([("W1", "A")], "expected \\(node_id, sku, qty\\)"),
        (pl.DataFrame({"node_id": ["W1"], "sku": ["A"]}), "Missing \\['qty'\\]"),
    ],
)
def test_malformed_lines_are_rejected(
    pool: StockPool, lines: Any, message: str
) -> None:
    with pytest.raises(InvalidRequest, match=message):
        pool.reserve("o1", lines)
    assert pool.free("W1", "A") == 8


@pytest.mark.parametrize("ttl", [0, -1.0])
def test_ttl_must_be_positive(pool: StockPool, ttl: float) -> None:
    with pytest.raises(InvalidRequest, match="ttl must be > 0"):
        pool.reserve("o1", [("W1", "A", 1)], ttl=ttl)


def test_pool_errors_share_the_base(pool: StockPool) -> None:
    with pytest.raises(OmnistockError):
        pool.commit(42)


# -- last-unit protection ------------------------------------------------------------


def test_non_exempt_reserve_leaves_the_protected_unit(pool: StockPool) -> None:
    # S1/A: free 3, stores protect 1 unit -> non-exempt tiers may take 2.
    assert pool.free("S1", "A", exempt=False) == 2
    with pytest.raises(InsufficientStock, match="Protected units") as err:
        pool.reserve("o1", [("S1", "A", 3)], exempt=False)
    assert err.value.free == 2
    pool.reserve("o1", [("S1", "A", 2)], exempt=False)
    assert pool.free("S1", "A", exempt=False) == 0
    # An exempt (vip) reservation may still take the last unit.
    pool.reserve("o2", [("S1", "A", 1)], exempt=True)
    assert pool.free("S1", "A") == 0


def test_limit_follows_free_after_an_exempt_take(pool: StockPool) -> None:
    # Live reading: limit_left = max(0, free_left - protect) after every change.
    pool.reserve("vip", [("S1", "A", 2)])
    assert pool.free("S1", "A") == 1
    assert pool.free("S1", "A", exempt=False) == 0


def test_counter_arrays_are_the_live_state(pool: StockPool) -> None:
    net = pool.network
    row = net.stock_row(net.node_index["S1"], net.sku_index["A"])
    free_left, limit_left = pool.free_left, pool.limit_left
    pool.reserve("o1", [("S1", "A", 1)])
    assert (free_left[row], limit_left[row]) == (2, 1)
    assert (free_left.dtype, free_left.shape) == (np.int64, net.stock_node.shape)


# -- availability views --------------------------------------------------------------


def reference_availability(
    pool: StockPool, channel: str | None, tier: str | None
) -> dict[str, tuple[int, int]]:
    """Plain reading: sku -> (available, nodes) over the channel's nodes."""
    sc = scenario()
    exempt = tier is None or tier in sc.rules.exempt_tiers
    nodes = {n.id: n for n in sc.nodes}
    out: dict[str, tuple[int, int]] = {}
    for rec in sc.stock:
        node = nodes[rec.node]
        if channel is not None and node.channels and channel not in node.channels:
            continue
        free = pool.free(rec.node, rec.sku)
        if not exempt:
            free = max(0, free - sc.rules.protection(node.kind))
        total, count = out.get(rec.sku, (0, 0))
        out[rec.sku] = (total + free, count + (free > 0))
    return out


@pytest.mark.parametrize("channel", [None, "web", "app", "marketplace"])
@pytest.mark.parametrize("tier", [None, "vip", "standard"])
def test_availability_per_sku_matches_a_plain_reading(
    pool: StockPool, channel: str | None, tier: str | None
) -> None:
    pool.reserve("o1", [("S1", "A", 1), ("S2", "B", 1)])
    frame = pool.availability(channel=channel, tier=tier)
    assert frame.columns == ["sku", "on_hand", "reserved", "free", "available", "nodes"]
    expected = reference_availability(pool, channel, tier)
    got = {r["sku"]: (r["available"], r["nodes"]) for r in frame.iter_rows(named=True)}
    assert got == {s: expected.get(s, (0, 0)) for s in ("A", "B", "C")}


def test_availability_for_chosen_skus_keeps_their_order(pool: StockPool) -> None:
    frame = pool.availability(skus=["C", "nope", "A"], channel="app")
    assert frame["sku"].to_list() == ["C", "nope", "A"]
    # app: W1 (every channel) and S2 only.
    assert frame["available"].to_list() == [0, 0, 9]
    assert frame["nodes"].to_list() == [0, 0, 2]


def test_availability_by_node(pool: StockPool) -> None:
    frame = pool.availability(by="node", channel="web", tier="standard", skus=["A"])
    assert frame.columns == [
        "node_id",
        "sku",
        "on_hand",
        "reserved",
        "safety_stock",
        "free",
        "available",
    ]
    assert frame.select("node_id", "free", "available").rows() == [
        ("W1", 8, 8),
        ("S1", 3, 2),
    ]


def test_availability_rejects_an_unknown_view(pool: StockPool) -> None:
    with pytest.raises(InvalidRequest, match=r"by must be one of sku, node\. Got 'x'"):
        pool.availability(by="x")  # type: ignore[arg-type]


# -- threads -------------------------------------------------------------------------


@pytest.fixture
def preempt_often() -> Iterator[None]:
    """Switch threads every microsecond, so an unlocked check-then-act would race."""
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


@pytest.mark.threads
@pytest.mark.usefixtures("preempt_often")
def test_concurrent_reservations_of_scarce_stock_take_exactly_what_exists() -> None:
    pool = StockPool.from_scenario(scenario())
    pool.adjust("W1", "A", 292, "receipt")  # 300 free units of W1/A, 4 of W1/B
    won: list[Any] = []
    barrier = threading.Barrier(8)

    def worker(t: int) -> None:
        barrier.wait()
        for i in range(100):  # 800 one-unit requests for 300 units
            with contextlib.suppress(InsufficientStock):
                won.append(pool.reserve(f"o{t}-{i}", [("W1", "A", 1)]))
            with contextlib.suppress(InsufficientStock):
                won.append(pool.reserve(f"b{t}-{i}", [("W1", "B", 1), ("W1", "A", 1)]))

    threads = [threading.Thread(target=worker, args=(t,)) for t in range(8)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    held_a = sum(q for r in won for (_, sku, q) in r.lines if sku == "A")
    held_b = sum(q for r in won for (_, sku, q) in r.lines if sku == "B")
    assert (held_a, held_b) == (300, 4)  # exactly what existed, not a unit more
    assert (pool.free("W1", "A"), pool.free("W1", "B")) == (0, 0)
    assert len({r.reservation_id for r in won}) == len(won)


@pytest.mark.threads
@pytest.mark.usefixtures("preempt_often")
def test_many_threads_never_oversell_nor_lose_a_unit() -> None:
    sc = scenario()
    pool = StockPool.from_scenario(sc)
    start = pool.stock()
    rows = [(r.node, r.sku) for r in sc.stock]
    errors: list[BaseException] = []

    def worker(seed: int) -> None:
        rng = np.random.default_rng(seed)
        try:
            for i in range(300):
                picks = rng.choice(
                    len(rows), size=int(rng.integers(1, 3)), replace=False
                )
                lines = [(*rows[k], int(rng.integers(1, 3))) for k in picks]
                try:
                    res = pool.reserve(f"o{seed}-{i}", lines, exempt=bool(i % 2))
                except InsufficientStock:
                    node, sku = rows[int(rng.integers(len(rows)))]
                    pool.adjust(node, sku, int(rng.integers(1, 3)), "receipt")
                    continue
                if rng.random() < 0.6:
                    pool.commit(res.reservation_id)
                else:
                    pool.release(res.reservation_id)
        except BaseException as err:  # surfaced below
            errors.append(err)

    threads = [threading.Thread(target=worker, args=(s,)) for s in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert errors == []
    end = pool.stock()
    # No unit lost: on_hand + shipped - received is what the scenario started with.
    assert (end["on_hand"] + end["shipped"] - end["received"]).equals(start["on_hand"])
    assert (end["reserved"] == start["reserved"]).all()
    assert (end["on_hand"] >= end["reserved"]).all()


def test_ids_and_keys_are_kept_as_strings(pool: StockPool) -> None:
    res = pool.reserve(17, [("W1", "A", 1)], key=5)  # type: ignore[arg-type]
    assert (res.order_id, res.key) == ("17", "5")
    assert pool.reserve("17", [("W1", "A", 1)], key="5") is res
