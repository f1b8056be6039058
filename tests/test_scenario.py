"""One case per validation rule of the scenario contract (issue 2, item 4)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from pydantic import ValidationError

from omnistock import Scenario

BASE: dict[str, Any] = {
    "nodes": [
        {"id": "W", "kind": "warehouse", "lat": 48.85, "lon": 2.35},
        {
            "id": "S",
            "kind": "store",
            "lat": 45.76,
            "lon": 4.84,
            "methods": ["ship", "pickup"],
        },
        {"id": "T", "kind": "store", "lat": 45.0, "lon": 5.0, "methods": ["ship"]},
    ],
    "stock": [
        {"node": "W", "sku": "A", "on_hand": 5, "reserved": 1, "safety_stock": 1}
    ],
    "orders": [
        {
            "id": "o1",
            "destination": {"lat": 45.7, "lon": 4.8},
            "lines": [{"sku": "A", "qty": 2}],
        },
        {
            "id": "o2",
            "method": "pickup",
            "pickup_node": "S",
            "lines": [{"sku": "A", "qty": 1}],
        },
    ],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """A copy of BASE with the item at a dotted path (list indices as ints) set."""
    data = copy.deepcopy(BASE)
    keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split(".")]
    target = data
    for key in keys[:-1]:
        target = target[key]
    if value is _DELETE:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return data


_DELETE = object()

CASES = [
    (
        "unknown_node_in_stock",
        _with("stock.0.node", "X"),
        r"stock\[0\] \(node 'X', sku 'A'\): unknown node 'X'",
    ),
    (
        "unknown_pickup_node",
        _with("orders.1.pickup_node", "X"),
        r"order 'o2': pickup_node 'X' is not a node",
    ),
    (
        "pickup_node_without_pickup",
        _with("orders.1.pickup_node", "T"),
        r"order 'o2': pickup_node 'T' does not offer \"pickup\"",
    ),
    (
        "pickup_without_pickup_node",
        _with("orders.1.pickup_node", _DELETE),
        r"order 'o2': method 'pickup' needs a pickup_node",
    ),
    (
        "ship_without_destination",
        _with("orders.0.destination", _DELETE),
        r"order 'o1': method 'ship' needs a destination",
    ),
    (
        "same_day_without_destination",
        _with(
            "orders.0",
            {"id": "o1", "method": "same_day", "lines": [{"sku": "A", "qty": 1}]},
        ),
        r"order 'o1': method 'same_day' needs a destination",
    ),
    (
        "duplicate_node_id",
        _with("nodes.2.id", "W"),
        r"nodes\[2\]: duplicate node id 'W'",
    ),
    (
        "duplicate_order_id",
        _with("orders.1.id", "o1"),
        r"orders\[1\]: duplicate order id 'o1'",
    ),
    (
        "duplicate_stock_row",
        _with("stock", [{"node": "W", "sku": "A", "on_hand": 1}] * 2),
        r"stock\[1\] \(node 'W', sku 'A'\): duplicate \(node, sku\)",
    ),
    (
        "duplicate_sku_in_order",
        _with("orders.0.lines", [{"sku": "A", "qty": 1}, {"sku": "A", "qty": 2}]),
        r"order 'o1': duplicate sku 'A'",
    ),
    (
        "qty_zero",
        _with("orders.0.lines.0.qty", 0),
        r"line \(sku 'A'\): qty must be > 0. Got qty=0",
    ),
    (
        "qty_negative",
        _with("orders.0.lines.0.qty", -3),
        r"line \(sku 'A'\): qty must be > 0. Got qty=-3",
    ),
    (
        "negative_on_hand",
        _with("stock.0.on_hand", -1),
        r"stock \(node 'W', sku 'A'\): on_hand must be >= 0. Got on_hand=-1",
    ),
    (
        "negative_reserved",
        _with("stock.0.reserved", -1),
        r"stock \(node 'W', sku 'A'\): reserved must be >= 0",
    ),
    (
        "negative_safety_stock",
        _with("stock.0.safety_stock", -2),
        r"stock \(node 'W', sku 'A'\): safety_stock must be >= 0",
    ),
    (
        "reserved_above_on_hand",
        _with("stock.0.reserved", 9),
        r"stock \(node 'W', sku 'A'\): reserved must be <= on_hand. Got reserved=9, on_hand=5",
    ),
    (
        "node_lat_out_of_range",
        _with("nodes.0.lat", 91),
        r"node \(id 'W'\): lat must be in \[-90, 90\]. Got lat=91",
    ),
    (
        "node_lon_out_of_range",
        _with("nodes.0.lon", -181),
        r"node \(id 'W'\): lon must be in \[-180, 180\]. Got lon=-181",
    ),
    (
        "destination_lat_out_of_range",
        _with("orders.0.destination.lat", -90.5),
        r"order \(id 'o1'\) destination: lat must be in \[-90, 90\]",
    ),
    (
        "destination_lon_out_of_range",
        _with("orders.0.destination.lon", 200),
        r"order \(id 'o1'\) destination: lon must be in \[-180, 180\]",
    ),
    (
        "unknown_order_method",
        _with("orders.0.method", "drone"),
        r"order \(id 'o1'\): method must be one of 'ship', 'pickup', 'same_day'. Got 'drone'",
    ),
    (
        "unknown_node_method",
        _with("nodes.0.methods", ["ship", "teleport"]),
        r"node \(id 'W'\): methods must be one of .* Got 'teleport'",
    ),
    (
        "unknown_node_kind",
        _with("nodes.0.kind", "shop"),
        r"node \(id 'W'\): kind must be one of 'warehouse', 'store'. Got 'shop'",
    ),
    (
        "unknown_field",
        _with("nodes.0.colour", "red"),
        r"nodes\.0\.colour\s+Extra inputs are not permitted",
    ),
    (
        "max_splits_zero",
        _with("orders.0.max_splits", 0),
        r"order \(id 'o1'\): max_splits must be >= 1",
    ),
    (
        "negative_unit_cost",
        _with("nodes.0.unit_cost", -1.0),
        r"node \(id 'W'\): unit_cost must be >= 0",
    ),
    ("no_nodes", _with("nodes", []), r"a scenario needs at least one node"),
    ("order_without_lines", _with("orders.0.lines", []), r"orders\.0\.lines"),
]


def test_base_is_valid() -> None:
    scenario = Scenario.model_validate(BASE)
    assert [o.id for o in scenario.orders] == ["o1", "o2"]


@pytest.mark.parametrize(
    ("data", "message"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_invalid_scenario_is_rejected_with_a_message_naming_it(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message):
        Scenario.model_validate(data)


def test_order_for_a_sku_no_node_stocks_is_valid() -> None:
    scenario = Scenario.model_validate(
        _with("orders.0.lines", [{"sku": "NOPE", "qty": 3}])
    )
    assert scenario.orders[0].lines[0].sku == "NOPE"


def test_defaults_are_the_contract_defaults() -> None:
    s = Scenario.model_validate(BASE)
    node, order = s.nodes[0], s.orders[0]
    assert node.methods == ("ship",) and node.channels == () and node.capacity is None
    assert (node.handling_cost, node.unit_cost, node.priority) == (0.0, 0.0, 0)
    assert (order.channel, order.method, order.tier) == ("web", "ship", "standard")
    assert (order.ship_complete, order.allow_partial, order.max_splits) == (
        False,
        True,
        None,
    )
    assert s.rules.exempt_tiers == ("vip",) and s.rules.same_day_radius_km == 50
    assert s.rules.max_distance_km is None and s.rules.max_splits is None
    assert s.rules.last_unit_protection == {} and s.rules.tier_weights == {}
    assert (s.costs.package, s.costs.per_km, s.costs.unfilled) == (5.0, 0.01, 1000.0)
    assert s.stock[0].safety_stock == 1 and s.stock[0].reserved == 1


def test_models_are_frozen() -> None:
    s = Scenario.model_validate(BASE)
    with pytest.raises(ValidationError, match="frozen"):
        s.nodes[0].priority = 3  # type: ignore[misc]
