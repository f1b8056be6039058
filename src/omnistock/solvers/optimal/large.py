"""Batches whose candidates do not fit in memory: component by component.

The optimal solver lists every candidate of the batch at once (``candidates``),
~200 bytes each through the whole solve (measured: 10.8 GB for the 51 M of
"large" at 100,000 orders). :func:`split_large` tells, before any is listed,
whether they would fit in the memory this process may still use (what the
system has available and, under an address-space limit, what is left of it):
first from a free upper bound (each line's stock rows), then, when that does
not settle it, from the exact count per component (``component_profile``, which
stores no candidate). :func:`solve_split` then solves the components that fit
by the solver's own path, in groups that fit, and each component too large for
memory by the Lagrangian path (``lagrange``): greedy's plan or a cheaper priced
one, and a valid bound, in memory linear in the orders.
"""

from __future__ import annotations

import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from omnistock._kernels.cost import COST_TOL
from omnistock.compiled import CompiledScenario
from omnistock.exceptions import InvalidOptionValue
from omnistock.solvers.base import Solution, SolveStatus
from omnistock.solvers.optimal.candidates import component_profile
from omnistock.solvers.optimal.incumbents import (
    objective_of,
    triples_of,
    warm_start_solution,
)
from omnistock.solvers.optimal.lagrange import solve_lagrangian
from omnistock.solvers.optimal.options import OptimalOptions
from omnistock.solvers.sequential import subset_scenario

__all__ = [
    "BYTES_PER_CANDIDATE",
    "LIMIT_VARIABLE",
    "Split",
    "candidate_limit",
    "memory_budget",
    "solve_split",
    "split_large",
]

#: Environment variable capping the candidates one listing may hold.
LIMIT_VARIABLE = "OMNISTOCK_MAX_CANDIDATES"
#: Bytes a candidate costs through an optimal solve (arrays, copies, the model).
BYTES_PER_CANDIDATE = 200
# Fraction of the time limit kept for merging and pricing (as the solver's).
_RESERVE = 0.05
_MIN_PART_SECONDS = 1.0

SolvePart = Callable[[CompiledScenario, OptimalOptions], Solution]


