"""The line-split flow (solvers/optimal/line_flow.py): its prices, bound and plan, and the flow path."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from omnistock import solve
from omnistock.compiled import StockState
from omnistock.compiled.allocations import stock_rows, usage
from omnistock.solvers.base import SolveStatus
from omnistock.solvers.greedy import run_orders
from omnistock.solvers.optimal import model as optimal_model
from omnistock.solvers.optimal import solver as optimal_solver
from omnistock.solvers.optimal.bounds import line_split_bound
from omnistock.solvers.optimal.candidates import candidates
from omnistock.solvers.optimal.line_flow import (
    _minus,
    _short_lines,
    flow_plan,
    line_flow,
)
from omnistock.testing import scenarios
from tests.helpers import load, make_scenario, plan_of
from tests.milp_reference import reference_optimum

REL = 1e-6


def _tol(value: float) -> float:
    return REL * max(1.0, abs(value))


def _shortage(qty: int = 1):
    """Five orders of ``qty`` units of A and 3 x ``qty`` at W: two go unfilled."""
    orders = [
        {
            "id": f"o{i}",
            "destination": {"lat": 48.85, "lon": 2.35},
            "lines": [{"sku": "A", "qty": qty}],
        }
        for i in range(5)
    ]
    return make_scenario(
        stock=[{"node": "W", "sku": "A", "on_hand": 3 * qty}],
        orders=orders,
        costs={"package": 5.0, "per_km": 0.0, "unfilled": 100.0},
    )


def test_flow_prices_a_short_row_at_what_its_last_unit_saves():
    """Tests the potentials on a short SKU: the row's price makes the bound exact.

    Each unit served saves 100 (unfilled) - 5 (package), so W's row of A is worth
    95 a unit; at that price the line-split bound is the optimum, 3 x 5 + 2 x 100.
    """
    scenario = _shortage()
    compiled = scenario.compiled()
    cand = candidates(compiled)
    flow = line_flow(compiled, cand, np.ones(compiled.orders.n_lines, dtype=np.bool_))
    assert flow is not None
    assert abs(flow.cost - 215.0) <= 1e-9
    assert int(flow.triples[:, 2].sum()) == 3
    assert abs(flow.prices.free[0] + flow.prices.limit[0] - 95.0) <= 1e-9
    everything = np.ones(5, dtype=np.bool_)
    assert (
        abs(line_split_bound(compiled, cand, everything, flow.prices) - 215.0) <= 1e-9
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3))
def test_flow_prices_are_the_duals_of_its_optimum(scenario):
    """Tests strong duality: the line-split bound at the flow's prices is the flow's optimum.

    The bound at any prices is at most the relaxation's optimum (and at most the
    oracle's); at the potentials read off the residual graph it reaches the
    flow's cost (more where all-or-nothing orders are kept whole), which wrong
    potentials would not.
    """
    assume(len(scenario.orders) > 0)
    compiled = scenario.compiled()
    cand = candidates(compiled)
    flow = line_flow(compiled, cand, np.ones(compiled.orders.n_lines, dtype=np.bool_))
    assert flow is not None
    everything = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    bound = line_split_bound(compiled, cand, everything, flow.prices)
    optimum = reference_optimum(scenario).objective
    assert bound >= flow.cost - _tol(flow.cost)
    assert bound <= optimum + _tol(optimum)
    for prices in (flow.prices.free, flow.prices.limit, flow.prices.capacity):
        assert np.all(prices >= 0.0)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3))
def test_flow_plan_passes_the_checker_and_its_bound_is_valid(scenario):
    """Tests that the flow plan obeys every rule and brackets the oracle's optimum."""
    assume(len(scenario.orders) > 0)
    compiled = scenario.compiled()
    everything = np.ones(compiled.orders.n_orders, dtype=np.bool_)
    result = flow_plan(compiled, candidates(compiled), everything)
    assert result is not None
    plan = plan_of(scenario, result.triples)
    plan.check(scenario)
    optimum = reference_optimum(scenario).objective
    assert result.bound <= optimum + _tol(optimum)
    assert plan.objective >= optimum - _tol(optimum)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3),
    taken=st.integers(min_value=0, max_value=5),
)
def test_lines_solved_again_are_exactly_those_on_an_overdrawn_counter(scenario, taken):
    """Tests the choice of the second flow's lines (step 3 of the plan).

    Greedy first serves the first ``taken`` orders; of the flow's units of the
    others, the lines kept must fit in the stock greedy leaves (free units,
    protected limits, node capacity), and every line sent to the second flow
    must take from a counter that all the units together overdraw.
    """
    assume(len(scenario.orders) > taken)
    compiled = scenario.compiled()
    orders = compiled.orders
    lines = orders.line_order >= taken
    flow = line_flow(compiled, candidates(compiled), lines)
    assert flow is not None
    greedy = run_orders(
        compiled, np.arange(taken), StockState.of_network(compiled.network)
    )
    left = _minus(compiled, StockState.of_network(compiled.network), greedy)
    again = _short_lines(compiled, left, flow.triples)
    line, node, qty = flow.triples.T
    assert not again[~lines].any()
    stays = ~again[line]
    row_all, row_protected, node_units = usage(
        compiled, line[stays], node[stays], qty[stays]
    )
    assert np.all(row_all <= left.free) and np.all(row_protected <= left.limit)
    assert np.all(node_units <= left.capacity)
    row_all, row_protected, node_units = usage(compiled, line, node, qty)
    rows = stock_rows(compiled.network, orders.line_sku[line], node)
    exempt = orders.order_exempt[orders.line_order[line]]
    for short_line in np.flatnonzero(again):
        on = np.flatnonzero(line == short_line)
        assert any(
            row_all[rows[k]] > left.free[rows[k]]
            or (not exempt[k] and row_protected[rows[k]] > left.limit[rows[k]])
            or node_units[node[k]] > left.capacity[node[k]]
            for k in on
        )


