"""The ``optimal`` solver: the proven batch optimum of the fixed-charge MILP.

The batch is cut into independent components (``solvers.components``). Components
of one-unit, one-line orders are solved exactly by a min-cost flow
(``solvers.flow``); the others are grouped into models of bounded size, solved
one by one (small first), each with its share of the time left: column
generation for the LP bound, an LP-guided incumbent, reduced-cost fixing, then a
small MILP on an OR-Tools back-end (SCIP by default, chosen by measurement,
docs/solvers.md). A model too large for its first restricted LP to hold
``START_PER_LINE`` packages a line (where column generation was not seen to
converge) first gets a plan and a bound from the line-split min-cost flow
(``solvers.line_flow``) and ends there when they are within the gap asked.
Every model keeps the best of the back-end's answer, its incumbent and the warm
start (the cheaper of the greedy plan and greedy deciding the least flexible
orders first), and the driver returns the warm start if it is cheaper overall:
a time limit always returns a feasible plan, never worse than the warm start,
with a valid bound.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from omnistock._kernels.cost import COST_TOL, plan_cost
from omnistock.compiled import CompiledScenario
from omnistock.exceptions import UnknownSolverError
from omnistock.solvers.base import Capabilities, Solution, SolveStatus
from omnistock.solvers.colgen import (
    START_PACKAGES,
    START_PER_LINE,
    column_generation,
    decode,
    fix_integral_solve_rest,
    initial_pairs,
    triples_to_vector,
)
from omnistock.solvers.components import Candidates, candidates, components
from omnistock.solvers.fixed_charge import MilpData, build_milp
from omnistock.solvers.flow import solve_unit_orders, unit_components
from omnistock.solvers.greedy import run_orders
from omnistock.solvers.line_flow import flow_plan
from omnistock.solvers.repair import complete

__all__ = ["OptimalOptions", "OptimalSolver", "ProgressCallback"]

#: ``progress(done_components, total_components, objective)``: called after each
#: model; ``objective`` is the cost of the plan so far (solved components plus the
#: warm start, or nothing, for the rest).
ProgressCallback = Callable[[int, int, float], None]

Backend = Literal["scip", "highs", "cp_sat"]
_BACKEND_NAME: dict[str, str] = {"scip": "scip", "highs": "highs", "cp_sat": "sat"}
# Components are grouped into models of about this many variables: large enough
# that per-model overhead (~ms) is small, small enough to keep each MILP easy.
_MODEL_VARS = 20_000
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
# Every model may use at least this much of the time left (small ones are quick).
_MIN_MODEL_SECONDS = 1.0
# Fraction of the time limit kept for decoding and pricing after the last model.
_RESERVE = 0.05
# Pace of solvers.line_flow.flow_plan: 73 s for the 15.6 M candidates of 100,000
# "medium" orders on 2 cores (docs/benchmarks.md).
_FLOW_SECONDS_PER_CANDIDATE = 5e-6


class OptimalOptions(BaseModel):
    """Options of the ``optimal`` solver (docs/solvers.md)."""

    model_config = ConfigDict(frozen=True, extra="forbid", arbitrary_types_allowed=True)

    time_limit: float = Field(
        default=60.0, gt=0.0, description="Wall seconds for the batch."
    )
    gap: float = Field(
        default=0.0, ge=0.0, description="Relative gap at which to stop."
    )
    threads: int = Field(
        default=2, ge=1, description="Threads (HiGHS, CP-SAT; SCIP uses 1)."
    )
    warm_start: bool = Field(default=True, description="Start from the greedy plan.")
    seed: int = Field(default=0, ge=0, description="Random seed of the back-end.")
    backend: Backend = Field(default="scip", description="OR-Tools MILP back-end.")
    lp_engine: Literal["highs", "glop"] = Field(
        default="highs", description="LP of column generation: HiGHS (scipy) or GLOP."
    )
    progress: ProgressCallback | None = Field(
        default=None, description="Callback per model."
    )


@dataclass
class _Answer:
    """A model's solution as a variable vector, with how it ended."""

    values: np.ndarray | None
    status: SolveStatus
    bound: float


