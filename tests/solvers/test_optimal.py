"""The ``optimal`` solver against the independent MILP (tests/milp_reference.py)."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, assume, given, settings

from omnistock import available_solvers, solve
from omnistock.exceptions import InvalidOptionError
from omnistock.solvers.base import SolveStatus
from omnistock.testing import scenarios
from tests.helpers import golden_cases, load, make_scenario, plan_of
from tests.milp_reference import reference_optimum

REL = 1e-6


def close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(a), abs(b))


GOLDEN = golden_cases()


@pytest.mark.parametrize(
    ("file", "n_orders", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN]
)
def test_reference_reaches_golden_objective(file, n_orders, expected):
    """Tests that the oracle itself reproduces every worked scenario's optimum."""
    assert close(
        reference_optimum(load(file.removesuffix(".json"))).objective, expected
    )


@pytest.mark.parametrize(
    ("file", "n_orders", "expected"), GOLDEN, ids=[g[0] for g in GOLDEN]
)
def test_optimal_reaches_golden_objective(file, n_orders, expected):
    """Tests that optimal proves the listed optimum of every worked scenario."""
    scenario = load(file.removesuffix(".json"))
    plan = solve(scenario, solver="optimal", time_limit=20)
    plan.check(scenario)
    assert close(plan.objective, expected)
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.gap is not None
    assert plan.gap <= REL


@pytest.mark.parametrize(
    "options",
    [{"backend": "highs"}, {"backend": "cp_sat"}, {"lp_engine": "glop"}],
    ids=["highs", "cp_sat", "glop_lp"],
)
def test_other_backends_reach_golden_objective(options):
    """Tests that every selectable MILP back-end and LP engine proves the same optima."""
    for file, _, expected in GOLDEN:
        scenario = load(file.removesuffix(".json"))
        plan = solve(scenario, solver="optimal", time_limit=20, **options)
        assert close(plan.objective, expected), file
        assert plan.status == SolveStatus.OPTIMAL, file


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3))
def test_optimal_equals_reference_on_random_scenarios(scenario):
    """Tests that optimal reaches the oracle's optimum with gap 0 and a valid plan."""
    plan = solve(scenario, solver="optimal", time_limit=20)
    plan.check(scenario)
    assert close(plan.objective, reference_optimum(scenario).objective)
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.gap is not None
    assert plan.gap <= REL


@pytest.mark.skipif("greedy" not in available_solvers(), reason="greedy not registered")
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3))
def test_greedy_never_beats_optimal(scenario):
    """Tests that no greedy plan costs less than the proven optimum."""
    best = solve(scenario, solver="optimal", time_limit=20).objective
    greedy = solve(scenario, solver="greedy").objective
    assert greedy >= best - REL * max(1.0, abs(best))


def test_empty_batch_is_optimal_with_zero_cost():
    """Tests that a scenario without orders gives an empty optimal plan."""
    plan = solve(make_scenario(orders=[]), solver="optimal")
    assert plan.objective == 0.0
    assert plan.allocations.height == 0
    assert plan.status == SolveStatus.OPTIMAL


def test_unfillable_order_is_reported_unfilled():
    """Tests that an order no node can serve is all unfilled and counts in the bound."""
    order = {
        "id": "o1",
        "destination": {"lat": 45.0, "lon": 4.0},
        "lines": [{"sku": "Z", "qty": 3}],
    }
    plan = solve(make_scenario(orders=[order]), solver="optimal")
    assert plan.unfilled["qty"].to_list() == [3]
    assert plan.bound == pytest.approx(3000.0)
    assert plan.status == SolveStatus.OPTIMAL


def test_progress_reports_every_component():
    """Tests that progress is called per model and ends at (total, total)."""
    calls: list[tuple[int, int, float]] = []
    scenario = load("scenario_07")
    plan = solve(
        scenario, solver="optimal", progress=lambda d, t, o: calls.append((d, t, o))
    )
    assert calls
    assert calls[-1][0] == calls[-1][1]
    assert close(calls[-1][2], plan.objective)


def test_unknown_backend_is_rejected():
    """Tests that the back-end option is validated."""
    with pytest.raises(ValueError, match="backend"):
        solve(load("scenario_01"), solver="optimal", backend="gurobi")


