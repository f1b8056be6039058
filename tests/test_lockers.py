"""Lockers (docs/semantics.md, S11): validation, a worked example, every solver."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from omnistock import Scenario, Sourcer, solve
from omnistock.exceptions import InsufficientStock, PlanCheckError
from omnistock.testing import scenarios
from tests.milp_reference import reference_optimum

W1 = {"id": "W1", "kind": "warehouse", "lat": 40.0, "lon": -75.0}
W2 = {"id": "W2", "kind": "warehouse", "lat": 41.0, "lon": -74.0}
L1 = {"id": "L1", "kind": "locker", "lat": 40.7, "lon": -74.0, "capacity": 2}


def worked(capacity: int | None = 2) -> Scenario:
    """The worked example of docs/semantics.md (S11)."""
    return Scenario.model_validate(
        {
            "nodes": [W1, W2, {**L1, "capacity": capacity}],
            "stock": [
                {"node": "W1", "sku": "A", "on_hand": 5},
                {"node": "W2", "sku": "B", "on_hand": 5},
            ],
            "orders": [
                {
                    "id": "o1",
                    "method": "pickup",
                    "pickup_node": "L1",
                    "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}],
                },
                {
                    "id": "o2",
                    "method": "pickup",
                    "pickup_node": "L1",
                    "lines": [{"sku": "A", "qty": 2}],
                },
            ],
            "costs": {"package": 5.0, "per_km": 0.01, "unfilled": 100.0},
        }
    )


GREEDY_2 = 211.4842093689304  # o1 takes both parcels; o2's 2 units unfilled
OPTIMAL_2 = 111.48420936893041  # o2 from W1, o1's B from W2, o1's A unfilled
UNLIMITED = 17.63483395792715  # three parcels


def test_stock_at_a_locker_is_refused_naming_node_and_sku() -> None:
    data = worked().model_dump(mode="json")
    data["stock"] = [*data["stock"], {"node": "L1", "sku": "A", "on_hand": 3}]
    with pytest.raises(ValidationError, match=r"node 'L1', sku 'A'.*is a locker"):
        Scenario.model_validate(data)


@pytest.mark.parametrize("methods", [["ship"], ["pickup", "ship"], ["same_day"], []])
def test_a_locker_offers_exactly_pickup(methods: list[str]) -> None:
    with pytest.raises(
        ValidationError, match=r"node \(id 'L1'\).*exactly \[\"pickup\"\]"
    ):
        Scenario.model_validate({"nodes": [{**L1, "methods": methods}]})


def test_a_locker_defaults_to_pickup_and_round_trips() -> None:
    scenario = worked()
    assert scenario.nodes[2].methods == ("pickup",)
    assert Scenario.model_validate_json(scenario.to_json()) == scenario


def test_worked_example_unlimited_locker_takes_three_parcels() -> None:
    plan = solve(worked(None), solver="optimal")
    assert plan.objective == pytest.approx(UNLIMITED)
    assert plan.allocations.height == 3


@pytest.mark.parametrize(
    ("solver", "objective"), [("greedy", GREEDY_2), ("optimal", OPTIMAL_2)]
)
def test_worked_example_parcel_capacity(solver: str, objective: float) -> None:
    scenario = worked()
    plan = solve(scenario, solver=solver)
    plan.check(scenario)
    assert plan.objective == pytest.approx(objective)
    parcels = plan.allocations.select("order_id", "node_id").unique().height
    assert parcels == 2
    assert reference_optimum(scenario).objective == pytest.approx(OPTIMAL_2)


def test_check_reports_a_locker_over_its_parcels() -> None:
    plan = solve(worked(None), solver="greedy")
    with pytest.raises(
        PlanCheckError, match=r"S11 locker 'L1': receives 3 parcels > capacity 2"
    ):
        plan.check(worked())


@pytest.mark.parametrize(
    "solver", ["greedy", "priority", "nearest", "most_stock", "lookahead", "optimal"]
)
def test_every_solver_keeps_a_full_locker_empty(solver: str) -> None:
    scenario = worked(0)
    plan = solve(scenario, solver=solver)
    plan.check(scenario)
    assert plan.allocations.height == 0
    assert int(plan.unfilled["qty"].sum()) == 4


def test_sourcer_counts_parcels_and_refuses_a_stale_commit() -> None:
    scenario = worked()
    sourcer = Sourcer(scenario)
    first = sourcer.source(scenario.orders[0])
    stale = sourcer.source(scenario.orders[1])  # decided while two parcels are left
    sourcer.commit(first)
    assert int(sourcer.state.cap_left[2]) == 0
    assert sourcer.source(scenario.orders[1]).qty.size == 0  # the locker is full
    with pytest.raises(InsufficientStock, match=r"node 'L1'.*locker parcels left"):
        sourcer.commit(stale)
    assert int(sourcer.state.cap_left[2]) == 0
    assert int(sourcer.state.free_left.sum()) == 8  # nothing of the stale commit taken


def test_sourcer_on_a_pool_keeps_a_limited_locker() -> None:
    from omnistock import StockPool

    scenario = worked()
    pool = StockPool(scenario)
    sourcer = Sourcer(scenario, pool=pool)
    first = sourcer.source(scenario.orders[0])
    reservation = sourcer.commit(first)
    assert reservation is not None and reservation.parcels == ("W1", "W2")
    assert int(pool.capacity_left[2]) == 0  # the pool holds the locker's parcels
    assert sourcer.source(scenario.orders[1]).qty.size == 0  # the locker is full
    unlimited = worked(None)
    decision = Sourcer(unlimited, pool=StockPool(unlimited)).source(unlimited.orders[0])
    assert decision.qty.sum() == 2


def test_explain_names_the_locker() -> None:
    scenario = worked()
    sourcer = Sourcer(scenario)
    sourcer.commit(sourcer.source(scenario.orders[0]))
    frame = sourcer.source(scenario.orders[1]).explain()
    assert dict(frame.select("node_id", "reason").iter_rows()) == {
        "W1": "locker_full",  # it holds o2's units, but the locker is full
        "W2": "no_stock",
        "L1": "pickup_locker",
    }
    plan = solve(scenario, solver="greedy")
    assert plan.explain("o2")["reason"].to_list() == [
        "locker_full",
        "no_stock",
        "pickup_locker",
    ]
    assert plan.explain("o1")["reason"].to_list() == [
        "eligible",
        "eligible",
        "pickup_locker",
    ]


@st.composite
def at_lockers(draw: st.DrawFn, max_orders: int = 4, min_orders: int = 1) -> Scenario:
    """Scenarios whose orders are mostly picked up at 1-2 small lockers.

    Two to three shipping nodes hold two SKUs, so orders split and lockers fill.
    """
    n_nodes = draw(st.integers(2, 3))
    nodes = [
        {
            "id": f"W{i}",
            "kind": "warehouse",
            "lat": 47.0 + i,
            "lon": draw(st.floats(0, 3)),
        }
        for i in range(n_nodes)
    ]
    lockers = [
        {
            **L1,
            "id": f"L{i}",
            "lat": 47.5 + i,
            "lon": 1.0,
            "capacity": draw(st.integers(0, 2)),
        }
        for i in range(draw(st.integers(1, 2)))
    ]
    stock = [
        {"node": n["id"], "sku": sku, "on_hand": draw(st.integers(0, 3))}
        for n in nodes
        for sku in ("A", "B")
    ]
    orders = []
    for k in range(draw(st.integers(min_orders, max_orders))):
        skus = draw(st.lists(st.sampled_from(["A", "B"]), min_size=1, unique=True))
        order = {
            "id": f"O{k}",
            "tier": draw(st.sampled_from(["standard", "vip"])),
            "allow_partial": draw(st.booleans()),
            "lines": [{"sku": sku, "qty": draw(st.integers(1, 3))} for sku in skus],
        }
        if draw(st.integers(0, 9)) < 8:
            order.update(
                method="pickup",
                pickup_node=draw(st.sampled_from([n["id"] for n in lockers])),
            )
        else:
            order["destination"] = {"lat": 48.0, "lon": 2.0}
        orders.append(order)
    costs = {
        "package": draw(st.sampled_from([1.0, 5.0])),
        "unfilled": draw(st.sampled_from([10.0, 100.0])),
    }
    return Scenario.model_validate(
        {"nodes": [*nodes, *lockers], "stock": stock, "orders": orders, "costs": costs}
    )


@settings(max_examples=40, deadline=None)
@given(st.one_of(at_lockers(), scenarios(max_nodes=4, max_orders=4, max_lockers=2)))
def test_optimal_equals_the_independent_milp_with_lockers(scenario: Scenario) -> None:
    _at_the_reference_optimum(scenario, "optimal")


def _at_the_reference_optimum(scenario: Scenario, solver: str) -> None:
    """The solver's plan is valid and costs the independent MILP's optimum."""
    plan = solve(scenario, solver=solver)
    plan.check(scenario)
    want = reference_optimum(scenario).objective
    assert plan.objective == pytest.approx(want, rel=1e-6, abs=1e-6)


@settings(max_examples=40, deadline=None)
@given(at_lockers(max_orders=1, min_orders=1))
def test_greedy_is_exact_on_one_order_at_a_locker(scenario: Scenario) -> None:
    _at_the_reference_optimum(scenario, "greedy")


@settings(max_examples=25, deadline=None)
@given(
    st.one_of(at_lockers(), scenarios(max_nodes=4, max_orders=5, max_lockers=2)),
    st.sampled_from(
        ["greedy", "priority", "nearest", "most_stock", "lookahead", "null"]
    ),
)
def test_every_plan_with_lockers_passes_check(scenario: Scenario, solver: str) -> None:
    solve(scenario, solver=solver).check(scenario)


@pytest.mark.parametrize("operation", ["adjust", "return"])
def test_a_pool_adds_no_stock_row_at_a_locker(operation: str) -> None:
    from omnistock import StockPool
    from omnistock.exceptions import UnknownStockRow

    pool = StockPool(worked())
    before = pool.stock()
    calls = {
        "adjust": lambda: pool.adjust("L1", "A", 3, "receipt"),
        "return": lambda: pool.receive_return("o1", "L1", "A", 1),
    }
    with pytest.raises(UnknownStockRow, match=r"node 'L1', sku 'A'.*is a locker"):
        calls[operation]()
    assert pool.stock().equals(before)


@pytest.mark.parametrize("name", ["small", "us"])
def test_sample_networks_without_lockers_are_unchanged(name: str) -> None:
    from omnistock import samples

    assert (
        samples.network(name, seed=3, lockers=0).to_json()
        == samples.network(name, seed=3).to_json()
    )


def test_sample_lockers_stand_near_the_biggest_cities() -> None:
    from omnistock import samples
    from omnistock.check import haversine_km
    from omnistock.samples._places import cities

    plain = samples.network("small", seed=2)
    net = samples.network("small", seed=2, lockers=4)
    assert net.nodes[: len(plain.nodes)] == plain.nodes
    assert net.stock == plain.stock
    lockers = net.nodes[len(plain.nodes) :]
    assert [n.id for n in lockers] == ["LCK-1", "LCK-2", "LCK-3", "LCK-4"]
    city = cities()
    top = sorted(range(len(city.names)), key=lambda i: -city.weight[i])[:4]
    for node, c in zip(lockers, top, strict=True):
        assert node.kind == "locker" and node.methods == ("pickup",)
        assert node.capacity is not None and 20 <= node.capacity <= 60
        assert haversine_km(node.lat, node.lon, city.lat[c], city.lon[c]) < 20
    assert net.to_json() == samples.network("small", seed=2, lockers=4).to_json()
    orders = samples.orders(net, 300, seed=1)
    at_lockers = [o for o in orders if (o.pickup_node or "").startswith("LCK-")]
    assert at_lockers  # sample orders pick up at lockers too
    scenario = net.with_orders(orders)
    solve(scenario, solver="greedy").check(scenario)


@pytest.mark.parametrize("lockers", [-1, 1.5, True, "2"])
def test_sample_lockers_must_be_a_count(lockers: object) -> None:
    from omnistock import samples
    from omnistock.exceptions import InvalidArgument

    with pytest.raises(InvalidArgument, match="lockers must be an integer >= 0"):
        samples.network("small", lockers=lockers)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_frames_round_trip_a_locker(tmp_path: Path, fmt: str) -> None:
    from omnistock.model.io import read_scenario, write_scenario_frames

    scenario = worked()
    write_scenario_frames(scenario, tmp_path, fmt=fmt)
    assert read_scenario(tmp_path) == scenario


@pytest.mark.parametrize("solver", ["greedy", "optimal"])
def test_replan_keeps_the_parcels_of_frozen_orders(solver: str) -> None:
    from omnistock import replan

    scenario = worked()
    plan = solve(scenario, solver="greedy")  # o1 holds both parcels
    result = replan(scenario, plan, frozen=["o1"], solver=solver)
    result.plan.check(scenario)
    assert result.plan.objective == pytest.approx(GREEDY_2)


def test_replan_moves_in_groups_that_share_a_locker() -> None:
    from omnistock import replan

    scenario = worked()
    plan = solve(scenario, solver="greedy")
    result = replan(scenario, plan, solver="optimal", max_moves=1)
    result.plan.check(scenario)  # o2 alone cannot switch: o1 must give a parcel back
    assert result.plan.objective == pytest.approx(GREEDY_2)
    full = replan(scenario, plan, solver="optimal")
    assert full.plan.objective == pytest.approx(OPTIMAL_2)


def test_partitioned_solve_links_the_orders_of_a_locker() -> None:
    from concurrent.futures import ThreadPoolExecutor

    scenario = worked()
    with ThreadPoolExecutor(2) as pool:
        for solver, want in (("greedy", GREEDY_2), ("optimal", OPTIMAL_2)):
            plan = solve(scenario, solver=solver, executor=pool)
            plan.check(scenario)
            assert plan.objective == pytest.approx(want)


def test_the_map_shows_lockers_apart() -> None:
    pytest.importorskip("matplotlib")
    from omnistock.plot import network_map

    fig = network_map(worked())
    labels = [text.get_text() for text in fig.axes[0].get_legend().get_texts()]
    assert labels == ["stores", "lockers", "warehouses"]


@settings(max_examples=30, deadline=None)
@given(at_lockers(max_orders=5))
def test_sourcer_decides_as_greedy_with_lockers(scenario: Scenario) -> None:
    sources_as_greedy(scenario, Sourcer(scenario))


def sources_as_greedy(scenario: Scenario, sourcer: Sourcer) -> None:
    """Source and commit every order in turn: the decisions are batch greedy's."""
    rows = []
    for order in scenario.orders:
        decision = sourcer.source(order)
        sourcer.commit(decision)
        rows.append(decision.allocations)
    plan = solve(scenario, solver="greedy")
    got = pl.concat(rows).sort("order_id", "sku", "node_id")
    assert got.equals(plan.allocations.sort("order_id", "sku", "node_id"))


def test_optimal_with_lockers_reports_progress_and_a_bound() -> None:
    heard: list[str] = []
    plan = solve(worked(), solver="optimal", progress=lambda p: heard.append(p.phase))
    assert heard[-2:] == ["MILP (lockers)", "done"]
    assert plan.status == "optimal"
    assert plan.bound == pytest.approx(OPTIMAL_2)
