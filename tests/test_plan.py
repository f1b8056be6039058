"""Plan: priced by the one cost kernel, KPIs, files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnistock import Plan, Scenario, SolveStatus, solve
from omnistock.check import plan_violations
from omnistock.solvers.base import Solution
from omnistock.testing import scenarios
from tests.helpers import GOLDEN, make_scenario


@st.composite
def scenario_and_allocation(draw: st.DrawFn) -> tuple[Scenario, Solution]:
    """A scenario and arbitrary (possibly rule-breaking) allocation triples."""
    scenario = draw(scenarios(max_nodes=4, max_orders=4, min_orders=1))
    c = scenario.compiled()
    k = draw(st.integers(0, 6))
    lines = draw(st.lists(st.integers(0, c.orders.n_lines - 1), min_size=k, max_size=k))
    nodes = draw(
        st.lists(st.integers(0, c.network.n_nodes - 1), min_size=k, max_size=k)
    )
    qty = [draw(st.integers(1, q)) for q in c.orders.line_qty[lines]]
    sol = Solution(
        np.array(lines, dtype=np.int64),
        np.array(nodes, dtype=np.int64),
        np.array(qty, dtype=np.int64),
    )
    return scenario, sol


@given(scenario_and_allocation())
def test_objective_equals_the_checkers_recomputed_cost(
    case: tuple[Scenario, Solution],
) -> None:
    scenario, sol = case
    plan = Plan.from_solution(scenario.compiled(), sol)
    # Rules may be broken (random allocation), but never the price nor the unfilled report.
    assert not [v for v in plan_violations(plan, scenario) if v.startswith("S9")]
    assert plan.objective == pytest.approx(sum(plan.cost_breakdown.values()))
    unfilled_rule = [
        v for v in plan_violations(plan, scenario) if "unfilled reported" in v
    ]
    assert not unfilled_rule


def test_duplicate_triples_are_merged() -> None:
    s = make_scenario()
    sol = Solution(np.array([0, 0]), np.array([0, 0]), np.array([1, 1]))
    plan = Plan.from_solution(s.compiled(), sol)
    assert plan.allocations.rows() == [("o1", "A", "W", 2)]
    plan.check(s)


def test_kpis_of_a_hand_made_plan() -> None:
    s = make_scenario(
        orders=[
            {
                "id": "o1",
                "destination": {"lat": 45.75, "lon": 4.85},
                "lines": [{"sku": "A", "qty": 4}],
            },
            {
                "id": "o2",
                "destination": {"lat": 45.75, "lon": 4.85},
                "lines": [{"sku": "A", "qty": 2}],
            },
        ]
    )
    # o1 split over W and S (3 + 1), o2 unfilled.
    plan = Plan.from_solution(
        s.compiled(), Solution(np.array([0, 0]), np.array([0, 1]), np.array([3, 1]))
    )
    k = plan.kpis()
    assert k["orders"] == 2 and k["units"] == 6 and k["units_filled"] == 4
    assert k["fill_rate"] == pytest.approx(4 / 6)
    assert k["order_fill_rate"] == pytest.approx(0.5)
    assert (
        k["packages"] == 2 and k["packages_per_order"] == 2.0 and k["split_rate"] == 1.0
    )
    assert k["cost_per_order"] == pytest.approx(plan.objective / 2)
    assert plan.cost_breakdown["unfilled"] == pytest.approx(2 * 1000.0)
    assert plan.cost_breakdown["package"] == pytest.approx(2 * 5.0)


def test_json_and_parquet_round_trip(tmp_path: Path) -> None:
    s = Scenario.from_json(GOLDEN / "scenario_05.json")
    c = s.compiled()
    plan = Plan.from_solution(
        c,
        Solution(np.array([0]), np.array([c.network.n_nodes - 1]), np.array([1])),
        solver="hand",
    )
    for again in (
        Plan.from_json(plan.to_json(tmp_path / "p.json")),
        Plan.from_json(tmp_path / "p.json"),
    ):
        assert again.allocations.equals(plan.allocations) and again.unfilled.equals(
            plan.unfilled
        )
        assert (
            again.objective == plan.objective and again.status == SolveStatus.FEASIBLE
        )
    plan.to_parquet(tmp_path / "p.parquet")
    back = Plan.read_parquet(tmp_path / "p.parquet")
    assert back.allocations.equals(plan.allocations) and back.unfilled.equals(
        plan.unfilled
    )
    assert back.objective == plan.objective and back.solver == "hand"


def test_summary_names_solver_and_objective() -> None:
    plan = solve(make_scenario(), solver="null")
    assert plan.summary().startswith("solver null: feasible, objective 2,000.00")