def _meminfo_available() -> int | None:
    """MemAvailable of /proc/meminfo in bytes (None where there is none)."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):
        return None


def _address_space_left() -> int | None:
    """What an address-space limit (``ulimit -v``, prlimit --as) leaves, if one is set."""
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft == resource.RLIM_INFINITY:
        return None
    try:
        with open("/proc/self/status", encoding="ascii") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return max(soft - int(line.split()[1]) * 1024, 0)
    except OSError:
        pass
    return int(soft)


def memory_budget() -> int:
    """Bytes this process may still allocate: the smaller of the two limits known."""
    known = [b for b in (_meminfo_available(), _address_space_left()) if b is not None]
    return min(known) if known else 2**62


def candidate_limit() -> int:
    """Most candidates one listing may hold in the memory left.

    ``OMNISTOCK_MAX_CANDIDATES`` (an integer >= 0) lowers it: worker processes
    inherit it, so a cluster's workers can be held to less than their memory.
    """
    limit = memory_budget() // BYTES_PER_CANDIDATE
    value = os.environ.get(LIMIT_VARIABLE)
    if value is None:
        return limit
    try:
        cap = int(value)
    except ValueError:
        cap = -1
    if cap < 0:
        detail = f"{LIMIT_VARIABLE} must be an integer >= 0. Got {value!r}."
        msg = "optimal"
        raise InvalidOptionValue(msg, LIMIT_VARIABLE, detail)
    return min(cap, limit)


@dataclass(frozen=True)
class Split:
    """A batch too large to list at once: its components and which fit alone."""

    label: np.ndarray  # int64[n_orders], as ``components`` numbers them
    size: np.ndarray  # int64[n_components]: candidates of each
    limit: int  # candidates one listing may hold


def split_large(compiled: CompiledScenario) -> Split | None:
    """None when the batch's candidates fit in memory, else its components.

    The upper bound (a line's candidates are at most its SKU's stock rows) costs
    nothing and settles every batch far from the limit; near it, the exact
    count per component costs two passes that store no candidate.
    """
    net, orders = compiled.network, compiled.orders
    limit = candidate_limit()
    sku = orders.line_sku
    rows = np.diff(net.stock_indptr)[np.maximum(sku, 0)]
    if int(np.where(sku >= 0, rows, 0).sum()) <= limit:
        return None
    label, size = component_profile(compiled)
    if int(size.sum()) <= limit:
        return None
    return Split(label, size, limit)


def _groups(split: Split) -> list[np.ndarray]:
    """The components that fit, in groups that fit, by label."""
    fits = np.flatnonzero(split.size <= split.limit)
    cut = np.floor(np.cumsum(split.size[fits]) / max(split.limit, 1)).astype(np.int64)
    return np.split(fits, np.flatnonzero(np.diff(cut)) + 1) if fits.size else []


def solve_split(
    compiled: CompiledScenario,
    options: OptimalOptions,
    split: Split,
    solve_part: SolvePart,
) -> Solution:
    """Solve a batch too large to list: groups that fit by ``solve_part``, the rest priced.

    ``solve_part`` is the solver's own path on a sub-batch (it lists its
    candidates). Components share no constraint that can bind, so the parts'
    plans merge feasibly and their bounds add up. The merged plan is replaced by
    the batch's greedy plan should that be cheaper.
    """
    start = time.perf_counter()
    deadline = start + options.time_limit * (1.0 - _RESERVE)
    orders = compiled.orders
    greedy = warm_start_solution(compiled)
    warm = np.empty((0, 3), np.int64) if greedy is None else triples_of(greedy)
    warm_order = orders.line_order[warm[:, 0]]
    label, size = split.label, split.size
    groups = _groups(split)
    big = np.flatnonzero(size > split.limit)
    no_cand = np.flatnonzero(label < 0)
    parts: list[np.ndarray] = [np.empty((0, 3), np.int64)]
    bound, statuses = 0.0, [SolveStatus.FEASIBLE if big.size else SolveStatus.OPTIMAL]
    info: dict[str, Any] = {
        "components": int(size.size),
        "candidate_limit": split.limit,
        "lagrangian_components": big.tolist(),
        "lagrangian_orders": int(np.isin(label, big).sum()),
        "lagrangian_passes": 0,
    }
    total = float(size.sum())
    work: list[tuple[np.ndarray, bool, float]] = [
        (np.flatnonzero(np.isin(label, g)), False, float(size[g].sum())) for g in groups
    ]
    if no_cand.size:  # orders no node can serve: unfilled, by the plain path
        work.append((no_cand, False, 0.0))
    work += [(np.flatnonzero(label == c), True, float(size[c])) for c in big]
    for idx, priced, share in work:
        sub, line_map = subset_scenario(compiled, idx)
        left = deadline - time.perf_counter()
        if priced:
            inv = np.full(orders.n_lines, -1, np.int64)
            inv[line_map] = np.arange(line_map.size)
            mine = warm[np.isin(warm_order, idx)]
            mine = np.stack([inv[mine[:, 0]], mine[:, 1], mine[:, 2]], axis=1)
            res = solve_lagrangian(
                sub, mine, options.seed, time.perf_counter() + left * share / total
            )
            triples, part_bound = res.triples, res.bound
            info["lagrangian_passes"] += res.info["lagrangian_passes"]
            statuses.append(SolveStatus.TIME_LIMIT)
        else:
            seconds = max(left * share / max(total, 1.0), _MIN_PART_SECONDS)
            sol = solve_part(
                sub,
                options.model_copy(update={"time_limit": seconds, "progress": None}),
            )
            triples, part_bound = triples_of(sol), float(sol.bound or 0.0)
            statuses.append(sol.status)
        total -= share
        parts.append(
            np.stack([line_map[triples[:, 0]], triples[:, 1], triples[:, 2]], axis=1)
        )
        bound += max(part_bound, 0.0)
    plan = np.concatenate(parts)
    objective = objective_of(compiled, plan)
    if greedy is not None and objective_of(compiled, warm) < objective:
        plan, objective = warm, objective_of(compiled, warm)
    bound = min(bound, objective)
    within = objective - bound <= max(
        options.gap * abs(objective), COST_TOL * (1.0 + abs(objective))
    )
    status = SolveStatus.OPTIMAL
    if SolveStatus.TIME_LIMIT in statuses and not within:
        status = SolveStatus.TIME_LIMIT
    elif any(s != SolveStatus.OPTIMAL for s in statuses):
        status = SolveStatus.FEASIBLE
    info.update(objective=objective, seconds=time.perf_counter() - start)
    return Solution(
        line_idx=plan[:, 0].copy(),
        node_idx=plan[:, 1].copy(),
        qty=plan[:, 2].copy(),
        status=status,
        bound=bound,
        info=info,
    )
