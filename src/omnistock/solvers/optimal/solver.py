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
from typing import Any, ClassVar

import numpy as np

from omnistock.compiled import CompiledScenario
from omnistock.compiled.lockers import order_lockers
from omnistock.compiled.rates import rated_batch
from omnistock.progress import Reporter
from omnistock.solvers.base import Capabilities, Solution, SolveStatus
from omnistock.solvers.optimal.candidates import candidates, components
from omnistock.solvers.optimal.flows import solve_unit_orders, unit_components
from omnistock.solvers.optimal.incumbents import (
    fewest_options_first,
    objective_of,
    triples_of,
    unfillable_cost,
    warm_start_solution,
)
from omnistock.solvers.optimal.large import solve_split, split_large
from omnistock.solvers.optimal.lockers import solve_with_lockers
from omnistock.solvers.optimal.model import solve_model
from omnistock.solvers.optimal.nested import solve_nested
from omnistock.solvers.optimal.options import OptimalOptions, ProgressCallback
from omnistock.solvers.optimal.rated import solve_rated
from omnistock.solvers.optimal.rated_decomp import rated_candidates
from omnistock.solvers.optimal.status import settle

__all__ = ["OptimalOptions", "OptimalSolver", "ProgressCallback"]

# Components are grouped into models of about this many variables: large enough
# that per-model overhead (~ms) is small, small enough to keep each MILP easy.
_MODEL_VARS = 20_000
# Every model may use at least this much of the time left (small ones are quick).
_MIN_MODEL_SECONDS = 1.0
# Fraction of the time limit kept for decoding and pricing after the last model.
_RESERVE = 0.05


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


