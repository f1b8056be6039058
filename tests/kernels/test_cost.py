"""The cost kernels against a plain-Python pricing of docs/semantics.md, S9."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from omnistock import solve
from omnistock._kernels.codes import COMPONENTS
from omnistock._kernels.cost import (
    costs_agree,
    package_cost,
    package_cost_kernel,
    plan_cost,
    unfilled_cost,
    unfilled_cost_kernel,
)
from omnistock.compiled.allocations import allocation_triples
from omnistock.testing import scenarios
from tests import reference

money = st.floats(0.0, 100.0, allow_nan=False)


@given(money, st.floats(0.5, 3.0), st.integers(0, 50))
def test_unfilled_cost_is_unfilled_times_weight_times_units(unfilled, weight, units):
    """Tests the one unfilled-cost formula, in Python and in kernels alike."""
    expected = unfilled * weight * units
    assert unfilled_cost(unfilled, weight, units) == expected
    assert unfilled_cost_kernel(unfilled, weight, units) == expected


def test_unfilled_cost_broadcasts_over_arrays():
    """Tests that Python callers may price every line at once."""
    out = unfilled_cost(2.0, np.array([1.0, 3.0]), np.array([4, 5]))
    assert out.tolist() == [8.0, 30.0]


@given(money, money, st.floats(0.0, 1.0), st.floats(0.0, 5000.0))
def test_package_cost_is_package_plus_handling_plus_per_km(
    package, handling, per_km, km
):
    """Tests the one package-cost formula: package + handling + per_km x km."""
    expected = package + handling + per_km * km
    assert package_cost(package, handling, per_km, km) == expected
    assert package_cost_kernel(package, handling, per_km, km) == expected


@given(scenarios(max_nodes=4, max_orders=4))
def test_plan_cost_matches_a_plain_pricing(scenario):
    """Tests each component of a greedy plan against pricing its rows by hand."""
    plan = solve(scenario, solver="greedy")
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    nodes = {n.id: n for n in scenario.nodes}
    by_id = {o.id: o for o in scenario.orders}
    expected = dict.fromkeys(COMPONENTS, 0.0)
    packages = set()
    for row in plan.allocations.iter_rows(named=True):
        node = nodes[row["node_id"]]
        expected["unit"] += row["qty"] * node.unit_cost
        packages.add((row["order_id"], row["node_id"]))
    for order_id, node_id in packages:
        node = nodes[node_id]
        expected["package"] += scenario.costs.package
        expected["handling"] += node.handling_cost
        km = reference.km(scenario, node, by_id[order_id])
        expected["distance"] += scenario.costs.per_km * km
    for row in plan.unfilled.iter_rows(named=True):
        tier = by_id[row["order_id"]].tier
        weight = scenario.rules.tier_weights.get(tier, 1.0)
        expected["unfilled"] += scenario.costs.unfilled * weight * row["qty"]
    line, node, qty = allocation_triples(compiled, plan.allocations)
    comp, _, _, _ = plan_cost(net.record, orders.record, line, node, qty)
    for i, name in enumerate(COMPONENTS):
        assert costs_agree(comp[i], expected[name]), name
        assert costs_agree(plan.cost_breakdown[name], expected[name]), name
