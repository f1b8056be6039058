"""Public test helpers: hypothesis strategies for scenarios, and plan assertions.

Use them to test code built on omnistock the way omnistock tests itself::

    from hypothesis import given
    from omnistock.testing import assert_plan_valid, scenarios

    @given(scenarios(max_nodes=5, max_orders=4))
    def test_my_policy(scenario):
        assert_plan_valid(my_policy(scenario), scenario)

Requires hypothesis (in the ``dev`` extra).
"""

from __future__ import annotations

from typing import Any

try:
    from hypothesis import strategies as st
except ImportError as err:  # pragma: no cover - exercised only without the dev extra
    msg = "omnistock.testing needs hypothesis: pip install 'omnistock[dev]'."
    raise ImportError(msg) from err

from omnistock.model.scenario import Scenario
from omnistock.plan import Plan

__all__ = ["assert_plan_valid", "scenarios"]

_CHANNELS = ("web", "app", "store")
_TIERS = ("standard", "vip", "gold")


def assert_plan_valid(plan: Plan, scenario: Scenario) -> None:
    """Assert that the plan passes :meth:`Plan.check` (raises PlanCheckError if not)."""
    plan.check(scenario)


def _coord(draw: Any) -> dict[str, float]:
    # A region a few hundred km across, so radii and distance limits bind sometimes.
    return {
        "lat": draw(st.floats(44.0, 50.0, allow_nan=False)),
        "lon": draw(st.floats(0.0, 8.0, allow_nan=False)),
    }


@st.composite
def scenarios(
    draw: Any,
    *,
    max_nodes: int = 5,
    max_skus: int = 4,
    max_orders: int = 5,
    max_lines: int = 3,
    min_orders: int = 0,
    protection: bool = False,
    max_lockers: int = 0,
    rates: bool = False,
) -> Scenario:
    """Small valid scenarios that exercise every rule of docs/semantics.md.

    Nodes of both kinds with random methods, channels and capacities; stock with
    reserved and safety units; orders of every method, tier and flag; protection,
    tier weights, same-day radius, distance and split limits; cheap and dear
    unfilled costs. SKUs that no node stocks appear too. With ``protection`` the
    scenario is v1.2: a ``protection`` table over random (node, sku, tier),
    node-SKUs without a stock row included. With ``max_lockers``, up to that
    many lockers (S11, a parcel capacity of 0..3 or none) that pickup orders
    may name. With ``rates`` the contract v1.1 fields too (``_rate_fields``).
    """
    n_nodes = draw(st.integers(1, max_nodes))
    nodes: list[dict[str, Any]] = []
    for i in range(n_nodes):
        methods = draw(
            st.lists(st.sampled_from(("ship", "pickup", "same_day")), unique=True)
        )
        node: dict[str, Any] = {
            "id": f"N{i}",
            "kind": draw(st.sampled_from(("warehouse", "store"))),
            **_coord(draw),
            "methods": methods or ["ship"],
            "channels": draw(
                st.lists(st.sampled_from(_CHANNELS), unique=True, max_size=2)
            ),
            "capacity": draw(st.one_of(st.none(), st.integers(0, 8))),
            "handling_cost": draw(st.sampled_from((0.0, 0.5, 1.25, 3.0))),
            "unit_cost": draw(st.sampled_from((0.0, 0.2, 0.9, 2.0))),
            "priority": draw(st.integers(0, 3)),
        }
        nodes.append(node)
    skus = [f"S{j}" for j in range(draw(st.integers(1, max_skus)))]
    stock = []
    for node in nodes:
        for sku in skus:
            if draw(st.booleans()):
                on_hand = draw(st.integers(0, 8))
                stock.append(
                    {
                        "node": node["id"],
                        "sku": sku,
                        "on_hand": on_hand,
                        "reserved": draw(st.integers(0, on_hand)),
                        "safety_stock": draw(st.integers(0, 2)),
                    }
                )
    nodes.extend(
        {
            "id": f"L{i}",
            "kind": "locker",
            **_coord(draw),
            "methods": ["pickup"],
            "capacity": draw(st.one_of(st.none(), st.integers(0, 3))),
        }
        for i in range(draw(st.integers(0, max_lockers)) if max_lockers else 0)
    )
    pickup_nodes = [n["id"] for n in nodes if "pickup" in n["methods"]]
    orders = []
    for k in range(draw(st.integers(min_orders, max_orders))):
        method = draw(
            st.sampled_from(
                ("ship", "same_day", "pickup") if pickup_nodes else ("ship", "same_day")
            )
        )
        line_skus = draw(
            st.lists(
                st.sampled_from([*skus, "UNSTOCKED"]),
                min_size=1,
                max_size=max_lines,
                unique=True,
            )
        )
        order: dict[str, Any] = {
            "id": f"O{k}",
            "channel": draw(st.sampled_from(_CHANNELS)),
            "method": method,
            "tier": draw(st.sampled_from(_TIERS)),
            "ship_complete": draw(st.booleans()),
            "allow_partial": draw(st.booleans()),
            "max_splits": draw(st.one_of(st.none(), st.integers(1, 3))),
            "lines": [{"sku": s, "qty": draw(st.integers(1, 5))} for s in line_skus],
        }
        if method == "pickup":
            order["pickup_node"] = draw(st.sampled_from(pickup_nodes))
        else:
            order["destination"] = _coord(draw)
        orders.append(order)
    rules = {
        "last_unit_protection": {
            "store": draw(st.integers(0, 2)),
            "warehouse": draw(st.integers(0, 1)),
        },
        "exempt_tiers": ["vip"],
        "tier_weights": {"vip": draw(st.sampled_from((1.0, 2.0, 3.0))), "gold": 1.5},
        "same_day_radius_km": draw(st.sampled_from((50.0, 200.0, 400.0))),
        "max_distance_km": draw(st.sampled_from((None, 300.0, 600.0))),
        "max_splits": draw(st.sampled_from((None, 1, 2, 3))),
    }
    costs = {
        "package": draw(st.sampled_from((0.0, 2.5, 7.0))),
        "per_km": draw(st.sampled_from((0.0, 0.01, 0.05))),
        "unfilled": draw(st.sampled_from((5.0, 50.0, 1000.0))),
    }
    data: dict[str, Any] = {
        "nodes": nodes,
        "stock": stock,
        "orders": orders,
        "rules": rules,
        "costs": costs,
    }
    if protection:
        keys = st.tuples(
            st.sampled_from([n["id"] for n in nodes]),
            st.sampled_from([*skus, "UNSTOCKED"]),
            st.sampled_from(_TIERS),
        )
        chosen = draw(st.lists(keys, unique=True, min_size=1, max_size=8))
        data["protection"] = [
            {"node": n, "sku": k, "tier": t, "units": draw(st.integers(0, 6))}
            for n, k, t in chosen
        ]
    if rates:
        _rate_fields(draw, data, skus)
    return Scenario.model_validate(data)


