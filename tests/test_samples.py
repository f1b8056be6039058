"""Sample networks and order streams (omnistock.samples)."""

from __future__ import annotations

import datetime as dt
import math
from collections import Counter

import pytest

from omnistock import Order, Scenario, samples


@pytest.fixture(scope="module")
def small() -> Scenario:
    return samples.network("small", seed=1)


@pytest.fixture(scope="module")
def small_batch(small: Scenario) -> list[Order]:
    return samples.orders(small, 3_000, seed=2)


def km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(a))


@pytest.mark.parametrize(
    ("name", "warehouses", "stores", "skus"),
    [("small", 3, 30, 200), ("us", 10, 99, 1_000), ("medium", 6, 300, 5_000)],
)
def test_network_sizes(name: str, warehouses: int, stores: int, skus: int) -> None:
    net = samples.network(name, seed=0)
    kinds = Counter(n.kind for n in net.nodes)
    assert kinds == {"warehouse": warehouses, "store": stores}
    assert len({r.sku for r in net.stock}) == skus
    assert net.orders == ()


def test_unknown_name_is_rejected() -> None:
    with pytest.raises(
        ValueError, match=r"one of small, medium, large, us\. Got 'huge'"
    ):
        samples.network("huge")


def test_same_seed_same_bytes(small: Scenario, small_batch: list[Order]) -> None:
    again = samples.network("small", seed=1)
    assert again.model_dump_json() == small.model_dump_json()
    a = small.with_orders(small_batch).model_dump_json()
    b = again.with_orders(samples.orders(again, 3_000, seed=2)).model_dump_json()
    assert a == b


def test_different_seed_differs(small: Scenario, small_batch: list[Order]) -> None:
    assert samples.network("small", seed=2).model_dump_json() != small.model_dump_json()
    other = samples.orders(small, 3_000, seed=3)
    assert [o.model_dump() for o in other] != [o.model_dump() for o in small_batch]


def test_network_round_trips_json(small: Scenario) -> None:
    assert Scenario.model_validate_json(small.model_dump_json()) == small


def test_every_order_is_valid(small: Scenario, small_batch: list[Order]) -> None:
    # The generator skips per-record validation: validate everything from scratch.
    for order in small_batch:
        assert Order.model_validate(order.model_dump()) == order
    scenario = small.with_orders(small_batch)
    assert Scenario.model_validate_json(scenario.model_dump_json()) == scenario
    assert min(len(o.lines) for o in small_batch) >= 1
    assert max(len(o.lines) for o in small_batch) == 5


def test_pickup_orders_name_pickup_nodes(
    small: Scenario, small_batch: list[Order]
) -> None:
    nodes = {n.id: n for n in small.nodes}
    pickups = [o for o in small_batch if o.method == "pickup"]
    assert len(pickups) > 0.05 * len(small_batch)
    for order in pickups:
        assert order.pickup_node is not None
        assert "pickup" in nodes[order.pickup_node].methods
        assert order.destination is None
    assert all(o.pickup_node is None for o in small_batch if o.method != "pickup")


def test_same_day_orders_are_near_a_same_day_node(
    small: Scenario, small_batch: list[Order]
) -> None:
    radius = small.rules.same_day_radius_km
    same_day_nodes = [n for n in small.nodes if "same_day" in n.methods]
    orders = [o for o in small_batch if o.method == "same_day"]
    assert len(orders) > 0.03 * len(small_batch)
    for order in orders:
        dest = order.destination
        assert dest is not None
        assert (
            min(km(n.lat, n.lon, dest.lat, dest.lon) for n in same_day_nodes) <= radius
        )


def test_order_mixes(small_batch: list[Order]) -> None:
    assert {o.channel for o in small_batch} == {"web", "app", "store", "call_center"}
    assert {o.method for o in small_batch} == {"ship", "pickup", "same_day"}
    tiers = Counter(o.tier for o in small_batch)
    assert set(tiers) == {"standard", "vip"}
    assert 0.03 < tiers["vip"] / len(small_batch) < 0.15
    assert Counter(o.method for o in small_batch).most_common(1)[0][0] == "ship"
    assert any(o.ship_complete for o in small_batch)
    assert any(not o.allow_partial and not o.ship_complete for o in small_batch)
    assert any(o.max_splits is not None for o in small_batch)
    qty = Counter(line.qty for o in small_batch for line in o.lines)
    assert qty.most_common(1)[0][0] == 1
    n_lines = Counter(len(o.lines) for o in small_batch)
    assert n_lines[1] + n_lines[2] > 0.7 * len(small_batch)


def test_zipf_skew_in_orders(small: Scenario, small_batch: list[Order]) -> None:
    counts = Counter(line.sku for o in small_batch for line in o.lines)
    skus = sorted({r.sku for r in small.stock})
    top = sum(counts[s] for s in skus[:20])  # the 10% most popular by rank
    assert top > 0.4 * sum(counts.values())
    assert counts[skus[0]] > 10 * max(counts[skus[-1]], 1)


