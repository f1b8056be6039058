"""The one entry point: ``solve(scenario, solver=..., **options) -> Plan``."""

from __future__ import annotations

import time
from typing import Any

from omnistock import solvers
from omnistock.exceptions import InvalidOptionError
from omnistock.model.scenario import Scenario
from omnistock.plan import Plan

__all__ = ["available_solvers", "solve"]

available_solvers = solvers.available_solvers


def solve(scenario: Scenario, *, solver: str = "greedy", **options: Any) -> Plan:
    """Allocate the scenario's orders with the named solver.

    Parameters
    ----------
    scenario
        The scenario; compiled once and cached on it.
    solver
        One of :func:`available_solvers`.
    **options
        The solver's options (docs/solvers.md); an unknown one raises
        :class:`~omnistock.exceptions.InvalidOptionError` listing the valid ones.

    Examples
    --------
    >>> from omnistock import samples, solve
    >>> net = samples.network("small", seed=1)
    >>> plan = solve(net.with_orders(samples.orders(net, 5, seed=1)), solver="null")
    >>> plan.kpis()["fill_rate"]
    0.0
    """
    impl = solvers.get(solver)
    valid = list(impl.Options.model_fields)
    for key in options:
        if key not in valid:
            raise InvalidOptionError(solver, key, valid)
    opts = impl.Options.model_validate(options)
    compiled = scenario.compiled()
    start = time.perf_counter()
    solution = impl.run(compiled, opts)
    elapsed = time.perf_counter() - start
    return Plan.from_solution(compiled, solution, solver=solver, solve_time=elapsed)
