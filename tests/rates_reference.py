"""Contract v1.1 read from the text of docs/semantics.md (S10), for the references.

Shares no code with omnistock beyond the models: the band rule, each unit's and
package's v1.1 price, the order's unfilled costs; and a brute force of one
order (every allocation enumerated) priced by ``milp_reference.price``.
"""

from __future__ import annotations

import itertools
import math

from omnistock import Scenario
from omnistock.model.orders import Order
from omnistock.model.rates import RateBand


def band(scenario: Scenario, order: Order, km: float) -> tuple[bool, RateBand | None]:
    """(eligible under the card, the band used or None)."""
    card = scenario.costs.rate_card
    if any(b.method == order.method for b in card):
        used = [b for b in card if b.method == order.method]
    else:
        used = [b for b in card if b.method is None]
    if not used:
        return True, None
    fits = [b for b in used if b.max_km is None or km <= b.max_km]
    if not fits:
        return False, None
    fits.sort(key=lambda b: math.inf if b.max_km is None else b.max_km)
    return True, fits[0]


def unit_extra(scenario: Scenario, order: Order, sku: str, km: float) -> float:
    """unit_per_km x km + band.unit + band.per_kg x weight of one unit."""
    weight = {s.sku: s.weight_kg for s in scenario.skus}.get(sku, 0.0)
    _, b = band(scenario, order, km)
    extra = scenario.costs.unit_per_km * km
    if b is not None:
        extra += b.unit + b.per_kg * weight
    return extra


def package_extra(scenario: Scenario, order: Order, km: float) -> float:
    """The band's package."""
    _, b = band(scenario, order, km)
    return 0.0 if b is None else b.package


def unfilled_unit(scenario: Scenario, order: Order) -> float:
    """Cost of one unfilled unit of the order, tier weight included."""
    own = order.unfilled_unit_cost
    base = scenario.costs.unfilled if own is None else own
    return base * scenario.rules.tier_weight(order.tier)


def unfilled_order(scenario: Scenario, order: Order) -> float:
    """Cost of leaving any unit of the order unfilled, tier weight included."""
    own = order.unfilled_order_cost
    base = scenario.costs.unfilled_order if own is None else own
    return base * scenario.rules.tier_weight(order.tier)


def brute_force_one_order(scenario: Scenario) -> float:
    """The optimum of a one-order scenario, every allocation enumerated (tiny only)."""
    from tests.milp_reference import _eligible_km, price

    (order,) = scenario.orders
    rules = scenario.rules
    km = _eligible_km(scenario)
    nodes = scenario.nodes
    free = {
        (r.node, r.sku): max(0, r.on_hand - r.reserved - r.safety_stock)
        for r in scenario.stock
    }
    exempt = order.tier in rules.exempt_tiers
    choices: list[list[tuple[str, int]]] = []  # per (line, node) variable
    keys: list[tuple[str, str]] = []
    for line in order.lines:
        for ni, node in enumerate(nodes):
            if (0, ni) not in km:
                continue
            avail = free.get((node.id, line.sku), 0)
            if not exempt:
                avail = max(0, avail - rules.protection(node.kind))
            top = min(avail, line.qty)
            if top > 0:
                keys.append((line.sku, node.id))
                choices.append([(node.id, q) for q in range(top + 1)])
    limits = [v for v in (order.split_limit, rules.max_splits) if v is not None]
    best = price(scenario, [])
    for pick in itertools.product(*choices):
        alloc = [
            (order.id, sku, node_id, q)
            for (sku, _), (node_id, q) in zip(keys, pick, strict=True)
            if q > 0
        ]
        filled: dict[str, int] = {}
        per_node: dict[str, int] = {}
        for _, sku, node_id, q in alloc:
            filled[sku] = filled.get(sku, 0) + q
            per_node[node_id] = per_node.get(node_id, 0) + q
        if any(filled.get(line.sku, 0) > line.qty for line in order.lines):
            continue
        if limits and len(per_node) > min(limits):
            continue
        caps = {n.id: n.capacity for n in nodes}
        if any(caps[n] is not None and q > caps[n] for n, q in per_node.items()):
            continue
        full = all(filled.get(line.sku, 0) == line.qty for line in order.lines)
        if order.all_or_nothing and alloc and not full:
            continue
        best = min(best, price(scenario, alloc))
    return best
