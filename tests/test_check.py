"""plan.check catches a hand-made plan that breaks each rule of docs/semantics.md."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import polars as pl
import pytest

from omnistock import Plan, PlanCheckError, Scenario, solve
from omnistock.solvers.base import Solution
from tests.helpers import make_scenario

FAR = {"lat": 48.80, "lon": 2.30}  # next to W (Paris), ~390 km from S (Lyon)
NEAR_S = {"lat": 45.75, "lon": 4.85}


def plan_of(scenario: Scenario, rows: list[tuple[str, str, str, int]]) -> Plan:
    """A plan that allocates exactly ``rows`` (order_id, sku, node_id, qty), priced correctly."""
    c = scenario.compiled()
    line_of = {}
    for o, oid in enumerate(c.orders.order_ids):
        for j in range(c.orders.line_indptr[o], c.orders.line_indptr[o + 1]):
            line_of[(str(oid), str(c.orders.line_sku_ids[j]))] = j
    sol = Solution(
        line_idx=np.array([line_of[(o, s)] for o, s, _, _ in rows], dtype=np.int64),
        node_idx=np.array(
            [c.network.node_index[n] for _, _, n, _ in rows], dtype=np.int64
        ),
        qty=np.array([q for *_, q in rows], dtype=np.int64),
    )
    return Plan.from_solution(c, sol)


def order(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "o1",
        "destination": NEAR_S,
        "lines": [{"sku": "A", "qty": 2}],
    }
    base.update(fields)
    return base


def nodes(
    w: dict[str, Any] | None = None, s: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    return [
        {"id": "W", "kind": "warehouse", "lat": 48.8566, "lon": 2.3522, **(w or {})},
        {
            "id": "S",
            "kind": "store",
            "lat": 45.7640,
            "lon": 4.8357,
            "methods": ["ship", "pickup", "same_day"],
            **(s or {}),
        },
        {"id": "P", "kind": "store", "lat": 45.9, "lon": 4.9, "methods": ["pickup"]},
    ]


def assert_breaks(plan: Plan, scenario: Scenario, rule: str) -> None:
    with pytest.raises(PlanCheckError, match=rule) as info:
        plan.check(scenario)
    assert all(v.startswith(("S", "S9")) for v in info.value.violations)


def test_valid_hand_made_plan_passes() -> None:
    s = make_scenario(nodes=nodes(), orders=[order()])
    plan_of(s, [("o1", "A", "S", 1), ("o1", "A", "W", 1)]).check(s)


def test_null_plan_passes_and_reports_every_unit_unfilled() -> None:
    s = make_scenario(
        nodes=nodes(), orders=[order(), order(id="o2", lines=[{"sku": "B", "qty": 4}])]
    )
    plan = solve(s, solver="null")
    plan.check(s)
    assert plan.unfilled["qty"].sum() == 6


def test_s2_stock() -> None:
    s = make_scenario(nodes=nodes(), orders=[order(lines=[{"sku": "A", "qty": 12}])])
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 11)]),
        s,
        r"S2 node 'W', sku 'A': plan takes 11 > free 10",
    )


def test_s2_reserved_and_safety_stock_are_not_free() -> None:
    stock = [{"node": "W", "sku": "A", "on_hand": 10, "reserved": 6, "safety_stock": 2}]
    s = make_scenario(
        nodes=nodes(), stock=stock, orders=[order(lines=[{"sku": "A", "qty": 5}])]
    )
    plan_of(s, [("o1", "A", "W", 2)]).check(s)
    assert_breaks(plan_of(s, [("o1", "A", "W", 3)]), s, r"S2 .*plan takes 3 > free 2")


def test_s3_channel() -> None:
    s = make_scenario(
        nodes=nodes(w={"channels": ["store"]}), orders=[order(channel="web")]
    )
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 1)]),
        s,
        r"S3 order 'o1' takes from node 'W': channel 'web'",
    )


def test_s3_ship_needs_ship() -> None:
    s = make_scenario(nodes=nodes(w={"methods": ["pickup"]}), orders=[order()])
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 1)]), s, r"S3 .*method 'ship' not offered"
    )


def test_s3_same_day_needs_same_day() -> None:
    s = make_scenario(nodes=nodes(), orders=[order(method="same_day")])
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 1)]), s, r"S3 .*method 'same_day' not offered"
    )


def test_s3_same_day_radius() -> None:
    s = make_scenario(nodes=nodes(), orders=[order(method="same_day", destination=FAR)])
    assert_breaks(
        plan_of(s, [("o1", "A", "S", 1)]), s, r"S3 .*km > same_day_radius_km 50"
    )


def test_s3_max_distance() -> None:
    s = make_scenario(nodes=nodes(), orders=[order()], rules={"max_distance_km": 100})
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 1)]), s, r"S3 .*km > max_distance_km 100"
    )
    plan_of(s, [("o1", "A", "S", 1)]).check(s)


def test_s3_pickup_takes_the_pickup_node_or_a_shipper() -> None:
    stock = [{"node": n, "sku": "A", "on_hand": 5} for n in ("W", "S", "P")]
    s = make_scenario(
        nodes=nodes(s={"methods": ["pickup"]}),
        stock=stock,
        orders=[order(method="pickup", pickup_node="S", destination=None)],
    )
    plan_of(s, [("o1", "A", "S", 1), ("o1", "A", "W", 1)]).check(
        s
    )  # itself, and a transfer
    assert_breaks(
        plan_of(s, [("o1", "A", "P", 1)]),
        s,
        r"S3 .*neither the pickup node nor a node that ships",
    )


def test_s4_protection() -> None:
    rules = {"last_unit_protection": {"store": 2}}
    s = make_scenario(
        nodes=nodes(), orders=[order(), order(id="o2", tier="vip")], rules=rules
    )
    # S holds 3, protects 2: standard tiers may take 1 together, vip may take all 3.
    plan_of(s, [("o1", "A", "S", 1), ("o2", "A", "S", 2)]).check(s)
    assert_breaks(
        plan_of(s, [("o1", "A", "S", 2)]),
        s,
        r"S4 node 'S', sku 'A': non-exempt tiers take 2 > .* = 1",
    )


def test_s5_capacity() -> None:
    s = make_scenario(nodes=nodes(w={"capacity": 1}), orders=[order(), order(id="o2")])
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 1), ("o2", "A", "W", 1)]),
        s,
        r"S5 node 'W': plan takes 2 units > capacity 1",
    )


@pytest.mark.parametrize(
    ("order_fields", "rules"), [({"max_splits": 1}, {}), ({}, {"max_splits": 1})]
)
def test_s6_splits(order_fields: dict[str, Any], rules: dict[str, Any]) -> None:
    s = make_scenario(nodes=nodes(), orders=[order(**order_fields)], rules=rules)
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 1), ("o1", "A", "S", 1)]),
        s,
        r"S6 order 'o1': ships from 2 nodes > split limit 1",
    )


def test_s7_ship_complete_is_one_package() -> None:
    s = make_scenario(nodes=nodes(), orders=[order(ship_complete=True)])
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 1), ("o1", "A", "S", 1)]), s, r"S6 .*split limit 1"
    )


def test_s7_ship_complete_is_all_or_nothing() -> None:
    s = make_scenario(nodes=nodes(), orders=[order(ship_complete=True)])
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 1)]),
        s,
        r"S7 order 'o1': all-or-nothing \(ship_complete\)",
    )


def test_s7_allow_partial_false() -> None:
    lines = [{"sku": "A", "qty": 1}, {"sku": "B", "qty": 1}]
    s = make_scenario(nodes=nodes(), orders=[order(allow_partial=False, lines=lines)])
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 1)]),
        s,
        r"S7 order 'o1': all-or-nothing \(allow_partial=false\)",
    )


def test_s8_no_more_than_the_line_asks() -> None:
    s = make_scenario(nodes=nodes(), orders=[order()])
    assert_breaks(
        plan_of(s, [("o1", "A", "W", 3)]),
        s,
        r"S8 order 'o1', sku 'A': allocated 3 > qty 2",
    )


def test_s8_unfilled_units_are_never_dropped() -> None:
    s = make_scenario(nodes=nodes(), orders=[order()])
    plan = plan_of(s, [("o1", "A", "W", 1)])
    dropped = dataclasses.replace(plan, unfilled=plan.unfilled.clear())
    assert_breaks(
        dropped, s, r"S8 order 'o1', sku 'A': unfilled reported 0, expected 1"
    )


def test_s8_units_only_to_the_orders_own_lines() -> None:
    s = make_scenario(nodes=nodes(), orders=[order()])
    plan = plan_of(s, [])
    extra = pl.DataFrame(
        {"order_id": ["o1"], "sku": ["B"], "node_id": ["W"], "qty": [1]},
        schema=plan.allocations.schema,
    )
    assert_breaks(
        dataclasses.replace(plan, allocations=extra),
        s,
        r"S8 allocation \(order 'o1', sku 'B', node 'W'\): the order has no line",
    )


def test_s9_objective() -> None:
    s = make_scenario(nodes=nodes(), orders=[order()])
    plan = plan_of(s, [("o1", "A", "S", 2)])
    assert_breaks(
        dataclasses.replace(plan, objective=plan.objective - 1.0),
        s,
        r"S9 objective: plan says",
    )
    broken = {**plan.cost_breakdown, "distance": plan.cost_breakdown["distance"] + 1.0}
    assert_breaks(
        dataclasses.replace(plan, cost_breakdown=broken),
        s,
        r"S9 cost_breakdown\['distance'\]",
    )


def test_error_lists_every_violation() -> None:
    s = make_scenario(
        nodes=nodes(w={"capacity": 0}),
        orders=[order(max_splits=1, lines=[{"sku": "A", "qty": 20}])],
    )
    with pytest.raises(PlanCheckError) as info:
        plan_of(s, [("o1", "A", "W", 11), ("o1", "A", "S", 3)]).check(s)
    rules = {v.split()[0] for v in info.value.violations}
    assert rules == {"S2", "S5", "S6"}
