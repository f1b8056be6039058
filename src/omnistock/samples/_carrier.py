"""Carrier costs for the sample networks (contract v1.1): SKU weights and a rate card.

``network(name, seed, costs="carrier")`` is the flat network (same nodes, same
stock, same bytes for them) with these costs: a per-SKU weight drawn from its
own stream, parcel zones by distance for "ship", one short and dear band for
"same_day", and transfer bands for "pickup" (free at the pickup node itself).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from omnistock.model.scenario import Scenario

__all__ = ["COST_MODELS", "with_carrier_costs"]

#: The values ``samples.network(costs=...)`` accepts.
COST_MODELS = ("flat", "carrier")

# Ship: parcel zones (max km, package, per kg), like a national carrier's.
_SHIP = (
    (150.0, 4.5, 0.10),
    (400.0, 6.0, 0.15),
    (800.0, 7.5, 0.22),
    (1500.0, 9.0, 0.30),
    (None, 11.0, 0.40),
)
# Same day: a courier within the same-day radius, by the package and the kg.
_SAME_DAY = ((50.0, 12.0, 0.30),)
# Pickup: nothing at the pickup node, a store transfer nearby, a truck beyond.
_PICKUP = ((0.5, 0.0, 0.0), (300.0, 2.5, 0.05), (None, 4.0, 0.10))


def _bands(
    method: str, rows: tuple[tuple[float | None, float, float], ...]
) -> list[dict[str, Any]]:
    return [
        {"method": method, "max_km": km, "package": package, "per_kg": per_kg}
        for km, package, per_kg in rows
    ]


def with_carrier_costs(network: Scenario, seed: int) -> Scenario:
    """``network`` with carrier costs: SKU weights (0.1 to 25 kg) and the rate card."""
    skus = sorted({r.sku for r in network.stock})
    # Its own stream: the flat network's draws are not disturbed.
    rng = np.random.default_rng([seed, 0x11])
    # Most items are light, a few heavy: log-uniform between 0.1 and 25 kg.
    kg = np.exp(rng.uniform(np.log(0.1), np.log(25.0), size=len(skus)))
    costs = network.costs.model_dump()
    costs.update(
        package=1.0,
        per_km=0.0,
        unit_per_km=0.0005,
        unfilled_order=50.0,
        rate_card=[
            *_bands("ship", _SHIP),
            *_bands("same_day", _SAME_DAY),
            *_bands("pickup", _PICKUP),
        ],
    )
    return Scenario.model_validate(
        {
            **{f: getattr(network, f) for f in ("nodes", "stock", "orders", "rules")},
            "costs": costs,
            "skus": [
                {"sku": s, "weight_kg": round(float(w), 2)}
                for s, w in zip(skus, kg, strict=True)
            ],
        }
    )
