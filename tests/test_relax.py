"""omnistock.relax: the LP bound and the shadow prices of stock and capacity."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

import omnistock
from omnistock import relax, solve
from omnistock.relaxation import DUAL_SCHEMA
from omnistock.testing import scenarios
from tests.helpers import golden_cases, load, make_scenario
from tests.milp_reference import reference_optimum

TOL = 1e-6


def two_orders_one_unit(on_hand: int = 1, capacity: int | None = None):
    """Two one-unit orders for SKU A near warehouse W."""
    node = {
        "id": "W",
        "kind": "warehouse",
        "lat": 48.85,
        "lon": 2.35,
        "capacity": capacity,
    }
    orders = [
        {
            "id": f"o{i}",
            "destination": {"lat": 48.9, "lon": 2.4},
            "lines": [{"sku": "A", "qty": 1}],
        }
        for i in range(2)
    ]
    return make_scenario(
        nodes=[node],
        stock=[{"node": "W", "sku": "A", "on_hand": on_hand}],
        orders=orders,
    )


@pytest.mark.parametrize(("file", "n", "optimum"), golden_cases(), ids=lambda v: str(v))
def test_bound_lies_between_weaker_lp_and_optimum(file, n, optimum):
    """Tests that the LP bound is at most the proven optimum and at least the oracle's LP."""
    scenario = load(file.removesuffix(".json"))
    r = relax(scenario)
    weaker = reference_optimum(scenario, relaxed=True).objective
    assert r.converged
    assert weaker - TOL * max(1.0, abs(weaker)) <= r.bound <= optimum * (1 + TOL) + TOL


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario=scenarios(max_nodes=5, max_skus=3, max_orders=6, max_lines=3))
def test_bound_never_exceeds_optimal_plan(scenario):
    """Tests that no plan of a random batch costs less than the LP bound."""
    r = relax(scenario)
    plan = solve(scenario, solver="optimal", time_limit=20)
    assert r.bound <= plan.objective + TOL * max(1.0, abs(plan.objective))
    assert r.duals.schema == DUAL_SCHEMA
    assert (r.duals["dual"] >= 0).all()


def test_stock_dual_is_the_saving_of_one_more_unit():
    """Tests that one more free unit lowers the bound by the stock row's dual."""
    short, more = relax(two_orders_one_unit(1)), relax(two_orders_one_unit(2))
    dual = short.duals.filter(kind="stock")["dual"].item()
    assert dual == pytest.approx(short.bound - more.bound)
    assert dual > 900  # an unfilled unit (1000) less the cost of shipping it


def test_capacity_dual_is_the_saving_of_one_more_unit_of_capacity():
    """Tests that the capacity row carries the dual when capacity binds, not stock."""
    tight, loose = relax(two_orders_one_unit(5, 1)), relax(two_orders_one_unit(5, 2))
    cap = tight.duals.filter(kind="capacity")
    assert cap["node_id"].to_list() == ["W"]
    assert cap["sku"].to_list() == [None]
    assert cap["dual"].item() == pytest.approx(tight.bound - loose.bound)
    assert tight.duals.filter(kind="stock")["dual"].item() == pytest.approx(0.0)


def test_protected_rows_have_their_own_dual():
    """Tests that a protected limit that binds prices the protected units."""
    scenario = make_scenario(
        nodes=[{"id": "S", "kind": "store", "lat": 48.85, "lon": 2.35}],
        stock=[{"node": "S", "sku": "A", "on_hand": 2}],
        rules={"last_unit_protection": {"store": 1}},
        orders=[
            {
                "id": "o1",
                "destination": {"lat": 48.9, "lon": 2.4},
                "lines": [{"sku": "A", "qty": 2}],
            }
        ],
    )
    duals = relax(scenario).duals
    protected = duals.filter(kind="protected")
    assert protected["node_id"].to_list() == ["S"]
    assert protected["dual"].item() > 900
    assert duals.filter(kind="stock")["dual"].item() == pytest.approx(0.0)


def test_engines_agree():
    """Tests that GLOP and HiGHS give the same bound."""
    scenario = load("scenario_10")
    assert relax(scenario, engine="glop").bound == pytest.approx(
        relax(scenario, engine="highs").bound
    )


def test_callable_after_module_import():
    """Tests that omnistock.relax stays callable once the module is imported."""
    import omnistock.relaxation as module  # noqa: F401

    assert omnistock.relax(two_orders_one_unit()).bound > 0


def test_unknown_engine_is_rejected():
    """Tests that a bad engine names the valid ones."""
    with pytest.raises(ValueError, match="engine must be one of glop, highs"):
        relax(two_orders_one_unit(), engine="pdlp")
