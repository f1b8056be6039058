"""A batch's candidates and packages against the plain eligibility and stock rules."""

from __future__ import annotations

from hypothesis import given

from omnistock._kernels.packages import batch_candidates
from omnistock.compiled import StockState
from omnistock.testing import scenarios
from tests import reference


@given(scenarios(max_nodes=4, max_orders=4))
def test_candidates_are_eligible_rows_with_usable_units(scenario):
    """Tests each candidate's bound and each package's cost by the plain rules."""
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    line, row, ub, pair, pair_order, pair_node, pair_cost = batch_candidates(
        net.record, StockState.of_network(net).record, orders.record
    )
    got = {
        (int(li), int(pair_node[p])): int(u)
        for li, u, p in zip(line, ub, pair, strict=True)
    }
    costs = scenario.costs
    expected = {}
    for li in range(orders.n_lines):
        order = scenario.orders[int(orders.line_order[li])]
        sku = str(orders.line_sku_ids[li])
        for n, node in enumerate(scenario.nodes):
            if reference.node_reason(scenario, node, order) != reference.ELIGIBLE:
                continue
            cap = node.capacity if node.capacity is not None else 10**9
            u = min(
                int(orders.line_qty[li]),
                reference.usable(scenario, node, sku, order.tier),
                cap,
            )
            if u > 0:
                expected[(li, n)] = u
    limits = [scenario.rules.max_distance_km, scenario.rules.same_day_radius_km]
    near = any(
        lim is not None and abs(reference.km(scenario, node, order) - lim) < 1e-6
        for order in scenario.orders
        for node in scenario.nodes
        for lim in limits
    )
    if not near:
        assert got == expected
    for p in range(pair_order.size):
        order = scenario.orders[int(pair_order[p])]
        node = scenario.nodes[int(pair_node[p])]
        km = reference.km(scenario, node, order)
        expected_cost = costs.package + node.handling_cost + costs.per_km * km
        assert abs(pair_cost[p] - expected_cost) <= 1e-6 * (1 + expected_cost)
    assert all(
        net.stock_node[r] == pair_node[p] for r, p in zip(row, pair, strict=True)
    )
