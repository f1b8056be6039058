"""Contract v1.1 compiled once: the rate card, per-unit distance cost, lost-sale costs.

The network gets the card as arrays (one band a row) and the order batch gets each
order's unfilled costs and each line's weight (docs/semantics.md, S10). When a
scenario uses no v1.1 field, ``rated`` is False and every kernel takes its v1 path,
untouched: v1 plans stay byte-identical.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from omnistock._kernels.codes import METHOD_CODES

if TYPE_CHECKING:
    from omnistock.model.orders import Order
    from omnistock.model.scenario import Scenario

__all__ = [
    "NO_METHOD",
    "line_weights",
    "network_rates",
    "order_rates",
    "orders_rates",
    "rated_batch",
]

#: ``band_method`` of a band that names no method.
NO_METHOD = -1


def network_rates(scenario: Scenario) -> dict[str, Any]:
    """The network's v1.1 fields: ``rated``, the band arrays, the SKU weights.

    ``rated`` is set when a network-wide v1.1 cost is in use (distance per unit or
    a rate card); an order's own unfilled-order cost switches its decision to the
    v1.1 search by itself (``_kernels.rates``).
    """
    costs = scenario.costs
    card = costs.rate_card
    rated = costs.unit_per_km > 0.0 or len(card) > 0
    weights = {s.sku: float(s.weight_kg) for s in scenario.skus}
    return {
        "rated": rated,
        "unit_per_km": float(costs.unit_per_km),
        "unfilled_order": float(costs.unfilled_order),
        "band_method": np.array(
            [NO_METHOD if b.method is None else METHOD_CODES[b.method] for b in card],
            dtype=np.int64,
        ),
        "band_max_km": np.array(
            [np.inf if b.max_km is None else b.max_km for b in card], dtype=np.float64
        ),
        "band_package": np.array([b.package for b in card], dtype=np.float64),
        "band_unit": np.array([b.unit for b in card], dtype=np.float64),
        "band_per_kg": np.array([b.per_kg for b in card], dtype=np.float64),
        "sku_weight": weights,
    }


def order_rates(
    unfilled: float, unfilled_order: float, order: Order
) -> tuple[float, float]:
    """One order's unfilled cost per unit and per order, before the tier weight.

    ``unfilled`` and ``unfilled_order`` are the scenario's (``costs``); an order's
    own ``unfilled_unit_cost`` / ``unfilled_order_cost`` replace them.
    """
    unit = unfilled if order.unfilled_unit_cost is None else order.unfilled_unit_cost
    fixed = (
        unfilled_order
        if order.unfilled_order_cost is None
        else order.unfilled_order_cost
    )
    return float(unit), float(fixed)


def line_weights(weights: dict[str, float], orders: Sequence[Order]) -> np.ndarray:
    """float64[n_lines]: each line's SKU weight in kg (0 when not listed)."""
    return np.fromiter(
        (weights.get(line.sku, 0.0) for o in orders for line in o.lines),
        dtype=np.float64,
        count=sum(len(o.lines) for o in orders),
    )


def orders_rates(
    unfilled: float,
    unfilled_order: float,
    weights: dict[str, float],
    orders: Sequence[Order],
) -> dict[str, np.ndarray]:
    """The batch's v1.1 fields: per-order unfilled costs, per-line weights."""
    pairs = np.array(
        [order_rates(unfilled, unfilled_order, o) for o in orders], dtype=np.float64
    )
    pairs = pairs.reshape(len(orders), 2)
    return {
        "order_unfilled": np.ascontiguousarray(pairs[:, 0]),
        "order_unfilled_order": np.ascontiguousarray(pairs[:, 1]),
        "line_weight": line_weights(weights, orders),
    }


def rated_batch(network: Any, orders: Any) -> bool:
    """Whether a compiled batch prices any v1.1 term (its plans show 8 components).

    ``network`` is a ``CompiledNetwork``, ``orders`` a ``CompiledOrders``.
    """
    return bool(
        network.rated
        or np.any(orders.order_unfilled_order > 0.0)
        or np.any(orders.order_unfilled != network.unfilled)
    )
