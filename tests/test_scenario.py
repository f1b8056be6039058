"""One case per validation rule of the scenario contract (issue 2, item 4)."""

from __future__ import annotations

import copy
import json
import re
from typing import Any

import numpy as np
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
        r"order 'o1', line sku 'A': qty must be > 0. Got qty=0",
    ),
    (
        "qty_negative",
        _with("orders.0.lines.0.qty", -3),
        r"order 'o1', line sku 'A': qty must be > 0. Got qty=-3",
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
        r"node \(id 'W'\): kind must be one of 'warehouse', 'store', 'locker'. Got 'shop'",
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
    (
        "order_without_lines",
        _with("orders.0.lines", []),
        r"order 'o1': needs at least one line",
    ),
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


# -- numbers: finite, strict, within the documented ranges (issue 12, 12-14, 16) --

INF, NAN = float("inf"), float("nan")
MAX_QTY = 2**40

NUMBER_CASES = [
    # Every number is finite; the message names the field and the record.
    ("inf_package", _with("costs", {"package": INF}), r"costs: package must be a finite number. Got package=inf"),
    ("inf_unfilled", _with("costs", {"unfilled": INF}), r"costs: unfilled must be a finite"),
    ("nan_per_km", _with("costs", {"per_km": NAN}), r"costs: per_km must be a finite number. Got per_km=nan"),
    ("inf_unit_cost", _with("nodes.0.unit_cost", INF), r"node \(id 'W'\): unit_cost must be a finite number. Got unit_cost=inf"),
    ("inf_handling_cost", _with("nodes.1.handling_cost", INF), r"node \(id 'S'\): handling_cost must be a finite"),
    ("inf_tier_weight", _with("rules", {"tier_weights": {"vip": INF}}), r"rules: tier_weights\['vip'\] must be a finite number. Got tier_weights\['vip'\]=inf"),
    ("nan_tier_weight", _with("rules", {"tier_weights": {"gold": NAN}}), r"rules: tier_weights\['gold'\] must be a finite"),
    ("inf_radius", _with("rules", {"same_day_radius_km": INF}), r"rules: same_day_radius_km must be a finite"),
    ("inf_max_distance", _with("rules", {"max_distance_km": INF}), r"rules: max_distance_km must be a finite"),
    ("inf_lat", _with("nodes.0.lat", INF), r"node \(id 'W'\): lat must be in \[-90, 90\]. Got lat=inf"),
    ("nan_dest_lon", _with("orders.0.destination", {"lat": 1.0, "lon": NAN}), r"order \(id 'o1'\) destination: lon must be in"),
    # The cost range (item 13).
    ("package_above_max", _with("costs", {"package": 1e6 + 1}), r"costs: package must be <= 1e\+06. Got package=1000001"),
    ("per_km_above_max", _with("costs", {"per_km": 1e7}), r"costs: per_km must be <= 1e\+06"),
    ("unit_cost_above_max", _with("nodes.0.unit_cost", 3e10), r"node \(id 'W'\): unit_cost must be <= 1e\+06"),
    ("tier_weight_above_max", _with("rules", {"tier_weights": {"vip": 1001.0}}), r"rules: tier_weights\['vip'\] must be <= 1000"),
    # The quantity maximum (item 14).
    ("on_hand_above_max", _with("stock.0.on_hand", MAX_QTY + 1), r"stock \(node 'W', sku 'A'\): on_hand must be <= 1099511627776 \(2\*\*40"),
    ("qty_above_max", _with("orders.0.lines.0.qty", 2**63 - 1), r"order 'o1', line sku 'A': qty must be <= 1099511627776"),
    ("capacity_above_max", _with("nodes.0.capacity", 10**30), r"node \(id 'W'\): capacity must be <= 1099511627776"),
    ("priority_above_max", _with("nodes.0.priority", 10**30), r"node \(id 'W'\): priority must be <= 1099511627776"),
    ("priority_below_min", _with("nodes.0.priority", -(10**30)), r"node \(id 'W'\): priority must be >= -1099511627776"),
    ("max_splits_above_max", _with("orders.0.max_splits", 10**30), r"order \(id 'o1'\): max_splits must be <= 1099511627776"),
    ("rules_max_splits_above_max", _with("rules", {"max_splits": 10**30}), r"rules: max_splits must be <= 1099511627776"),
    ("protection_above_max", _with("rules", {"last_unit_protection": {"store": 2**41}}), r"rules: last_unit_protection\['store'\] must be <= 1099511627776"),
    # Strict types: no string numbers, no booleans as numbers, no float counts.
    ("string_on_hand", _with("stock.0.on_hand", "12"), r"stock \(node 'W', sku 'A'\): on_hand must be an integer. Got on_hand='12'"),
    ("bool_qty", _with("orders.0.lines.0.qty", True), r"order 'o1', line sku 'A': qty must be an integer. Got qty=True"),
    ("float_qty", _with("orders.0.lines.0.qty", 2.5), r"order 'o1', line sku 'A': qty must be an integer. Got qty=2.5"),
    ("string_package", _with("costs", {"package": "5"}), r"costs: package must be a number. Got package='5'"),
    ("bool_unit_cost", _with("nodes.0.unit_cost", False), r"node \(id 'W'\): unit_cost must be a number. Got unit_cost=False"),
    ("string_lat", _with("nodes.0.lat", "48.8"), r"node \(id 'W'\): lat must be a number. Got lat='48.8'"),
    ("string_ship_complete", _with("orders.0.ship_complete", "yes"), r"order \(id 'o1'\): ship_complete must be true or false. Got ship_complete='yes'"),
    ("int_allow_partial", _with("orders.0.allow_partial", 0), r"order \(id 'o1'\): allow_partial must be true or false. Got allow_partial=0"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [c[1:] for c in NUMBER_CASES],
    ids=[c[0] for c in NUMBER_CASES],
)
def test_number_outside_the_contract_is_rejected_naming_field_and_record(
    data: dict[str, Any], message: str
) -> None:
    with pytest.raises(ValidationError, match=message) as info:
        Scenario.model_validate(data)
    # The first error is the fault itself (a bad line also trips the lines'
    # min_length today: issue 13, item 4).
    assert re.search(message, str(info.value.errors()[0]["msg"]))


@pytest.mark.parametrize("number", ["Infinity", "-Infinity", "NaN"])
def test_json_non_finite_literals_are_rejected(number: str) -> None:
    text = json.dumps(_with("costs", {"unfilled": 1.0})).replace("1.0", number)
    with pytest.raises(ValidationError, match="costs: unfilled must be"):
        Scenario.model_validate_json(text)


def test_json_strings_and_booleans_are_not_numbers() -> None:
    text = json.dumps(_with("stock.0.on_hand", 5)).replace(
        '"on_hand": 5', '"on_hand": "5"'
    )
    with pytest.raises(ValidationError, match="on_hand must be an integer"):
        Scenario.model_validate_json(text)
    text = json.dumps(_with("orders.0.lines.0.qty", True))
    with pytest.raises(ValidationError, match=r"qty must be an integer\. Got qty=True"):
        Scenario.model_validate_json(text)


def test_the_top_of_every_range_is_accepted() -> None:
    data = _with("costs", {"package": 1e6, "per_km": 1e6, "unfilled": 1e6})
    data["rules"] = {
        "tier_weights": {"vip": 1e3},
        "last_unit_protection": {"store": MAX_QTY},
        "max_splits": MAX_QTY,
    }
    data["nodes"][0].update(
        capacity=MAX_QTY, unit_cost=1e6, handling_cost=1e6, priority=-MAX_QTY
    )
    data["stock"][0].update(on_hand=MAX_QTY, reserved=MAX_QTY, safety_stock=MAX_QTY)
    data["orders"][0]["lines"][0]["qty"] = MAX_QTY
    s = Scenario.model_validate(data)
    assert s.stock[0].on_hand == MAX_QTY and s.costs.per_km == 1e6
    assert Scenario.model_validate_json(s.model_dump_json()) == s


def test_numpy_scalars_are_the_numbers_they_hold() -> None:
    data = _with("stock.0.on_hand", np.int64(5))
    data["orders"][0]["lines"][0]["qty"] = np.int32(2)
    data["nodes"][0]["unit_cost"] = np.float32(0.5)
    data["orders"][0]["ship_complete"] = np.bool_(True)
    s = Scenario.model_validate(data)
    assert (s.stock[0].on_hand, s.orders[0].lines[0].qty) == (5, 2)
    assert type(s.stock[0].on_hand) is int and s.nodes[0].unit_cost == 0.5
    assert s.orders[0].ship_complete is True
    with pytest.raises(ValidationError, match=r"qty must be an integer"):
        Scenario.model_validate(_with("orders.0.lines.0.qty", np.float64(2.5)))
    # A whole float reads as its integer, as it did before the contract was strict.
    whole = Scenario.model_validate(_with("orders.0.lines.0.qty", np.float64(2.0)))
    assert (
        whole.orders[0].lines[0].qty == 2 and type(whole.orders[0].lines[0].qty) is int
    )
    with pytest.raises(ValidationError, match=r"on_hand must be an integer"):
        Scenario.model_validate(_with("stock.0.on_hand", np.bool_(True)))


def test_a_huge_integer_is_refused_not_overflowed() -> None:
    with pytest.raises(ValidationError, match=r"on_hand must be <= 1099511627776"):
        Scenario.model_validate(_with("stock.0.on_hand", 10**400))


def test_a_bad_line_is_one_error_naming_the_order_and_the_line() -> None:
    """Issue 13, item 4: no position-only message, no false 'at least 1 item' error."""
    from pydantic import ValidationError

    from tests.helpers import make_scenario

    bad = [{"sku": "A", "qty": -1}]
    order = {"id": "ORD-7", "destination": {"lat": 45.0, "lon": 4.0}, "lines": bad}
    with pytest.raises(ValidationError) as info:
        make_scenario(orders=[order])
    errors = info.value.errors()
    assert len(errors) == 1
    assert (
        "order 'ORD-7', line sku 'A': qty must be > 0. Got qty=-1." in errors[0]["msg"]
    )
    for line, expected in (
        (
            {"sku": "", "qty": 1},
            "order 'ORD-7', line 0: sku must be a non-empty string",
        ),
        (
            {"sku": "A", "qtty": 1},
            "order 'ORD-7', line sku 'A': unknown field(s) ['qtty']",
        ),
        ({"sku": "A"}, "order 'ORD-7', line sku 'A': qty is missing"),
    ):
        with pytest.raises(ValidationError) as info:
            make_scenario(orders=[{**order, "lines": [line]}])
        assert len(info.value.errors()) == 1
        assert expected in info.value.errors()[0]["msg"]
