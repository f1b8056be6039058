"""Partitioned solve: a batch's independent components on an executor, one plan back.

The optimal solver's own decomposition (``solvers.optimal.candidates``) links the
orders that share a constraint able to bind (a stock row's free units or
protected limit, a node's capacity); orders in different components cannot
affect one another, so each component is solved on its own and the answers
simply add up. Here the components are packed into tasks, largest first (the
critical path is the largest component), each task carrying only its own orders'
compiled arrays; the network is shipped to each worker once
(``scale.executors.ship``). Objective and bound of the merged plan are sums over
tasks (the gap is recomputed from them by ``Plan``); a solver with a time limit
gets a share of it per task, by size.

A task whose worker is lost is re-run (Dask does so by itself; a task that
raised is re-run once); a task that fails twice is solved by greedy in the
driver: its components are listed in ``info["fallback_components"]``, its bound
counts as 0 (every cost is >= 0) and the status is no better than ``feasible``.
"""

from __future__ import annotations

import dataclasses
import time
from concurrent.futures import Executor, Future
from typing import Any

import numpy as np
from pydantic import BaseModel

from omnistock.compiled import CompiledScenario, StockState
from omnistock.compiled.orders import CompiledOrders
from omnistock.scale.executors import dask_client, n_workers, release, resolve, ship
from omnistock.scale.executors import submit as submit_task
from omnistock.solvers.base import NoOptions, Solution, SolveStatus
from omnistock.solvers.greedy import GreedySolver
from omnistock.solvers.optimal.candidates import component_profile
from omnistock.solvers.optimal.incumbents import objective_of
from omnistock.solvers.sequential import (
    Runs,
    SubsetSolution,
    solve_orders,
    subset_scenario,
)

__all__ = ["solve_batch", "solve_partitioned"]

# Components are packed into about this many tasks per worker: enough to balance
# the load, few enough that per-task overhead (~ms, plus Dask's ~1 ms) is small.
_TASKS_PER_WORKER = 4
# A task holds at least this many candidates unless its components are fewer.
_MIN_TASK_SIZE = 2_000
# Fraction of the time limit kept for the driver: partitioning, merging, pricing.
_RESERVE = 0.05
_MIN_SHARE = 1.0

TaskResult = tuple[
    np.ndarray, np.ndarray, np.ndarray, str, float | None, dict[str, Any]
]


def _run_task(
    network: Any, orders: CompiledOrders, solver: Runs, options: Any
) -> TaskResult:
    """One task, on a worker: solve ``orders`` on the shipped network."""
    sol = solver.run(CompiledScenario(resolve(network), orders), options)
    return (
        np.asarray(sol.line_idx, dtype=np.int64),
        np.asarray(sol.node_idx, dtype=np.int64),
        np.asarray(sol.qty, dtype=np.int64),
        str(sol.status),
        sol.bound,
        dict(sol.info),
    )


def _attempt(executor: Executor, args: tuple[Any, ...]) -> Any:
    """A future of one task; a pool that refuses the task gives a failed future."""
    try:
        return submit_task(executor, _run_task, *args, scatter=(1,))
    except Exception as err:  # a broken pool refuses at submit
        failed: Future[TaskResult] = Future()
        failed.set_exception(err)
        return failed


def _tasks(size: np.ndarray, workers: int) -> list[np.ndarray]:
    """The components packed into tasks, largest first: the component labels of each.

    Components sorted by size (descending) are cut into consecutive blocks of
    about ``target`` candidates; a component larger than that is a task alone.
    """
    if size.size == 0:
        return []
    target = max(float(size.sum()) / (workers * _TASKS_PER_WORKER), _MIN_TASK_SIZE)
    order = np.argsort(-size, kind="stable")
    before = np.cumsum(size[order]) - size[order]
    block = np.floor(before / target).astype(np.int64)
    cuts = np.flatnonzero(np.diff(block)) + 1
    return np.split(order.astype(np.int64), cuts)


def _with_limit(options: Any, seconds: float | None) -> Any:
    """``options`` for a worker: its share of the time, no driver-side callback."""
    if not isinstance(options, BaseModel):
        return options
    update: dict[str, Any] = {}
    fields = type(options).model_fields
    if seconds is not None and "time_limit" in fields:
        update["time_limit"] = seconds
    if "progress" in fields:
        update["progress"] = None
    return options.model_copy(update=update) if update else options


def _merge_status(statuses: list[str], fallback: bool) -> SolveStatus:
    """OPTIMAL only if every task is; TIME_LIMIT if any is; else FEASIBLE."""
    if SolveStatus.TIME_LIMIT in statuses:
        return SolveStatus.TIME_LIMIT
    if fallback or any(s != SolveStatus.OPTIMAL for s in statuses):
        return SolveStatus.FEASIBLE
    return SolveStatus.OPTIMAL


def _merge_info(infos: list[dict[str, Any]]) -> dict[str, Any]:
    """Integer counters summed over tasks (other entries are per task, dropped)."""
    merged: dict[str, Any] = {}
    for info in infos:
        for key, value in info.items():
            if isinstance(value, int) and not isinstance(value, bool):
                merged[key] = merged.get(key, 0) + value
    return merged


