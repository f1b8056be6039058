"""The protection kernel: usable units per tier, and the nested batch limits of S4."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from omnistock._kernels.protection import take, usable
from omnistock.testing import scenarios
from tests import reference


@given(scenarios(max_nodes=5, max_orders=3))
def test_usable_matches_reference_at_the_scenario_stock(scenario):
    """Tests that usable() at the initial counters equals the plain reading of S2 and S4."""
    net = scenario.compiled().network
    free_left, limit_left = net.stock_free.copy(), net.stock_limit.copy()
    for tier in ("standard", "vip"):
        exempt = tier in net.exempt_tiers
        for node in scenario.nodes:
            for sku in net.sku_ids.tolist():
                row = net.stock_row(net.node_index[node.id], net.sku_index[sku])
                got = usable(free_left, limit_left, row, exempt)
                assert got == reference.usable(scenario, node, sku, tier)


@given(
    st.integers(0, 10),
    st.integers(0, 4),
    st.lists(st.tuples(st.booleans(), st.integers(1, 4)), max_size=8),
)
def test_takes_keep_the_nested_limits(free, protect, requests):
    """Tests that any sequence of takes within usable() keeps S4: plain <= limit, all <= free."""
    free_left = np.array([free], dtype=np.int64)
    limit_left = np.array([max(0, free - protect)], dtype=np.int64)
    plain = total = 0
    for exempt, want in requests:
        got = min(want, usable(free_left, limit_left, 0, exempt))
        if got > 0:
            take(free_left, limit_left, 0, got, exempt)
            total += got
            plain += 0 if exempt else got
    assert plain <= max(0, free - protect)
    assert total <= free
    assert free_left[0] == free - total


def test_missing_row_is_unusable():
    """Tests that a node without a stock row (row -1) offers nothing."""
    arr = np.array([5], dtype=np.int64)
    assert usable(arr, arr, -1, True) == 0
