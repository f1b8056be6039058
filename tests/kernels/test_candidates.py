"""One order's candidates and explain's node report against the plain rules."""

from __future__ import annotations

import numpy as np
from hypothesis import given

from omnistock._kernels import candidates, sourcing
from omnistock._kernels.codes import CAPACITY, ELIGIBLE, NO_STOCK, PROTECTION
from omnistock._kernels.geo import km_between
from omnistock._kernels.records import make_request
from omnistock.compiled import StockState
from omnistock.testing import scenarios
from tests import reference


def _requests(scenario):
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    for o, order in enumerate(scenario.orders):
        yield net, order, make_request(orders.record, o, 1.0, net.node_unit_cost)


def _expected_reason(scenario, node, order):
    reason = reference.node_reason(scenario, node, order)
    if reason != ELIGIBLE:
        return reason
    use = [
        reference.usable(scenario, node, line.sku, order.tier) for line in order.lines
    ]
    free = [reference.free(scenario, node.id, line.sku) for line in order.lines]
    if sum(use) == 0 and sum(free) > 0:
        return PROTECTION
    if node.capacity is not None and node.capacity <= 0:
        return CAPACITY
    if sum(use) == 0:
        return NO_STOCK
    return ELIGIBLE


def _near_a_limit(scenario, node, order):
    d = reference.km(scenario, node, order)
    limits = [scenario.rules.max_distance_km, scenario.rules.same_day_radius_km]
    return any(lim is not None and abs(d - lim) < 1e-6 for lim in limits)


@given(scenarios(max_nodes=5, max_orders=3))
def test_candidates_are_the_eligible_nodes_with_usable_units(scenario):
    """Tests the candidate set and each (node, line)'s usable units by the plain rules."""
    for net, order, request in _requests(scenario):
        state = StockState.from_network(net)
        node, half, use, _ = candidates.collect_candidates(
            net.record, state.record, request
        )
        expected = [
            i
            for i, n in enumerate(scenario.nodes)
            if _expected_reason(scenario, n, order) == ELIGIBLE
        ]
        if any(_near_a_limit(scenario, n, order) for n in scenario.nodes):
            continue
        assert node.tolist() == expected
        for j, i in enumerate(node):
            n = scenario.nodes[i]
            want = [
                reference.usable(scenario, n, ln.sku, order.tier) for ln in order.lines
            ]
            assert use[j].tolist() == want
            km = km_between(net.node_xyz[i], request.dest_xyz)
            assert abs(candidates.km_from_half(half[j]) - km) <= 1e-9 * (1 + km)


@given(scenarios(max_nodes=5, max_orders=3))
def test_node_report_gives_every_node_its_first_reason(scenario):
    """Tests explain's per-node reason and package cost against the plain rules."""
    costs = scenario.costs
    for net, order, request in _requests(scenario):
        state = StockState.from_network(net)
        _, free, limit = sourcing.snapshot_rows(
            net.record, state.record, request.line_sku
        )
        reason, km, _, pkg = candidates.node_report(
            net.record, request, free, limit, state.capacity
        )
        for i, node in enumerate(scenario.nodes):
            if _near_a_limit(scenario, node, order):
                continue
            assert reason[i] == _expected_reason(scenario, node, order), node.id
            expected = costs.package + node.handling_cost + costs.per_km * km[i]
            assert pkg[i] == expected
            d = reference.km(scenario, node, order)
            assert abs(km[i] - d) <= 1e-6 * (1 + d)


def test_destination_of_a_pickup_order_is_its_pickup_node():
    """Tests that a pickup order's destination is the pickup node's unit vector."""
    xyz = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert candidates.destination_xyz(xyz, 1, np.nan, np.nan).tolist() == [0, 1, 0]
    out = candidates.destination_xyz(xyz, -1, 0.0, 90.0)
    assert np.allclose(out, [0.0, 1.0, 0.0])
