"""The independent plan checker: a second, plain reading of docs/semantics.md.

This module deliberately shares no code with the kernels or the compiled arrays: it
reads the pydantic scenario and the plan's frames with plain Python and recomputes
distances with the textbook haversine formula, so a bug in a kernel cannot hide
itself here. Solvers never call it; tests and users do (``plan.check(scenario)``).
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import TYPE_CHECKING

from omnistock._check_rates import RATED_NAMES, card_band, rated_expected
from omnistock.exceptions import PlanCheckError

if TYPE_CHECKING:
    from omnistock.model.network import Node
    from omnistock.model.orders import Order
    from omnistock.model.scenario import Scenario
    from omnistock.plan import Plan

__all__ = ["check_plan", "haversine_km", "plan_violations"]

EARTH_RADIUS_KM = 6371.0
#: Slack on distance limits, so that two correct formulas of the same distance never
#: disagree about a node that sits exactly on a radius.
KM_SLACK = 1e-7
#: Tolerance on the recomputed objective: absolute plus relative.
COST_TOL = 1e-6


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle km by the haversine formula (S1)."""
    phi1, phi2 = math.radians(lat1), math.radians(lat2)
    dphi = phi2 - phi1
    dlmb = math.radians(lon2 - lon1)
    a = (
        math.sin(dphi / 2) ** 2
        + math.cos(phi1) * math.cos(phi2) * math.sin(dlmb / 2) ** 2
    )
    return 2.0 * EARTH_RADIUS_KM * math.asin(math.sqrt(min(1.0, a)))


def _destination(order: Order, nodes: dict[str, Node]) -> tuple[float, float]:
    if order.method == "pickup":
        node = nodes[order.pickup_node]  # type: ignore[index]
        return node.lat, node.lon
    assert order.destination is not None  # guaranteed by Order's validator
    return order.destination.lat, order.destination.lon


def _ineligible(order: Order, node: Node, km: float, scenario: Scenario) -> str | None:
    """The S3 clause the node fails for the order, or None."""
    rules = scenario.rules
    if node.channels and order.channel not in node.channels:
        return f"channel {order.channel!r} not in node channels {list(node.channels)}"
    if rules.max_distance_km is not None and km > rules.max_distance_km + KM_SLACK:
        return f"{km:.3f} km > max_distance_km {rules.max_distance_km}"
    if order.method == "ship" and "ship" not in node.methods:
        return "method 'ship' not offered"
    if order.method == "same_day":
        if "same_day" not in node.methods:
            return "method 'same_day' not offered"
        if km > rules.same_day_radius_km + KM_SLACK:
            return f"{km:.3f} km > same_day_radius_km {rules.same_day_radius_km}"
    if (
        order.method == "pickup"
        and node.id != order.pickup_node
        and "ship" not in node.methods
    ):
        return "neither the pickup node nor a node that ships (transfer)"
    covered, _ = card_band(scenario.costs.rate_card, order.method, km, KM_SLACK)
    if not covered:  # contract v1.1 (S10), after the v1 rules
        return f"no rate_card band for method {order.method!r} covers {km:.3f} km"
    return None


