"""The ``greedy`` solver: each order in scenario order gets its exact cheapest decision.

Orders are decided one at a time against the stock, protection limits and capacity
the earlier orders left. Each decision minimises that order's part of the objective
under every rule (docs/semantics.md), so on a one-order scenario greedy is optimal.
The whole batch runs inside one numba call (``_kernels.sourcing.greedy_batch``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

import numpy as np

from omnistock._kernels import sourcing
from omnistock._kernels.walks import GREEDY
from omnistock.compiled import CompiledNetwork, CompiledScenario, StockState
from omnistock.solvers.base import Capabilities, NoOptions, Solution, SolveStatus
from omnistock.solvers.sequential import solve_orders

__all__ = [
    "GreedySolver",
    "initial_state",
    "node_arrays",
    "order_arrays",
    "run_batch",
    "run_orders",
]

# numba dispatchers take any arguments; name the result type for mypy.
_decide_batch: Callable[..., tuple[np.ndarray, np.ndarray, np.ndarray]] = (
    sourcing.decide_batch
)


def node_arrays(net: CompiledNetwork) -> tuple[np.ndarray, ...]:
    """The node and stock arrays the sourcing kernels take first, in their order."""
    return (
        net.node_methods,
        net.node_all_channels,
        net.node_channel_ok,
        net.node_xyz,
        net.node_handling,
        net.node_unit_cost,
        net.node_priority,
        net.stock_indptr,
        net.stock_node,
    )


def initial_state(net: CompiledNetwork) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fresh counters ``(free_left, limit_left, cap_left)`` of a batch plan."""
    return (
        net.stock_free.astype(np.int64, copy=True),
        net.stock_limit.astype(np.int64, copy=True),
        net.node_capacity.astype(np.int64, copy=True),
    )


class GreedySolver:
    """Exact per order, myopic across orders (docs/solvers.md, "greedy")."""

    name: ClassVar[str] = "greedy"
    capabilities: ClassVar[Capabilities] = Capabilities(
        per_order=True, exact_per_order=True
    )
    Options: ClassVar[type[NoOptions]] = NoOptions

    def run(self, compiled: CompiledScenario, options: NoOptions) -> Solution:
        """Decide every order in scenario order."""
        return run_batch(compiled, GREEDY)


def run_batch(
    compiled: CompiledScenario, policy: int, row_cost: np.ndarray | None = None
) -> Solution:
    """Decide every order of the batch in scenario order by ``policy`` (one numba call).

    ``row_cost`` (float64[nnz]) adds an opportunity cost per unit of each stock row
    (the look-ahead policy); None: plain costs.
    """
    net, orders = compiled.network, compiled.orders
    free_left, limit_left, cap_left = initial_state(net)
    line, node, qty = _decide_batch(
        *node_arrays(net),
        free_left,
        limit_left,
        cap_left,
        *order_arrays(compiled),
        net.max_distance_km,
        net.same_day_radius_km,
        net.package,
        net.per_km,
        net.unfilled,
        policy,
        np.zeros(0, dtype=np.float64)
        if row_cost is None
        else np.ascontiguousarray(row_cost, dtype=np.float64),
    )
    info: dict[str, Any] = {"orders": orders.n_orders}
    return Solution(
        line_idx=line, node_idx=node, qty=qty, status=SolveStatus.FEASIBLE, info=info
    )


def run_orders(
    compiled: CompiledScenario,
    order_idx: np.ndarray,
    left: StockState | tuple[np.ndarray, np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """int64[k, 3] (line, node, qty): greedy deciding the orders ``order_idx`` in that order.

    The orders start from the stock ``left`` (a StockState, or the tuple free
    units, protected limits, capacity per row, row and node; default: the
    network's); lines are the batch's own. The optimal solver's warm starts and
    flow plan use it; the subset is run by :func:`.sequential.solve_orders`.
    """
    state = StockState(*left) if isinstance(left, tuple) else left
    done = solve_orders(compiled, order_idx, GreedySolver(), NoOptions(), state)
    return np.stack(done.triples, axis=1).reshape(-1, 3)


def order_arrays(compiled: CompiledScenario) -> tuple[np.ndarray, ...]:
    """The order and line arrays the batch kernels take, in their order."""
    orders = compiled.orders
    return (
        orders.order_channel,
        orders.order_method,
        orders.order_pickup,
        np.ascontiguousarray(orders.order_xyz),
        orders.order_exempt,
        orders.order_weight,
        orders.order_max_splits,
        orders.order_all_or_nothing,
        orders.line_indptr,
        orders.line_sku,
        orders.line_qty,
    )