def _solver_params(options: OptimalOptions, gap: float) -> str:
    if options.backend == "scip":
        return f"limits/gap = {gap!r}\nrandomization/randomseedshift = {options.seed}"
    if options.backend == "highs":
        return (
            f"mip_rel_gap={gap!r}\nthreads={options.threads}\n"
            f"random_seed={options.seed}\noutput_flag=false"
        )
    return f"relative_gap_limit:{gap!r} num_workers:{options.threads} random_seed:{options.seed}"


def solve_milp(
    data: MilpData,
    options: OptimalOptions,
    time_limit: float,
    hint: np.ndarray | None,
) -> _Answer:
    """Solve one MILP with the chosen back-end; never raises on a solver outcome."""
    from ortools.linear_solver.python import model_builder_helper as mbh
    from scipy.sparse import csr_matrix

    model: Any = mbh.ModelBuilderHelper()  # the stubs mistype numpy arguments
    matrix = csr_matrix(
        (data.a_val, data.a_col, data.a_indptr), shape=(data.lo.shape[0], data.n_vars)
    )
    model.fill_model_from_sparse_data(
        data.lb, data.ub, data.cost, data.lo, data.hi, matrix
    )
    for var in np.flatnonzero(data.integer).tolist():
        model.set_var_integrality(var, True)
    # HiGHS through OR-Tools 9.15 crashes on hints (docs/solvers.md): never give it one.
    if hint is not None and options.backend != "highs":
        for var, value in zip(range(data.n_vars), hint.tolist(), strict=True):
            model.add_hint(var, value)
    solver: Any = mbh.ModelSolverHelper(_BACKEND_NAME[options.backend])
    solver.set_time_limit_in_seconds(max(time_limit, 0.01))
    solver.set_solver_specific_parameters(_solver_params(options, options.gap))
    solver.solve(model)
    status = solver.status()
    if status == mbh.SolveStatus.OPTIMAL:
        return _Answer(
            solver.variable_values(), SolveStatus.OPTIMAL, solver.best_objective_bound()
        )
    if status == mbh.SolveStatus.FEASIBLE and solver.has_solution():
        bound = solver.best_objective_bound()
        return _Answer(solver.variable_values(), SolveStatus.TIME_LIMIT, bound)
    return _Answer(None, SolveStatus.TIME_LIMIT, -np.inf)


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
        orders.line_order,
        orders.line_qty,
        orders.order_xyz,
        orders.order_weight,
        net.node_xyz,
        net.node_handling,
        net.node_unit_cost,
        np.ascontiguousarray(triples[:, 0]),
        np.ascontiguousarray(triples[:, 1]),
        np.ascontiguousarray(triples[:, 2]),
        net.package,
        net.per_km,
        net.unfilled,
    )
    return float(comp.sum())


def _groups(comps: np.ndarray, size: np.ndarray) -> list[np.ndarray]:
    """The components ``comps`` grouped into models of about ``_MODEL_VARS`` candidates."""
    groups: list[np.ndarray] = []
    current: list[int] = []
    acc = 0
    for comp in comps.tolist():
        current.append(comp)
        acc += int(size[comp])
        if acc >= _MODEL_VARS:
            groups.append(np.asarray(current, dtype=np.int64))
            current, acc = [], 0
    if current:
        groups.append(np.asarray(current, dtype=np.int64))
    return groups


@dataclass
class _ModelResult:
    """One model's plan, how it ended, and its bound."""

    triples: np.ndarray
    status: SolveStatus
    bound: float
    lp_rounds: int
    mip_pairs: int


