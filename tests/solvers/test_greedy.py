"""The greedy solver: exact per order, in scenario order, every rule obeyed."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from omnistock import solve
from omnistock.testing import scenarios
from tests.helpers import golden_cases, load, make_scenario
from tests.reference import one_order_optimum

REL = 1e-6
ONE_ORDER = [(f, obj) for f, n, obj in golden_cases() if n == 1]
ALL_GOLDEN = [f for f, _, _ in golden_cases()]


def _close(a: float, b: float) -> bool:
    return abs(a - b) <= REL * max(1.0, abs(a), abs(b))


def _nodes(*specs: dict) -> list[dict]:
    base = {"kind": "warehouse", "lat": 48.85, "lon": 2.35}
    return [{**base, **s} for s in specs]


@pytest.mark.parametrize(("file", "optimum"), ONE_ORDER, ids=[f for f, _ in ONE_ORDER])
def test_greedy_reaches_golden_optimum_on_one_order(file, optimum):
    """Tests that on each one-order worked scenario greedy's objective is the listed optimum."""
    plan = solve(load(file.removesuffix(".json")), solver="greedy")
    assert _close(plan.objective, optimum), (plan.objective, optimum)


@pytest.mark.parametrize("file", ALL_GOLDEN)
def test_greedy_plans_of_golden_pass_check(file):
    """Tests that greedy's plan of every worked scenario passes the independent checker."""
    scenario = load(file.removesuffix(".json"))
    plan = solve(scenario, solver="greedy")
    plan.check(scenario)
    optimum = next(obj for f, _, obj in golden_cases() if f == file)
    assert plan.objective >= optimum * (1 - REL) - REL


@given(scenarios(max_nodes=5, max_skus=3, max_orders=1, min_orders=1, max_lines=3))
def test_greedy_equals_brute_force_optimum_on_one_order(scenario):
    """Tests that greedy's objective equals an independent brute-force optimum (one order)."""
    plan = solve(scenario, solver="greedy")
    plan.check(scenario)
    assert _close(plan.objective, one_order_optimum(scenario))


@given(scenarios(max_nodes=6, max_skus=4, max_orders=6, max_lines=3))
def test_greedy_plans_pass_check(scenario):
    """Tests that greedy's plans of random multi-order scenarios obey every rule."""
    solve(scenario, solver="greedy").check(scenario)


@given(
    st.lists(st.integers(0, 4), min_size=6, max_size=6),
    st.lists(st.integers(1, 4), min_size=3, max_size=3),
    st.sampled_from([None, 1, 2, 3]),
    st.booleans(),
)
def test_greedy_exact_on_many_small_stores(stock, qty, splits, allow_partial):
    """Tests exactness where several stores must combine (the branch-and-bound path)."""
    skus = ["A", "B", "C"]
    nodes = [
        {
            "id": f"S{i}",
            "kind": "store",
            "lat": 48.0 + 0.3 * i,
            "lon": 2.0 + 0.2 * (i % 3),
        }
        for i in range(6)
    ]
    rows = [
        {"node": f"S{i}", "sku": skus[(i + j) % 3], "on_hand": stock[i] + j}
        for i in range(6)
        for j in range(2)
    ]
    order = {
        "id": "o",
        "destination": {"lat": 48.4, "lon": 2.2},
        "max_splits": splits,
        "allow_partial": allow_partial,
        "lines": [{"sku": s, "qty": q} for s, q in zip(skus, qty, strict=True)],
    }
    scenario = make_scenario(
        nodes=nodes, stock=rows, orders=[order], costs={"unfilled": 40.0}
    )
    plan = solve(scenario, solver="greedy")
    plan.check(scenario)
    assert _close(plan.objective, one_order_optimum(scenario))


