"""An independent exact MILP of docs/semantics.md, with scipy's ``milp`` (HiGHS).

The oracle for the ``optimal`` solver and for any test that needs a proven batch
optimum. It reads the pydantic :class:`~omnistock.Scenario` directly and shares
no code with omnistock beyond the models: distances by the haversine formula,
eligibility and protection read from the text of the semantics, and a formulation
that differs from ``solvers/optimal/`` (no unfilled variables: unfilled units
are ``qty - sum x``, priced through a constant; every eligible node with a stock
row is a candidate, usable or not).

Variables, per order ``o``, line ``l`` of ``o``, eligible node ``n`` with ``l``'s SKU:

- ``x[l, n]`` integer units, ``0 <= x <= min(qty_l, free(n, sku_l))``;
- ``y[o, n]`` binary: ``o`` ships a package from ``n``;
- ``z[o]`` binary for an all-or-nothing order: ``sum_n x[l, n] = qty_l z[o]``.

Constraints: ``x[l, n] <= qty_l y[o, n]``; ``sum_n x[l, n] <= qty_l``;
``sum_n y[o, n] <= k_o``; for each (node, SKU) ``sum`` of non-exempt ``x`` ``<=``
``max(0, free - protect(kind))`` and ``sum`` of all ``x`` ``<= free``; for each node
with a capacity ``sum x <= capacity``; for each locker with a capacity, ``sum``
of ``y`` of the orders picked up there ``<= capacity`` (S11).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_array

from omnistock import Scenario
from omnistock.model.network import Node
from omnistock.model.orders import Order
from tests import rates_reference as rates

EARTH_RADIUS_KM = 6371.0


@dataclass(frozen=True)
class ReferenceResult:
    """The proven optimum and one optimal allocation.

    Attributes
    ----------
    objective
        The optimal objective, recomputed from the integer solution.
    allocations
        ``(order_id, sku, node_id, qty)`` with ``qty > 0``.
    """

    objective: float
    allocations: list[tuple[str, str, str, int]]


def haversine_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle km by the haversine formula."""
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def _eligible_km(scenario: Scenario) -> dict[tuple[int, int], float]:
    """(order position, node position) -> km, for every eligible pair."""
    rules = scenario.rules
    node_pos = {n.id: i for i, n in enumerate(scenario.nodes)}
    out: dict[tuple[int, int], float] = {}
    for oi, order in enumerate(scenario.orders):
        if order.method == "pickup":
            assert order.pickup_node is not None
            dest = scenario.nodes[node_pos[order.pickup_node]]
            dlat, dlon = dest.lat, dest.lon
        else:
            assert order.destination is not None
            dlat, dlon = order.destination.lat, order.destination.lon
        for ni, node in enumerate(scenario.nodes):
            km = haversine_km(node.lat, node.lon, dlat, dlon)
            if node.channels and order.channel not in node.channels:
                continue
            if rules.max_distance_km is not None and km > rules.max_distance_km:
                continue
            if order.method == "ship" and "ship" not in node.methods:
                continue
            if order.method == "same_day" and (
                "same_day" not in node.methods or km > rules.same_day_radius_km
            ):
                continue
            if order.method == "pickup" and not (
                node.id == order.pickup_node or "ship" in node.methods
            ):
                continue
            if not rates.band(scenario, order, km)[0]:  # v1.1 rule "rate_card"
                continue
            out[oi, ni] = km
    return out