def _pair_ids(
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
) -> _ModelResult:
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
        _unfillable_cost(compiled, np.flatnonzero(order_mask))
    )
    flow_lower = -np.inf
    if _flow_first(compiled, cand, order_mask, budget):
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
                return _ModelResult(warm, status, flow_lower, 0, 0)
        start = time.perf_counter()  # column generation shares what is left
        budget = max(end - start, 0.0)
    warm_pairs = _pair_ids(compiled, cand, warm)
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
    )
    last = None if cg.data is None or cg.lp is None else (cg.data, cg.lp)
    # ``lower`` (the Lagrangian bound) is what reduced-cost fixing rests on; the
    # model's bound may be the line-split bound when that is tighter.
    lower, values, rounds = cg.lower, cg.values, cg.rounds
    proven_lower = max(lower, cg.line_lower, flow_lower)
    # Incumbent: the best of the LP-guided plan, the warm start and nothing, repaired.
    incumbents = [np.empty((0, 3), dtype=np.int64), warm]
    if last is not None:
        sub_budget = _SUB_SHARE * (end - time.perf_counter())

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
        return _ModelResult(best_triples, status, proven_lower, rounds, 0)
    if last is None and (
        int(in_group.sum()) > _MIP_PACKAGES or time.perf_counter() >= end
    ):
        # No LP in time and too large for a MILP without one: keep the incumbent.
        return _ModelResult(
            best_triples, SolveStatus.TIME_LIMIT, proven_lower, rounds, 0
        )
    triples, bound, limit, n_mip = best_triples, proven_lower, _MIP_PACKAGES, 0
    while True:
        mip_mask, theta = in_group.copy(), np.inf
        if last is not None:
            mip_mask, theta = _fixing(in_group, values, upper - lower + tol, limit)
        best_pairs = _pair_ids(compiled, cand, triples)
        mip_mask[best_pairs[best_pairs >= 0]] = True
        data = build_milp(compiled, cand, order_mask, pair_mask=mip_mask)
        hint = triples_to_vector(compiled, cand, data, triples)
        mip_start = time.perf_counter()
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
    return _ModelResult(triples, status, bound, rounds, n_mip)


def _flow_first(
    compiled: CompiledScenario, cand: Candidates, order_mask: np.ndarray, budget: float
) -> bool:
    """Whether a model starts from the flow path (solvers/line_flow.py).

    Yes when its first restricted LP could not hold ``START_PER_LINE`` packages a
    line (beyond that column generation was not seen to converge) and the budget
    covers the flow path's measured pace twice over (it cannot be interrupted).
    """
    lines = int(np.count_nonzero(order_mask[compiled.orders.line_order]))
    if lines * START_PER_LINE <= START_PACKAGES:
        return False
    n_cand = int(np.count_nonzero(order_mask[compiled.orders.line_order[cand.line]]))
    return budget >= 2.0 * _FLOW_SECONDS_PER_CANDIDATE * n_cand


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


