"""The ``optimal`` solver: the proven batch optimum of the fixed-charge MILP.

The batch is cut into independent components (``solvers.components``), grouped into
models of bounded size and solved one by one by an OR-Tools MILP back-end, each
with its share of the time left. The back-end (SCIP by default) was chosen by
measurement (docs/solvers.md). Every component keeps the better of the back-end's
answer and the warm start (the greedy plan); a component the back-end cannot
solve in time keeps the warm start, or allocates nothing when there is none. So a
time limit always returns a feasible plan, never worse than the warm start.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from omnistock._kernels.cost import plan_cost
from omnistock.compiled import CompiledScenario
from omnistock.exceptions import UnknownSolverError
from omnistock.solvers.base import Capabilities, Solution, SolveStatus
from omnistock.solvers.components import Candidates, candidates, components
from omnistock.solvers.fixed_charge import MilpData, build_milp

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
# Fraction of the time limit kept for decoding and pricing after the last model.
_RESERVE = 0.05


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


def hint_vector(
    compiled: CompiledScenario, cand: Candidates, data: MilpData, warm: Solution
) -> np.ndarray | None:
    """The warm start as a variable vector of ``data``; None if it does not fit."""
    net, orders = compiled.network, compiled.orders
    n_nodes = max(net.n_nodes, 1)
    c_line = cand.line[data.cand]
    c_node = cand.pair_node[cand.pair[data.cand]]
    key = c_line * n_nodes + c_node
    order = np.argsort(key)
    keys = key[order]
    w_key = warm.line_idx * n_nodes + warm.node_idx
    in_model = np.isin(orders.line_order[warm.line_idx], orders.line_order[data.lines])
    w_key, w_qty = w_key[in_model], warm.qty[in_model]
    pos = np.searchsorted(keys, w_key)
    if np.any(pos >= keys.size) or np.any(
        keys[np.minimum(pos, keys.size - 1)] != w_key
    ):
        return None
    nx, ny, nu = data.cand.size, data.pair.size, data.lines.size
    x = np.zeros(nx)
    np.add.at(x, order[pos], w_qty)
    if np.any(x > data.ub[:nx]):
        return None
    y = np.zeros(ny)
    pair_local = np.searchsorted(data.pair, cand.pair[data.cand])
    np.maximum.at(y, pair_local, (x > 0).astype(np.float64))
    line_local = np.searchsorted(data.lines, c_line)
    filled = np.bincount(line_local, weights=x, minlength=nu)
    u = orders.line_qty[data.lines] - filled
    short = np.bincount(
        orders.line_order[data.lines], weights=u > 0, minlength=orders.n_orders
    )
    z = (short[data.aon_orders] == 0).astype(np.float64)
    return np.concatenate([x, y, u, z])


def decode(cand: Candidates, data: MilpData, values: np.ndarray) -> np.ndarray:
    """int64[k, 3]: (line, node, qty) of the candidates with units in ``values``."""
    qty = np.rint(values[: data.cand.size]).astype(np.int64)
    keep = qty > 0
    c = data.cand[keep]
    return np.stack([cand.line[c], cand.pair_node[cand.pair[c]], qty[keep]], axis=1)


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


def _groups(label: np.ndarray, size: np.ndarray) -> list[np.ndarray]:
    """Component labels grouped so that each group has about ``_MODEL_VARS`` variables."""
    groups: list[np.ndarray] = []
    start, acc = 0, 0
    for comp in range(size.shape[0]):
        acc += int(size[comp])
        if acc >= _MODEL_VARS:
            groups.append(np.arange(start, comp + 1))
            start, acc = comp + 1, 0
    if start < size.shape[0]:
        groups.append(np.arange(start, size.shape[0]))
    return groups


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
        warm = warm_start_solution(compiled) if options.warm_start else None
        cand = candidates(compiled)
        label = components(compiled, cand)
        n_comp = int(label.max()) + 1 if label.size else 0
        cand_comp = label[orders.line_order[cand.line]]
        size = np.bincount(cand_comp, minlength=n_comp) + np.bincount(
            label[cand.pair_order], minlength=n_comp
        )
        groups = _groups(label, size)
        triples: list[np.ndarray] = [np.empty((0, 3), dtype=np.int64)]
        status = SolveStatus.OPTIMAL
        bound = 0.0
        info: dict[str, Any] = {
            "backend": options.backend,
            "components": n_comp,
            "models": len(groups),
            "warm_start": warm is not None,
        }
        remaining = float(size.sum())
        done = 0
        running = objective_of(compiled, _triples(warm)) if warm is not None else None
        for group in groups:
            mask = np.isin(label, group)
            data = build_milp(compiled, cand, mask)
            hint = hint_vector(compiled, cand, data, warm) if warm is not None else None
            share = float(size[group].sum())
            budget = (deadline - time.perf_counter()) * share / max(remaining, 1.0)
            remaining -= share
            answer = solve_milp(data, options, budget, hint)
            chosen, model_bound = answer.values, answer.bound
            if hint is not None and (
                chosen is None or float(data.cost @ hint) < float(data.cost @ chosen)
            ):
                chosen = hint
            if answer.status != SolveStatus.OPTIMAL:
                status = SolveStatus.TIME_LIMIT
            if chosen is not None:
                triples.append(decode(cand, data, chosen))
            bound += max(model_bound, 0.0)
            done += group.size
            if options.progress is not None:
                options.progress(
                    done, n_comp, self._so_far(compiled, triples, warm, label, done)
                )
        result = np.concatenate(triples)
        no_cand = np.flatnonzero(label < 0)
        bound += _unfillable_cost(compiled, no_cand)
        objective = objective_of(compiled, result)
        if warm is not None and running is not None and running < objective:
            result = _triples(warm)
            objective = running
        if status == SolveStatus.OPTIMAL and options.gap > 0:
            status = SolveStatus.FEASIBLE
        info["objective"] = objective
        return Solution(
            line_idx=result[:, 0].copy(),
            node_idx=result[:, 1].copy(),
            qty=result[:, 2].copy(),
            status=status,
            bound=min(bound, objective),
            info=info,
        )

    @staticmethod
    def _so_far(
        compiled: CompiledScenario,
        triples: list[np.ndarray],
        warm: Solution | None,
        label: np.ndarray,
        done: int,
    ) -> float:
        """Objective of the solved components plus the warm start for the rest."""
        parts = list(triples)
        if warm is not None:
            rest = label[compiled.orders.line_order[warm.line_idx]] >= done
            parts.append(_triples(warm)[rest])
        return objective_of(compiled, np.concatenate(parts))


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