def test_unknown_option_is_rejected():
    """Tests that a misspelt option names the valid ones."""
    with pytest.raises(InvalidOptionError, match="time_limit"):
        solve(load("scenario_01"), solver="optimal", timelimit=3)


@pytest.fixture(scope="module")
def medium_batch():
    from omnistock import samples

    net = samples.network("medium", seed=3)
    return net.with_orders(samples.orders(net, 3000, seed=3))


@pytest.mark.slow
def test_time_limited_large_batch_returns_checked_plan_with_bound(medium_batch):
    """Tests that a short time limit on 3,000 orders gives a valid plan, bound and gap."""
    plan = solve(medium_batch, solver="optimal", time_limit=4.0)
    plan.check(medium_batch)
    assert plan.status in (
        SolveStatus.TIME_LIMIT,
        SolveStatus.FEASIBLE,
        SolveStatus.OPTIMAL,
    )
    assert plan.bound is not None
    assert plan.gap is not None
    assert 0.0 < plan.bound <= plan.objective
    assert plan.solve_time < 4.0 + 3.0  # the limit, plus the warm start and set-up
    if "greedy" in available_solvers():
        assert plan.objective <= solve(medium_batch, solver="greedy").objective + 1e-6


@pytest.mark.slow
def test_large_batch_reaches_one_percent(medium_batch):
    """Tests that 3,000 medium orders get within 1 % of the bound in well under a minute."""
    plan = solve(medium_batch, solver="optimal", gap=0.01, time_limit=60.0)
    plan.check(medium_batch)
    assert plan.gap is not None
    assert plan.gap <= 0.01
    assert plan.status in (SolveStatus.FEASIBLE, SolveStatus.OPTIMAL)


def _one_unit_orders(scenario):
    """The scenario with each order cut to its first line and one unit."""
    data = scenario.model_dump()
    for order in data["orders"]:
        order["lines"] = [{"sku": order["lines"][0]["sku"], "qty": 1}]
    return type(scenario).model_validate(data)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(max_nodes=5, max_skus=2, max_orders=8, max_lines=1))
def test_one_unit_orders_go_through_min_cost_flow_exactly(scenario):
    """Tests that one-unit, one-line batches are solved by the flow at the oracle's optimum."""
    scenario = _one_unit_orders(scenario)
    plan = solve(scenario, solver="optimal", time_limit=20)
    plan.check(scenario)
    assert close(plan.objective, reference_optimum(scenario).objective)
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.info["models"] == 0
    assert plan.gap is not None
    assert plan.gap <= REL


def test_flow_bound_is_tight_when_costs_round_exactly():
    """Tests that the flow's bound is not half a step low when no cost rounds (found by hypothesis).

    One order, one warehouse at its door, unit cost 0.2: 0.2 x 1e6 rounds with
    an error near 3e-11, so the bound is 0.2 up to ~1e-15, not 0.2 - 1e-6.
    """
    scenario = make_scenario(
        nodes=[
            {"id": "N0", "kind": "warehouse", "lat": 44.0, "lon": 0.0, "unit_cost": 0.2}
        ],
        stock=[{"node": "N0", "sku": "S1", "on_hand": 1}],
        orders=[
            {
                "id": "O0",
                "destination": {"lat": 44.0, "lon": 0.0},
                "lines": [{"sku": "S1", "qty": 1}],
            }
        ],
        costs={"package": 0.0, "per_km": 0.0, "unfilled": 5.0},
    )
    plan = solve(scenario, solver="optimal")
    assert plan.info["flow_orders"] == 1
    assert plan.objective == pytest.approx(0.2, abs=1e-12)
    assert plan.status == SolveStatus.OPTIMAL
    assert plan.gap is not None
    assert plan.gap <= 1e-9