def reference_optimum(
    scenario: Scenario, *, time_limit: float = 60.0, relaxed: bool = False
) -> ReferenceResult:
    """Solve exactly with scipy's ``milp``; raise if HiGHS cannot prove it.

    With ``relaxed`` solve the LP relaxation of this (weaker) formulation instead:
    ``objective`` is then its LP value and ``allocations`` is empty.
    """
    rules, costs = scenario.rules, scenario.costs
    nodes = scenario.nodes
    free: dict[tuple[int, str], int] = {}
    node_pos = {n.id: i for i, n in enumerate(nodes)}
    for rec in scenario.stock:
        free[node_pos[rec.node], rec.sku] = max(
            0, rec.on_hand - rec.reserved - rec.safety_stock
        )
    km = _eligible_km(scenario)

    cost: list[float] = []
    upper: list[float] = []
    x_vars: list[tuple[int, str, int, int]] = []  # (order, sku, node, qty of line)
    y_index: dict[tuple[int, int], int] = {}
    z_index: dict[int, int] = {}
    w_index: dict[int, int] = {}
    x_pos: list[int] = []
    constant = 0.0

    def new_var(c: float, ub: float) -> int:
        cost.append(c)
        upper.append(ub)
        return len(cost) - 1

    for oi, order in enumerate(scenario.orders):
        lost = rates.unfilled_unit(scenario, order)  # v1.1: the order's own
        for line in order.lines:
            constant += lost * line.qty
            for ni, node in enumerate(nodes):
                if (oi, ni) not in km or free.get((ni, line.sku), 0) <= 0:
                    continue
                if (oi, ni) not in y_index:
                    y_index[oi, ni] = new_var(
                        costs.package
                        + node.handling_cost
                        + costs.per_km * km[oi, ni]
                        + rates.package_extra(scenario, order, km[oi, ni]),
                        1,
                    )
                x_pos.append(
                    new_var(
                        node.unit_cost
                        + rates.unit_extra(scenario, order, line.sku, km[oi, ni])
                        - lost,
                        min(line.qty, free[ni, line.sku]),
                    )
                )
                x_vars.append((oi, line.sku, ni, line.qty))
        if order.all_or_nothing:
            z_index[oi] = new_var(0.0, 1)
        if rates.unfilled_order(scenario, order) > 0:  # v1.1: w = any unit unfilled
            w_index[oi] = new_var(rates.unfilled_order(scenario, order), 1)

    rows: list[tuple[dict[int, float], float, float]] = []
    per_line: dict[tuple[int, str], dict[int, float]] = {}
    per_order_nodes: dict[int, dict[int, float]] = {}
    stock_all: dict[tuple[int, str], dict[int, float]] = {}
    stock_protected: dict[tuple[int, str], dict[int, float]] = {}
    per_node: dict[int, dict[int, float]] = {}
    for var, (oi, sku, ni, qty) in zip(x_pos, x_vars, strict=True):
        order = scenario.orders[oi]
        rows.append(({var: 1.0, y_index[oi, ni]: -float(qty)}, -np.inf, 0.0))
        per_line.setdefault((oi, sku), {})[var] = 1.0
        stock_all.setdefault((ni, sku), {})[var] = 1.0
        if order.tier not in rules.exempt_tiers:
            stock_protected.setdefault((ni, sku), {})[var] = 1.0
        per_node.setdefault(ni, {})[var] = 1.0
    for (oi, _ni), var in y_index.items():
        per_order_nodes.setdefault(oi, {})[var] = 1.0
    for oi, order in enumerate(scenario.orders):
        for line in order.lines:
            coeffs = dict(per_line.get((oi, line.sku), {}))
            if oi in z_index:
                coeffs[z_index[oi]] = -float(line.qty)
                rows.append((coeffs, 0.0, 0.0))
            elif coeffs:
                rows.append((coeffs, -np.inf, float(line.qty)))
        if oi in w_index:  # Q - sum x <= Q w
            total = float(sum(line.qty for line in order.lines))
            coeffs = {
                v: -1.0
                for sku in {ln.sku for ln in order.lines}
                for v in per_line.get((oi, sku), {})
            }
            coeffs[w_index[oi]] = -total
            rows.append((coeffs, -np.inf, -total))
        limits = [v for v in (order.split_limit, rules.max_splits) if v is not None]
        if limits and oi in per_order_nodes:
            rows.append((per_order_nodes[oi], -np.inf, float(min(limits))))
    for key, coeffs in stock_all.items():
        rows.append((coeffs, -np.inf, float(free[key])))
    if scenario.protection:  # contract v1.2: the nested rows of S4 v1.2
        rows.extend(_nested_rows(scenario, x_pos, x_vars, free))
    else:
        for (ni, sku), coeffs in stock_protected.items():
            limit = max(0, free[ni, sku] - rules.protection(nodes[ni].kind))
            rows.append((coeffs, -np.inf, float(limit)))
    for ni, coeffs in per_node.items():
        if nodes[ni].capacity is not None:
            rows.append((coeffs, -np.inf, float(nodes[ni].capacity)))
    # S11: every package of an order picked up at a locker is a parcel there.
    parcels: dict[int, dict[int, float]] = {}
    for (oi, _ni), var in y_index.items():
        pickup = scenario.orders[oi].pickup_node
        if scenario.orders[oi].method == "pickup" and pickup is not None:
            parcels.setdefault(node_pos[pickup], {})[var] = 1.0
    for li, coeffs in parcels.items():
        if nodes[li].kind == "locker" and nodes[li].capacity is not None:
            rows.append((coeffs, -np.inf, float(nodes[li].capacity)))

    n_vars = len(cost)
    if n_vars == 0:
        return ReferenceResult(objective=constant, allocations=[])
    r_idx, c_idx, vals = [], [], []
    for r, (coeffs, _, _) in enumerate(rows):
        for c, v in coeffs.items():
            r_idx.append(r)
            c_idx.append(c)
            vals.append(v)
    constraints = []
    if rows:
        matrix = coo_array((vals, (r_idx, c_idx)), shape=(len(rows), n_vars)).tocsr()
        constraints.append(
            LinearConstraint(matrix, [r[1] for r in rows], [r[2] for r in rows])
        )
    res = milp(
        np.asarray(cost),
        integrality=np.zeros(n_vars) if relaxed else np.ones(n_vars),
        bounds=Bounds(np.zeros(n_vars), np.asarray(upper, dtype=float)),
        constraints=constraints,
        options={"mip_rel_gap": 0.0, "time_limit": time_limit, "presolve": True},
    )
    if res.status != 0 or res.x is None:
        msg = f"reference MILP proved no optimum: status {res.status}, {res.message}"
        raise RuntimeError(msg)
    if relaxed:
        return ReferenceResult(objective=float(res.fun) + constant, allocations=[])
    values = np.round(res.x).astype(np.int64)
    allocations = []
    for var, (oi, sku, ni, _) in zip(x_pos, x_vars, strict=True):
        if values[var] > 0:
            allocations.append(
                (scenario.orders[oi].id, sku, nodes[ni].id, int(values[var]))
            )
    return ReferenceResult(
        objective=price(scenario, allocations), allocations=allocations
    )


