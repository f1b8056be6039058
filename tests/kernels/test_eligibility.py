"""The eligibility kernel against its plain-Python twin (tests/reference.py)."""

from __future__ import annotations

import numpy as np
from hypothesis import given

from omnistock._kernels.eligibility import node_reasons
from omnistock._kernels.records import make_request
from omnistock.testing import scenarios
from tests import reference


@given(scenarios(max_nodes=6, max_orders=4))
def test_node_reasons_match_reference(scenario):
    """Tests that the kernel reports the same first failing S3 rule as the reference."""
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    nodes = np.arange(net.n_nodes, dtype=np.int64)
    for o, order in enumerate(scenario.orders):
        request = make_request(orders.record, o, 1.0, net.node_unit_cost)
        reason, km = node_reasons(net.record, nodes, request)
        for i, node in enumerate(scenario.nodes):
            d = reference.km(scenario, node, order)
            assert abs(km[i] - d) <= 1e-6 * (1 + d)
            expected = reference.node_reason(scenario, node, order)
            # Exactly at a limit the two distance formulas may round apart.
            limits = [scenario.rules.max_distance_km, scenario.rules.same_day_radius_km]
            if any(lim is not None and abs(d - lim) < 1e-6 for lim in limits):
                continue
            assert reason[i] == expected, (node.id, order.id)
