"""The ``greedy`` solver: each order in scenario order gets its exact cheapest decision.

Orders are decided one at a time against the stock, protection limits and capacity
the earlier orders left. Each decision minimises that order's part of the objective
under every rule (docs/semantics.md), so on a one-order scenario greedy is optimal.
The whole batch runs inside one numba call (``_kernels.sourcing.decide_batch``).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from omnistock._kernels import sourcing
from omnistock._kernels.codes import POLICY_GREEDY
from omnistock.compiled import CompiledScenario, StockState
from omnistock.compiled.nesting import order_classes
from omnistock.solvers.base import Capabilities, NoOptions, Solution, SolveStatus
from omnistock.solvers.sequential import solve_orders

__all__ = ["GreedySolver", "decide_batch", "run_batch", "run_orders"]


def decide_batch(
    compiled: CompiledScenario,
    state: StockState,
    policy: int,
    row_cost: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Triples (line, node, qty) of ``policy`` deciding the batch; ``state`` falls.

    The typed face of ``_kernels.sourcing.decide_batch``.
    """
    prices = (
        np.zeros(0, dtype=np.float64)
        if row_cost is None
        else np.ascontiguousarray(row_cost, dtype=np.float64)
    )
    line, node, qty = sourcing.decide_batch(
        compiled.network.record,
        state.record,
        compiled.orders.record,
        policy,
        prices,
        order_classes(compiled),
    )
    return line, node, qty


class GreedySolver:
    """Exact per order, myopic across orders (docs/solvers.md, "greedy")."""

    name: ClassVar[str] = "greedy"
    capabilities: ClassVar[Capabilities] = Capabilities(
        per_order=True, exact_per_order=True
    )
    Options: ClassVar[type[NoOptions]] = NoOptions

    def run(self, compiled: CompiledScenario, options: NoOptions) -> Solution:
        """Decide every order in scenario order."""
        return run_batch(compiled, POLICY_GREEDY)


def run_batch(
    compiled: CompiledScenario, policy: int, row_cost: np.ndarray | None = None
) -> Solution:
    """Decide every order of the batch in scenario order by ``policy`` (one numba call).

    ``row_cost`` (float64[nnz]) adds an opportunity cost per unit of each stock row
    (the look-ahead policy); None: plain costs.
    """
    orders = compiled.orders
    line, node, qty = decide_batch(
        compiled, StockState.from_network(compiled.network), policy, row_cost
    )
    info: dict[str, Any] = {"orders": orders.n_orders}
    return Solution(
        line_idx=line, node_idx=node, qty=qty, status=SolveStatus.FEASIBLE, info=info
    )


def run_orders(
    compiled: CompiledScenario,
    order_idx: np.ndarray,
    left: StockState | None = None,
) -> np.ndarray:
    """int64[k, 3] (line, node, qty): greedy deciding the orders ``order_idx`` in that order.

    The orders start from the stock ``left`` (default: the network's; not
    changed); lines are the batch's own. The optimal solver's warm starts and
    flow plan use it; the subset is run by :func:`.sequential.solve_orders`.
    """
    done = solve_orders(compiled, order_idx, GreedySolver(), NoOptions(), left)
    return np.stack(done.triples, axis=1).reshape(-1, 3)
