"""One model of the optimal solver: column generation, an LP-guided incumbent, fixing, MILP.

A model is a group of whole components (``solve_model``); the driver
(:mod:`.solver`) shares the time limit out between models.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from omnistock._kernels.cost import COST_TOL
from omnistock.compiled import CompiledScenario
from omnistock.progress import report
from omnistock.solvers.base import SolveStatus
from omnistock.solvers.optimal.candidates import Candidates
from omnistock.solvers.optimal.colgen import (
    START_PACKAGES,
    START_PER_LINE,
    column_generation,
    decode,
    fix_integral_solve_rest,
    initial_pairs,
    triples_to_vector,
)
from omnistock.solvers.optimal.incumbents import objective_of, unfillable_cost
from omnistock.solvers.optimal.line_flow import flow_plan
from omnistock.solvers.optimal.milp import MilpData, build_milp, solve_milp
from omnistock.solvers.optimal.options import OptimalOptions
from omnistock.solvers.optimal.repair import complete

__all__ = ["ModelResult", "flow_first", "pair_ids", "solve_model"]

# Largest MILP (in packages) after reduced-cost fixing; beyond it the fixing
# threshold is lowered and the proof is only up to that threshold.
_MIP_PACKAGES = 30_000
# The MILP is widened (2x packages) only when the time left is this many times
# what the last one took.
_WIDEN_ROOM = 6.0
# Share of a model's budget for column generation, and of what is left then for
# the LP-guided incumbent; the MILP gets the rest.
_LP_SHARE = 0.5
_SUB_SHARE = 0.3
# Pace of solvers.line_flow.flow_plan on the 15.6 M candidates of 100,000 "medium"
# orders: ~3.5 us a candidate on the slowest 2-core machine measured; the usual
# ones took ~2.5 us with the old two whole flows, so ~1.6 us now (estimated;
# docs/benchmarks.md, 2026-12-01). The path runs when the budget covers it at
# 2.5 us; a slower machine may overrun the limit by the difference.
_FLOW_SECONDS_PER_CANDIDATE = 2.5e-6


@dataclass
class ModelResult:
    """One model's plan, how it ended, and its bound."""

    triples: np.ndarray
    status: SolveStatus
    bound: float
    lp_rounds: int
    mip_pairs: int


def pair_ids(
    compiled: CompiledScenario, cand: Candidates, triples: np.ndarray
) -> np.ndarray:
    """Package ids of the (order, node) of each triple (-1 when not a package)."""
    n_nodes = max(compiled.network.n_nodes, 1)
    owner = compiled.orders.line_order[triples[:, 0]]
    # Packages are listed order by order (components._candidate_arrays): look up
    # only the triples' orders, not all packages of the batch.
    orders = np.unique(owner)
    starts = np.searchsorted(cand.pair_order, orders, side="left")
    counts = np.searchsorted(cand.pair_order, orders, side="right") - starts
    ids = np.repeat(starts - np.cumsum(counts) + counts, counts) + np.arange(
        int(counts.sum())
    )
    if ids.size == 0:
        return np.full(triples.shape[0], -1, dtype=np.int64)
    key = cand.pair_order[ids] * n_nodes + cand.pair_node[ids]
    order = np.argsort(key)
    keys = key[order]
    want = owner * n_nodes + triples[:, 1]
    pos = np.minimum(np.searchsorted(keys, want), keys.size - 1)
    return np.where(keys[pos] == want, ids[order[pos]], -1)