def solve_partitioned(
    compiled: CompiledScenario,
    order_idx: np.ndarray,
    solver: Runs,
    options: Any,
    executor: Executor,
    state: StockState | None = None,
) -> SubsetSolution:
    """:func:`~omnistock.solvers.sequential.solve_orders`, its components on ``executor``.

    Parameters
    ----------
    compiled, order_idx, solver, options, state
        As for ``solve_orders``: the orders ``order_idx`` of ``compiled`` against
        ``state`` (default: the network's stock), solved by ``solver``.
    executor
        Any ``concurrent.futures.Executor`` or a Dask ``distributed.Client``.

    Returns
    -------
    SubsetSolution
        As ``solve_orders`` returns; ``solution.info`` adds ``components``,
        ``tasks``, ``workers``, ``fallback_components``, ``retried_tasks``,
        ``build_seconds`` (partition and pack) and ``ship_seconds``.
    """
    began = time.perf_counter()
    sub, line_map = subset_scenario(compiled, order_idx, state)
    # Chunk by chunk: a whole batch's candidates may not fit in the driver.
    label, size = component_profile(sub)
    n_comp = size.shape[0]
    workers = n_workers(executor)
    tasks = _tasks(size, workers)
    # Orders sorted by task (stably: each task keeps the batch's order of orders).
    task_of_comp = np.empty(n_comp, dtype=np.int64)
    for t, comps in enumerate(tasks):
        task_of_comp[comps] = t
    has = label >= 0
    order_task = np.full(label.shape[0], len(tasks), dtype=np.int64)
    order_task[has] = task_of_comp[label[has]]
    by_task = np.argsort(order_task, kind="stable")
    cuts = np.searchsorted(order_task[by_task], np.arange(len(tasks) + 2))
    task_orders = [by_task[cuts[t] : cuts[t + 1]] for t in range(len(tasks) + 1)]
    parts = [sub.orders.take(idx)[0] for idx in task_orders[:-1]]
    build = time.perf_counter() - began

    limit = getattr(options, "time_limit", None)
    total = max(float(size.sum()), 1.0)
    shipped = time.perf_counter()
    # A fresh copy: the network's cached numba record stays in the driver.
    network = ship(executor, dataclasses.replace(sub.network))
    retried: list[int] = []
    try:
        futures = []
        for t, comps in enumerate(tasks):
            share = None
            if limit is not None:
                left = float(limit) * (1.0 - _RESERVE) - (time.perf_counter() - began)
                share = max(
                    min(left, left * workers * float(size[comps].sum()) / total),
                    min(max(left, 0.1), _MIN_SHARE),
                )
            args = (network, parts[t], solver, _with_limit(options, share))
            futures.append((args, _attempt(executor, args)))
        ship_seconds = time.perf_counter() - shipped
        results: list[TaskResult | None] = []
        errors: list[str] = []
        on_dask = dask_client(executor) is not None
        for t, (args, attempt) in enumerate(futures):
            try:
                results.append(attempt.result())
                continue
            except Exception as first:  # any worker failure falls back
                error: BaseException = first
            if not on_dask:  # Dask already retried it
                retried.append(t)
                try:
                    results.append(_attempt(executor, args).result())
                    continue
                except Exception as second:
                    error = second
            errors.append(f"task {t}: {type(error).__name__}: {error}")
            results.append(None)
    finally:
        release(network)

    triples: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    statuses: list[str] = []
    infos: list[dict[str, Any]] = []
    bound: float | None = 0.0
    fallback: list[int] = []
    priced: list[int] = []
    for t, result in enumerate(results):
        idx = task_orders[t]
        if result is None:
            # Failed twice: greedy in the driver (components share no binding
            # constraint, so any feasible answer of a component merges feasibly).
            done = solve_orders(sub, idx, GreedySolver(), NoOptions())
            triples.append(done.triples)
            fallback.extend(tasks[t].tolist())
            continue
        t_line, t_node, t_qty, t_status, task_bound, t_info = result
        _, task_map = sub.orders.take(idx)
        triples.append((task_map[t_line], t_node, t_qty))
        statuses.append(t_status)
        infos.append(t_info)
        if t_info.get("lagrangian_components"):  # too large to list on the worker
            priced.extend(tasks[t].tolist())
        bound = None if bound is None or task_bound is None else bound + task_bound
    # Orders with no candidate at all: the solver in the driver (nothing to ship).
    if task_orders[-1].size:
        done = solve_orders(sub, task_orders[-1], solver, _with_limit(options, 1.0))
        triples.append(done.triples)
        statuses.append(str(done.solution.status))
        infos.append(done.solution.info)
        b = done.solution.bound
        bound = None if bound is None or b is None else bound + b
    line, node, qty = (
        np.concatenate([p[i] for p in triples]) if triples else np.empty(0, np.int64)
        for i in range(3)
    )
    status = _merge_status(statuses, bool(fallback))
    gap = getattr(options, "gap", None)
    if status == SolveStatus.TIME_LIMIT and bound is not None and gap is not None:
        objective = objective_of(sub, np.stack([line, node, qty], axis=1))
        if objective - bound <= gap * abs(objective):
            status = SolveStatus.FEASIBLE  # a task ran out, the sums are within the gap
    info = _merge_info(infos)
    info.update(
        components=n_comp,
        tasks=len(tasks),
        workers=workers,
        fallback_components=sorted(fallback),
        lagrangian_components=sorted(priced),
        fallback_errors=errors,
        retried_tasks=retried,
        build_seconds=build,
        ship_seconds=ship_seconds,
    )
    solution = Solution(line, node, qty, status=status, bound=bound, info=info)
    batch = (line_map[line], node, qty)
    return SubsetSolution(batch, solution, sub, line_map, time.perf_counter() - began)


def solve_batch(
    compiled: CompiledScenario, solver: Runs, options: Any, executor: Executor
) -> Solution:
    """The whole batch on ``executor``: a Solution in the batch's own line indices."""
    done = solve_partitioned(
        compiled, np.arange(compiled.orders.n_orders), solver, options, executor
    )
    sol = done.solution
    return Solution(*done.triples, status=sol.status, bound=sol.bound, info=sol.info)
