"""The contract every registered solver obeys (scikit-learn's check_estimator, for solvers)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from omnistock import (
    InvalidOptionError,
    Scenario,
    UnknownSolverError,
    available_solvers,
    solve,
    solvers,
)
from omnistock.compiled import StockState
from omnistock.solvers.sequential import solve_orders, take_units
from omnistock.solving import validate_options
from omnistock.testing import scenarios
from tests.helpers import make_scenario
from tests.reference import one_order_optimum

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


# --- declared capabilities (issue 11): each one a solver declares is held here ---

REL = 1e-6
CAPS = {name: solvers.get(name).capabilities for name in SOLVERS}
# Capability -> the options it promises in the solver's Options model.
CAPABILITY_OPTIONS = {
    "time_limit": {"time_limit"},
    "priced": {"row_cost", "exempt_row_cost"},
    "progress": {"progress"},
    "seeded": {"seed"},
}


def _with(capability: str) -> list[str]:
    return [n for n in SOLVERS if getattr(CAPS[n], capability)]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(a), abs(b))


@pytest.mark.parametrize("solver", SOLVERS)
def test_declared_capabilities_match_the_options(solver: str) -> None:
    """A capability that names options holds exactly when the Options model has them."""
    fields = set(solvers.get(solver).Options.model_fields)
    for capability, options in CAPABILITY_OPTIONS.items():
        assert getattr(CAPS[solver], capability) == (options <= fields), capability


def test_capabilities_are_declared_somewhere() -> None:
    # Guards the parametrizations below against running on no solver at all.
    assert _with("exact") and _with("exact_per_order") and _with("time_limit")


@pytest.mark.parametrize("solver", _with("time_limit"))
def test_time_limit_solvers_accept_a_time_limit(solver: str) -> None:
    scenario = make_scenario()
    plan = solve(scenario, solver=solver, time_limit=5.0)
    plan.check(scenario)


@pytest.mark.parametrize("solver", _with("progress"))
def test_progress_solvers_call_back(solver: str) -> None:
    calls: list[tuple[int, int]] = []
    options = {
        **QUICK.get(solver, {}),
        "progress": lambda d, t, *_: calls.append((d, t)),
    }
    solve(make_scenario(), solver=solver, **options)
    assert calls and all(0 <= d <= t for d, t in calls)


@pytest.mark.parametrize("solver", _with("seeded"))
def test_seeded_solvers_take_a_seed(solver: str) -> None:
    scenario = make_scenario()
    solve(scenario, solver=solver, seed=7, **QUICK.get(solver, {})).check(scenario)


@pytest.mark.parametrize(
    "solver", sorted(set(_with("exact_per_order")) | set(_with("exact")))
)
@settings(max_examples=25)
@given(scenario=scenarios(max_nodes=5, max_skus=3, max_orders=1, min_orders=1))
def test_exact_per_order_on_one_order_is_the_brute_force_optimum(
    solver: str, scenario: Scenario
) -> None:
    plan = solve(scenario, solver=solver, **QUICK.get(solver, {}))
    assert _close(plan.objective, one_order_optimum(scenario)), plan.objective


@pytest.mark.parametrize("solver", SOLVERS)
@settings(max_examples=25)
@given(scenario=scenarios(max_nodes=5, max_orders=5))
def test_bound_reported_by_exact_solvers_and_never_above_objective(
    solver: str, scenario: Scenario
) -> None:
    plan = solve(scenario, solver=solver, **QUICK.get(solver, {}))
    if CAPS[solver].exact:
        assert plan.bound is not None
    if plan.bound is not None:
        assert plan.bound <= plan.objective + REL * max(1.0, abs(plan.objective))


@pytest.mark.parametrize("solver", _with("per_order"))
@settings(max_examples=25)
@given(scenario=scenarios(max_nodes=5, max_orders=5), cut=st.integers(0, 5))
def test_per_order_solvers_give_the_same_plan_in_two_parts(
    solver: str, scenario: Scenario, cut: int
) -> None:
    """Deciding the first orders, then the rest on the stock they left, is one solve."""
    compiled = scenario.compiled()
    impl = solvers.get(solver)
    options: dict[str, Any] = {}
    if CAPS[solver].priced:  # fixed prices: the plan may not depend on the batch
        zero = np.zeros(compiled.network.stock_node.shape[0])
        options = {"row_cost": zero, "exempt_row_cost": zero}
    opts = validate_options(solver, options)
    whole = impl.run(compiled, opts)
    n = compiled.orders.n_orders
    state = StockState.from_network(compiled.network)
    parts = []
    for idx in (np.arange(min(cut, n)), np.arange(min(cut, n), n)):
        done = solve_orders(compiled, idx, impl, opts, state)
        take_units(state, compiled, done.triples)
        parts.append(done.triples)
    line, node, qty = (np.concatenate([p[i] for p in parts]) for i in range(3))
    assert np.array_equal(line, whole.line_idx)
    assert np.array_equal(node, whole.node_idx)
    assert np.array_equal(qty, whole.qty)