def solve_model(
    compiled: CompiledScenario,
    cand: Candidates,
    order_mask: np.ndarray,
    warm: np.ndarray,
    options: OptimalOptions,
    budget: float,
) -> ModelResult:
    """Solve the orders of ``order_mask`` (whole components): colgen LP, round, fix, MILP.

    ``warm`` holds warm-start triples of these orders (possibly none). Column
    generation may use half the budget, the LP-guided incumbent a further share,
    the MILP the rest.
    """
    start = time.perf_counter()
    end = start + budget
    in_group = order_mask[cand.pair_order]
    # Model objective = plan objective - unfilled cost of the lines outside the model.
    outside = objective_of(compiled, np.empty((0, 3), dtype=np.int64)) - (
        unfillable_cost(compiled, np.flatnonzero(order_mask))
    )
    flow_lower = -np.inf
    if flow_first(compiled, cand, order_mask, budget):
        report("flow")
        flow = flow_plan(compiled, cand, order_mask)
        if flow is not None:
            flow_lower = flow.bound
            warm = min((warm, flow.triples), key=lambda t: objective_of(compiled, t))
            upper = objective_of(compiled, warm) - outside
            tol = COST_TOL * (1.0 + abs(upper))
            if upper - flow_lower <= max(options.gap * abs(upper), tol):
                status = (
                    SolveStatus.OPTIMAL
                    if upper - flow_lower <= tol
                    else SolveStatus.FEASIBLE
                )
                return ModelResult(warm, status, flow_lower, 0, 0)
            if time.perf_counter() >= end:
                # The flow used the budget: column generation would still list its
                # first packages and build its LP (seconds at this size) for nothing.
                tries = [warm, complete(compiled, cand, warm, order_mask)]
                best = min(tries, key=lambda t: objective_of(compiled, t))
                return ModelResult(best, SolveStatus.TIME_LIMIT, flow_lower, 0, 0)
        start = time.perf_counter()  # column generation shares what is left
        budget = max(end - start, 0.0)
    warm_pairs = pair_ids(compiled, cand, warm)
    pmask = initial_pairs(compiled, cand, order_mask) & in_group
    pmask[warm_pairs[warm_pairs >= 0]] = True
    cg = column_generation(
        compiled,
        cand,
        order_mask,
        pmask,
        start + _LP_SHARE * budget,
        start + _LP_SHARE * budget * 0.5,
        options.lp_engine,
        bound_deadline=end,
    )
    last = None if cg.data is None or cg.lp is None else (cg.data, cg.lp)
    # ``lower`` (the Lagrangian bound) is what reduced-cost fixing rests on; the
    # model's bound may be the line-split bound when that is tighter.
    lower, values, rounds = cg.lower, cg.values, cg.rounds
    proven_lower = max(lower, cg.line_lower, flow_lower)
    # Incumbent: the best of the LP-guided plan, the warm start and nothing, repaired.
    incumbents = [np.empty((0, 3), dtype=np.int64), warm]
    if last is not None and time.perf_counter() < end:  # its sub-MILP needs time
        sub_budget = _SUB_SHARE * (end - time.perf_counter())
        report("LP-guided incumbent")

        def solve_sub(sub: MilpData) -> np.ndarray | None:
            return solve_milp(sub, options, sub_budget, None).values

        incumbents.append(
            fix_integral_solve_rest(
                compiled, cand, last[0], last[1].values, order_mask, pmask, solve_sub
            )
        )
    incumbents += [complete(compiled, cand, t, order_mask) for t in incumbents[1:]]
    costs = [objective_of(compiled, trip) - outside for trip in incumbents]
    best_triples, upper = incumbents[int(np.argmin(costs))], min(costs)
    tol = COST_TOL * (1.0 + abs(upper))
    if upper - proven_lower <= max(options.gap * abs(upper), tol):
        status = (
            SolveStatus.OPTIMAL if upper - proven_lower <= tol else SolveStatus.FEASIBLE
        )
        return ModelResult(best_triples, status, proven_lower, rounds, 0)
    if time.perf_counter() >= end or (
        last is None and int(in_group.sum()) > _MIP_PACKAGES
    ):
        # Out of time, or no LP and too large for a MILP without one: keep the incumbent.
        return ModelResult(
            best_triples, SolveStatus.TIME_LIMIT, proven_lower, rounds, 0
        )
    triples, bound, limit, n_mip = best_triples, proven_lower, _MIP_PACKAGES, 0
    while True:
        mip_mask, theta = in_group.copy(), np.inf
        if last is not None:
            mip_mask, theta = _fixing(in_group, values, upper - lower + tol, limit)
        best_pairs = pair_ids(compiled, cand, triples)
        mip_mask[best_pairs[best_pairs >= 0]] = True
        data = build_milp(compiled, cand, order_mask, pair_mask=mip_mask)
        hint = triples_to_vector(compiled, cand, data, triples)
        mip_start = time.perf_counter()
        report(f"MILP ({int(mip_mask.sum()):,} packages)")
        answer = solve_milp(data, options, end - mip_start, hint)
        mip_seconds = time.perf_counter() - mip_start
        n_mip = int(mip_mask.sum())
        if answer.values is not None and float(data.cost @ answer.values) < upper:
            triples = decode(cand, data, answer.values)
            upper = float(data.cost @ answer.values)
        # Plans outside the MILP's packages cost at least lower + theta (module doc).
        bound = max(bound, min(answer.bound, upper, lower + theta))
        status = answer.status
        proven = status == SolveStatus.OPTIMAL and theta >= upper - lower
        if (
            proven
            or status != SolveStatus.OPTIMAL
            or upper - bound <= max(options.gap * abs(upper), tol)
            or end - time.perf_counter() < _WIDEN_ROOM * mip_seconds
            or n_mip >= int(in_group.sum())
        ):
            break
        limit *= 2  # the MILP was solved with time to spare: widen it towards a proof
    if status == SolveStatus.OPTIMAL and (not proven or options.gap > 0):
        status = SolveStatus.FEASIBLE
    return ModelResult(triples, status, bound, rounds, n_mip)


def flow_first(
    compiled: CompiledScenario, cand: Candidates, order_mask: np.ndarray, budget: float
) -> bool:
    """Whether a model starts from the flow path (solvers/optimal/line_flow.py).

    Yes when its first restricted LP could not hold ``START_PER_LINE`` packages a
    line (beyond that column generation was not seen to converge) and the budget
    covers the flow path's measured pace (it cannot be interrupted, so a loaded
    machine may overrun the budget by what the pace misjudges).
    """
    lines = int(np.count_nonzero(order_mask[compiled.orders.line_order]))
    if lines * START_PER_LINE <= START_PACKAGES:
        return False
    n_cand = int(np.count_nonzero(order_mask[compiled.orders.line_order[cand.line]]))
    return budget >= _FLOW_SECONDS_PER_CANDIDATE * n_cand


def _fixing(
    in_group: np.ndarray, values: np.ndarray, gap: float, limit: int
) -> tuple[np.ndarray, float]:
    """Packages the MILP needs (reduced-cost fixing) and the threshold used.

    A package with ``value > gap`` is in no plan cheaper than the incumbent
    (colgen's module doc). When more than ``limit`` remain, the threshold
    is lowered to keep the MILP small and the model's bound is then capped at
    ``lower + threshold``.
    """
    idx = np.flatnonzero(in_group)
    theta = gap
    if int(np.count_nonzero(values[idx] <= gap)) > limit:
        theta = float(np.partition(values[idx], limit)[limit])
        theta = float(np.nextafter(theta, -np.inf))
    return in_group & (values <= theta), float(theta)