def _nested_rows(
    scenario: Scenario,
    x_pos: list[int],
    x_vars: list[tuple[int, str, int, int]],
    free: dict[tuple[int, str], int],
) -> list[tuple[dict[int, float], float, float]]:
    """S4 v1.2 read from the text: per (node, sku) and tier t of the orders, the
    takes of orders whose tier protects at least u_t(r) <= max(0, free - u_t(r))."""
    rules, nodes = scenario.rules, scenario.nodes
    table = {(e.node, e.sku, e.tier): e.units for e in scenario.protection}

    def u(ni: int, sku: str, tier: str) -> int:
        key = (nodes[ni].id, sku, tier)
        if key in table:
            return table[key]
        return 0 if tier in rules.exempt_tiers else rules.protection(nodes[ni].kind)

    tiers = {o.tier for o in scenario.orders}
    out = []
    for ni, sku in {(ni, sku) for _, sku, ni, _ in x_vars}:
        for t in tiers:
            coeffs = {
                var: 1.0
                for var, (oi, s, n, _) in zip(x_pos, x_vars, strict=True)
                if (n, s) == (ni, sku)
                and u(ni, sku, scenario.orders[oi].tier) >= u(ni, sku, t)
            }
            if coeffs:
                bound = max(0, free[ni, sku] - u(ni, sku, t))
                out.append((coeffs, -np.inf, float(bound)))
    return out


def price(scenario: Scenario, allocations: list[tuple[str, str, str, int]]) -> float:
    """The objective of an allocation list, by the text of the semantics."""
    costs = scenario.costs
    nodes = {n.id: n for n in scenario.nodes}
    filled: dict[tuple[str, str], int] = {}
    packages: set[tuple[str, str]] = set()
    total = 0.0
    for order_id, sku, node_id, qty in allocations:
        filled[order_id, sku] = filled.get((order_id, sku), 0) + qty
        packages.add((order_id, node_id))
        total += nodes[node_id].unit_cost * qty
    orders = {o.id: o for o in scenario.orders}
    for order_id, sku, node_id, qty in allocations:  # v1.1 per-unit terms
        order, node = orders[order_id], nodes[node_id]
        dlat, dlon = _place(order, nodes)
        km = haversine_km(node.lat, node.lon, dlat, dlon)
        total += rates.unit_extra(scenario, order, sku, km) * qty
    for order_id, node_id in packages:
        order, node = orders[order_id], nodes[node_id]
        if order.method == "pickup":
            assert order.pickup_node is not None
            dest = nodes[order.pickup_node]
            dlat, dlon = dest.lat, dest.lon
        else:
            assert order.destination is not None
            dlat, dlon = order.destination.lat, order.destination.lon
        total += costs.package + node.handling_cost
        total += costs.per_km * haversine_km(node.lat, node.lon, dlat, dlon)
        total += rates.package_extra(
            scenario, order, haversine_km(node.lat, node.lon, dlat, dlon)
        )
    for order in scenario.orders:
        any_short = False
        for line in order.lines:
            short = line.qty - filled.get((order.id, line.sku), 0)
            total += rates.unfilled_unit(scenario, order) * short
            any_short = any_short or short > 0
        if any_short:
            total += rates.unfilled_order(scenario, order)
    return total


def _place(order: Order, nodes: dict[str, Node]) -> tuple[float, float]:
    """An order's destination (its pickup node's for a pickup order)."""
    if order.method == "pickup":
        assert order.pickup_node is not None
        return nodes[order.pickup_node].lat, nodes[order.pickup_node].lon
    assert order.destination is not None
    return order.destination.lat, order.destination.lon
