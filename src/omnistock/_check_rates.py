"""The plan checker's plain reading of contract v1.1 (docs/semantics.md, S10).

Part of the independent second reading (``check.py``): plain Python over the
pydantic scenario, sharing no code with the kernels or the compiled arrays.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from omnistock.model.orders import Order
    from omnistock.model.rates import RateBand
    from omnistock.model.scenario import Scenario

__all__ = ["RATED_NAMES", "card_band", "rated_expected"]

#: The cost components contract v1.1 adds to ``cost_breakdown``.
RATED_NAMES = ("unit_distance", "rate_card", "unfilled_order")


def card_band(
    card: tuple[RateBand, ...], method: str, km: float, slack: float
) -> tuple[bool, RateBand | None]:
    """(covered, band): the band pricing ``method`` at ``km``; (False, None) if none covers.

    The bands naming the method if the card names it anywhere, else the bands
    naming none; no such band at all: (True, None), no rate-card term.
    """
    named = [b for b in card if b.method == method]
    used = named if named else [b for b in card if b.method is None]
    if not used:
        return True, None
    reach = [b for b in used if b.max_km is None or km <= b.max_km + slack]
    if not reach:
        return False, None
    return True, min(
        reach, key=lambda b: float("inf") if b.max_km is None else b.max_km
    )


def rated_expected(
    scenario: Scenario,
    taken: Mapping[tuple[str, str, str], int],
    km_of: Mapping[tuple[str, str], float],
    short_orders: set[str],
    slack: float,
) -> dict[str, float]:
    """The three v1.1 components a plan should report.

    ``taken``: units per (order, sku, node); ``km_of``: km per (order, node)
    package; ``short_orders``: orders with any unfilled unit.
    """
    costs = scenario.costs
    orders: dict[str, Order] = {o.id: o for o in scenario.orders}
    weight = {s.sku: s.weight_kg for s in scenario.skus}
    out = dict.fromkeys(RATED_NAMES, 0.0)
    for (order_id, _node_id), km in km_of.items():
        _, band = card_band(costs.rate_card, orders[order_id].method, km, slack)
        if band is not None:
            out["rate_card"] += band.package
    for (order_id, sku, node_id), qty in taken.items():
        km = km_of[(order_id, node_id)]
        out["unit_distance"] += costs.unit_per_km * km * qty
        _, band = card_band(costs.rate_card, orders[order_id].method, km, slack)
        if band is not None:
            out["rate_card"] += (band.unit + band.per_kg * weight.get(sku, 0.0)) * qty
    for order_id in short_orders:
        order = orders[order_id]
        charge = order.unfilled_order_cost
        if charge is None:
            charge = costs.unfilled_order
        out["unfilled_order"] += charge * scenario.rules.tier_weight(order.tier)
    return out
