"""explain(): one row per node, the first rule that rejects it, usable units, chosen."""

from __future__ import annotations

import polars as pl
import pytest

from omnistock import OmnistockError, Order, Plan, Sourcer, UnknownOrder, solve
from tests.helpers import make_scenario

PARIS = {"lat": 48.85, "lon": 2.35}
LYON = {"lat": 45.76, "lon": 4.84}


def _explain(node: dict, order: dict, stock=None, rules=None) -> dict:
    """The explanation row of node X (beside a reference warehouse W) for one order."""
    nodes = [
        {"id": "W", "kind": "warehouse", **PARIS},
        {"id": "X", "kind": "store", **LYON, **node},
    ]
    stock = stock if stock is not None else [{"node": "X", "sku": "A", "on_hand": 5}]
    scenario = make_scenario(nodes=nodes, stock=stock, orders=[], rules=rules or {})
    base = {"id": "o", "destination": LYON, "lines": [{"sku": "A", "qty": 1}]}
    decision = Sourcer(scenario).source(Order.model_validate({**base, **order}))
    frame = decision.explain()
    assert frame["node_id"].to_list() == ["W", "X"]
    return frame.row(1, named=True)


def test_eligible_and_chosen():
    """Tests the row of a node that serves the order: eligible, usable, chosen, qty."""
    row = _explain({}, {})
    assert row["reason"] == "eligible"
    assert row["chosen"] is True
    assert row["qty"] == 1
    assert row["usable"] == [5]
    assert row["km"] == pytest.approx(0.0, abs=1.0)
    assert row["package_cost"] == pytest.approx(5.0 + 0.01 * row["km"])


def test_reason_channel():
    """Tests that a node not serving the order's channel is rejected by channel."""
    assert _explain({"channels": ["store"]}, {"channel": "web"})["reason"] == "channel"


def test_reason_method():
    """Tests that a node without the order's method is rejected by method."""
    assert _explain({"methods": ["ship"]}, {"method": "same_day"})["reason"] == "method"


def test_reason_distance():
    """Tests that a node beyond max_distance_km is rejected by distance."""
    row = _explain({}, {"destination": PARIS}, rules={"max_distance_km": 100.0})
    assert row["reason"] == "distance"
    assert row["km"] > 100.0


def test_reason_same_day_radius():
    """Tests that a same-day node beyond the radius is rejected by same_day_radius."""
    row = _explain(
        {"methods": ["same_day"]}, {"method": "same_day", "destination": PARIS}
    )
    assert row["reason"] == "same_day_radius"


def test_reason_protection():
    """Tests that a node whose free units are all protected from this tier says protection."""
    row = _explain(
        {},
        {},
        stock=[{"node": "X", "sku": "A", "on_hand": 2}],
        rules={"last_unit_protection": {"store": 2}},
    )
    assert row["reason"] == "protection"
    assert row["usable"] == [0]
    vip = _explain(
        {},
        {"tier": "vip"},
        stock=[{"node": "X", "sku": "A", "on_hand": 2}],
        rules={"last_unit_protection": {"store": 2}},
    )
    assert (vip["reason"], vip["usable"]) == ("eligible", [2])


def test_reason_capacity():
    """Tests that a node with no capacity left says capacity."""
    row = _explain({"capacity": 0}, {})
    assert row["reason"] == "capacity"
    assert row["chosen"] is False


def test_reason_no_stock():
    """Tests that an eligible node without any usable unit says no_stock."""
    row = _explain(
        {}, {}, stock=[{"node": "X", "sku": "A", "on_hand": 3, "reserved": 3}]
    )
    assert row["reason"] == "no_stock"
    assert row["usable"] == [0]


def test_decision_explain_shows_the_stock_it_saw():
    """Tests that a decision's explanation is not changed by its own later commit."""
    sourcer = Sourcer(make_scenario())
    decision = sourcer.source(
        Order.model_validate(
            {"id": "o", "destination": LYON, "lines": [{"sku": "A", "qty": 3}]}
        )
    )
    sourcer.commit(decision)
    frame = decision.explain()
    assert frame.filter(pl.col("chosen"))["usable"].to_list() == [[3]]


def test_plan_explain_replays_earlier_orders_for_greedy():
    """Tests that plan.explain sees the stock the earlier orders of a per-order plan left."""
    orders = [
        {"id": f"o{i}", "destination": LYON, "lines": [{"sku": "A", "qty": 3}]}
        for i in range(2)
    ]
    plan = solve(make_scenario(orders=orders), solver="greedy")
    first, second = plan.explain("o0"), plan.explain("o1")
    assert first.filter(pl.col("node_id") == "S").row(0, named=True)["usable"] == [3]
    s_row = second.filter(pl.col("node_id") == "S").row(0, named=True)
    assert (s_row["reason"], s_row["usable"], s_row["chosen"]) == (
        "no_stock",
        [0],
        False,
    )
    assert second.filter(pl.col("chosen"))["node_id"].to_list() == ["W"]


def test_plan_explain_unknown_order_and_file_plans():
    """Tests the errors: an order the plan lacks, and a plan read back from JSON."""
    plan = solve(make_scenario(), solver="greedy")
    with pytest.raises(UnknownOrder, match="no order 'nope'"):
        plan.explain("nope")
    with pytest.raises(OmnistockError, match="carries no scenario"):
        Plan.from_json(plan.to_json()).explain("o1")


def test_plan_explain_of_a_batch_solver_nets_out_every_other_order():
    """Tests that for a batch solver the state is the stock less every other order's takes."""
    from omnistock import available_solvers

    if "optimal" not in available_solvers():
        pytest.skip("no batch solver registered")
    orders = [
        {"id": f"o{i}", "destination": LYON, "lines": [{"sku": "A", "qty": 3}]}
        for i in range(2)
    ]
    scenario = make_scenario(
        orders=orders, stock=[{"node": "S", "sku": "A", "on_hand": 4}]
    )
    plan = solve(scenario, solver="optimal")
    for oid in ("o0", "o1"):
        frame = plan.explain(oid)
        given = int(frame["qty"].sum())
        others = int(plan.allocations["qty"].sum()) - given
        s_row = frame.filter(pl.col("node_id") == "S").row(0, named=True)
        assert s_row["usable"] == [4 - others]
        assert s_row["usable"][0] >= s_row["qty"]