def test_stores_thinner_than_warehouses(small: Scenario) -> None:
    kind = {n.id: n.kind for n in small.nodes}
    units: dict[str, list[int]] = {"warehouse": [], "store": []}
    rows: Counter[str] = Counter()
    for rec in small.stock:
        units[kind[rec.node]].append(rec.on_hand)
        rows[rec.node] += 1
    assert max(units["store"]) <= 9
    assert sum(units["store"]) / len(units["store"]) < 4
    assert sum(units["warehouse"]) / len(units["warehouse"]) > 5 * (
        sum(units["store"]) / len(units["store"])
    )
    store_rows = [rows[n.id] for n in small.nodes if n.kind == "store"]
    wh_rows = [rows[n.id] for n in small.nodes if n.kind == "warehouse"]
    assert max(store_rows) < min(wh_rows)
    # Every SKU is stocked somewhere, and some units are reserved or held as safety.
    assert len({r.sku for r in small.stock}) == 200
    assert any(r.reserved for r in small.stock)
    assert any(r.safety_stock for r in small.stock)


def test_network_features(small: Scenario) -> None:
    stores = [n for n in small.nodes if n.kind == "store"]
    warehouses = [n for n in small.nodes if n.kind == "warehouse"]
    assert any("pickup" in n.methods for n in stores)
    assert any("same_day" in n.methods for n in stores)
    assert all(n.methods for n in stores)
    assert any(n.channels == ("app", "store") for n in stores)
    assert any(n.capacity is not None for n in stores)
    assert max(n.priority for n in warehouses) < min(n.priority for n in stores)
    assert max(n.unit_cost for n in warehouses) < min(n.unit_cost for n in stores)
    assert max(n.handling_cost for n in warehouses) < min(
        n.handling_cost for n in stores
    )
    assert small.rules.last_unit_protection == {"store": 1}
    assert small.rules.exempt_tiers == ("vip",)
    assert small.rules.tier_weights == {"vip": 2.0}


def test_warehouses_are_spread_real_fulfilment_centres(small: Scenario) -> None:
    warehouses = [n for n in small.nodes if n.kind == "warehouse"]
    assert all(n.id.startswith("W-") for n in warehouses)
    for i, a in enumerate(warehouses):
        for b in warehouses[i + 1 :]:
            assert km(a.lat, a.lon, b.lat, b.lon) > 1000
    us = samples.network("us")
    real = {n.id: (n.lat, n.lon) for n in us.nodes if n.kind == "warehouse"}
    assert real["W-OAK4"] == (37.7448, -121.3985)
    assert {n.id: (n.lat, n.lon) for n in warehouses}.items() <= real.items()


def test_stores_follow_population(small: Scenario) -> None:
    # New York is the most populous city: the most stores stand within 60 km of it.
    near_ny = sum(
        km(n.lat, n.lon, 40.6943, -73.9249) < 60
        for n in small.nodes
        if n.kind == "store"
    )
    near_reno = sum(
        km(n.lat, n.lon, 39.5497, -119.8483) < 60
        for n in small.nodes
        if n.kind == "store"
    )
    assert near_ny >= 3
    assert near_ny > near_reno


def test_orders_zero_and_negative(small: Scenario) -> None:
    assert samples.orders(small, 0) == []
    with pytest.raises(ValueError, match=r"n must be >= 0\. Got n=-1"):
        samples.orders(small, -1)


def test_orders_frame_matches_orders(small: Scenario) -> None:
    batch = samples.orders(small, 500, seed=4)
    frame = samples.orders_frame(small, 500, seed=4, days=2.0)
    assert frame["order_id"].to_list() == [o.id for o in batch]
    assert frame["method"].to_list() == [o.method for o in batch]
    assert frame["pickup_node"].to_list() == [o.pickup_node for o in batch]
    assert frame["n_lines"].to_list() == [len(o.lines) for o in batch]
    assert frame["units"].to_list() == [sum(li.qty for li in o.lines) for o in batch]
    arrival = frame["arrival"]
    assert arrival.is_sorted()
    start = samples.DEFAULT_START
    first, last = arrival.min(), arrival.max()
    assert isinstance(first, dt.datetime)
    assert isinstance(last, dt.datetime)
    assert first >= start
    assert dt.timedelta(days=1) < last - start < dt.timedelta(days=2)
    assert frame.equals(samples.orders_frame(small, 500, seed=4, days=2.0))


def test_orders_frame_rejects_bad_days(small: Scenario) -> None:
    with pytest.raises(ValueError, match=r"days must be > 0\. Got days=0"):
        samples.orders_frame(small, 5, days=0)
