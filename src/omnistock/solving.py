"""The one entry point ``solve`` and the one option checker ``validate_options``."""

from __future__ import annotations

import os
import reprlib
import time
from collections.abc import Mapping
from concurrent.futures import Executor
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from omnistock import solvers
from omnistock.exceptions import InvalidArgument, InvalidOptionError, InvalidOptionValue
from omnistock.model.scenario import Scenario
from omnistock.plan import Plan
from omnistock.progress import ensure_kernels

__all__ = ["as_scenario", "available_solvers", "solve", "validate_options"]

available_solvers = solvers.available_solvers


def validate_options(solver: str, options: Mapping[str, Any]) -> BaseModel:
    """The solver's options object for ``options``, or the error naming what is wrong.

    Every caller that hands options to a solver (``solve``, ``replan``,
    ``simulate``'s ``policy_options`` and ``replan_options``, ``hindsight`` and
    the command line) checks them here, so a bad option reads the same everywhere.

    Parameters
    ----------
    solver
        A registered solver name (:func:`available_solvers`).
    options
        Option name -> value (docs/solvers.md).

    Returns
    -------
    pydantic.BaseModel
        An instance of the solver's ``Options`` model.

    Raises
    ------
    UnknownSolverError
        ``solver`` is not registered.
    InvalidOptionError
        An option the solver does not take; the message lists those it takes.
    InvalidOptionValue
        A value the solver cannot use; the message names solver, option and value.

    Examples
    --------
    >>> from omnistock.solving import validate_options
    >>> validate_options("optimal", {"time_limit": 5}).time_limit
    5.0
    >>> validate_options("optimal", {"time_limit": -1})
    Traceback (most recent call last):
    ...
    omnistock.exceptions.InvalidOptionValue: solver 'optimal', option 'time_limit': \
Input should be greater than 0. Got time_limit=-1.
    """
    model = solvers.get(solver).Options
    valid = list(model.model_fields)
    for key in options:
        if key not in valid:
            raise InvalidOptionError(solver, key, valid)
    try:
        return model.model_validate(dict(options))
    except ValidationError as err:
        first = err.errors()[0]
        option = str(first["loc"][0]) if first["loc"] else "options"
        value = options.get(option, first.get("input"))
        more = len(err.errors()) - 1
        detail = (
            f"{str(first['msg']).removeprefix('Value error, ').rstrip('.')}. "
            f"Got {option}={reprlib.repr(value)}."
            + (f" ({more} more option error(s).)" if more else "")
        )
        raise InvalidOptionValue(solver, option, detail) from err


def as_scenario(
    scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str], function: str
) -> Scenario:
    """A Scenario from one, from its JSON as a dict, or from a path (JSON file or frames folder).

    Anything else raises :class:`~omnistock.exceptions.InvalidArgument` naming
    ``function`` and the type given; a dict or file that is not a valid scenario
    raises pydantic's ``ValidationError`` (or ``ScenarioError``) as reading does.
    """
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, Mapping):
        return Scenario.model_validate(scenario)
    if isinstance(scenario, str | os.PathLike):
        from omnistock.model.io import read_scenario

        return read_scenario(Path(scenario))
    detail = (
        "scenario must be a Scenario, its JSON as a dict, or the path of a scenario "
        f"JSON file or frames folder. Got a {type(scenario).__name__}."
    )
    raise InvalidArgument(function=function, argument="scenario", detail=detail)


def solve(
    scenario: Scenario | Mapping[str, Any] | str | os.PathLike[str],
    *,
    solver: str = "greedy",
    executor: Executor | None = None,
    **options: Any,
) -> Plan:
    """Allocate the scenario's orders with the named solver.

    Parameters
    ----------
    scenario
        The scenario (compiled once and cached on it), its JSON as a dict, or the
        path of a scenario JSON file or frames folder (``model.io.read_scenario``).
    solver
        One of :func:`available_solvers`.
    executor
        None: solve in this process. Any ``concurrent.futures.Executor`` (a
        ``ProcessPoolExecutor``, a Dask ``distributed.Client`` or its
        ``get_executor()``): the batch's independent components are solved as
        tasks and merged (``omnistock.scale``, docs/scale-out.md); greedy and a
        proven optimum give the same plan as in process.
    **options
        The solver's options (docs/solvers.md), checked by :func:`validate_options`:
        an unknown one raises :class:`~omnistock.exceptions.InvalidOptionError`
        listing the valid ones, a bad value
        :class:`~omnistock.exceptions.InvalidOptionValue`.

    Returns
    -------
    Plan
        ``plan.solve_time`` is the solver's wall time alone; the one-time loading
        of the kernels a process pays on its first solve with a solver (compiled
        on a fresh install, read from numba's cache after) is ``plan.load_time``.

    Examples
    --------
    >>> from omnistock import samples, solve
    >>> net = samples.network("small", seed=1)
    >>> plan = solve(net.with_orders(samples.orders(net, 5, seed=1)), solver="null")
    >>> plan.kpis()["fill_rate"]
    0.0
    """
    scenario = as_scenario(scenario, "solve")
    if executor is not None:
        from omnistock.scale.executors import check_executor

        check_executor(executor, "solve")
    impl = solvers.get(solver)
    opts = validate_options(solver, options)
    compiled = scenario.compiled()
    # One-time loading (kernels compiled or read from numba's cache, back-ends
    # imported) is timed apart, so solve_time is the solve alone.
    load_time = ensure_kernels([solver])
    start = time.perf_counter()
    if executor is None:
        solution = impl.run(compiled, opts)
    else:
        from omnistock.scale.partition import solve_batch

        solution = solve_batch(compiled, impl, opts, executor)
    elapsed = time.perf_counter() - start
    return Plan.from_solution(
        compiled, solution, solver=solver, solve_time=elapsed, load_time=load_time
    )
