"""The compiled arrays agree with a plain-Python reading of the semantics."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given

from omnistock import Scenario
from omnistock.check import haversine_km
from omnistock.compiled import (
    KIND_CODES,
    METHOD_CODES,
    NO_LIMIT,
    compile_network,
    compile_orders,
)
from omnistock.testing import scenarios
from tests.helpers import make_scenario


@given(scenarios(max_nodes=5, max_orders=5, max_skus=4))
def test_compiled_stock_matches_plain_reading(scenario: Scenario) -> None:
    net = scenario.compiled().network
    protect = {
        k: scenario.rules.last_unit_protection.get(k, 0) for k in ("warehouse", "store")
    }  # type: ignore[call-overload]
    kinds = {n.id: n.kind for n in scenario.nodes}
    seen = 0
    for rec in scenario.stock:
        row = net.stock_row(net.node_index[rec.node], net.sku_index[rec.sku])
        assert row >= 0
        free = max(0, rec.on_hand - rec.reserved - rec.safety_stock)
        assert net.stock_free[row] == free
        assert net.stock_limit[row] == max(0, free - protect[kinds[rec.node]])
        assert net.stock_on_hand[row] == rec.on_hand
        seen += 1
    assert seen == net.stock_node.shape[0]
    # SKU-major CSR: rows of a SKU are sorted by node and pointers are monotone.
    assert np.all(np.diff(net.stock_indptr) >= 0)
    for s in range(net.n_skus):
        nodes = net.stock_node[net.stock_indptr[s] : net.stock_indptr[s + 1]]
        assert np.all(np.diff(nodes) > 0)


@given(scenarios(max_nodes=5, max_orders=5, max_skus=4))
def test_compiled_nodes_and_orders_match_plain_reading(scenario: Scenario) -> None:
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    for i, node in enumerate(scenario.nodes):
        assert net.node_ids[i] == node.id
        assert net.node_kind[i] == KIND_CODES[node.kind]
        for m, code in METHOD_CODES.items():
            assert bool(net.node_methods[i] & (1 << code)) == (m in node.methods)
        assert net.node_capacity[i] == (
            NO_LIMIT if node.capacity is None else node.capacity
        )
        assert net.node_all_channels[i] == (not node.channels)
    for o, order in enumerate(scenario.orders):
        limits = [
            v for v in (order.max_splits, scenario.rules.max_splits) if v is not None
        ]
        if order.ship_complete:
            limits.append(1)
        assert orders.order_max_splits[o] == (min(limits) if limits else NO_LIMIT)
        assert orders.order_all_or_nothing[o] == (
            order.ship_complete or not order.allow_partial
        )
        assert orders.order_exempt[o] == (order.tier in scenario.rules.exempt_tiers)
        assert orders.order_weight[o] == scenario.rules.tier_weights.get(
            order.tier, 1.0
        )
        lines = range(orders.line_indptr[o], orders.line_indptr[o + 1])
        assert [orders.line_qty[j] for j in lines] == [ln.qty for ln in order.lines]
        assert [net.sku_ids[orders.line_sku[j]] for j in lines] == [
            ln.sku for ln in order.lines
        ]
        # The destination vector is the destination (or the pickup node) on the sphere.
        if order.method == "pickup":
            dest = next(n for n in scenario.nodes if n.id == order.pickup_node)
            lat, lon = dest.lat, dest.lon
        else:
            assert order.destination is not None
            lat, lon = order.destination.lat, order.destination.lon
        xyz = orders.order_xyz[o]
        assert math.isclose(math.degrees(math.asin(xyz[2])), lat, abs_tol=1e-9)
        node = scenario.nodes[0]
        chord = float(np.linalg.norm(net.node_xyz[0] - xyz))
        km = 2 * 6371.0 * math.asin(min(1.0, chord / 2))
        assert math.isclose(
            km, haversine_km(node.lat, node.lon, lat, lon), rel_tol=1e-9, abs_tol=1e-6
        )


def test_a_sku_unknown_to_the_network_compiles_to_minus_one() -> None:
    scenario = make_scenario()
    net = compile_network(scenario)
    order = scenario.orders[0].model_copy(
        update={
            "lines": (scenario.orders[0].lines[0].model_copy(update={"sku": "ZZZ"}),)
        }
    )
    compiled = compile_orders(net, [order])
    assert compiled.line_sku.tolist() == [-1]


def test_ordered_but_unstocked_sku_has_an_empty_stock_range() -> None:
    base = make_scenario()
    scenario = base.with_orders(
        [
            {
                "id": "o9",
                "destination": {"lat": 45.0, "lon": 4.0},
                "lines": [{"sku": "NEW", "qty": 1}],
            }
        ]
    )
    net = scenario.compiled().network
    s = net.sku_index["NEW"]
    assert net.stock_indptr[s] == net.stock_indptr[s + 1]


@given(scenarios(max_nodes=3, max_orders=6, min_orders=1))
def test_take_selects_orders_and_maps_lines_back(scenario: Scenario) -> None:
    orders = scenario.compiled().orders
    idx = np.arange(orders.n_orders)[::-2]  # every other order, reversed
    subset, line_map = orders.take(idx)
    assert subset.order_ids.tolist() == orders.order_ids[idx].tolist()
    assert subset.line_qty.tolist() == orders.line_qty[line_map].tolist()
    for k, o in enumerate(idx):
        old = list(range(orders.line_indptr[o], orders.line_indptr[o + 1]))
        new = list(range(subset.line_indptr[k], subset.line_indptr[k + 1]))
        assert line_map[new].tolist() == old
        assert set(subset.line_order[new].tolist()) <= {k}


def test_with_stock_replaces_only_the_given_arrays() -> None:
    net = make_scenario().compiled().network
    other = net.with_stock(free=np.zeros_like(net.stock_free))
    assert other.stock_free.sum() == 0
    assert (
        other.stock_limit is net.stock_limit
        and other.node_capacity is net.node_capacity
    )