class OptimalSolver:
    """Proven batch optimum of the fixed-charge MILP (docs/solvers.md)."""

    name: ClassVar[str] = "optimal"
    capabilities: ClassVar[Capabilities] = Capabilities(
        exact=True, time_limit=True, progress=True, seeded=True
    )
    Options: ClassVar[type[OptimalOptions]] = OptimalOptions

    def run(self, compiled: CompiledScenario, options: OptimalOptions) -> Solution:
        """Solve the batch; see the module docstring for the guarantees.

        ``options.progress`` hears each phase (``warm start``, ``candidates``,
        ``flow``, ``model k/n``, ``LP round r``, ``MILP``, ``done``) with the
        components done, the incumbent and the batch bound so far, and at least
        once a second while a phase runs (:class:`omnistock.progress.Reporter`).
        """
        with Reporter(self.name, options.progress) as reporter:
            try:
                if compiled.network.levels.nested:  # contract v1.2 (S4 v1.2)
                    reporter.phase("MILP")
                    return solve_nested(compiled, options)
                return self._run(compiled, options, reporter)
            except MemoryError:
                # The batch's candidates or model do not fit (e.g. 1M "large" orders
                # in one component): answer with the greedy plan, said so, rather
                # than a raw MemoryError after minutes (docs/decisions.md).
                reporter.phase("out of memory: greedy plan")
                return _greedy_fallback(compiled)

    def _run(
        self,
        compiled: CompiledScenario,
        options: OptimalOptions,
        reporter: Reporter,
        *,
        fits: bool = False,
    ) -> Solution:
        rated = rated_batch(compiled.network, compiled.orders)
        if rated and (order_lockers(compiled) >= 0).any():
            return solve_rated(compiled, options, _groups)  # v1.1 with S11: exact MILPs
        # Candidates beyond memory: component by component, the largest priced
        # (solvers/optimal/large.py); ``fits``: a part already known to fit. The
        # priced path prices v1 costs only, so a v1.1 batch is listed whole (and
        # falls back to greedy, said so, if that does not fit).
        split = None if fits or rated else split_large(compiled)
        if split is not None:
            reporter.phase("components too large to list")

            def solve_part(part: CompiledScenario, opts: OptimalOptions) -> Solution:
                return self._run(part, opts, reporter, fits=True)

            return solve_split(compiled, options, split, solve_part)
        start = time.perf_counter()
        deadline = start + options.time_limit * (1.0 - _RESERVE)
        orders = compiled.orders
        reporter.phase("warm start" if options.warm_start else "candidates")
        warm_sol = warm_start_solution(compiled) if options.warm_start else None
        warm = (
            triples_of(warm_sol) if warm_sol is not None else np.empty((0, 3), np.int64)
        )
        if reporter.active and warm_sol is not None:
            reporter.phase("candidates", objective=objective_of(compiled, warm))
        # Contract v1.1: the extras on the candidates (solvers/optimal/rated_decomp.py).
        cand = rated_candidates(compiled) if rated else candidates(compiled)
        if warm_sol is not None:
            warm = min(
                (warm, fewest_options_first(compiled, cand)),
                key=lambda t: objective_of(compiled, t),
            )
        if (order_lockers(compiled) >= 0).any():  # S11: one MILP with locker rows
            reporter.phase("MILP (lockers)")
            sol = solve_with_lockers(compiled, cand, warm, options, deadline)
            reporter.phase("done", objective=sol.info["objective"], bound=sol.bound)
            return sol
        label = components(compiled, cand)
        n_comp = int(label.max()) + 1 if label.size else 0
        size = np.bincount(label[orders.line_order[cand.line]], minlength=n_comp)
        # One-unit, one-line components: an exact min-cost flow (solvers/optimal/flows.py).
        by_flow = unit_components(compiled, label)
        flow_orders = (label >= 0) & np.append(by_flow, False)[label]
        groups = _groups(np.flatnonzero(~by_flow), size)
        parts: list[np.ndarray] = [np.empty((0, 3), dtype=np.int64)]
        status = SolveStatus.OPTIMAL
        bound = unfillable_cost(compiled, np.flatnonzero(label < 0))
        if flow_orders.any():
            reporter.phase("flow", total=n_comp)
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
        for k, group in enumerate(sorted(groups, key=lambda g: int(size[g].sum()))):
            # Costs are >= 0: a model not solved yet adds at least 0 to the bound.
            reporter.phase(
                f"model {k + 1}/{len(groups)}", done=done, total=n_comp, bound=bound
            )
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
            if reporter.active:
                rest = warm[~solved[warm_label]]
                so_far = objective_of(compiled, np.concatenate([*parts, rest]))
                reporter.update(done=done, objective=so_far, bound=bound)
        result_triples = np.concatenate(parts)
        objective = objective_of(compiled, result_triples)
        if warm_sol is not None:
            warm_objective = objective_of(compiled, warm)
            if warm_objective < objective:
                result_triples, objective = warm, warm_objective
        bound = min(bound, objective)
        # A model may run out of time while the batch is within the gap asked (a
        # small model's share of the time is small; the large one's bound makes
        # up for it): the one status rule reads the batch's objective and bound.
        status = settle(status, objective, bound, options.gap)
        info["objective"] = objective
        info["seconds"] = time.perf_counter() - start
        reporter.phase(
            "done", done=n_comp, total=n_comp, objective=objective, bound=bound
        )
        return Solution(
            line_idx=result_triples[:, 0].copy(),
            node_idx=result_triples[:, 1].copy(),
            qty=result_triples[:, 2].copy(),
            status=status,
            bound=bound,
            info=info,
        )


def _greedy_fallback(compiled: CompiledScenario) -> Solution:
    """The greedy plan as a FEASIBLE answer with bound 0 (valid: costs are >= 0)."""
    sol = warm_start_solution(compiled)
    if sol is None:  # no greedy registered: nothing smaller to offer
        msg = "the batch does not fit in memory and greedy is absent"
        raise MemoryError(msg)
    info: dict[str, Any] = {"out_of_memory": True, "fallback": "greedy"}
    return Solution(
        line_idx=sol.line_idx,
        node_idx=sol.node_idx,
        qty=sol.qty,
        status=SolveStatus.FEASIBLE,
        bound=0.0,
        info=info,
    )
