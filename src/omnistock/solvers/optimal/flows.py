"""Components of one-unit, one-line orders: an exact min-cost flow (OR-Tools).

For an order of a single line with ``qty = 1`` a package ships exactly one unit,
so its fixed charge is a cost per unit (``y = x``); split limits and
all-or-nothing say nothing more about one unit. A component made only of such
orders is then a transportation problem, and its min-cost flow optimum is
integral (docs/solvers.md). The network::

    source -> order            capacity 1
    order  -> sink             capacity 1, cost unfilled x tier weight (v1.1: the
                               order's own, plus its unfilled-order charge)
    order  -> limit(row)       capacity 1, cost package + unit (non-exempt order,
                               row with protection)
    order  -> row              capacity 1, cost package + unit (otherwise; v1.1:
                               the band's package and the unit's extra in)
    limit(row) -> row          capacity stock_limit
    row -> capacity(node)      capacity stock_free (node with a capacity)
    row -> sink                capacity stock_free (otherwise)
    capacity(node) -> sink     capacity node_capacity

Costs are floats; the flow takes them scaled by ``SCALE`` and rounded. Each
order's path crosses exactly one costed arc, so with ``e`` the largest rounding
error of a costed arc (at most ``0.5 / scale``; measured, so costs that are whole
multiples of ``1 / scale`` give ~0) the plan is optimal within ``2 e n_orders``
(its own rounding and the optimum's), which the reported bound subtracts. OR-Tools multiplies every cost by about the
number of vertices and fails when that leaves int64, so ``scale`` is ``SCALE``
lowered until the largest scaled cost times the vertex count fits in
``2**60``: any cost the contract accepts then plans, large costs on large
graphs at a coarser (still reported) precision.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from omnistock._kernels.cost import unfilled_cost
from omnistock.compiled import NO_LIMIT, CompiledScenario
from omnistock.solvers.optimal.candidates import Candidates, unit_costs
from omnistock.solvers.optimal.rated_decomp import order_charges

__all__ = ["SCALE", "FlowResult", "solve_unit_orders", "unit_components"]

#: Costs are multiplied by this (or less, see the module doc) and rounded.
SCALE = 1e6
#: The largest ``scaled cost x vertices`` given to OR-Tools (it overflows near 2**61.7).
_COST_ROOM = 2.0**60


@dataclass(frozen=True, eq=False)
class FlowResult:
    """The plan of the flow, its cost on the orders it solved, and a bound."""

    triples: np.ndarray
    cost: float
    bound: float


def unit_components(compiled: CompiledScenario, label: np.ndarray) -> np.ndarray:
    """bool[n_components]: components whose orders all have one line of one unit."""
    orders = compiled.orders
    n_comp = int(label.max()) + 1 if label.size else 0
    unit = (np.diff(orders.line_indptr) == 1) & (
        np.bincount(
            orders.line_order, weights=orders.line_qty, minlength=orders.n_orders
        )
        == 1
    )
    has = label >= 0
    not_unit = np.bincount(label[has & ~unit], minlength=n_comp)
    return np.asarray(not_unit == 0)


def solve_unit_orders(
    compiled: CompiledScenario, cand: Candidates, order_mask: np.ndarray
) -> FlowResult:
    """Min-cost flow of the one-unit, one-line orders in ``order_mask``."""
    from ortools.graph.python import min_cost_flow

    net, orders = compiled.network, compiled.orders
    order_idx = np.flatnonzero(order_mask)
    n_o = order_idx.size
    cand_order = orders.line_order[cand.line]
    ci = np.flatnonzero(order_mask[cand_order])
    c_order, c_row = cand_order[ci], cand.row[ci]
    c_node = cand.pair_node[cand.pair[ci]]
    rows = np.unique(c_row)
    limited = net.stock_limit[rows] < net.stock_free[rows]
    capped_nodes = np.unique(
        net.stock_node[rows][net.node_capacity[net.stock_node[rows]] < NO_LIMIT]
    )
    # Graph node ids: source, sink, orders, rows, limits, capacities.
    source, sink = 0, 1
    o_id = np.full(orders.n_orders, -1, dtype=np.int64)
    o_id[order_idx] = 2 + np.arange(n_o)
    r_id = np.full(net.stock_node.shape[0], -1, dtype=np.int64)
    r_id[rows] = 2 + n_o + np.arange(rows.size)
    l_id = np.full(net.stock_node.shape[0], -1, dtype=np.int64)
    l_id[rows[limited]] = 2 + n_o + rows.size + np.arange(int(limited.sum()))
    n_id = np.full(net.n_nodes, -1, dtype=np.int64)
    n_id[capped_nodes] = (
        2 + n_o + rows.size + int(limited.sum()) + np.arange(capped_nodes.size)
    )

    # v1.1: a one-unit order left unfilled pays its own unit cost and its charge;
    # a unit's extra is the candidate's (v1: the scenario's cost, no extra).
    weight = orders.order_weight[order_idx]
    unfilled = unfilled_cost(orders.order_unfilled[order_idx], weight, 1)
    if cand.unit_extra is not None:
        unfilled = unfilled + order_charges(compiled)[order_idx]
    unit_cost = cand.pair_cost[cand.pair[ci]] + unit_costs(compiled, cand, ci)
    n_vertices = 3 + n_o + rows.size + int(limited.sum()) + capped_nodes.size
    top = max(float(unfilled.max(initial=0.0)), float(unit_cost.max(initial=0.0)))
    scale = min(SCALE, _COST_ROOM / (n_vertices * max(top, 1.0)))

    def scaled(cost: np.ndarray) -> np.ndarray:
        return np.rint(cost * scale).astype(np.int64)

    def rounding(cost: np.ndarray) -> float:
        # The largest rounding error in cost units, plus a margin for the
        # product's own float error; never above half a step.
        x = cost * scale
        err = float(np.abs(x - np.rint(x)).max(initial=0.0))
        return min(0.5, err + 1e-9 + 4e-16 * float(np.abs(x).max(initial=0.0))) / scale

    via_limit = (l_id[c_row] >= 0) & ~orders.order_exempt[c_order]
    row_node = net.stock_node[rows]
    tails = [
        np.full(n_o, source),
        o_id[order_idx],
        o_id[c_order],
        l_id[rows[limited]],
        r_id[rows],
        n_id[capped_nodes],
    ]
    heads = [
        o_id[order_idx],
        np.full(n_o, sink),
        np.where(via_limit, l_id[c_row], r_id[c_row]),
        r_id[rows[limited]],
        np.where(n_id[row_node] >= 0, n_id[row_node], sink),
        np.full(capped_nodes.size, sink),
    ]
    caps = [
        np.ones(n_o, dtype=np.int64),
        np.ones(n_o, dtype=np.int64),
        np.ones(ci.size, dtype=np.int64),
        net.stock_limit[rows[limited]],
        net.stock_free[rows],
        net.node_capacity[capped_nodes],
    ]
    costs = [
        np.zeros(n_o, dtype=np.int64),
        scaled(unfilled),
        scaled(unit_cost),
        np.zeros(int(limited.sum()), dtype=np.int64),
        np.zeros(rows.size, dtype=np.int64),
        np.zeros(capped_nodes.size, dtype=np.int64),
    ]
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(
        np.concatenate(tails).astype(np.int32),
        np.concatenate(heads).astype(np.int32),
        np.minimum(np.concatenate(caps), n_o).astype(np.int64),
        np.concatenate(costs),
    )
    flow.set_nodes_supplies(
        np.array([source, sink], dtype=np.int32), np.array([n_o, -n_o], dtype=np.int64)
    )
    if flow.solve() != flow.OPTIMAL:  # cannot happen: every order has its unfilled arc
        msg = f"min-cost flow failed on {n_o} one-unit orders"
        raise RuntimeError(msg)
    cand_arcs = np.asarray(arcs)[2 * n_o : 2 * n_o + ci.size]
    used = np.asarray(flow.flows(cand_arcs.astype(np.int32))) > 0
    served = np.zeros(orders.n_orders, dtype=np.bool_)
    served[c_order[used]] = True
    cost = float(unit_cost[used].sum() + unfilled[~served[order_idx]].sum())
    triples = np.stack(
        [cand.line[ci[used]], c_node[used], np.ones(int(used.sum()), dtype=np.int64)],
        axis=1,
    )
    error = max(rounding(unfilled), rounding(unit_cost))
    return FlowResult(triples, cost, cost - 2.0 * n_o * error)
