"""The hindsight bound: a whole order stream solved offline, every order known.

Every policy of the simulator decides orders as they come; the hindsight plan
knows them all. Its cost is a lower bound on what any policy can reach on the same
stream (within the solver's gap), so policies are reported as the share of the
greedy-to-hindsight gap they close (docs/policies.md).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import polars as pl

from omnistock import solvers
from omnistock.compiled.allocations import Triples, concat_triples
from omnistock.exceptions import OmnistockError
from omnistock.model.orders import Order
from omnistock.model.scenario import Scenario
from omnistock.simulation.kpis import report
from omnistock.simulation.replenishment import OrderUpTo
from omnistock.simulation.run import Simulation, prepare_stream
from omnistock.solvers.sequential import solve_orders
from omnistock.solving import validate_options

__all__ = ["hindsight"]


def hindsight(
    network: Scenario,
    orders: Sequence[Order],
    *,
    arrivals: pl.DataFrame | Sequence[float] | np.ndarray | None = None,
    plan_hours: float | None = None,
    replenish: OrderUpTo | None = None,
    solver: str = "optimal",
    **options: Any,
) -> Simulation:
    """The whole stream solved offline, every order known: the hindsight bound.

    With the same stock and no receipts the stream is one scenario, so the optimum
    of ``network.with_orders(orders)`` is a lower bound on the cost of every policy
    simulated with ``plan_hours=None``. With plan periods refilled to the initial
    stock at each period's start (``plan_hours=P`` and ``OrderUpTo(P, 0)``) the
    periods are independent and each is solved on its own. Other receipts tie the
    periods together and are not supported. KPIs are computed as a simulation's,
    so policies compare on the same footing; ``info`` holds status, bound and gap.
    """
    _, hours, compiled = prepare_stream(network, orders, arrivals)
    if replenish is not None and (
        plan_hours is None
        or replenish.period_hours != plan_hours
        or replenish.lead_time_hours != 0
    ):
        msg = (
            "hindsight: receipts tie plan periods together; supported are no "
            "replenishment, or OrderUpTo(period_hours=plan_hours, lead_time_hours=0). "
            f"Got plan_hours={plan_hours!r}, {replenish!r}."
        )
        raise OmnistockError(msg)
    period = np.zeros(hours.shape[0], dtype=np.int64)
    if plan_hours is not None and replenish is not None:
        period = np.floor(hours / plan_hours).astype(np.int64)
    impl = solvers.get(solver)
    opts = validate_options(solver, options)
    parts: list[Triples] = []
    bound: float | None = 0.0
    statuses: set[str] = set()
    began = time.perf_counter()
    for p in np.unique(period):
        done = solve_orders(compiled, np.flatnonzero(period == p), impl, opts)
        sol = done.solution
        parts.append(done.triples)
        statuses.add(str(sol.status))
        bound = None if bound is None or sol.bound is None else bound + sol.bound
    seconds = time.perf_counter() - began
    triples = concat_triples(parts)
    result = report(
        compiled,
        triples,
        hours,
        np.zeros(compiled.orders.n_orders, dtype=np.bool_),
        np.zeros(compiled.orders.n_lines, dtype=np.bool_),
        seconds,
        f"hindsight[{solver}]",
    )
    objective = result.kpis["objective"]
    gap = (
        None
        if bound is None
        else max(0.0, (objective - bound) / max(abs(objective), 1e-9))
    )
    status = (
        "optimal"
        if statuses <= {"optimal"}
        else ("time_limit" if "time_limit" in statuses else "feasible")
    )
    info = {
        "status": status,
        "bound": bound,
        "gap": gap,
        "seconds": seconds,
        "periods": len(parts),
    }
    return Simulation(
        result.decisions, result.orders, result.daily, result.kpis, result.policy, info
    )
