"""Contract v1.1 (docs/semantics.md, S10): rate cards, per-unit distance, lost sales.

Worked examples priced by hand, one per new term; every v1.1 plan passes the
checker; greedy equals an independent brute force on one-order scenarios and
optimal an independent MILP (tests/milp_reference.py) on random batches.
"""

from __future__ import annotations

import math

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from pydantic import ValidationError

from omnistock import Scenario, solve
from omnistock.check import haversine_km, plan_violations
from omnistock.testing import scenarios
from tests.milp_reference import reference_optimum
from tests.rates_reference import brute_force_one_order

# Two nodes on the equator, one degree of longitude apart (~111.19 km), the
# order at the first: km 0 from W0, KM from W1.
KM = haversine_km(0.0, 0.0, 0.0, 1.0)


def scenario(costs=None, skus=(), lines=(("A", 2),), stock=None, **order) -> Scenario:
    """A two-node scenario: W0 at the destination, W1 one degree east."""
    return Scenario.model_validate(
        {
            "nodes": [
                {"id": "W0", "kind": "warehouse", "lat": 0.0, "lon": 0.0},
                {"id": "W1", "kind": "warehouse", "lat": 0.0, "lon": 1.0},
            ],
            "stock": stock
            or [{"node": "W1", "sku": sku, "on_hand": 10} for sku, _ in lines],
            "skus": list(skus),
            "costs": {
                "package": 5.0,
                "per_km": 0.0,
                "unfilled": 100.0,
                **(costs or {}),
            },
            "orders": [
                {
                    "id": "o",
                    "destination": {"lat": 0.0, "lon": 0.0},
                    "lines": [{"sku": s, "qty": q} for s, q in lines],
                    **order,
                }
            ],
        }
    )


def solved(s: Scenario, solver: str = "greedy"):
    plan = solve(s, solver=solver)
    assert plan_violations(plan, s) == []
    return plan


def test_unit_per_km_prices_each_unit_by_its_distance():
    """Tests S10 unit_per_km: 2 units from W1 cost 5 + 2 x 0.1 x KM."""
    plan = solved(scenario({"unit_per_km": 0.1}))
    assert plan.cost_breakdown["unit_distance"] == pytest.approx(2 * 0.1 * KM)
    assert plan.objective == pytest.approx(5.0 + 0.2 * KM)


def test_rate_card_band_package_unit_and_weight():
    """Tests S10 bands: the 200 km ship band prices 3 + 2 x (0.5 + 1.5 x 4 kg)."""
    card = [
        {"method": "ship", "max_km": 50, "package": 1, "unit": 0.1, "per_kg": 0.2},
        {"method": "ship", "max_km": 200, "package": 3, "unit": 0.5, "per_kg": 1.5},
        {"method": None, "package": 99},  # never used: the card names "ship"
    ]
    plan = solved(scenario({"rate_card": card}, skus=[{"sku": "A", "weight_kg": 4}]))
    assert plan.cost_breakdown["rate_card"] == pytest.approx(3 + 2 * (0.5 + 6.0))
    assert plan.objective == pytest.approx(5 + 3 + 13)


def test_band_of_the_method_not_reaching_makes_the_node_ineligible():
    """Tests rule "rate_card": a ship card up to 50 km leaves W1 out, even with a null band."""
    card = [{"method": "ship", "max_km": 50}, {"method": None, "package": 1}]
    plan = solved(scenario({"rate_card": card}))
    assert plan.allocations.height == 0
    assert plan.objective == pytest.approx(2 * 100.0)


def test_null_method_bands_apply_when_the_method_is_not_named():
    """Tests S10: a same_day-only card leaves ship orders to the null bands."""
    card = [{"method": "same_day", "max_km": 10, "package": 50}, {"package": 2.0}]
    plan = solved(scenario({"rate_card": card}))
    assert plan.objective == pytest.approx(5 + 2)


def test_unfilled_order_charge_makes_a_dear_unit_worth_shipping():
    """Tests S10 unfilled_order: unit 30 > unfilled 20, yet the 100 charge ships it."""
    s = scenario({"unfilled": 20.0, "unfilled_order": 100.0, "unit_per_km": 30.0 / KM})
    plan = solved(s)
    assert plan.allocations["qty"].sum() == 2
    assert plan.objective == pytest.approx(5 + 60)
    # Without the charge leaving both unfilled (40) beats shipping (65).
    plan = solved(scenario({"unfilled": 20.0, "unit_per_km": 30.0 / KM}))
    assert plan.objective == pytest.approx(40.0)


