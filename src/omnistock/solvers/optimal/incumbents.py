"""Plans the optimal solver starts from and compares: warm starts and their cost.

Every plan here is a triples array int64[k, 3] (line, node, qty) priced by the
one cost kernel (``_kernels.cost.plan_cost``).
"""

from __future__ import annotations

import numpy as np

from omnistock._kernels.cost import plan_cost, unfilled_cost
from omnistock._kernels.rates import rated_components
from omnistock.compiled import CompiledScenario
from omnistock.compiled.rates import rated_batch
from omnistock.exceptions import UnknownSolverError
from omnistock.solvers.base import Solution
from omnistock.solvers.greedy import run_orders
from omnistock.solvers.optimal.candidates import Candidates
from omnistock.solvers.optimal.rated_decomp import order_charges

__all__ = [
    "fewest_options_first",
    "objective_of",
    "triples_of",
    "unfillable_cost",
    "warm_start_solution",
]


def warm_start_solution(compiled: CompiledScenario) -> Solution | None:
    """The greedy plan when the greedy solver is registered, else None."""
    from omnistock import solvers

    try:
        greedy = solvers.get("greedy")
    except UnknownSolverError:
        return None
    return greedy.run(compiled, greedy.Options())


def fewest_options_first(compiled: CompiledScenario, cand: Candidates) -> np.ndarray:
    """Triples of greedy deciding the orders with the fewest candidate packages first.

    Greedy in scenario order lets an order with many nodes take the unit an order
    with one possible node (a same-day or pickup order) needed. Deciding the
    least flexible orders first (ties in scenario order) is a second warm start
    at the cost of one more greedy pass: on 10,000 "medium" orders it costs
    1,040,592 against greedy's 1,108,013 (optimum ~1,032,700).
    """
    n_packages = np.bincount(cand.pair_order, minlength=compiled.orders.n_orders)
    return run_orders(compiled, np.argsort(n_packages, kind="stable"))


def objective_of(compiled: CompiledScenario, triples: np.ndarray) -> float:
    """The plan objective by the one cost kernel."""
    net, orders = compiled.network, compiled.orders
    comp, _, _, _ = plan_cost(
        net.record,
        orders.record,
        np.ascontiguousarray(triples[:, 0]),
        np.ascontiguousarray(triples[:, 1]),
        np.ascontiguousarray(triples[:, 2]),
    )
    if not rated_batch(net, orders):
        return float(comp.sum())
    extra = rated_components(  # contract v1.1: the plan's three more components
        net.record,
        orders.record,
        np.ascontiguousarray(triples[:, 0]),
        np.ascontiguousarray(triples[:, 1]),
        np.ascontiguousarray(triples[:, 2]),
    )
    return float(comp.sum()) + float(extra.sum())


def triples_of(sol: Solution) -> np.ndarray:
    """The plan of a solution as triples int64[k, 3] (line, node, qty)."""
    return np.stack(
        [
            np.asarray(sol.line_idx, dtype=np.int64),
            np.asarray(sol.node_idx, dtype=np.int64),
            np.asarray(sol.qty, dtype=np.int64),
        ],
        axis=1,
    ).reshape(-1, 3)


def unfillable_cost(compiled: CompiledScenario, order_idx: np.ndarray) -> float:
    """Unfilled cost of the orders ``order_idx`` left wholly unfilled (the empty plan's)."""
    orders = compiled.orders
    mask = np.isin(orders.line_order, order_idx)
    owner = orders.line_order[mask]
    units = orders.line_qty[mask]
    # v1.1: each order's own unit cost (the scenario's on a v1 batch), and its charge.
    cost = unfilled_cost(
        orders.order_unfilled[owner], orders.order_weight[owner], units
    )
    total = float(np.sum(cost))
    if rated_batch(compiled.network, orders):
        total += float(np.sum(order_charges(compiled)[np.unique(owner)]))
    return total
