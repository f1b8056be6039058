"""The ``optimal`` solver on a batch with contract v1.1 terms: one exact MILP.

The v1 model (``milp.build_milp``) with the v1.1 costs added where they fall
(docs/decisions.md, "rate cards"): each candidate's unit cost gains its line's
``unit_per_km x km + band.unit + band.per_kg x kg``, each package its band's
``package``, each line's unfilled unit its order's own cost (already in the v1
model), and each order with an unfilled-order charge a binary ``w`` with
``sum of its lines' u <= Q w`` priced ``charge x tier weight``. The model is
exact, so the back-end's bound is a valid bound on the v1.1 objective; the
greedy plan (exact per order under v1.1) is the warm start and the answer when
cheaper, so a time limit still returns a feasible plan with a valid bound.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from omnistock._kernels.cost import COST_TOL
from omnistock._kernels.rates import pair_extras
from omnistock.compiled import CompiledScenario
from omnistock.solvers.base import Solution, SolveStatus
from omnistock.solvers.optimal.bounds import RowPrices, dual_prices
from omnistock.solvers.optimal.candidates import Candidates, candidates, components
from omnistock.solvers.optimal.colgen import decode, solve_lp
from omnistock.solvers.optimal.incumbents import (
    objective_of,
    triples_of,
    warm_start_solution,
)
from omnistock.solvers.optimal.milp import MilpAnswer, MilpData, build_milp, solve_milp
from omnistock.solvers.optimal.options import OptimalOptions
from omnistock.solvers.optimal.rated_decomp import with_charges
from omnistock.solvers.optimal.status import settle

__all__ = ["rated_milp", "relax_rated", "solve_rated", "with_rate_terms"]


def rated_milp(
    compiled: CompiledScenario,
    cand: Candidates,
    order_mask: np.ndarray | None = None,
    *,
    all_constraints: bool = False,
) -> MilpData:
    """The v1 MILP of the orders in ``order_mask`` (all: None) with the v1.1 costs and ``w``.

    ``all_constraints`` as in ``build_milp`` (every stock row and capacity); the
    S11 locker rows are in (``build_milp(lockers=True)``).
    """
    if order_mask is None:
        order_mask = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    data = build_milp(
        compiled, cand, order_mask, all_constraints=all_constraints, lockers=True
    )
    return with_rate_terms(compiled, cand, data, order_mask)


def with_rate_terms(
    compiled: CompiledScenario,
    cand: Candidates,
    data: MilpData,
    order_mask: np.ndarray,
) -> MilpData:
    """``data`` (a ``build_milp`` model) with the v1.1 costs and one ``w`` per charge.

    Also used by the v1.2 model (``nested.solve_nested``), which adds its rows
    on the same ``x`` columns.
    """
    net, orders = compiled.network, compiled.orders
    nx = data.cand.size
    ny = data.pair.size
    unit_extra, _ = pair_extras(
        net.record,
        orders.record,
        cand.line[data.cand],
        cand.pair_node[cand.pair[data.cand]],
    )
    pair_line = orders.line_indptr[cand.pair_order[data.pair]]  # any line of the order
    _, package_extra = pair_extras(
        net.record, orders.record, pair_line, cand.pair_node[data.pair]
    )
    cost = data.cost.copy()
    cost[:nx] += unit_extra
    cost[nx : nx + ny] += package_extra
    # One w per order that pays a charge: sum of its lines' u - Q w <= 0.
    return with_charges(
        compiled, dataclasses.replace(data, cost=cost), order_mask, per_line=False
    )


def solve_rated(
    compiled: CompiledScenario,
    options: OptimalOptions,
    group: Callable[[np.ndarray, np.ndarray], list[np.ndarray]],
) -> Solution:
    """The batch optimum under v1.1 costs (module docstring); never worse than greedy.

    Independent components (``candidates.components``) are grouped into models as
    the v1 driver groups them and solved one by one, small first, each with its
    share of the time left; a model the back-end cannot solve (time, memory)
    keeps the warm start's units for its orders and adds 0 to the bound.
    ``group(components, size)`` is the v1 driver's grouping (``solver._groups``).
    """
    start = time.perf_counter()
    deadline = start + options.time_limit
    orders = compiled.orders
    warm_sol = warm_start_solution(compiled) if options.warm_start else None
    warm = triples_of(warm_sol) if warm_sol is not None else np.empty((0, 3), np.int64)
    cand = candidates(compiled)
    label = components(compiled, cand)
    n_comp = int(label.max()) + 1 if label.size else 0
    size = np.bincount(label[orders.line_order[cand.line]], minlength=n_comp)
    groups = group(np.arange(n_comp), size)
    # Orders with no candidate: one trivial model (all unfilled, the charge paid).
    masks = [label < 0] if (label < 0).any() else []
    masks += [
        np.isin(label, g) for g in sorted(groups, key=lambda g: int(size[g].sum()))
    ]
    warm_order = orders.line_order[warm[:, 0]]
    parts: list[np.ndarray] = [np.empty((0, 3), dtype=np.int64)]
    bound = 0.0
    status = SolveStatus.OPTIMAL
    remaining = float(size.sum()) + 1.0
    for mask in masks:
        share = float(size[np.unique(label[mask & (label >= 0)])].sum()) + 1.0
        left = deadline - time.perf_counter()
        budget = max(left * share / remaining, min(max(left, 0.01), 1.0))
        remaining -= share
        data = rated_milp(compiled, cand, mask)
        try:
            answer = solve_milp(data, options, budget, None)
        except MemoryError:  # the back-end's std::bad_alloc: keep the warm start
            answer = MilpAnswer(None, SolveStatus.TIME_LIMIT, -np.inf)
        if answer.values is None:
            status = SolveStatus.TIME_LIMIT
            parts.append(warm[mask[warm_order]])
            continue
        parts.append(decode(cand, data, np.asarray(answer.values)))
        bound += max(float(answer.bound), 0.0) if np.isfinite(answer.bound) else 0.0
        if answer.status != SolveStatus.OPTIMAL:
            status = SolveStatus.TIME_LIMIT
    triples = np.concatenate(parts)
    objective = objective_of(compiled, triples)
    if warm_sol is not None:
        warm_objective = objective_of(compiled, warm)
        if warm_objective < objective - COST_TOL * (1.0 + abs(objective)):
            triples, objective = warm, warm_objective
    bound = min(bound, objective)
    status = settle(status, objective, bound, options.gap)
    info: dict[str, Any] = {
        "backend": options.backend,
        "rated": True,
        "models": len(masks),
        "objective": objective,
        "packages": int(cand.pair_order.shape[0]),
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


def relax_rated(
    compiled: CompiledScenario, time_limit: float, engine: str
) -> tuple[float, bool, RowPrices | None]:
    """The LP relaxation of :func:`rated_milp` (``omnistock.relax`` on a v1.1 batch).

    Returns the LP bound, whether it was proven, and the rows' prices (None when
    the LP did not solve in time: the bound is then 0, valid as costs are >= 0).
    """
    cand = candidates(compiled, stock_in_bound=False)
    data = rated_milp(compiled, cand, all_constraints=True)
    lp = solve_lp(data, time_limit, engine)
    if not lp.ok:
        return 0.0, False, None
    # One w (and one row) per charged order, after the v1 rows dual_prices reads.
    n_w = data.n_vars - (
        data.cand.size
        + data.pair.size
        + data.lines.size
        + data.all_or_nothing_orders.size
    )
    duals = lp.duals[: lp.duals.shape[0] - n_w]
    return lp.objective, True, dual_prices(compiled, data, duals)