def test_unfilled_order_charged_once_and_by_tier_weight():
    """Tests S10: 3 units of two lines short cost 3 x 7 + 1 x 11 x weight 2."""
    s = Scenario.model_validate(
        {
            **scenario().model_dump(),
            "stock": [],
            "rules": {"tier_weights": {"gold": 2.0}},
            "costs": {"unfilled": 1000.0, "unfilled_order": 500.0},
            "orders": [
                {
                    "id": "o",
                    "tier": "gold",
                    "destination": {"lat": 0.0, "lon": 0.0},
                    "unfilled_unit_cost": 7.0,
                    "unfilled_order_cost": 11.0,
                    "lines": [{"sku": "A", "qty": 2}, {"sku": "B", "qty": 1}],
                }
            ],
        }
    )
    plan = solved(s)
    assert plan.cost_breakdown["unfilled"] == pytest.approx(3 * 7 * 2)
    assert plan.cost_breakdown["unfilled_order"] == pytest.approx(11 * 2)
    assert plan.objective == pytest.approx(42 + 22)


def test_weights_choose_the_node_per_line():
    """Tests the per-line unit cost: the heavy line goes to the near node, the light far.

    W0 (0 km) holds 1 unit of each SKU and has capacity 1; W1 (KM away) holds both.
    Per kg 1 beyond 50 km: the 10 kg unit from W1 costs 10, the 0 kg one 0.
    """
    card = [{"max_km": 50}, {"max_km": 500, "per_kg": 1.0}]
    s = Scenario.model_validate(
        {
            "nodes": [
                {
                    "id": "W0",
                    "kind": "warehouse",
                    "lat": 0.0,
                    "lon": 0.0,
                    "capacity": 1,
                },
                {"id": "W1", "kind": "warehouse", "lat": 0.0, "lon": 1.0},
            ],
            "stock": [
                {"node": n, "sku": sku, "on_hand": 1}
                for n in ("W0", "W1")
                for sku in ("H", "L")
            ],
            "skus": [{"sku": "H", "weight_kg": 10.0}],
            "costs": {"package": 1.0, "per_km": 0.0, "rate_card": card},
            "orders": [
                {
                    "id": "o",
                    "destination": {"lat": 0.0, "lon": 0.0},
                    "lines": [{"sku": "L", "qty": 1}, {"sku": "H", "qty": 1}],
                }
            ],
        }
    )
    for solver in ("greedy", "optimal"):
        plan = solved(s, solver)
        got = {(r["sku"], r["node_id"]) for r in plan.allocations.iter_rows(named=True)}
        assert got == {("H", "W0"), ("L", "W1")}
        assert plan.objective == pytest.approx(2.0)


def test_v1_plans_show_five_components():
    """Tests that a scenario without v1.1 fields keeps v1's breakdown."""
    plan = solved(scenario())
    assert list(plan.cost_breakdown) == [
        "package",
        "distance",
        "handling",
        "unit",
        "unfilled",
    ]


@pytest.mark.parametrize(
    ("costs", "match"),
    [
        ({"rate_card": [{"max_km": 10}, {"max_km": 10}]}, "duplicate max_km"),
        ({"rate_card": [{"method": "ship"}, {"method": "ship"}]}, "two unbounded"),
        ({"rate_card": [{"max_km": 0}]}, "max_km must be > 0"),
        ({"rate_card": [{"method": "drone"}]}, "method must be one of"),
        ({"rate_card": [{"per_kg": -1}]}, "per_kg must be >= 0"),
        ({"unit_per_km": -1}, "unit_per_km must be >= 0"),
        ({"unfilled_order": "x"}, "unfilled_order must be a number"),
    ],
)
def test_bad_rate_fields_name_what_is_wrong(costs, match):
    """Tests that each bad v1.1 cost raises a message naming the field and value."""
    with pytest.raises(ValidationError, match=match):
        scenario(costs)


def test_bad_order_overrides_and_skus():
    """Tests the per-order overrides' and the skus' validation."""
    with pytest.raises(
        ValidationError, match=r"order \(id 'o'\): unfilled_unit_cost must be >= 0"
    ):
        scenario(unfilled_unit_cost=-2)
    with pytest.raises(ValidationError, match="duplicate sku 'A'"):
        scenario(skus=[{"sku": "A"}, {"sku": "A", "weight_kg": 1}])
    with pytest.raises(ValidationError, match="weight_kg must be >= 0"):
        scenario(skus=[{"sku": "A", "weight_kg": -1}])


_SETTINGS = settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@_SETTINGS
@given(
    scenarios(
        max_nodes=3, max_skus=2, max_orders=1, min_orders=1, max_lines=2, rates=True
    )
)
def test_greedy_equals_brute_force_on_one_order(s):
    """Tests that greedy is exact per order under v1.1 (an independent brute force)."""
    plan = solved(s)
    best = brute_force_one_order(s)
    assert math.isclose(plan.objective, best, rel_tol=1e-9, abs_tol=1e-6)


@_SETTINGS
@given(scenarios(max_nodes=4, max_skus=3, max_orders=4, rates=True))
def test_optimal_equals_the_reference_milp(s):
    """Tests that optimal proves the v1.1 optimum of the independent MILP."""
    plan = solved(s, "optimal")
    ref = reference_optimum(s)
    assert math.isclose(plan.objective, ref.objective, rel_tol=1e-7, abs_tol=1e-5)
    assert plan.bound is not None
    assert plan.bound <= plan.objective + 1e-6