def test_flow_obeys_protection_capacity_and_tiers():
    """Tests the flow network on protected rows, a capacity and an exempt tier."""
    near = {"lat": 45.76, "lon": 4.84}
    orders = [
        {
            "id": f"o{i}",
            "tier": tier,
            "destination": near,
            "lines": [{"sku": sku, "qty": 1}],
        }
        for i, (tier, sku) in enumerate(
            [
                ("standard", "A"),
                ("standard", "A"),
                ("vip", "A"),
                ("standard", "B"),
                ("vip", "B"),
            ]
        )
    ]
    scenario = make_scenario(
        nodes=[
            {"id": "W", "kind": "warehouse", "lat": 48.85, "lon": 2.35, "capacity": 2},
            {"id": "S", "kind": "store", "lat": 45.76, "lon": 4.84},
        ],
        stock=[
            {"node": "W", "sku": "A", "on_hand": 5},
            {"node": "W", "sku": "B", "on_hand": 5},
            {"node": "S", "sku": "A", "on_hand": 2},
            {"node": "S", "sku": "B", "on_hand": 1},
        ],
        rules={"last_unit_protection": {"store": 1}, "tier_weights": {"vip": 3.0}},
        orders=orders,
    )
    plan = solve(scenario, solver="optimal")
    plan.check(scenario)
    assert plan.info["flow_orders"] == 5
    assert close(plan.objective, reference_optimum(scenario).objective)
    assert plan.status == SolveStatus.OPTIMAL


def _fewest_first_plan(scenario):
    """The second warm start of ``optimal`` as a checked-able Plan."""
    from omnistock.solvers.optimal.candidates import candidates
    from omnistock.solvers.optimal.incumbents import fewest_options_first

    compiled = scenario.compiled()
    return plan_of(
        scenario, fewest_options_first(compiled, candidates(compiled)), "greedy"
    )


def test_least_flexible_orders_first_keeps_the_unit_the_same_day_order_needs():
    """Tests the second warm start on a batch where greedy starves a later order.

    o2 (same day) can only be served by the store next door; in scenario order
    greedy ships o1 from it. Deciding o2 first (one candidate package against
    two) keeps the unit: the plan fills both orders, like the optimum.
    """
    from tests.solvers.test_lookahead import starving

    scenario = starving()
    plan = _fewest_first_plan(scenario)
    plan.check(scenario)
    assert plan.unfilled.is_empty()
    assert plan.objective < solve(scenario, solver="greedy").objective
    assert close(plan.objective, solve(scenario, solver="optimal").objective)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3))
def test_least_flexible_orders_first_plans_pass_the_checker(scenario):
    """Tests that the reordered greedy plan is feasible under every rule."""
    assume(len(scenario.orders) > 0)  # the oracle needs at least one order
    plan = _fewest_first_plan(scenario)
    plan.check(scenario)
    assert plan.objective >= reference_optimum(scenario).objective - 1e-6 * max(
        1.0, abs(plan.objective)
    )


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3))
def test_packages_are_found_from_the_orders_of_a_plan(scenario):
    """Tests the look-up the solver's models rely on: packages listed order by order.

    ``_pair_ids`` searches only the packages of the plan's orders, which needs
    ``pair_order`` (and ``line``) ascending; each triple of the greedy plan must
    map to the package of its own order and node.
    """
    import numpy as np

    from omnistock.solvers.optimal.candidates import candidates
    from omnistock.solvers.optimal.incumbents import triples_of, warm_start_solution
    from omnistock.solvers.optimal.model import pair_ids

    compiled = scenario.compiled()
    cand = candidates(compiled)
    assert np.all(np.diff(cand.pair_order) >= 0)
    assert np.all(np.diff(cand.line) >= 0)
    greedy = warm_start_solution(compiled)
    assume(greedy is not None)
    triples = triples_of(greedy)
    ids = pair_ids(compiled, cand, triples)
    assert np.all(ids >= 0)
    owner = compiled.orders.line_order[triples[:, 0]]
    assert np.array_equal(cand.pair_order[ids], owner)
    assert np.array_equal(cand.pair_node[ids], triples[:, 1])


def test_a_batch_that_does_not_fit_in_memory_gets_greedys_plan(monkeypatch):
    """Tests the fault: the candidates raise MemoryError; the answer is greedy's, said so."""
    import omnistock.solvers.optimal.solver as optimal_solver

    def no_memory(*args, **kwargs):
        raise MemoryError

    scenario = load("scenario_03")
    monkeypatch.setattr(optimal_solver, "candidates", no_memory)
    plan = solve(scenario, solver="optimal")
    plan.check(scenario)
    assert plan.info["out_of_memory"] is True
    assert plan.status == SolveStatus.FEASIBLE
    assert plan.bound == 0.0
    greedy = solve(scenario, solver="greedy")
    assert plan.allocations.equals(greedy.allocations)
