"""The peers' policies: walks, ties, shortage behaviour; every rule obeyed."""

from __future__ import annotations

import pytest
from hypothesis import given

from omnistock import solve
from omnistock.testing import scenarios
from tests.helpers import make_scenario

POLICIES = ["priority", "nearest", "most_stock"]
DEST = {"lat": 48.85, "lon": 2.35}  # Paris


def _scenario(nodes, stock, orders=None, **kw):
    base = {"kind": "warehouse", "lat": 48.85, "lon": 2.35}
    return make_scenario(
        nodes=[{**base, **n} for n in nodes],
        stock=[{"node": n, "sku": s, "on_hand": q} for n, s, q in stock],
        orders=orders
        or [{"id": "o", "destination": DEST, "lines": [{"sku": "A", "qty": 4}]}],
        **kw,
    )


def _takes(plan):
    return sorted(plan.allocations.select("node_id", "sku", "qty").rows())


# Far (Marseille) but preferred, near (Paris) with the most A, middle (Lyon).
THREE = [
    {"id": "FAR", "lat": 43.30, "lon": 5.37, "priority": 0},
    {"id": "NEAR", "lat": 48.85, "lon": 2.35, "priority": 2},
    {"id": "MID", "lat": 45.76, "lon": 4.84, "priority": 1},
]


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        ("priority", [("FAR", "A", 2), ("MID", "A", 2)]),
        ("nearest", [("NEAR", "A", 4)]),
        ("most_stock", [("NEAR", "A", 4)]),
    ],
)
def test_walk_order_of_each_policy(policy, expected):
    """Tests that each policy walks its own node order and takes all it can per node."""
    scenario = _scenario(THREE, [("FAR", "A", 2), ("NEAR", "A", 9), ("MID", "A", 3)])
    assert _takes(solve(scenario, solver=policy)) == expected


def test_priority_ties_go_to_node_order():
    """Tests that equal priorities walk in scenario node order."""
    scenario = _scenario([{"id": "X"}, {"id": "Y"}], [("X", "A", 9), ("Y", "A", 9)])
    assert _takes(solve(scenario, solver="priority")) == [("X", "A", 4)]


def test_nearest_ties_go_to_priority_then_node_order():
    """Tests that nodes at the same place are walked by priority, then node order."""
    nodes = [
        {"id": "X", "priority": 1},
        {"id": "Y", "priority": 0},
        {"id": "Z", "priority": 0},
    ]
    scenario = _scenario(nodes, [(n, "A", 9) for n in ("X", "Y", "Z")])
    assert _takes(solve(scenario, solver="nearest")) == [("Y", "A", 4)]


def test_most_stock_orders_each_line_by_its_own_sku():
    """Tests that most_stock sorts nodes per line by that line's free units."""
    order = {
        "id": "o",
        "destination": DEST,
        "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}],
    }
    scenario = _scenario(
        [{"id": "X"}, {"id": "Y"}],
        [("X", "A", 5), ("X", "B", 1), ("Y", "A", 1), ("Y", "B", 5)],
        orders=[order],
    )
    assert _takes(solve(scenario, solver="most_stock")) == [
        ("X", "A", 1),
        ("Y", "B", 1),
    ]


@pytest.mark.parametrize("policy", POLICIES)
def test_shortage_is_reported_unfilled(policy):
    """Tests that a policy takes what exists and reports the rest unfilled."""
    scenario = _scenario(THREE, [("FAR", "A", 1), ("MID", "A", 1)])
    plan = solve(scenario, solver=policy)
    assert plan.allocations["qty"].sum() == 2
    assert plan.unfilled.rows() == [("o", "A", 2)]
    plan.check(scenario)


@pytest.mark.parametrize("policy", POLICIES)
def test_pickup_node_comes_first(policy):
    """Tests that a pickup order's pickup node leads every walk."""
    nodes = [
        {"id": "W", "priority": 0},
        {
            "id": "P",
            "kind": "store",
            "lat": 45.76,
            "lon": 4.84,
            "priority": 5,
            "methods": ["pickup"],
        },
    ]
    order = {
        "id": "o",
        "method": "pickup",
        "pickup_node": "P",
        "lines": [{"sku": "A", "qty": 4}],
    }
    scenario = _scenario(nodes, [("W", "A", 50), ("P", "A", 3)], orders=[order])
    assert _takes(solve(scenario, solver=policy)) == [("P", "A", 3), ("W", "A", 1)]


