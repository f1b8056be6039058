"""The contract every registered solver obeys (scikit-learn's check_estimator, for solvers)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings

from omnistock import (
    InvalidOptionError,
    Scenario,
    UnknownSolverError,
    available_solvers,
    solve,
)
from omnistock.testing import scenarios
from tests.helpers import make_scenario

# The look-ahead policy is a policy for simulations over time; it obeys the same rules.
SOLVERS = available_solvers()
QUICK = {"optimal": {"time_limit": 10.0}}


@pytest.mark.parametrize("solver", SOLVERS)
@settings(max_examples=25)
@given(scenario=scenarios(max_nodes=5, max_orders=5))
def test_plans_pass_the_checker(solver: str, scenario: Scenario) -> None:
    plan = solve(scenario, solver=solver, **QUICK.get(solver, {}))
    plan.check(scenario)
    assert plan.solver == solver


@pytest.mark.parametrize("solver", SOLVERS)
def test_same_input_same_plan(solver: str) -> None:
    scenario = make_scenario()
    a = solve(scenario, solver=solver, **QUICK.get(solver, {}))
    b = solve(scenario, solver=solver, **QUICK.get(solver, {}))
    assert a.allocations.equals(b.allocations) and a.objective == b.objective


@pytest.mark.parametrize("solver", SOLVERS)
def test_empty_batch(solver: str) -> None:
    scenario = make_scenario(orders=[])
    plan = solve(scenario, solver=solver, **QUICK.get(solver, {}))
    assert (
        plan.objective == 0.0
        and plan.allocations.is_empty()
        and plan.unfilled.is_empty()
    )


def test_unknown_solver_lists_the_valid_ones() -> None:
    with pytest.raises(
        UnknownSolverError, match=r"solver must be one of .*null.* Got 'optimum'"
    ):
        solve(make_scenario(), solver="optimum")


def test_unknown_option_lists_the_valid_ones() -> None:
    with pytest.raises(
        InvalidOptionError,
        match=r"solver 'null' takes no options. Got unknown option 'speed'",
    ):
        solve(make_scenario(), solver="null", speed=3)
