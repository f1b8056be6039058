"""The ``optimal`` solver on a batch with locker parcel limits (S11): one whole MILP.

Every package (order, node) of an order picked up at a locker is one parcel
there, and a locker takes at most ``capacity`` parcels: a row over the package
variables ``y`` of all orders at that locker. The row couples orders, and the
fast paths of the solver are not built for it: the unit-order flow and the
line-split flow have no package variables, and column generation prices new
packages without the row's dual, so their bounds would not be proven. A batch
with such orders is therefore solved as one MILP over every package with the
locker rows (``build_milp(..., lockers=True)``), warm-started from the greedy
plan (which keeps the parcel limits, ``_kernels.lockers``). Exact, but without
the decomposition that makes large batches fast (docs/decisions.md, "Lockers").
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from omnistock.compiled import CompiledScenario
from omnistock.compiled.lockers import order_lockers
from omnistock.solvers.base import Solution, SolveStatus
from omnistock.solvers.optimal.candidates import Candidates
from omnistock.solvers.optimal.incumbents import objective_of
from omnistock.solvers.optimal.status import settle

__all__ = ["locker_rows", "solve_with_lockers"]


def solve_with_lockers(
    compiled: CompiledScenario,
    cand: Candidates,
    warm: np.ndarray,
    options: Any,  # OptimalOptions
    deadline: float,
) -> Solution:
    """The batch as one MILP with its locker rows; never worse than ``warm``."""
    from omnistock.solvers.optimal.colgen import decode, triples_to_vector
    from omnistock.solvers.optimal.milp import build_milp, solve_milp

    start = time.perf_counter()
    orders = compiled.orders
    data = build_milp(
        compiled, cand, np.ones(orders.n_orders, dtype=np.bool_), lockers=True
    )
    hint = triples_to_vector(compiled, cand, data, warm) if warm.size else None
    answer = solve_milp(data, options, deadline - time.perf_counter(), hint)
    triples = warm
    if answer.values is not None:
        found = decode(cand, data, answer.values)
        if objective_of(compiled, found) < objective_of(compiled, warm):
            triples = found
    objective = objective_of(compiled, triples)
    bound = min(max(answer.bound, 0.0), objective)  # costs are >= 0
    ended = answer.status
    if ended != SolveStatus.OPTIMAL:
        ended = SolveStatus.TIME_LIMIT
    status = settle(ended, objective, bound, options.gap)
    locker = order_lockers(compiled)
    info: dict[str, Any] = {
        "backend": options.backend,
        "lockers": int(np.unique(locker[locker >= 0]).size),
        "mip_packages": int(data.pair.size),
        "packages": int(cand.pair_order.shape[0]),
        "objective": objective,
        "seconds": time.perf_counter() - start,
    }
    return Solution(
        line_idx=triples[:, 0].copy(),
        node_idx=triples[:, 1].copy(),
        qty=triples[:, 2].copy(),
        status=status,
        bound=bound,
        info=info,
    )


def locker_rows(
    compiled: CompiledScenario, cand: Candidates, pi: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Local positions of the packages ``pi`` at a limited locker, and that locker.

    ``build_milp`` adds one row a locker: ``sum of its packages' y <= parcels``.
    """
    locker = order_lockers(compiled)[cand.pair_order[pi]]
    at = np.flatnonzero(locker >= 0)
    return at, locker[at]