def plan_violations(plan: Plan, scenario: Scenario) -> list[str]:
    """Every rule the plan breaks, one line each (empty when the plan is valid)."""
    out: list[str] = []
    nodes = {n.id: n for n in scenario.nodes}
    orders = {o.id: o for o in scenario.orders}
    stock = {(r.node, r.sku): r for r in scenario.stock}
    rules, costs = scenario.rules, scenario.costs

    taken: dict[tuple[str, str, str], int] = defaultdict(int)  # (order, sku, node)
    for order_id, sku, node_id, qty in plan.allocations.select(
        "order_id", "sku", "node_id", "qty"
    ).iter_rows():
        where = f"allocation (order {order_id!r}, sku {sku!r}, node {node_id!r})"
        if order_id not in orders:
            out.append(f"S8 {where}: unknown order.")
            continue
        if node_id not in nodes:
            out.append(f"S8 {where}: unknown node.")
            continue
        if sku not in {line.sku for line in orders[order_id].lines}:
            out.append(f"S8 {where}: the order has no line for this sku.")
            continue
        if qty is None or qty <= 0:
            out.append(f"S8 {where}: qty must be > 0. Got qty={qty}.")
            continue
        taken[(order_id, sku, node_id)] += qty

    line_filled: dict[tuple[str, str], int] = defaultdict(int)
    order_nodes: dict[str, set[str]] = defaultdict(set)
    row_all: dict[tuple[str, str], int] = defaultdict(int)
    row_protected: dict[tuple[str, str], int] = defaultdict(int)
    row_tier: dict[tuple[str, str], dict[str, int]] = defaultdict(
        lambda: defaultdict(int)
    )
    table = {(e.node, e.sku, e.tier): e.units for e in scenario.protection}
    tiers = sorted({o.tier for o in scenario.orders})
    node_units: dict[str, int] = defaultdict(int)
    km_of: dict[tuple[str, str], float] = {}
    for (order_id, sku, node_id), qty in taken.items():
        order, node = orders[order_id], nodes[node_id]
        line_filled[(order_id, sku)] += qty
        order_nodes[order_id].add(node_id)
        row_all[(node_id, sku)] += qty
        if order.tier not in rules.exempt_tiers:
            row_protected[(node_id, sku)] += qty
        row_tier[(node_id, sku)][order.tier] += qty
        node_units[node_id] += qty
        if (order_id, node_id) not in km_of:
            lat, lon = _destination(order, nodes)
            km = haversine_km(node.lat, node.lon, lat, lon)
            km_of[(order_id, node_id)] = km
            reason = _ineligible(order, node, km, scenario)
            if reason is not None:
                out.append(
                    f"S3 order {order_id!r} takes from node {node_id!r}: {reason}."
                )

    for (node_id, sku), qty in row_all.items():
        rec = stock.get((node_id, sku))
        free = (
            0 if rec is None else max(0, rec.on_hand - rec.reserved - rec.safety_stock)
        )
        if qty > free:
            out.append(
                f"S2 node {node_id!r}, sku {sku!r}: plan takes {qty} > free {free}."
            )
        limit = max(0, free - rules.protection(nodes[node_id].kind))
        protected_qty = row_protected.get((node_id, sku), 0)
        if scenario.protection:  # contract v1.2: the nested rule replaces v1's
            row = (nodes[node_id], sku, free)
            out.extend(
                _s4_nested(scenario, row, table, tiers, row_tier[(node_id, sku)])
            )
        # Where nothing is protected (limit == free) S4 says no more than S2 does.
        elif protected_qty > limit and limit < free:
            out.append(
                f"S4 node {node_id!r}, sku {sku!r}: non-exempt tiers take {protected_qty} "
                f"> max(0, free {free} - protection) = {limit}."
            )
    for node_id, qty in node_units.items():
        cap = nodes[node_id].capacity
        if cap is not None and qty > cap:
            out.append(f"S5 node {node_id!r}: plan takes {qty} units > capacity {cap}.")

    out.extend(_locker_violations(scenario, nodes, order_nodes))

    unfilled_reported: dict[tuple[str, str], int] = defaultdict(int)
    for order_id, sku, qty in plan.unfilled.select(
        "order_id", "sku", "qty"
    ).iter_rows():
        unfilled_reported[(order_id, sku)] += qty

    expected = {
        "package": 0.0,
        "distance": 0.0,
        "handling": 0.0,
        "unit": 0.0,
        "unfilled": 0.0,
    }
    short_orders: set[str] = set()
    for order in scenario.orders:
        k_values = [v for v in (order.max_splits, rules.max_splits) if v is not None]
        if order.ship_complete:
            k_values.append(1)
        used = order_nodes.get(order.id, set())
        if k_values and len(used) > min(k_values):
            out.append(
                f"S6 order {order.id!r}: ships from {len(used)} nodes > split limit "
                f"{min(k_values)}."
            )
        complete = True
        anything = False
        for line in order.lines:
            got = line_filled.get((order.id, line.sku), 0)
            anything = anything or got > 0
            if got > line.qty:
                out.append(
                    f"S8 order {order.id!r}, sku {line.sku!r}: allocated {got} > qty {line.qty}."
                )
            short = max(0, line.qty - got)
            complete = complete and short == 0
            if unfilled_reported.get((order.id, line.sku), 0) != short:
                out.append(
                    f"S8 order {order.id!r}, sku {line.sku!r}: unfilled reported "
                    f"{unfilled_reported.get((order.id, line.sku), 0)}, expected {short}."
                )
            unfilled = order.unfilled_unit_cost  # contract v1.1: the order's own
            expected["unfilled"] += (
                (costs.unfilled if unfilled is None else unfilled)
                * rules.tier_weight(order.tier)
                * short
            )
            if short > 0:
                short_orders.add(order.id)
        if order.all_or_nothing and anything and not complete:
            out.append(
                f"S7 order {order.id!r}: all-or-nothing "
                f"({'ship_complete' if order.ship_complete else 'allow_partial=false'}) "
                "but only partly filled."
            )
        for node_id in sorted(used):
            node = nodes[node_id]
            expected["package"] += costs.package
            expected["handling"] += node.handling_cost
            expected["distance"] += costs.per_km * km_of[(order.id, node_id)]
    for (_order_id, _sku, node_id), qty in taken.items():
        expected["unit"] += nodes[node_id].unit_cost * qty
    out.extend(
        f"S8 unfilled row for unknown order {key[0]!r}."
        for key in unfilled_reported
        if key[0] not in orders
    )

    expected.update(rated_expected(scenario, taken, km_of, short_orders, KM_SLACK))
    total = sum(expected.values())
    if abs(total - plan.objective) > COST_TOL * (1.0 + abs(total)):
        out.append(
            f"S9 objective: plan says {plan.objective:.6f}, recomputed {total:.6f}."
        )
    for name, value in expected.items():
        got_component = plan.cost_breakdown.get(
            name,
            0.0 if name in RATED_NAMES else None,  # v1 plans show five
        )
        if got_component is None or abs(got_component - value) > COST_TOL * (
            1.0 + abs(value)
        ):
            out.append(
                f"S9 cost_breakdown[{name!r}]: plan says {got_component}, recomputed {value:.6f}."
            )
    return out