def test_only_lines_on_a_row_greedy_has_emptied_are_solved_again():
    """Tests step 3 on the short SKU: greedy takes two of W's three units first.

    The flow, planning the other three orders on W's whole stock, puts its three
    units on W's row of A: all three lines must be solved again (one unit is
    left for them). With nothing taken first, no line is.
    """
    compiled = _shortage().compiled()
    network = StockState.of_network(compiled.network)
    lines = compiled.orders.line_order >= 2
    flow = line_flow(compiled, candidates(compiled), lines)
    assert flow is not None and int(flow.triples[:, 2].sum()) == 3
    assert not _short_lines(compiled, network, flow.triples).any()
    left = _minus(compiled, network, run_orders(compiled, np.arange(2), network))
    assert int(left.free[0]) == 1
    again = _short_lines(compiled, left, flow.triples)
    assert set(np.flatnonzero(again)) == set(flow.triples[:, 0])


def test_flow_plan_serves_an_all_or_nothing_order_whole_or_not_at_all():
    """Tests the repair of what the flow gets wrong: an all-or-nothing order half-filled.

    B is short (1 unit for 2 ordered); the flow fills A and what it can of B. The
    plan must leave the all-or-nothing order unfilled and give nothing of it.
    """
    scenario = make_scenario(
        stock=[
            {"node": "W", "sku": "A", "on_hand": 5},
            {"node": "W", "sku": "B", "on_hand": 1},
        ],
        orders=[
            {
                "id": "o1",
                "destination": {"lat": 45.75, "lon": 4.85},
                "allow_partial": False,
                "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}],
            }
        ],
    )
    compiled = scenario.compiled()
    cand = candidates(compiled)
    flow = line_flow(compiled, cand, np.ones(2, dtype=np.bool_))
    # The flow fills A and half of B.
    assert flow is not None and int(flow.triples[:, 2].sum()) == 2
    result = flow_plan(compiled, cand, np.ones(1, dtype=np.bool_))
    assert result is not None
    assert result.triples.shape[0] == 0
    plan = plan_of(scenario, result.triples)
    plan.check(scenario)
    assert abs(plan.objective - reference_optimum(scenario).objective) <= 1e-6