@pytest.mark.parametrize("policy", POLICIES)
def test_node_beyond_split_limit_is_skipped(policy):
    """Tests that with max_splits=2 a third node is never opened."""
    order = {
        "id": "o",
        "destination": DEST,
        "max_splits": 2,
        "lines": [{"sku": "A", "qty": 6}],
    }
    scenario = _scenario(THREE, [(n["id"], "A", 2) for n in THREE], orders=[order])
    plan = solve(scenario, solver=policy)
    assert plan.allocations["node_id"].n_unique() == 2
    assert plan.unfilled["qty"].to_list() == [2]


@pytest.mark.parametrize("policy", POLICIES)
def test_all_or_nothing_incomplete_gets_nothing(policy):
    """Tests that allow_partial=false gets nothing when the walk cannot complete it."""
    order = {
        "id": "o",
        "destination": DEST,
        "allow_partial": False,
        "lines": [{"sku": "A", "qty": 9}],
    }
    scenario = _scenario(THREE, [(n["id"], "A", 2) for n in THREE], orders=[order])
    plan = solve(scenario, solver=policy)
    assert plan.allocations.height == 0
    assert plan.unfilled["qty"].to_list() == [9]


@pytest.mark.parametrize("policy", POLICIES)
def test_all_or_nothing_complete_may_split(policy):
    """Tests that allow_partial=false is served in full across nodes when it can be."""
    order = {
        "id": "o",
        "destination": DEST,
        "allow_partial": False,
        "lines": [{"sku": "A", "qty": 6}],
    }
    scenario = _scenario(THREE, [(n["id"], "A", 2) for n in THREE], orders=[order])
    plan = solve(scenario, solver=policy)
    assert plan.allocations["qty"].sum() == 6
    assert plan.unfilled.height == 0


@pytest.mark.parametrize(
    ("policy", "node"),
    [("priority", "MID"), ("nearest", "NEAR"), ("most_stock", "NEAR")],
)
def test_ship_complete_first_node_that_serves_every_line(policy, node):
    """Tests that ship_complete goes whole to the first node in walk order able to."""
    order = {
        "id": "o",
        "destination": DEST,
        "ship_complete": True,
        "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}],
    }
    stock = [
        ("FAR", "A", 9),
        ("MID", "A", 2),
        ("MID", "B", 1),
        ("NEAR", "A", 8),
        ("NEAR", "B", 8),
    ]
    scenario = _scenario(THREE, stock, orders=[order])
    assert _takes(solve(scenario, solver=policy)) == [(node, "A", 2), (node, "B", 1)]


@pytest.mark.parametrize("policy", POLICIES)
def test_ship_complete_nobody_whole_gets_nothing(policy):
    """Tests that ship_complete gets nothing when no single node holds every line."""
    order = {
        "id": "o",
        "destination": DEST,
        "ship_complete": True,
        "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}],
    }
    scenario = _scenario(THREE, [("FAR", "A", 9), ("MID", "B", 9)], orders=[order])
    assert solve(scenario, solver=policy).allocations.height == 0


@pytest.mark.parametrize("policy", POLICIES)
def test_policies_respect_protection_and_capacity(policy):
    """Tests that protected units go only to exempt tiers and capacity is never exceeded."""
    nodes = [
        {"id": "S", "kind": "store", "priority": 0, "capacity": 3},
        {"id": "W", "lat": 45.76, "lon": 4.84, "priority": 1},
    ]
    orders = [
        {"id": "std", "destination": DEST, "lines": [{"sku": "A", "qty": 5}]},
        {
            "id": "vip",
            "tier": "vip",
            "destination": DEST,
            "lines": [{"sku": "A", "qty": 5}],
        },
    ]
    scenario = _scenario(
        nodes,
        [("S", "A", 4), ("W", "A", 20)],
        orders=orders,
        rules={"last_unit_protection": {"store": 2}},
    )
    plan = solve(scenario, solver=policy)
    plan.check(scenario)
    by = {(o, n): q for o, _, n, q in plan.allocations.rows()}
    assert by.get(("std", "S"), 0) <= 2
    assert by.get(("std", "S"), 0) + by.get(("vip", "S"), 0) <= 3


@pytest.mark.parametrize("solver", ["greedy", *POLICIES])
@given(scenario=scenarios(max_nodes=6, max_skus=4, max_orders=6, max_lines=3))
def test_plans_pass_check(solver, scenario):
    """Tests that every sourcing solver's plan of random scenarios obeys every rule."""
    solve(scenario, solver=solver).check(scenario)


@given(scenario=scenarios(max_nodes=5, max_skus=3, max_orders=1, min_orders=1))
def test_greedy_never_costs_more_than_a_policy_on_one_order(scenario):
    """Tests that on one order greedy (exact) is at most every policy's objective."""
    best = solve(scenario, solver="greedy").objective
    for policy in POLICIES:
        assert best <= solve(scenario, solver=policy).objective * (1 + 1e-9) + 1e-9