def _locker_violations(
    scenario: Scenario, nodes: dict[str, Node], order_nodes: dict[str, set[str]]
) -> list[str]:
    """S11: the parcels (one per order and shipping node) each locker receives."""
    parcels: dict[str, int] = defaultdict(int)
    for order in scenario.orders:
        if order.method == "pickup" and order.pickup_node is not None:
            parcels[order.pickup_node] += len(order_nodes.get(order.id, ()))
    out = []
    for node_id, count in parcels.items():
        node = nodes[node_id]
        if (
            node.kind == "locker"
            and node.capacity is not None
            and count > node.capacity
        ):
            out.append(
                f"S11 locker {node_id!r}: receives {count} parcels > capacity "
                f"{node.capacity}."
            )
    return out


def check_plan(plan: Plan, scenario: Scenario) -> None:
    """Raise :class:`PlanCheckError` listing every violated rule, if any."""
    violations = plan_violations(plan, scenario)
    if violations:
        raise PlanCheckError(violations)


def _s4_nested(
    scenario: Scenario,
    row: tuple[Node, str, int],
    table: dict[tuple[str, str, str], int],
    tiers: list[str],
    took_by_tier: dict[str, int],
) -> list[str]:
    """S4 v1.2 on one row (node, sku, free), read from the text.

    Per tier t of the orders, the tiers protecting at least u_t take at most
    max(0, free - u_t).
    """
    rules = scenario.rules
    node, sku, free = row

    def u(tier: str) -> int:
        if (node.id, sku, tier) in table:
            return table[(node.id, sku, tier)]
        return 0 if tier in rules.exempt_tiers else rules.protection(node.kind)

    out = []
    for tier in tiers:
        level = u(tier)
        took = sum(q for t, q in took_by_tier.items() if u(t) >= level)
        bound = max(0, free - level)
        if took > bound and bound < free:  # bound == free: S2 already says it
            out.append(
                f"S4 node {node.id!r}, sku {sku!r}: tiers protecting >= {level} "
                f"(tier {tier!r}) take {took} > max(0, free {free} - {level}) "
                f"= {bound}."
            )
    return out