@_SETTINGS
@given(scenarios(max_nodes=4, max_skus=3, max_orders=4, rates=True))
def test_every_solver_plan_passes_check(s):
    """Tests that every per-order solver's v1.1 plan keeps every rule and prices it right."""
    for name in ("greedy", "priority", "nearest", "most_stock", "lookahead", "null"):
        solved(s, name)


@_SETTINGS
@given(scenarios(max_nodes=4, max_skus=3, max_orders=4, rates=True))
def test_relax_bounds_the_v1_1_optimum(s):
    """Tests that relax()'s LP bound stays below the v1.1 optimum (a valid bound)."""
    from omnistock import relax

    ref = reference_optimum(s)
    assert relax(s).bound <= ref.objective + 1e-6 * (1 + abs(ref.objective))


def test_explain_shows_the_band_and_each_lines_unit_cost():
    """Tests explain's v1.1 columns: W1's band 1, its unit cost per line, rule rate_card."""
    card = [{"max_km": 50, "package": 1}, {"max_km": 200, "package": 3, "per_kg": 1.5}]
    s = scenario({"rate_card": card}, skus=[{"sku": "A", "weight_kg": 4}])
    frame = solve(s, solver="greedy").explain("o")
    w1 = frame.row(by_predicate=pl.col("node_id") == "W1", named=True)
    assert w1["band"] == 1
    assert w1["unit_cost"] == pytest.approx([6.0])
    assert w1["package_cost"] == pytest.approx(5.0 + 3.0)
    s = scenario({"rate_card": [{"max_km": 50}]})
    frame = solve(s, solver="greedy").explain("o")
    assert frame.filter(pl.col("node_id") == "W1")["reason"][0] == "rate_card"


def test_sourcer_decides_and_prices_like_greedy():
    """Tests that the Sourcer's decision under v1.1 costs is greedy's, component by component."""
    from omnistock import Sourcer

    card = [{"max_km": 500, "package": 3, "unit": 0.5, "per_kg": 1.5}]
    s = scenario(
        {"rate_card": card, "unit_per_km": 0.01},
        skus=[{"sku": "A", "weight_kg": 4}],
        unfilled_order_cost=9.0,
    )
    plan = solve(s, solver="greedy")
    decision = Sourcer(s).source(s.orders[0])
    assert decision.cost_breakdown == pytest.approx(plan.cost_breakdown)


def test_samples_flat_is_v1_and_carrier_prices_by_the_card():
    """Tests samples.network(costs=...): flat is today's bytes; carrier's plans pass check."""
    from omnistock import samples

    flat = samples.network("small", seed=3)
    assert samples.network("small", seed=3, costs="flat").to_json() == flat.to_json()
    carrier = samples.network("small", seed=3, costs="carrier")
    assert carrier.nodes == flat.nodes and carrier.stock == flat.stock
    weights = [s.weight_kg for s in carrier.skus]
    assert min(weights) >= 0.1 and max(weights) <= 25.0
    assert {b.method for b in carrier.costs.rate_card} == {"ship", "same_day", "pickup"}
    s = carrier.with_orders(samples.orders(carrier, 60, seed=3))
    for name in ("greedy", "nearest", "optimal"):
        plan = solved(s, name)
        assert plan.cost_breakdown["rate_card"] > 0
    with pytest.raises(ValueError, match="costs must be one of flat, carrier"):
        samples.network("small", costs="zones")


def test_cli_sample_writes_carrier_costs(tmp_path):
    """Tests `omnistock sample --costs carrier`: the file holds the card and the weights."""
    from omnistock.cli.app import main

    out = tmp_path / "day.json"
    assert (
        main(
            [
                "sample",
                "small",
                "--orders",
                "5",
                "--costs",
                "carrier",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    s = Scenario.from_json(out)
    assert s.costs.rate_card and s.skus


@settings(max_examples=20, deadline=None)
@given(scenarios(rates=True))
def test_frames_round_trip_the_v1_1_fields(tmp_path_factory, s):
    """Tests the skus frame, the card in settings.json and the override columns (csv, parquet)."""
    from omnistock.model.io import read_scenario, write_scenario_frames

    for fmt in ("csv", "parquet"):
        folder = tmp_path_factory.mktemp(fmt)
        write_scenario_frames(s, folder, fmt=fmt)
        assert read_scenario(folder) == s


def test_a_v1_scenario_dumps_no_v1_1_field(tmp_path):
    """Tests that v1 JSON and frames carry no v1.1 key (a v1 file written back is v1's)."""
    from omnistock.model.io import write_scenario_frames

    s = scenario()
    text = s.to_json()
    for key in (
        "skus",
        "unit_per_km",
        "unfilled_order",
        "rate_card",
        "unfilled_unit_cost",
    ):
        assert f'"{key}"' not in text
    write_scenario_frames(s, tmp_path, fmt="csv")
    assert not (tmp_path / "skus.csv").exists()
    assert "unfilled_unit_cost" not in (tmp_path / "orders.csv").read_text()
