"""Solve a subset of a batch's orders and map the answer back: the one copy.

Re-planning (the orders not frozen), the simulator (the orders of one segment, the
orders of one re-plan), the hindsight bound (one plan period) and greedy's own
partial runs (the optimal solver's warm starts and flow plan) all solve some of
a batch's orders against the stock something else left. :func:`solve_orders`
does it: it takes the orders, puts them on the network with the given
:class:`~omnistock.compiled.StockState`, runs the solver and returns the
allocations in the batch's own line indices. :func:`take_units` moves a state
by the units of allocation triples, so the stock left is derived in one way too.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from omnistock.compiled import CompiledScenario, StockState
from omnistock.compiled.allocations import Triples, usage
from omnistock.compiled.lockers import parcels_by_locker
from omnistock.compiled.nesting import head_usage
from omnistock.solvers.base import Solution

__all__ = ["Runs", "SubsetSolution", "solve_orders", "subset_scenario", "take_units"]


class Runs(Protocol):
    """Anything with a solver's ``run`` (every registered solver has one)."""

    def run(self, compiled: CompiledScenario, options: Any) -> Solution:
        """Solve ``compiled`` under ``options``."""
        ...


@dataclass(frozen=True)
class SubsetSolution:
    """What :func:`solve_orders` returns.

    Attributes
    ----------
    triples
        ``(line_idx, node_idx, qty)`` int64 arrays in the *batch's* line indices.
    solution
        The solver's raw answer, in the subset's own line indices (status, bound,
        info, and the triples as the subset sees them).
    scenario
        The subset: its orders on the network with the state it was solved against.
    line_map : int64[n_lines of the subset]
        The batch line each subset line is.
    seconds
        Wall seconds of the solver's ``run`` alone.
    """

    triples: Triples
    solution: Solution
    scenario: CompiledScenario
    line_map: np.ndarray
    seconds: float


def subset_scenario(
    compiled: CompiledScenario, order_idx: np.ndarray, state: StockState | None = None
) -> tuple[CompiledScenario, np.ndarray]:
    """The orders ``order_idx`` (in that order) against ``state`` and their line map.

    ``state`` None: the network's own stock. The state's arrays are used as they
    are (not copied): solvers read them, they never write them.
    """
    orders, line_map = compiled.orders.take(order_idx)
    net = compiled.network
    if state is not None:
        net = net.with_stock(
            free=state.free, limit=state.limit, capacity=state.capacity, head=state.head
        )
    return CompiledScenario(net, orders), line_map


def solve_orders(
    compiled: CompiledScenario,
    order_idx: np.ndarray,
    solver: Runs,
    options: Any,
    state: StockState | None = None,
) -> SubsetSolution:
    """Solve the orders ``order_idx`` of ``compiled`` with ``solver`` from ``state``.

    Parameters
    ----------
    compiled
        The batch.
    order_idx
        Its orders to solve, in the order a per-order solver decides them.
    solver, options
        A solver instance and its validated options
        (:func:`omnistock.solving.validate_options`).
    state
        The stock left for these orders (default: the network's own).

    Returns
    -------
    SubsetSolution
        The allocations in the batch's line indices, and the raw solution.
    """
    sub, line_map = subset_scenario(compiled, order_idx, state)
    began = time.perf_counter()
    sol = solver.run(sub, options)
    seconds = time.perf_counter() - began
    triples = (
        line_map[np.asarray(sol.line_idx, dtype=np.int64)],
        np.asarray(sol.node_idx, dtype=np.int64),
        np.asarray(sol.qty, dtype=np.int64),
    )
    return SubsetSolution(triples, sol, sub, line_map, seconds)


def take_units(
    state: StockState, compiled: CompiledScenario, triples: Triples, sign: int = 1
) -> None:
    """Take (``sign=+1``) or give back (``-1``) the units of ``triples``, in place.

    Every taken unit leaves its stock row's free units; a unit of a non-exempt
    order also leaves the row's protected limit; every unit uses its node's
    capacity (docs/semantics.md, S2, S4, S5); every package of an order at a
    locker uses one of its parcels (S11).
    """
    row_all, row_prot, node_units = usage(compiled, *triples)
    state.free -= sign * row_all
    state.limit -= sign * row_prot
    state.capacity -= sign * node_units
    if state.head.size:  # v1.2: the nested heads (docs/semantics.md, S4 v1.2)
        state.head -= sign * head_usage(compiled, *triples)
    # S11: a locker's entry counts parcels, one per package sent there.
    state.capacity -= sign * parcels_by_locker(compiled, triples[0], triples[1])