def test_greedy_leaves_units_unfilled_when_that_is_cheaper():
    """Tests that a tier with weight 0 gets nothing: shipping would only add cost."""
    scenario = make_scenario(
        orders=[
            {
                "id": "o",
                "tier": "free",
                "destination": {"lat": 45.75, "lon": 4.85},
                "lines": [{"sku": "A", "qty": 2}],
            }
        ],
        rules={"tier_weights": {"free": 0.0}},
    )
    plan = solve(scenario, solver="greedy")
    assert plan.allocations.height == 0
    assert plan.unfilled["qty"].to_list() == [2]
    assert plan.objective == 0.0


def test_greedy_ties_go_to_lower_priority_then_node_order():
    """Tests the tie-break: equal cost -> lower priority; equal priority -> earlier node."""
    stock = [{"node": n, "sku": "A", "on_hand": 5} for n in ("X", "Y", "Z")]
    order = [
        {
            "id": "o",
            "destination": {"lat": 48.85, "lon": 2.35},
            "lines": [{"sku": "A", "qty": 1}],
        }
    ]
    by_priority = make_scenario(
        nodes=_nodes(
            {"id": "X", "priority": 2},
            {"id": "Y", "priority": 1},
            {"id": "Z", "priority": 1},
        ),
        stock=stock,
        orders=order,
    )
    assert solve(by_priority, solver="greedy").allocations["node_id"].to_list() == ["Y"]
    by_order = make_scenario(
        nodes=_nodes({"id": "X"}, {"id": "Y"}, {"id": "Z"}), stock=stock, orders=order
    )
    assert solve(by_order, solver="greedy").allocations["node_id"].to_list() == ["X"]


def test_greedy_ties_go_to_fewer_packages():
    """Tests that with free packages, one node serving both lines beats two equal-cost nodes."""
    stock = [
        {"node": "X", "sku": "A", "on_hand": 1},
        {"node": "Y", "sku": "B", "on_hand": 1},
        {"node": "Z", "sku": "A", "on_hand": 1},
        {"node": "Z", "sku": "B", "on_hand": 1},
    ]
    scenario = make_scenario(
        nodes=_nodes({"id": "X"}, {"id": "Y"}, {"id": "Z", "priority": 9}),
        stock=stock,
        orders=[
            {
                "id": "o",
                "destination": {"lat": 48.85, "lon": 2.35},
                "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}],
            }
        ],
        costs={"package": 0.0, "per_km": 0.0},
    )
    plan = solve(scenario, solver="greedy")
    assert set(plan.allocations["node_id"].to_list()) == {"Z"}


def test_greedy_later_order_sees_what_earlier_took():
    """Tests that orders are decided in scenario order against the stock left."""
    orders = [
        {
            "id": f"o{i}",
            "destination": {"lat": 45.75, "lon": 4.85},
            "lines": [{"sku": "A", "qty": 3}],
        }
        for i in range(2)
    ]
    plan = solve(make_scenario(orders=orders), solver="greedy")
    rows = plan.allocations.sort("order_id").rows()
    # o0 takes the near store's 3 units; o1 must ship from the warehouse.
    assert rows == [("o0", "A", "S", 3), ("o1", "A", "W", 3)]


def test_greedy_split_limit_one_takes_single_node():
    """Tests that max_splits=1 keeps an order to one node even if units stay unfilled."""
    orders = [
        {
            "id": "o",
            "destination": {"lat": 45.75, "lon": 4.85},
            "max_splits": 1,
            "lines": [{"sku": "A", "qty": 12}],
        }
    ]
    plan = solve(make_scenario(orders=orders), solver="greedy")
    assert plan.allocations.rows() == [("o", "A", "W", 10)]
    assert plan.unfilled["qty"].to_list() == [2]


@given(scenarios(max_nodes=5, max_skus=3, max_orders=1, min_orders=1, max_lines=3))
def test_greedy_equals_batch_milp_reference_on_one_order(scenario):
    """Tests greedy against the second, independent oracle (the batch MILP) on one order."""
    milp = pytest.importorskip("tests.milp_reference")
    optimum = milp.reference_optimum(scenario).objective
    assert _close(solve(scenario, solver="greedy").objective, optimum)
