"""The sourcing kernels: one order exact, a batch in turn, commits all or none."""

from __future__ import annotations

import numpy as np
from hypothesis import given

from omnistock._kernels import sourcing
from omnistock._kernels.codes import POLICY_GREEDY
from omnistock._kernels.cost import costs_agree
from omnistock._kernels.records import make_request
from omnistock.compiled import StockState
from omnistock.testing import scenarios
from tests import reference
from tests.kernels import builders


@given(scenarios(max_nodes=4, max_orders=1, min_orders=1, max_lines=2))
def test_decide_order_costs_the_brute_force_optimum(scenario):
    """Tests that the exact decision's cost is the optimum over every node subset."""
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    state = StockState.from_network(net)
    penalty = net.unfilled * float(orders.order_weight[0])
    request = make_request(orders.record, 0, penalty, net.node_unit_cost)
    *_, comp = sourcing.decide_order(net.record, state.record, request, POLICY_GREEDY)
    assert costs_agree(float(comp.sum()), reference.one_order_optimum(scenario))
    assert np.array_equal(state.free, net.stock_free)  # read, not changed


@given(scenarios(max_nodes=4, max_orders=5))
def test_decide_batch_takes_each_decision_from_the_state(scenario):
    """Tests that the state falls by exactly the units the batch's triples take."""
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    state = StockState.from_network(net)
    line, node, qty = sourcing.decide_batch(
        net.record,
        state.record,
        orders.record,
        POLICY_GREEDY,
        np.zeros(0),
        np.zeros(0, dtype=np.int64),  # v1: no tier classes
    )
    taken = np.zeros_like(state.free)
    for li, n, q in zip(line, node, qty, strict=True):
        taken[net.stock_row(int(n), int(orders.line_sku[li]))] += q
    assert np.array_equal(state.free, net.stock_free - taken)
    assert (state.free >= 0).all()
    assert (state.limit >= np.minimum(net.stock_limit, 0)).all()
    cap_taken = np.bincount(node, weights=qty, minlength=net.n_nodes)
    assert np.array_equal(state.capacity, net.node_capacity - cap_taken)


def test_commit_takes_all_or_none():
    """Tests that a take that no longer fits leaves every counter as it was."""
    state = StockState(np.array([3, 1]), np.array([3, 0]), np.array([10, 10]))
    rows = np.array([0, 1], dtype=np.int64)
    nodes = np.array([0, 1], dtype=np.int64)
    bad, avail, what = sourcing.commit_takes(
        state.record, rows, nodes, np.array([2, 1], dtype=np.int64), False
    )
    assert (bad, avail, what) == (1, 0, 0)  # row 1's only unit is protected
    assert state.free.tolist() == [3, 1]
    assert state.limit.tolist() == [3, 0]
    bad, _, _ = sourcing.commit_takes(
        state.record, rows, nodes, np.array([2, 1], dtype=np.int64), True
    )
    assert bad == -1  # an exempt tier may take it
    assert state.free.tolist() == [1, 0]
    assert state.limit.tolist() == [3, 0]  # exempt takes leave the limit alone
    assert state.capacity.tolist() == [8, 9]


def test_snapshot_rows_copies_the_order_rows_line_by_line():
    """Tests that the snapshot lists each line's SKU rows and copies their counters."""
    net = builders.network(
        2, stock_indptr=np.array([0, 2, 3]), stock_node=np.array([0, 1, 0])
    )
    state = builders.state([5, 6, 7], [1, 2, 3], n_nodes=2)
    rows, free, limit = sourcing.snapshot_rows(net, state, np.array([1, -1, 0]))
    assert rows.tolist() == [2, 0, 1]
    assert free.tolist() == [7, 5, 6]
    assert limit.tolist() == [3, 1, 2]
