"""fill_short: the cheapest unit first, split limits kept, all-or-nothing undone."""

from __future__ import annotations

import numpy as np

from omnistock._kernels.records import Packages
from omnistock._kernels.repair import fill_short
from omnistock.compiled import StockState, compile_scenario
from tests.helpers import make_scenario


def _two_node_case(**order):
    scenario = make_scenario(
        orders=[
            {
                "id": "o1",
                "destination": {"lat": 45.75, "lon": 4.85},
                "lines": [{"sku": "A", "qty": 4}],
                **order,
            }
        ]
    )
    return compile_scenario(scenario)


def _packages(compiled):
    from omnistock.solvers.optimal.candidates import candidates

    cand = candidates(compiled)
    return Packages(
        cand.line,
        cand.row,
        cand.ub,
        cand.pair,
        cand.pair_order,
        cand.pair_node,
        cand.pair_cost,
    )


def test_short_line_is_filled_from_the_cheapest_units_first():
    """Tests the filled units against a plain greedy by cost per unit."""
    compiled = _two_node_case()
    net, orders = compiled.network, compiled.orders
    packages = _packages(compiled)
    units = np.zeros(packages.line.size, dtype=np.int64)
    state = StockState.of_network(net)
    free_before = state.free.copy()
    fill_short(
        packages, net.record, state.record, orders.record, np.ones(1, bool), units
    )
    assert np.array_equal(state.free, free_before)  # the kernel works on copies
    # Plain reading: while short, take the candidate of least unit + new package cost.
    room = {c: int(packages.ub[c]) for c in range(units.size)}
    taken = dict.fromkeys(room, 0)
    need = int(orders.line_qty[0])
    weight = float(orders.order_weight[0])
    while need:

        def per_unit(c, need=need):
            n = int(packages.pair_node[packages.pair[c]])
            r = min(room[c] - taken[c], need)
            extra = 0.0 if taken[c] else packages.pair_cost[packages.pair[c]] / r
            return net.node_unit_cost[n] + extra

        options = [c for c in room if room[c] - taken[c] > 0]
        best = min(options, key=per_unit, default=None)
        if best is None or per_unit(best) >= net.unfilled * weight:
            break
        t = min(room[best] - taken[best], need)
        taken[best] += t
        need -= t
    assert units.tolist() == [taken[c] for c in range(units.size)]
