"""The look-ahead policy: shadow prices keep a unit for the later order that needs it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings

from omnistock import Scenario, simulate, solve
from omnistock.exceptions import InvalidOptionValue, OmnistockError
from omnistock.simulation.offline import hindsight
from omnistock.simulation.run import OrderUpTo
from omnistock.solvers.lookahead import stock_prices, tier_prices
from omnistock.testing import scenarios
from tests.helpers import make_scenario

NEAR_STORE = {"lat": 45.76, "lon": 4.84}


def starving() -> Scenario:
    """Greedy ships o1 from the store next door and starves o2, a same-day order only
    that store can serve; the warehouse 390 km away could have shipped o1."""
    return make_scenario(
        stock=[
            {"node": "W", "sku": "A", "on_hand": 1},
            {"node": "S", "sku": "A", "on_hand": 1},
        ],
        orders=[
            {"id": "o1", "destination": NEAR_STORE, "lines": [{"sku": "A", "qty": 1}]},
            {
                "id": "o2",
                "method": "same_day",
                "destination": NEAR_STORE,
                "lines": [{"sku": "A", "qty": 1}],
            },
        ],
    )


def test_greedy_starves_the_later_order_and_lookahead_does_not() -> None:
    scenario = starving()
    greedy = solve(scenario, solver="greedy")
    lookahead = solve(scenario, solver="lookahead")
    optimal = solve(scenario, solver="optimal")
    lookahead.check(scenario)
    assert greedy.unfilled.rows() == [("o2", "A", 1)]
    assert lookahead.unfilled.is_empty()
    assert lookahead.objective < greedy.objective
    assert lookahead.objective == pytest.approx(optimal.objective)


def test_the_scarce_store_unit_is_priced_and_the_plentiful_one_is_not() -> None:
    scenario = starving()
    compiled = scenario.compiled()
    prices = stock_prices(compiled)
    store_row = compiled.network.stock_row(
        compiled.network.node_index["S"], compiled.network.sku_index["A"]
    )
    assert prices[store_row] > 0
    assert np.all(prices >= 0)


def test_simulated_lookahead_with_a_forecast_keeps_the_unit() -> None:
    scenario = starving()
    orders = list(scenario.orders)
    kwargs = {"arrivals": [1.0, 5.0], "forecast": (orders, [1.0, 5.0])}
    greedy = simulate(scenario, orders, "greedy", **kwargs)
    lookahead = simulate(scenario, orders, "lookahead", **kwargs)
    assert greedy.kpis["lost_units"] == 1 and lookahead.kpis["lost_units"] == 0
    assert lookahead.kpis["objective"] < greedy.kpis["objective"]


@settings(max_examples=20)
@given(scenarios(max_nodes=4, max_orders=4, min_orders=1))
def test_lookahead_plans_pass_the_checker_and_zero_prices_give_greedy(
    scenario: Scenario,
) -> None:
    plan = solve(scenario, solver="lookahead")
    plan.check(scenario)
    zero = np.zeros(scenario.compiled().network.stock_node.shape[0])
    same = solve(scenario, solver="lookahead", row_cost=zero)
    assert same.allocations.equals(solve(scenario, solver="greedy").allocations)


def test_averaged_prices_keep_the_unit_some_draws_need() -> None:
    """Three days of draws, two same-day orders in one of them: 2/3 of an order a
    day for the store's one unit. The pooled LP (three times the stock) finds the
    unit plentiful and prices it at 0; the per-day LPs, averaged, give it a third
    of its value in the short day, which keeps it for o2."""
    scenario = starving()
    o1, o2 = scenario.orders
    twin = o2.model_copy(update={"id": "o2-twin"})
    kwargs = {
        "arrivals": [1.0, 5.0],
        "forecast": ([o2, twin], [5.0, 6.0]),
        "forecast_periods": 3,
    }
    pooled = simulate(scenario, [o1, o2], "lookahead", **kwargs)
    average = simulate(
        scenario, [o1, o2], "lookahead", forecast_prices="average", **kwargs
    )
    assert pooled.kpis["lost_units"] == 1 and average.kpis["lost_units"] == 0
    with pytest.raises(OmnistockError, match="forecast_prices"):
        simulate(scenario, [o1, o2], "lookahead", forecast_prices="mean", **kwargs)


def vip_and_standard() -> Scenario:
    """A VIP and a standard order next to the store S, which keeps its last unit."""
    return make_scenario(
        stock=[
            {"node": "W", "sku": "A", "on_hand": 5},
            {"node": "S", "sku": "A", "on_hand": 3},
        ],
        rules={"last_unit_protection": {"store": 1}, "exempt_tiers": ["vip"]},
        orders=[
            {
                "id": f"o{i}",
                "tier": tier,
                "destination": NEAR_STORE,
                "lines": [{"sku": "A", "qty": 1}],
            }
            for i, tier in enumerate(("vip", "standard"))
        ],
    )


def test_exempt_orders_pay_their_own_prices() -> None:
    scenario = vip_and_standard()
    net = scenario.compiled().network
    store = net.stock_row(net.node_index["S"], net.sku_index["A"])
    price = np.zeros(net.stock_node.shape[0])
    price[store] = 500.0
    same = solve(scenario, solver="lookahead", row_cost=price)
    own = solve(
        scenario,
        solver="lookahead",
        row_cost=price,
        exempt_row_cost=np.zeros_like(price),
    )
    own.check(scenario)
    nodes = {r["order_id"]: r["node_id"] for r in own.allocations.iter_rows(named=True)}
    assert nodes == {
        "o0": "S",
        "o1": "W",
    }  # the VIP takes the store unit it is not charged
    assert set(same.allocations["node_id"]) == {"W"}


def test_exempt_prices_leave_out_the_protected_limit() -> None:
    standard, exempt = tier_prices(vip_and_standard().compiled())
    assert np.all(exempt >= 0) and np.all(exempt <= standard + 1e-9)
    scenario = starving()
    assert np.array_equal(
        stock_prices(scenario.compiled()), tier_prices(scenario.compiled())[0]
    )


def test_row_cost_of_the_wrong_shape_is_an_error() -> None:
    """Tests that a price vector of the wrong length is refused by name and shape."""
    with pytest.raises(
        InvalidOptionValue, match=r"'row_cost'.*one price per stock row"
    ):
        solve(make_scenario(), solver="lookahead", row_cost=np.zeros(7))
    with pytest.raises(InvalidOptionValue, match=r"'exempt_row_cost'.*shape \(3,\)"):
        solve(
            make_scenario(),
            solver="lookahead",
            row_cost=np.zeros(2),
            exempt_row_cost=np.zeros(3),
        )


def test_nightly_refill_makes_days_independent_for_the_hindsight_bound() -> None:
    scenario = starving()
    orders = [
        o.model_copy(update={"id": f"{o.id}-d{d}"})
        for d in range(2)
        for o in scenario.orders
    ]
    hours = [1.0, 5.0, 25.0, 29.0]
    rule = OrderUpTo(24.0, 0.0)
    bound = hindsight(scenario, orders, arrivals=hours, plan_hours=24.0, replenish=rule)
    greedy = simulate(
        scenario, orders, "greedy", arrivals=hours, plan_hours=24.0, replenish=rule
    )
    assert bound.info["periods"] == 2
    assert greedy.kpis["lost_units"] == 2  # o2 starves on both days
    assert bound.kpis["lost_units"] == 0  # each day starts again with 1 + 1 units
    assert bound.kpis["objective"] < greedy.kpis["objective"]


def test_a_node_is_priced_over_the_lines_it_can_give() -> None:
    """Lines A (1 unit) and B (3 units): node 0 holds both, node 1 only A."""
    from omnistock._kernels.sourcing import _price_order
    from tests.kernels import builders

    indptr = np.array(
        [0, 2, 3]
    )  # SKU A: rows 0 (node 0), 1 (node 1); B: row 2 (node 0)
    node = np.array([0, 1, 0])
    free = np.array([5, 5, 5])
    unit_cost = np.zeros(2)
    units = np.zeros(2, dtype=np.int64)
    top = _price_order(
        unit_cost,
        units,
        builders.network(2, stock_indptr=indptr, stock_node=node),
        builders.state(free, n_nodes=2),
        np.array([4.0, 10.0, 8.0]),
        builders.request([0, 1], [1, 3], unit_cost),
    )
    assert unit_cost.tolist() == [(1 * 4.0 + 3 * 8.0) / 4, 10.0]
    assert top == 10.0
    assert not units.any()  # the scratch is left clean for the next order
