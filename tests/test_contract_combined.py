"""The contract's extensions together: v1.1 rate cards, v1.2 protection, S11 lockers.

Each extension has its own tests; these hold the solvers to the independent
reference (tests/milp_reference.py) on scenarios that use them at once, where
one solver path must honour every rule.
"""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from omnistock import Scenario, solve
from omnistock.check import plan_violations
from omnistock.solvers import available_solvers
from omnistock.testing import scenarios
from tests.milp_reference import reference_optimum
from tests.test_lockers import at_lockers

REL = 1e-6
SETTINGS = settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(a), abs(b))


@st.composite
def _crowded(draw: st.DrawFn, max_orders: int, min_orders: int) -> Scenario:
    """Orders crowding 1-2 small lockers, and a protection table on the warehouses."""
    data = draw(at_lockers(max_orders=max_orders, min_orders=min_orders)).model_dump()
    shippers = [n["id"] for n in data["nodes"] if n["kind"] != "locker"]
    keys = st.tuples(
        st.sampled_from(shippers),
        st.sampled_from(["A", "B"]),
        st.sampled_from(["standard", "vip"]),
    )
    entries = draw(st.lists(keys, min_size=1, max_size=6, unique=True))
    data["protection"] = [
        {"node": n, "sku": sku, "tier": t, "units": draw(st.integers(0, 2))}
        for n, sku, t in entries
    ]
    if draw(st.booleans()):  # v1.1: weights, a pickup card, a charge per order
        data["skus"] = [{"sku": "A", "weight_kg": 2.0}, {"sku": "B", "weight_kg": 0.5}]
        data["costs"]["unfilled_order"] = draw(st.sampled_from([0.0, 30.0]))
        data["costs"]["rate_card"] = [
            {"method": "pickup", "max_km": 150.0, "package": 1.0, "per_kg": 0.5},
            {"method": "pickup", "max_km": None, "package": 4.0, "per_kg": 1.0},
        ]
    return Scenario.model_validate(data)


def together(max_orders: int = 5, min_orders: int = 0) -> st.SearchStrategy[Scenario]:
    """Scenarios with a protection table, up to two lockers and maybe a rate card."""
    return st.one_of(
        _crowded(max_orders, max(min_orders, 1)),
        st.booleans().flatmap(
            lambda rates: scenarios(
                max_nodes=4,
                max_lockers=2,
                protection=True,
                rates=rates,
                max_orders=max_orders,
                min_orders=min_orders,
            )
        ),
    )


@SETTINGS
@given(together(max_orders=5))
def test_optimal_equals_the_reference(scenario: Scenario) -> None:
    plan = solve(scenario, solver="optimal", time_limit=20)
    assert plan_violations(plan, scenario) == []
    assert _close(plan.objective, reference_optimum(scenario).objective)


@SETTINGS
@given(together(max_orders=1, min_orders=1))
def test_greedy_is_exact_on_one_order(scenario: Scenario) -> None:
    plan = solve(scenario, solver="greedy")
    assert plan_violations(plan, scenario) == []
    assert _close(plan.objective, reference_optimum(scenario).objective)


@SETTINGS
@given(together(max_orders=5))
def test_every_solver_plan_passes_check(scenario: Scenario) -> None:
    for name in available_solvers():
        plan = solve(scenario, solver=name)
        assert plan_violations(plan, scenario) == [], name