def _rate_fields(draw: Any, data: dict[str, Any], skus: list[str]) -> None:
    """Draw contract v1.1 fields into a scenario's JSON ``data`` (in place).

    SKU weights, a per-unit distance cost, an unfilled-order cost, per-order
    overrides and a rate card whose bands by method or for every method
    sometimes leave nodes out of reach.
    """
    data["skus"] = [
        {"sku": s, "weight_kg": draw(st.sampled_from((0.0, 0.4, 2.5, 20.0)))}
        for s in skus
        if draw(st.booleans())
    ]
    costs = data["costs"]
    costs["unit_per_km"] = draw(st.sampled_from((0.0, 0.002, 0.02)))
    costs["unfilled_order"] = draw(st.sampled_from((0.0, 10.0, 200.0)))
    bands: list[dict[str, Any]] = []
    for method in draw(
        st.lists(st.sampled_from((None, "ship", "same_day", "pickup")), unique=True)
    ):
        limits = draw(st.lists(st.sampled_from((60.0, 250.0, 500.0)), unique=True))
        if draw(st.booleans()):
            limits.append(None)
        bands.extend(
            {
                "method": method,
                "max_km": max_km,
                "package": draw(st.sampled_from((0.0, 1.5, 6.0))),
                "unit": draw(st.sampled_from((0.0, 0.3))),
                "per_kg": draw(st.sampled_from((0.0, 0.25, 1.0))),
            }
            for max_km in limits
        )
    costs["rate_card"] = bands
    for order in data["orders"]:
        if draw(st.booleans()):
            order["unfilled_unit_cost"] = draw(st.sampled_from((None, 3.0, 80.0)))
            order["unfilled_order_cost"] = draw(st.sampled_from((None, 0.0, 40.0)))