class OptimalSolver:
    """Proven batch optimum of the fixed-charge MILP (docs/solvers.md)."""

    name: ClassVar[str] = "optimal"
    capabilities: ClassVar[Capabilities] = Capabilities(exact=True, time_limit=True)
    Options: ClassVar[type[OptimalOptions]] = OptimalOptions

    def run(self, compiled: CompiledScenario, options: OptimalOptions) -> Solution:
        """Solve the batch; see the module docstring for the guarantees."""
        start = time.perf_counter()
        deadline = start + options.time_limit * (1.0 - _RESERVE)
        orders = compiled.orders
        warm_sol = warm_start_solution(compiled) if options.warm_start else None
        warm = (
            _triples(warm_sol) if warm_sol is not None else np.empty((0, 3), np.int64)
        )
        cand = candidates(compiled)
        if warm_sol is not None:
            warm = min(
                (warm, fewest_options_first(compiled, cand)),
                key=lambda t: objective_of(compiled, t),
            )
        label = components(compiled, cand)
        n_comp = int(label.max()) + 1 if label.size else 0
        size = np.bincount(label[orders.line_order[cand.line]], minlength=n_comp)
        # One-unit, one-line components: an exact min-cost flow (solvers/flow.py).
        by_flow = unit_components(compiled, label)
        flow_orders = (label >= 0) & np.append(by_flow, False)[label]
        groups = _groups(np.flatnonzero(~by_flow), size)
        parts: list[np.ndarray] = [np.empty((0, 3), dtype=np.int64)]
        status = SolveStatus.OPTIMAL
        bound = _unfillable_cost(compiled, np.flatnonzero(label < 0))
        if flow_orders.any():
            flow = solve_unit_orders(compiled, cand, flow_orders)
            parts.append(flow.triples)
            bound += max(flow.bound, 0.0)
        info: dict[str, Any] = {
            "backend": options.backend,
            "components": n_comp,
            "models": len(groups),
            "warm_start": warm_sol is not None,
            "lp_rounds": 0,
            "mip_packages": 0,
            "packages": int(cand.pair_order.shape[0]),
            "flow_orders": int(flow_orders.sum()),
        }
        remaining = float(size[~by_flow].sum())
        warm_label = label[orders.line_order[warm[:, 0]]]
        solved = np.zeros(n_comp + 1, dtype=np.bool_)  # last entry: no candidate
        solved[:n_comp] = by_flow
        done = int(by_flow.sum())
        # Small models first: a large one that runs to its limit cannot starve them.
        for group in sorted(groups, key=lambda g: int(size[g].sum())):
            mask = np.isin(label, group)
            share = float(size[group].sum())
            left = deadline - time.perf_counter()
            budget = max(
                left * share / max(remaining, 1.0), min(left, _MIN_MODEL_SECONDS)
            )
            remaining -= share
            in_group = np.isin(warm_label, group)
            result = solve_model(compiled, cand, mask, warm[in_group], options, budget)
            parts.append(result.triples)
            bound += max(result.bound, 0.0)
            info["lp_rounds"] += result.lp_rounds
            info["mip_packages"] += result.mip_pairs
            if (
                result.status == SolveStatus.TIME_LIMIT
                or status == SolveStatus.TIME_LIMIT
            ):
                status = SolveStatus.TIME_LIMIT
            elif result.status == SolveStatus.FEASIBLE:
                status = SolveStatus.FEASIBLE
            done += group.size
            solved[group] = True
            if options.progress is not None:
                rest = warm[~solved[warm_label]]
                so_far = objective_of(compiled, np.concatenate([*parts, rest]))
                options.progress(done, n_comp, so_far)
        result_triples = np.concatenate(parts)
        objective = objective_of(compiled, result_triples)
        if warm_sol is not None:
            warm_objective = objective_of(compiled, warm)
            if warm_objective < objective:
                result_triples, objective = warm, warm_objective
        bound = min(bound, objective)
        tol = COST_TOL * (1.0 + abs(objective))
        if status == SolveStatus.TIME_LIMIT and objective - bound <= max(
            options.gap * abs(objective), tol
        ):
            # A model ran out of time, yet the batch is within the gap asked (a
            # small model's share of the time is small; the large one's bound
            # makes up for it).
            proven = objective - bound <= tol and options.gap == 0
            status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
        info["objective"] = objective
        info["seconds"] = time.perf_counter() - start
        return Solution(
            line_idx=result_triples[:, 0].copy(),
            node_idx=result_triples[:, 1].copy(),
            qty=result_triples[:, 2].copy(),
            status=status,
            bound=bound,
            info=info,
        )


def _triples(sol: Solution) -> np.ndarray:
    return np.stack(
        [
            np.asarray(sol.line_idx, dtype=np.int64),
            np.asarray(sol.node_idx, dtype=np.int64),
            np.asarray(sol.qty, dtype=np.int64),
        ],
        axis=1,
    ).reshape(-1, 3)


def _unfillable_cost(compiled: CompiledScenario, order_idx: np.ndarray) -> float:
    """Unfilled cost of orders that no node can serve at all."""
    orders = compiled.orders
    mask = np.isin(orders.line_order, order_idx)
    weight = orders.order_weight[orders.line_order[mask]]
    return float(compiled.network.unfilled * np.sum(weight * orders.line_qty[mask]))