def test_flow_plan_keeps_an_order_within_its_split_limit():
    """Tests the other repair: the flow ships an order from more nodes than it may use.

    W holds only A, S only B, and the order may ship one package: the flow takes
    A from W and B from S; the plan must ship from one node (the optimum: the
    two units of A from W, since an unfilled unit of either costs the same).
    """
    scenario = make_scenario(
        stock=[
            {"node": "W", "sku": "A", "on_hand": 5},
            {"node": "S", "sku": "B", "on_hand": 5},
        ],
        orders=[
            {
                "id": "o1",
                "destination": {"lat": 45.75, "lon": 4.85},
                "max_splits": 1,
                "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}],
            }
        ],
    )
    compiled = scenario.compiled()
    cand = candidates(compiled)
    flow = line_flow(compiled, cand, np.ones(2, dtype=np.bool_))
    assert flow is not None and np.unique(flow.triples[:, 1]).size == 2
    result = flow_plan(compiled, cand, np.ones(1, dtype=np.bool_))
    assert result is not None
    assert np.unique(result.triples[:, 1]).size == 1
    plan = plan_of(scenario, result.triples)
    plan.check(scenario)
    assert abs(plan.objective - reference_optimum(scenario).objective) <= 1e-6


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3))
def test_optimal_through_the_flow_path_still_reaches_the_optimum(scenario):
    """Tests that a model that starts from the flow path is still solved exactly (gap 0)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimal_model, "flow_first", lambda *args: True)
        plan = solve(scenario, solver="optimal", time_limit=20)
    plan.check(scenario)
    expected = reference_optimum(scenario).objective if scenario.orders else 0.0
    assert abs(plan.objective - expected) <= _tol(expected)
    assert plan.status == SolveStatus.OPTIMAL


def test_flow_path_alone_ends_a_model_within_the_gap_asked():
    """Tests the early return: with a loose gap the flow plan and bound end the model.

    Two-unit orders (one-unit orders would go to the unit-order flow instead):
    three served, 3 x 5 + 2 x 2 x 100; the flow's bound is the same.
    """
    scenario = _shortage(qty=2)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimal_model, "flow_first", lambda *args: True)
        patch.setattr(
            optimal_model,
            "column_generation",
            lambda *args, **kwargs: pytest.fail("column generation ran"),
        )
        plan = solve(scenario, solver="optimal", gap=0.01, warm_start=False)
    plan.check(scenario)
    assert abs(plan.objective - 415.0) <= 1e-6
    assert plan.bound is not None and abs(plan.bound - 415.0) <= 1e-6


@pytest.mark.parametrize(
    ("gap", "bound_scale", "expected"),
    [
        (0.0, 1.0, SolveStatus.OPTIMAL),
        (0.5, 0.9, SolveStatus.FEASIBLE),
        (0.01, 0.5, SolveStatus.TIME_LIMIT),
    ],
)
def test_batch_within_the_gap_is_not_reported_as_time_limited(
    gap, bound_scale, expected
):
    """Tests the driver's status when a model ran out of time.

    Every model is made to report ``time_limit`` with its bound scaled: the batch
    is ``time_limit`` only when its own gap is still above the one asked.
    """
    scenario = load("scenario_01")
    real = optimal_solver.solve_model

    def timed_out(*args, **kwargs):
        result = real(*args, **kwargs)
        result.status = SolveStatus.TIME_LIMIT
        result.bound *= bound_scale
        return result

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(optimal_solver, "solve_model", timed_out)
        plan = solve(scenario, solver="optimal", gap=gap)
    assert plan.status == expected
