"""The lower bounds of solvers/optimal/bounds.py, against the independent MILP."""

from __future__ import annotations

import time

import numpy as np
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from omnistock.compiled import NO_LIMIT
from omnistock.solvers.optimal.bounds import (
    RowPrices,
    dual_prices,
    fallback_bound,
    line_split_bound,
    shortage_prices,
)
from omnistock.solvers.optimal.candidates import candidates
from omnistock.solvers.optimal.colgen import column_generation, initial_pairs
from omnistock.testing import scenarios
from tests.helpers import make_scenario
from tests.milp_reference import reference_optimum

SLACK = 1e-6


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3),
    seed=st.integers(0, 2**32 - 1),
    scale=st.sampled_from([0.0, 1.0, 100.0, 2_000.0]),
)
def test_line_split_bound_never_exceeds_the_optimum(scenario, seed, scale):
    """Tests that the line-split bound is valid for any non-negative prices.

    Random prices on every relaxed row, the shortage prices, and the duals of a
    one-round restricted LP all give a bound at or below the reference MILP's
    optimum.
    """
    assume(len(scenario.orders) > 0)
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    cand = candidates(compiled)
    everything = np.ones(orders.n_orders, dtype=np.bool_)
    optimum = reference_optimum(scenario).objective
    tol = SLACK * max(1.0, abs(optimum))
    rng = np.random.default_rng(seed)
    n_rows = net.stock_node.shape[0]
    random = RowPrices(
        split=scale * rng.random(orders.n_orders),
        free=scale * rng.random(n_rows),
        limit=scale * rng.random(n_rows),
        capacity=np.where(
            net.node_capacity < NO_LIMIT, scale * rng.random(net.n_nodes), 0.0
        ),
    )
    for prices in [random, *shortage_prices(compiled, everything)]:
        assert line_split_bound(compiled, cand, everything, prices) <= optimum + tol

    start = time.perf_counter()
    cg = column_generation(
        compiled,
        cand,
        everything,
        initial_pairs(compiled, cand),
        start + 30.0,
        start - 1.0,  # one round only: the duals of an unconverged LP
    )
    assert cg.lower <= optimum + tol
    if cg.data is not None and cg.lp is not None:
        prices = dual_prices(compiled, cg.data, cg.lp.duals)
        assert line_split_bound(compiled, cand, everything, prices) <= optimum + tol
        best = fallback_bound(compiled, cand, everything, cg.data, cg.lp.duals)
        assert best <= optimum + tol
        assert cg.line_lower == (-np.inf if cg.converged else best)


def test_line_split_bound_is_tight_on_one_line_orders():
    """Tests that with zero prices the bound is each order's own cheapest plan.

    One order of one line with stock enough at either node: the bound is that
    order's optimum.
    """
    scenario = make_scenario()  # one order of 2 units; W holds 10, S holds 3
    assert (
        abs(_zero_price_bound(scenario) - reference_optimum(scenario).objective) <= 1e-6
    )


def test_line_split_bound_charges_a_shared_package_once():
    """Tests that two lines shipped in one package share its fixed cost.

    Both lines can only come from W: the optimum pays W's package once, and the
    bound (zero prices) must not charge it twice.
    """
    scenario = make_scenario(
        stock=[
            {"node": "W", "sku": "A", "on_hand": 5},
            {"node": "W", "sku": "B", "on_hand": 5},
        ],
        orders=[
            {
                "id": "o1",
                "destination": {"lat": 45.75, "lon": 4.85},
                "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 3}],
            }
        ],
        costs={"package": 7.0, "per_km": 0.01, "unfilled": 1_000.0},
    )
    assert (
        abs(_zero_price_bound(scenario) - reference_optimum(scenario).objective) <= 1e-6
    )


def test_line_split_bound_keeps_an_all_or_nothing_order_whole():
    """Tests that an all-or-nothing order that cannot be served in full counts whole.

    W holds A, nobody holds B: any plan leaves both lines unfilled; a bound that
    split the order would count only B unfilled.
    """
    scenario = make_scenario(
        stock=[{"node": "W", "sku": "A", "on_hand": 5}],
        orders=[
            {
                "id": "o1",
                "destination": {"lat": 45.75, "lon": 4.85},
                "allow_partial": False,
                "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}],
            }
        ],
        costs={"package": 7.0, "per_km": 0.01, "unfilled": 1_000.0},
    )
    optimum = reference_optimum(scenario).objective
    assert abs(optimum - 2 * 1_000.0) <= 1e-6
    assert abs(_zero_price_bound(scenario) - optimum) <= 1e-6


def test_line_split_bound_prices_a_ship_complete_order_by_its_whole_package():
    """Tests the ship-complete branch: a servable order costs its cheapest whole package.

    W and S hold both lines; the bound with zero prices is the order's optimum
    (one package from the cheaper node), not the unfilled cost.
    """
    scenario = make_scenario(
        stock=[
            {"node": node, "sku": sku, "on_hand": 5}
            for node in ("W", "S")
            for sku in ("A", "B")
        ],
        orders=[
            {
                "id": "o1",
                "destination": {"lat": 45.75, "lon": 4.85},
                "ship_complete": True,
                "lines": [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 2}],
            }
        ],
        costs={"package": 7.0, "per_km": 0.01, "unfilled": 1_000.0},
    )
    optimum = reference_optimum(scenario).objective
    assert optimum < 1_000.0
    assert abs(_zero_price_bound(scenario) - optimum) <= 1e-6


def test_shortage_prices_count_the_shortfall_as_unfilled():
    """Tests that when a SKU is short the bound counts its shortfall as unfilled.

    Five orders of one unit of A each, 3 units in stock: any plan leaves two
    unfilled, and the bound with the shortage prices counts them (zero prices
    let every order take a unit and count only packages).
    """
    orders = [
        {
            "id": f"o{i}",
            "destination": {"lat": 48.85, "lon": 2.35},
            "lines": [{"sku": "A", "qty": 1}],
        }
        for i in range(5)
    ]
    scenario = make_scenario(
        stock=[{"node": "W", "sku": "A", "on_hand": 3}],
        orders=orders,
        costs={"package": 5.0, "per_km": 0.0, "unfilled": 100.0},
    )
    compiled = scenario.compiled()
    cand = candidates(compiled)
    everything = np.ones(5, dtype=np.bool_)
    optimum = reference_optimum(scenario).objective
    assert abs(optimum - (3 * 5.0 + 2 * 100.0)) <= 1e-6
    best = max(
        line_split_bound(compiled, cand, everything, p)
        for p in shortage_prices(compiled, everything)
    )
    # The shortfall's unfilled cost, not the packages of the units served.
    assert abs(best - 2 * 100.0) <= 1e-6
    assert best <= optimum
    assert abs(_zero_price_bound(scenario) - 5 * 5.0) <= 1e-6


def _zero_price_bound(scenario):
    """The line-split bound of the whole batch with every price at 0."""
    compiled = scenario.compiled()
    net, orders = compiled.network, compiled.orders
    cand = candidates(compiled)
    everything = np.ones(orders.n_orders, dtype=np.bool_)
    n_rows = net.stock_node.shape[0]
    zero = RowPrices(
        np.zeros(orders.n_orders),
        np.zeros(n_rows),
        np.zeros(n_rows),
        np.zeros(net.n_nodes),
    )
    return line_split_bound(compiled, cand, everything, zero)
